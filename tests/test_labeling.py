"""Tests for batchbald.labeling: a table -> the rows to label next."""

import numpy as np
import pytest

from batchbald import labeling, models
from batchbald.tables import CsvTable


def _table(n=30, labeled_every=2, labels=("a", "b", "c"), seed=0):
    rng = np.random.RandomState(seed)
    lines = ["id,x1,x2,color,label"]
    for i in range(n):
        c = i % len(labels)
        label = labels[c] if labeled_every and i % labeled_every == 0 else ""
        color = ["red", "blue"][i % 2]
        lines.append(
            f"id{i},{rng.randn() + 2 * c:.3f},{rng.randn():.3f},{color},{label}"
        )
    return CsvTable("\n".join(lines) + "\n")


def test_prepare_encodes_and_excludes():
    notes = []
    pb = labeling.prepare(_table(), "label", exclude="id", notify=notes.append)
    assert pb.feature_names == ["x1", "x2", "color=blue", "color=red"]
    assert pb.Z.shape == (30, 4)
    np.testing.assert_allclose(pb.Z.mean(axis=0), 0, atol=1e-12)
    assert pb.classes == ["a", "b", "c"] and len(pb.unlabeled) == 15
    assert notes == ["one-hot encoding non-numeric column(s): color (2 values)"]


def test_id_column_is_flagged():
    notes = []
    labeling.prepare(_table(), "label", notify=notes.append)
    assert any("'id' has 30 distinct values, like an ID" in n for n in notes)


def test_numeric_classes_sort_numerically():
    pb = labeling.prepare(_table(labels=("10", "9", "x")), "label", exclude="id")
    assert pb.classes == ["9", "10", "x"]


@pytest.mark.parametrize("method", labeling.METHODS)
def test_choose_batch(method):
    pb = labeling.prepare(_table(), "label", exclude="id")
    choice = labeling.choose_batch(
        pb, 4, method=method, model="logreg-bagging", n_members=3, seed=1
    )
    assert len(set(choice.rows)) == 4 and set(choice.rows) <= set(pb.unlabeled)
    assert choice.model == "logreg-bagging" and choice.scores.shape == (4,)
    assert np.all(choice.scores >= -1e-9)
    assert choice.mean_probs.shape == (4, 3)
    np.testing.assert_allclose(choice.mean_probs.sum(axis=1), 1.0)


def test_cold_start_without_two_classes():
    notes = []
    pb = labeling.prepare(_table(labeled_every=0), "label", exclude="id")
    choice = labeling.choose_batch(pb, 5, notify=notes.append)
    assert choice.model is None and choice.mean_probs is None
    assert np.isnan(choice.scores).all() and len(set(choice.rows)) == 5
    assert "no row is labeled yet" in notes[0] and "k-means++" in notes[0]


def test_default_model_is_swapped_when_it_does_not_fit(monkeypatch):
    notes = []
    pb = labeling.prepare(_table(), "label", exclude="id")
    choice = labeling.choose_batch(
        pb, 2, n_members=3, max_memory=8 * 2**10, notify=notes.append
    )
    assert choice.model == models.SCALABLE_MODEL
    assert any("using logreg-bagging instead" in n for n in notes)


def test_explicit_model_over_budget_is_refused():
    pb = labeling.prepare(_table(), "label", exclude="id")
    with pytest.raises(ValueError, match="'gp-bagging' on 15 labeled rows"):
        labeling.choose_batch(pb, 2, model="gp-bagging", max_memory=10 * 2**10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "bogus"}, "method must be one of batchbald"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"n_members": 0}, "n_members"),
        ({"seed": -1}, "seed must be an integer"),
    ],
)
def test_choose_batch_rejects(kwargs, message):
    pb = labeling.prepare(_table(), "label", exclude="id")
    args = {"batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        labeling.choose_batch(pb, args.pop("batch_size"), **args)


@pytest.mark.parametrize(
    "method, model, drawn",
    [
        ("batchbald", "rf", True),  # 3 voting trees: spent after a pick or two
        ("bald", "rf", False),  # no completion: nothing drawn
    ],
)
def test_drawn_rows_carry_their_bald_score(method, model, drawn):
    from batchbald.information import bald_scores, member_votes

    pb = labeling.prepare(_table(n=60), "label", exclude="id")
    choice = labeling.choose_batch(
        pb, 10, method=method, model=model, n_members=3, seed=0
    )
    if not drawn:
        assert choice.drawn_bald is None
        return
    start = choice.selection.saturated_at
    assert start is not None and start < 10
    assert np.isnan(choice.drawn_bald[:start]).all()
    # brute force: refit the same model, score the chosen rows' votes
    probs = labeling._fit_probs(pb, model, 3, 0, int(np.sum(~np.isnan(pb.y))),
                                lambda _: None)  # fmt: skip
    rows = np.searchsorted(pb.unlabeled, choice.rows)
    expected = bald_scores(member_votes(np.asarray(probs)[:, rows]))
    np.testing.assert_allclose(choice.drawn_bald[start:], expected[start:])
