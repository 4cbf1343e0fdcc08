"""Tests of the query strategies in batchbald.pool."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from batchbald.classifier import SklearnClassifier
from batchbald.ensembles import ensemble_probas
from batchbald.information import bald_scores
from batchbald.pool import (
    BatchBALD,
    EntropySampling,
    GreedyBALD,
    PowerBALD,
    RandomSampling,
    SoftmaxBALD,
    SoftrankBALD,
)
from batchbald.utils import MISSING_LABEL

ENSEMBLE_STRATEGIES = [
    BatchBALD,
    GreedyBALD,
    PowerBALD,
    SoftmaxBALD,
    SoftrankBALD,
    EntropySampling,
]


@pytest.fixture
def data():
    X, y_true = make_blobs(n_samples=60, centers=3, random_state=0)
    y = np.full(len(X), MISSING_LABEL)
    labeled = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    y[labeled] = y_true[labeled]
    return X, y, y_true


def forest():
    return RandomForestClassifier(n_estimators=10, random_state=0)


@pytest.mark.parametrize("strategy", ENSEMBLE_STRATEGIES)
def test_query_shapes_and_nan_semantics(strategy, data):
    X, y, _ = data
    qs = strategy(random_state=0)
    idx, util = qs.query(X, y, forest(), batch_size=3, return_utilities=True)
    assert idx.shape == (3,) and util.shape == (3, len(X))
    labeled = ~np.isnan(y)
    assert np.isnan(util[:, labeled]).all()
    assert not np.isin(idx, np.flatnonzero(labeled)).any()
    assert len(set(idx)) == 3
    for i in range(3):
        assert np.isnan(util[i, idx[:i]]).all()
        assert not np.isnan(util[i, idx[i]])


def test_random_sampling(data):
    X, y, _ = data
    idx, util = RandomSampling(random_state=0).query(
        X, y, batch_size=4, return_utilities=True
    )
    assert len(set(idx)) == 4 and np.isnan(util[:, ~np.isnan(y)]).all()
    again = RandomSampling(random_state=0).query(X, y, batch_size=4)
    np.testing.assert_array_equal(idx, again)


def test_batchbald_batch_size_one_equals_greedy_bald(data):
    X, y, _ = data
    ens = SklearnClassifier(
        BaggingClassifier(LogisticRegression(), n_estimators=8, random_state=0),
        classes=[0, 1, 2],
    )
    a = BatchBALD(random_state=0, member_votes=False).query(X, y, ens, batch_size=1)
    b = GreedyBALD(random_state=0).query(X, y, ens, batch_size=1)
    np.testing.assert_array_equal(a, b)


def test_batchbald_utilities_first_row_is_bald(data):
    X, y, _ = data
    ens = forest()
    idx, util = BatchBALD(random_state=0, eps=0.0).query(
        X, y, ens, batch_size=2, return_utilities=True
    )
    probs, _ = ensemble_probas(ens, X, X=X, y=y, fit=True)
    expected = bald_scores(probs)
    unl = np.isnan(y)
    np.testing.assert_allclose(util[0, unl], expected[unl], atol=1e-9)


@pytest.mark.parametrize("as_samples", [False, True])
def test_candidates(as_samples, data):
    X, y, _ = data
    cand_idx = np.array([20, 25, 30, 35, 40])
    candidates = X[cand_idx] if as_samples else cand_idx
    idx, util = BatchBALD(random_state=0).query(
        X, y, forest(), candidates=candidates, batch_size=2, return_utilities=True
    )
    if as_samples:
        assert util.shape == (2, 5) and set(idx) <= set(range(5))
    else:
        assert util.shape == (2, len(X)) and set(idx) <= set(cand_idx)
        others = np.setdiff1d(np.arange(len(X)), cand_idx)
        assert np.isnan(util[:, others]).all()


def test_batch_size_larger_than_candidates_selects_all(data):
    X, y, _ = data
    with pytest.warns(UserWarning, match="selecting all 3"):
        idx = GreedyBALD().query(X, y, forest(), candidates=[11, 12, 13], batch_size=5)
    assert sorted(idx) == [11, 12, 13]


def test_list_of_models_and_fit_ensemble_false(data):
    X, y, _ = data
    lab = ~np.isnan(y)
    members = [
        LogisticRegression(C=c).fit(X[lab], y[lab].astype(int)) for c in (0.01, 1, 100)
    ]
    idx = BatchBALD(random_state=0).query(
        X, y, members, fit_ensemble=False, batch_size=2
    )
    assert len(idx) == 2


def test_query_does_not_modify_inputs(data):
    X, y, _ = data
    ens = forest()
    X0, y0, params0 = X.copy(), y.copy(), ens.get_params()
    BatchBALD(random_state=0).query(X, y, ens, batch_size=3, return_utilities=True)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert ens.get_params() == params0
    assert not hasattr(ens, "estimators_")


def test_integer_random_state_is_reproducible_and_instance_advances():
    # A pool of duplicates: every choice is a tie, broken by random_state.
    X = np.zeros((30, 2))
    y = np.full(30, MISSING_LABEL)
    probs = np.tile([[[0.3, 0.7]], [[0.6, 0.4]]], (1, 30, 1))

    class Fixed:
        def sample_proba(self, X):
            return probs[:, : len(X)]

    kwargs = {"sample_predictions_method_name": "sample_proba"}
    a = BatchBALD(random_state=3, **kwargs).query(X, y, Fixed(), fit_ensemble=False)
    b = BatchBALD(random_state=3, **kwargs).query(X, y, Fixed(), fit_ensemble=False)
    np.testing.assert_array_equal(a, b)
    qs = BatchBALD(random_state=np.random.RandomState(0), **kwargs)
    draws = {int(qs.query(X, y, Fixed(), fit_ensemble=False)[0]) for _ in range(10)}
    assert len(draws) > 1


@pytest.mark.parametrize("strategy", [*ENSEMBLE_STRATEGIES, RandomSampling])
def test_strategies_are_sklearn_estimators(strategy):
    qs = strategy(random_state=1)
    assert clone(qs).get_params() == qs.get_params()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda X, y: GreedyBALD().query(X, y[:-1], forest()),
            ValueError,
            "len\\(y\\)",
        ),
        (
            lambda X, y: GreedyBALD().query(X, np.zeros(len(X)), forest()),
            ValueError,
            "no candidates",
        ),
        (
            lambda X, y: GreedyBALD().query(X, y, forest(), candidates=[1000]),
            ValueError,
            "candidates",
        ),
        (lambda X, y: GreedyBALD().query(X, y, "forest"), TypeError, "ensemble"),
    ],
)
def test_errors_name_the_parameter(call, error, match, data):
    X, y, _ = data
    with pytest.raises(error, match=match):
        call(X, y)


def test_select_from_probabilities_directly():
    probs = np.random.RandomState(0).dirichlet(np.ones(3), size=(5, 40))
    sel = BatchBALD(random_state=0).select(probs, 4)
    assert sel.indices.shape == (4,) and sel.gains.shape == (4,)


def test_progress_bar_is_drawn_on_a_terminal_only(capsys, monkeypatch, data):
    from batchbald import _progress

    X, y, _ = data
    BatchBALD(random_state=0, progress=True).query(X, y, forest(), batch_size=3)
    assert "BatchBALD" not in capsys.readouterr().err  # stderr is not a terminal
    monkeypatch.setattr(_progress, "is_terminal", lambda stream=None: True)
    BatchBALD(random_state=0, progress=True).query(X, y, forest(), batch_size=3)
    assert "BatchBALD" in capsys.readouterr().err


def test_mc_dropout_network_plugs_in(data):
    pytest.importorskip("torch")
    from batchbald.deep import MCDropoutClassifier, make_mlp

    X, y, _ = data
    clf = MCDropoutClassifier(
        make_mlp(2, 3, hidden=(16,)), max_epochs=5, random_state=0
    )
    qs = BatchBALD(
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_members": 8},
        random_state=0,
    )
    idx = qs.query(X, y, clf, batch_size=3)
    assert len(set(idx)) == 3 and np.isnan(y[idx]).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "bogus"}, "torch does not know"),
        ({"device": 0}, "named by a string"),
        ({"max_memory": float("inf")}, "max_memory must be a finite number"),
        ({"n_MC_samples": 1e9}, "n_MC_samples must be an integer"),
    ],
)
def test_batchbald_refuses_bad_settings_before_fitting(kwargs, match, data):
    pytest.importorskip("torch")
    X, y, _ = data
    ens = forest()
    with pytest.raises((ValueError, TypeError), match=match):
        BatchBALD(**kwargs).query(X, y, ens, batch_size=2)
    assert not hasattr(ens, "estimators_")


def test_batchbald_refuses_a_huge_n_MC_samples_up_front():
    probs = np.random.RandomState(0).dirichlet(np.ones(2), size=(10, 60))
    with pytest.raises(ValueError, match="n_MC_samples in BatchBALD"):
        BatchBALD(n_MC_samples=10**9).select(probs, 40)
