"""Tests of the EPIG query strategies (batchbald._pool_epig via batchbald.pool)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.ensemble import RandomForestClassifier

import batchbald.pool as pool_module
from batchbald._names import STRATEGIES
from batchbald.ensembles import ensemble_probas
from batchbald.epig import epig_scores
from batchbald.information import member_votes
from batchbald.pool import EPIG, BatchEPIG, PowerEPIG, SoftmaxEPIG, SoftrankEPIG
from batchbald.utils import MISSING_LABEL

EPIG_STRATEGIES = [EPIG, BatchEPIG, PowerEPIG, SoftmaxEPIG, SoftrankEPIG]


@pytest.fixture
def data():
    X, y_true = make_blobs(n_samples=60, centers=3, random_state=0)
    y = np.full(len(X), MISSING_LABEL)
    labeled = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    y[labeled] = y_true[labeled]
    return X, y


def forest():
    return RandomForestClassifier(n_estimators=10, random_state=0)


@pytest.mark.parametrize("strategy", EPIG_STRATEGIES)
@pytest.mark.parametrize("targets", [None, np.arange(20, 40)])
def test_query_shapes_and_nan_semantics(strategy, targets, data):
    X, y = data
    idx, util = strategy(random_state=0).query(
        X, y, forest(), batch_size=3, return_utilities=True, targets=targets
    )
    assert idx.shape == (3,) and util.shape == (3, len(X))
    labeled = ~np.isnan(y)
    assert np.isnan(util[:, labeled]).all()
    assert not np.isin(idx, np.flatnonzero(labeled)).any()
    assert len(set(idx)) == 3
    for i in range(3):
        assert np.isnan(util[i, idx[:i]]).all()
        assert not np.isnan(util[i, idx[i]])
    again = strategy(random_state=0).query(
        X, y, forest(), batch_size=3, targets=targets
    )
    np.testing.assert_array_equal(idx, again)


@pytest.mark.parametrize(
    "make_targets",
    [
        lambda X: np.arange(30, 50),  # indices into X
        lambda X: X[30:50] + 0.25,  # samples of their own
    ],
)
@pytest.mark.parametrize(
    ("member_votes", "transform"),
    [
        (False, lambda p: p),  # the members' probabilities
        (None, member_votes),  # default: a scikit-learn ensemble's members vote
        (True, member_votes),
    ],
)
def test_utilities_row_0_is_epig_of_candidates_against_targets(
    make_targets, member_votes, transform, data
):
    X, y = data
    targets = make_targets(X)
    X_target = X[targets] if targets.ndim == 1 else targets
    unlabeled = np.flatnonzero(np.isnan(y))
    probs, _ = ensemble_probas(
        forest(), np.concatenate([X[unlabeled], X_target]), X=X, y=y, fit=True
    )
    probs = transform(probs)
    expected = np.full(len(X), np.nan)
    expected[unlabeled] = epig_scores(
        probs[:, : len(unlabeled)], probs[:, len(unlabeled) :]
    )
    for strategy in (EPIG, BatchEPIG):
        idx, util = strategy(random_state=0, member_votes=member_votes).query(
            X, y, forest(), batch_size=2, return_utilities=True, targets=targets
        )
        np.testing.assert_allclose(util[0], expected, atol=2e-6, equal_nan=True)
        assert idx[0] == np.nanargmax(expected)


def test_without_targets_the_candidates_stand_for_them(data):
    X, y = data
    unlabeled = np.flatnonzero(np.isnan(y))
    a = EPIG(random_state=0).query(X, y, forest(), batch_size=4)
    b = EPIG(random_state=0).query(X, y, forest(), batch_size=4, targets=unlabeled)
    np.testing.assert_array_equal(a, b)
    rng = np.random.RandomState(0)
    probs = rng.dirichlet(np.ones(3), size=(5, 30))
    s = BatchEPIG(random_state=0).select(probs, None, 3)
    t = BatchEPIG(random_state=0).select(probs, probs, 3)
    np.testing.assert_array_equal(s.indices, t.indices)


def test_candidates_given_as_samples_index_the_candidates(data):
    X, y = data
    cand = X[40:55] + 0.1
    idx, util = EPIG(random_state=0).query(
        X, y, forest(), candidates=cand, batch_size=2, return_utilities=True
    )
    assert util.shape == (2, 15) and np.all((0 <= idx) & (idx < 15))


def test_select_works_on_probabilities_directly():
    rng = np.random.RandomState(1)
    pool = rng.dirichlet(np.full(4, 0.5), size=(6, 25))
    target = rng.dirichlet(np.full(4, 0.5), size=(6, 9))
    res = EPIG(random_state=0).select(pool, target, 3, return_utilities=True)
    scores = epig_scores(pool, target)
    np.testing.assert_array_equal(res.indices, np.argsort(-scores)[:3])
    np.testing.assert_allclose(res.utilities[0], scores, atol=2e-6)
    batch = BatchEPIG(random_state=0).select(pool, target, 3)
    assert batch.indices[0] == res.indices[0]


@pytest.mark.parametrize(
    ("n_targets", "subsampled"), [(None, False), (50, False), (4, True)]
)
def test_n_targets_subsamples_from_the_random_state(n_targets, subsampled):
    rng = np.random.RandomState(2)
    pool = rng.dirichlet(np.full(3, 0.5), size=(5, 20))
    target = rng.dirichlet(np.full(3, 0.5), size=(5, 12))
    util = (
        EPIG(n_targets=n_targets, random_state=7)
        .select(pool, target, 1, True)
        .utilities
    )
    full = epig_scores(pool, target)
    assert np.allclose(util[0], full, atol=2e-6) != subsampled
    again = EPIG(n_targets=n_targets, random_state=7).select(pool, target, 1, True)
    np.testing.assert_array_equal(util, again.utilities)


def test_stochastic_variants_follow_the_scores():
    rng = np.random.RandomState(3)
    pool = rng.dirichlet(np.full(3, 0.3), size=(8, 40))
    target = rng.dirichlet(np.full(3, 0.3), size=(8, 10))
    top = np.argsort(-epig_scores(pool, target))[:3]
    for cls in (PowerEPIG, SoftrankEPIG):
        res = cls(beta=1e4, random_state=0).select(pool, target, 3)
        np.testing.assert_array_equal(res.indices, top)
    draws = {
        tuple(SoftmaxEPIG(beta=0.0, random_state=s).select(pool, target, 2).indices)
        for s in range(10)
    }
    assert len(draws) > 5  # beta = 0 is uniform


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.array([0, 60]), r"targets holds indices outside \[0, 60\)"),
        (np.array([], dtype=int), "targets is empty"),
        (np.zeros((3, 5)), r"shape of X's samples \(2,\)"),
        (np.zeros(3), "targets must be None"),
    ],
)
def test_target_errors(targets, match, data):
    X, y = data
    with pytest.raises(ValueError, match=match):
        EPIG().query(X, y, forest(), targets=targets)


@pytest.mark.parametrize(
    ("strategy", "error", "match"),
    [
        (EPIG(n_targets=0), ValueError, "n_targets must be an integer >= 1"),
        (EPIG(n_targets=2.5), TypeError, "n_targets must be an integer"),
        (
            EPIG(max_memory=10),
            ValueError,
            "max_memory must be a finite number of bytes",
        ),
        (BatchEPIG(n_MC_samples=0), ValueError, "n_MC_samples must be an integer >= 1"),
        (PowerEPIG(beta=-1.0), ValueError, "beta must be a finite real number"),
        (EPIG(eps=0.5), ValueError, r"eps must be a finite real number in \[0, 0.1\)"),
    ],
)
def test_parameter_errors(strategy, error, match):
    probs = np.full((2, 4, 2), 0.5)
    with pytest.raises(error, match=match):
        strategy.select(probs, probs, 1)


def test_batch_epig_progress_bar_is_drawn_on_a_terminal_only(capsys, monkeypatch, data):
    from batchbald import _progress

    X, y = data
    plain = BatchEPIG(random_state=0).query(X, y, forest(), batch_size=3)
    shown = BatchEPIG(random_state=0, progress=True)
    np.testing.assert_array_equal(shown.query(X, y, forest(), batch_size=3), plain)
    assert "BatchEPIG" not in capsys.readouterr().err  # stderr is not a terminal
    monkeypatch.setattr(_progress, "is_terminal", lambda stream=None: True)
    shown.query(X, y, forest(), batch_size=3)
    assert "BatchEPIG" in capsys.readouterr().err


def test_batch_size_in_the_targets_place_is_explained():
    probs = np.full((2, 4, 2), 0.5)
    with pytest.raises(TypeError, match="take the targets second"):
        EPIG().select(probs, 2)


def test_mismatched_members_are_an_error():
    with pytest.raises(ValueError, match="same K members"):
        EPIG().select(np.full((2, 4, 2), 0.5), np.full((3, 4, 2), 0.5), 1)


@pytest.mark.parametrize("strategy", EPIG_STRATEGIES)
def test_sklearn_conventions(strategy, data):
    qs = strategy(random_state=3)
    assert clone(qs).get_params() == qs.get_params()
    X, y = data
    X_before, y_before = X.copy(), y.copy()
    qs.query(X, y, forest(), batch_size=2)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_names_table_points_at_the_classes():
    for name in ("epig", "batchepig", "powerepig", "softmaxepig", "softrankepig"):
        cls_name = STRATEGIES[name][0]
        assert cls_name in pool_module.__all__
        assert issubclass(getattr(pool_module, cls_name), pool_module.EPIG.__mro__[1])


@pytest.mark.parametrize("strategy", [EPIG, BatchEPIG])
def test_dataframes_work_as_X_and_as_targets(strategy, data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b"], index=np.arange(len(X)) + 100)
    expected = strategy(random_state=0).query(
        X, y, forest(), batch_size=2, targets=X[30:50] + 0.25
    )
    for targets in (frame.iloc[30:50] + 0.25, np.arange(30, 50)):
        got = strategy(random_state=0).query(
            frame, y, forest(), batch_size=2, targets=targets
        )
        if targets.ndim == 2:
            np.testing.assert_array_equal(got, expected)
        else:
            np.testing.assert_array_equal(
                got,
                strategy(random_state=0).query(
                    X, y, forest(), batch_size=2, targets=targets
                ),
            )
    with pytest.raises(ValueError, match="targets has the columns"):
        strategy().query(frame, y, forest(), targets=frame.iloc[:5].rename(
            columns={"a": "z"}
        ))  # fmt: skip
    with pytest.raises(ValueError, match="must be a DataFrame when X is one"):
        strategy().query(frame, y, forest(), targets=X[:5])


@pytest.mark.parametrize("strategy", EPIG_STRATEGIES)
@pytest.mark.parametrize("flag", [None, False, True])
def test_member_votes_in_select(strategy, flag):
    # select scores the probabilities as given unless member_votes=True.
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(4, 0.7), size=(6, 25))
    targets = rng.dirichlet(np.full(4, 0.7), size=(6, 9))
    before = probs.copy()
    got = strategy(random_state=1, member_votes=flag).select(probs, targets, 4)
    seen = (member_votes(probs), member_votes(targets)) if flag else (probs, targets)
    want = strategy(random_state=1, member_votes=False).select(*seen, 4)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_allclose(got.gains, want.gains, atol=1e-12)
    np.testing.assert_array_equal(probs, before)


def test_samplers_are_not_turned_into_votes(data):
    # With sample_predictions_method_name (MC dropout and the like) the
    # default scores probabilities.
    X, y = data

    class Sampler(RandomForestClassifier):
        def sample_proba(self, X):
            p = np.stack([t.predict_proba(X) for t in self.estimators_])
            return 0.6 * p + 0.4 * np.random.default_rng(0).dirichlet(
                np.ones(p.shape[-1]), size=p.shape[:2]
            )

    def run(flag):
        return EPIG(
            random_state=0, member_votes=flag,
            sample_predictions_method_name="sample_proba",
        ).query(X, y, Sampler(n_estimators=7, random_state=0), batch_size=3,
                return_utilities=True)[1]  # fmt: skip

    np.testing.assert_allclose(run(None), run(False), equal_nan=True)
    assert not np.allclose(run(True), run(False), equal_nan=True)


@pytest.mark.parametrize(
    ("completion", "says"),
    [("power", "drawn PowerEPIG-style"), (None, "completion='power' would")],
)
def test_batch_epig_warns_once_when_saturated(completion, says):
    from batchbald.saturation import SaturationWarning

    rng = np.random.default_rng(0)
    one = rng.dirichlet(np.ones(3), size=20)
    probs = np.broadcast_to(one, (4, 20, 3)).copy()  # identical members
    with pytest.warns(SaturationWarning) as record:
        sel = BatchEPIG(random_state=0, completion=completion).select(probs, None, 5)
    assert sel.saturated_at == 0
    messages = [str(w.message) for w in record if w.category is SaturationWarning]
    assert len(messages) == 1 and "step 0 of 5" in messages[0] and says in messages[0]


@pytest.mark.parametrize("member_votes", [False, True])
def test_without_targets_the_pool_is_scored_as_one_array(monkeypatch, member_votes):
    # the pool standing for the targets, votes included, reaches the EPIG
    # kernels as one array: probabilities take the symmetric path (each pair
    # once), votes the vote kernel with one array of labels for both
    from batchbald import _epig_symmetric, _epig_votes
    from batchbald import epig as epig_module

    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 9 * 25)  # chunks of 5
    calls = []
    if member_votes:
        real = _epig_votes.vote_joint_sums
        monkeypatch.setattr(
            _epig_votes, "vote_joint_sums",
            lambda *a, **k: calls.append(a[0] is a[1]) or real(*a, **k),
        )  # fmt: skip
    else:
        real = _epig_symmetric.symmetric_joint_sums
        monkeypatch.setattr(
            _epig_symmetric, "symmetric_joint_sums",
            lambda *a, **k: calls.append(True) or real(*a, **k),
        )  # fmt: skip
    rng = np.random.RandomState(3)
    probs = rng.dirichlet(np.full(3, 0.5), size=(6, 40))
    strategy = EPIG(member_votes=member_votes, random_state=0)
    alone = strategy.select(probs, batch_size=4, return_utilities=True)
    assert calls and calls[0]  # the scoring of every candidate
    given = strategy.select(probs, probs.copy(), batch_size=4, return_utilities=True)
    np.testing.assert_array_equal(alone.indices, given.indices)
    # utilities are float32-screened scores: good to about 1e-6 nats
    np.testing.assert_allclose(alone.utilities, given.utilities, atol=2e-6)
