"""The query strategies with what users bring: DataFrames, Series, Pipelines,
sparse matrices and their own estimators (issue 14), called as a user would.

Each input is checked against the equivalent numpy input: the same picks
(and the same utilities), and no warning from scikit-learn about feature
names.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_blobs
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from batchbald.classifier import FallbackWarning, SklearnClassifier
from batchbald.pool import (
    BatchBALD,
    EntropySampling,
    GreedyBALD,
    PowerBALD,
    RandomSampling,
    SoftmaxBALD,
    SoftrankBALD,
)
from batchbald.saturation import SaturationWarning

pd = pytest.importorskip("pandas")

STRATEGIES = [
    BatchBALD,
    GreedyBALD,
    PowerBALD,
    SoftmaxBALD,
    SoftrankBALD,
    EntropySampling,
]


def pool(n=60, n_labeled=12, seed=0):
    """Blobs with some labels; a DataFrame with string columns and an index
    that is not 0..n-1, and a Series of labels on that index."""
    X, y_true = make_blobs(n, centers=3, n_features=4, random_state=seed)
    y = np.full(n, np.nan)
    y[:n_labeled] = y_true[:n_labeled]
    index = np.arange(1000, 1000 + n)[::-1]  # positions != labels
    df = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"], index=index)
    return X, y, df, pd.Series(y, index=index, name="label")


def forest():
    return RandomForestClassifier(n_estimators=5, random_state=0)


def ensembles():
    """What users pass as the ensemble, by name."""
    return {
        "forest": forest(),
        "extra-trees": ExtraTreesClassifier(n_estimators=4, random_state=0),
        "pipeline-forest": make_pipeline(StandardScaler(), forest()),
        "wrapped-pipeline": SklearnClassifier(
            make_pipeline(StandardScaler(), forest()), classes=[0, 1, 2]
        ),
        "pipeline-bagging": make_pipeline(
            StandardScaler(),
            BaggingClassifier(
                DecisionTreeClassifier(max_depth=3), n_estimators=4, random_state=0
            ),
        ),
        "pipeline-wrapper": make_pipeline(
            StandardScaler(),
            SklearnClassifier(
                BaggingClassifier(
                    DecisionTreeClassifier(max_depth=3), n_estimators=3, random_state=0
                ),
                classes=[0, 1, 2],
            ),
        ),
        "seed-construction": SklearnClassifier(
            BaggingClassifier(
                SklearnClassifier(GaussianProcessClassifier(), random_state=0),
                n_estimators=3,
                random_state=0,
            ),
            classes=[0, 1, 2],
            random_state=0,
        ),
        "list": [
            LogisticRegression(),
            make_pipeline(StandardScaler(), LogisticRegression(C=0.1)),
        ],
    }


ENSEMBLE_NAMES = list(ensembles())


def query(strategy, X, y, ensemble, **kwargs):
    """``strategy.query`` with scikit-learn's warnings raised as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", FallbackWarning)
        warnings.simplefilter("ignore", SaturationWarning)  # small ensembles
        return strategy.query(X, y, ensemble, **kwargs)


@pytest.mark.parametrize(
    "strategy, name",
    [(BatchBALD, name) for name in ENSEMBLE_NAMES]
    + [(GreedyBALD, "pipeline-forest"), (GreedyBALD, "seed-construction")],
)
def test_dataframe_and_series_pick_as_numpy(strategy, name):
    X, y, df, ys = pool()
    ensemble = ensembles()[name]
    kwargs = {"batch_size": 3, "return_utilities": True}
    idx_np, util_np = query(strategy(random_state=0), X, y, ensemble, **kwargs)
    idx_df, util_df = query(strategy(random_state=0), df, ys, ensemble, **kwargs)
    np.testing.assert_array_equal(idx_df, idx_np)
    np.testing.assert_allclose(util_df, util_np, equal_nan=True)
    assert np.isnan(util_df[:, :12]).all()  # the labeled rows, by position


@pytest.mark.parametrize(
    "strategy", [*STRATEGIES, lambda random_state: RandomSampling(random_state=0)]
)
def test_every_strategy_takes_a_dataframe(strategy):
    X, y, df, ys = pool()
    args = () if strategy not in STRATEGIES else (forest(),)
    s_np, s_df = strategy(random_state=0), strategy(random_state=0)
    idx_np = s_np.query(X, y, *args, batch_size=4)
    idx_df = s_df.query(df, ys, *args, batch_size=4)
    np.testing.assert_array_equal(idx_df, idx_np)
    assert set(idx_df.tolist()) <= set(range(12, 60))


@pytest.mark.parametrize("name", ["forest", "pipeline-forest", "list"])
def test_candidates_as_positions_into_a_dataframe(name):
    X, y, df, ys = pool()
    cand = np.arange(20, 45)
    s = BatchBALD(random_state=0)
    idx_np = query(s, X, y, ensembles()[name], candidates=cand, batch_size=3)
    idx_df = query(s, df, ys, ensembles()[name], candidates=cand, batch_size=3)
    np.testing.assert_array_equal(idx_df, idx_np)
    assert set(idx_df.tolist()) <= set(cand.tolist())
    by_label = df.index.get_indexer(df.index[cand])
    idx_label = query(s, df, ys, ensembles()[name], candidates=by_label, batch_size=3)
    np.testing.assert_array_equal(idx_label, idx_np)


def test_candidates_as_index_labels_are_refused_when_ambiguous():
    X, y, df, ys = pool()
    with pytest.raises(ValueError, match="candidates is a pandas Index"):
        GreedyBALD().query(df, ys, forest(), candidates=df.index[20:30])
    # With the default index, labels and positions agree: accepted.
    plain = df.reset_index(drop=True)
    idx = GreedyBALD(random_state=0).query(
        plain, ys.reset_index(drop=True), forest(), candidates=plain.index[20:30]
    )
    assert 20 <= idx[0] < 30


def test_candidates_as_dataframe_samples():
    X, y, df, ys = pool()
    s = GreedyBALD(random_state=0)
    ens = make_pipeline(StandardScaler(), forest())
    idx_np, u_np = query(
        s, X, y, ens, candidates=X[30:50], batch_size=2, return_utilities=True
    )
    idx_df, u_df = query(
        s, df, ys, ens, candidates=df.iloc[30:50], batch_size=2, return_utilities=True
    )
    np.testing.assert_array_equal(idx_df, idx_np)
    assert u_df.shape == (2, 20)
    np.testing.assert_allclose(u_df, u_np, equal_nan=True)


def test_dataframe_is_not_modified():
    X, y, df, ys = pool()
    before, y_before = df.copy(), ys.copy()
    query(BatchBALD(random_state=0), df, ys, ensembles()["wrapped-pipeline"])
    pd.testing.assert_frame_equal(df, before)
    pd.testing.assert_series_equal(ys, y_before)


def test_string_columns_through_a_column_transformer():
    """A DataFrame with a categorical column, encoded inside the Pipeline."""
    X, y, df, ys = pool()
    df = df.assign(colour=np.where(X[:, 0] > X[:, 0].mean(), "red", "blue"))
    encode = make_column_transformer(
        (OneHotEncoder(), ["colour"]), remainder=StandardScaler()
    )
    X_enc = np.column_stack([df["colour"] == "blue", df["colour"] == "red", X])
    X_enc = X_enc.astype(float)
    X_enc[:, 2:] = StandardScaler().fit(X[:12]).transform(X)
    idx_df = query(
        GreedyBALD(random_state=0),
        df,
        ys,
        make_pipeline(encode, forest()),
        batch_size=3,
    )
    idx_np = query(GreedyBALD(random_state=0), X_enc, y, forest(), batch_size=3)
    np.testing.assert_array_equal(idx_df, idx_np)


def test_nullable_integer_series_marks_missing_labels():
    X, y, df, _ = pool()
    ys = pd.Series(pd.array([None if np.isnan(v) else int(v) for v in y], "Int64"))
    idx_np = query(GreedyBALD(random_state=0), X, y, forest(), batch_size=3)
    idx_df = query(GreedyBALD(random_state=0), df, ys, forest(), batch_size=3)
    np.testing.assert_array_equal(idx_df, idx_np)


def test_sparse_X():
    X, y, _, _ = pool()
    X = np.abs(X)
    idx_np = query(GreedyBALD(random_state=0), X, y, forest(), batch_size=3)
    idx_sp = query(
        GreedyBALD(random_state=0), sp.csr_matrix(X), y, forest(), batch_size=3
    )
    np.testing.assert_array_equal(idx_sp, idx_np)


def test_pipeline_without_members_is_refused_in_our_words():
    X, y, df, ys = pool()
    with pytest.raises(TypeError, match="Pipeline ending in LogisticRegression"):
        GreedyBALD().query(
            df, ys, make_pipeline(StandardScaler(), LogisticRegression())
        )


def test_wrapped_pipeline_before_two_classes_scores_zero():
    X, y, df, _ = pool()
    y_none = pd.Series(np.full(len(y), np.nan))
    ens = ensembles()["wrapped-pipeline"]
    with pytest.warns(FallbackWarning):
        _, util = GreedyBALD(random_state=0).query(
            df, y_none, ens, batch_size=1, return_utilities=True
        )
    np.testing.assert_allclose(util, 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# A user's own estimator, without scikit-learn's BaseEstimator
# ---------------------------------------------------------------------------


class OwnEnsemble:
    """Bootstrapped naive Bayes members (smoothed: never certain) behind a
    ``sample_proba`` method, written without scikit-learn's base classes (no
    get_params, no tags)."""

    def __init__(self, n_members=4, seed=0):
        self.n_members = n_members
        self.seed = seed
        self.n_fits = 0

    def fit(self, X, y):
        self.n_fits += 1
        rng = np.random.RandomState(self.seed)
        X, y = np.asarray(X), np.asarray(y)
        self.classes_ = np.unique(y)
        self.members_ = []
        for _ in range(self.n_members):
            rows = rng.choice(len(X), len(X))
            while len(np.unique(y[rows])) < len(self.classes_):
                rows = rng.choice(len(X), len(X))
            self.members_.append(GaussianNB(var_smoothing=1.0).fit(X[rows], y[rows]))
        return self

    def sample_proba(self, X):
        return np.stack([m.predict_proba(np.asarray(X)) for m in self.members_])


class OwnWithParams(OwnEnsemble):
    """The same with get_params/set_params: scikit-learn's clone works."""

    def get_params(self, deep=True):
        return {"n_members": self.n_members, "seed": self.seed}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self


def by_hand_bald_picks(own_cls, X, y, k):
    """Top-k BALD of a freshly fitted own ensemble, computed directly."""
    lab = ~np.isnan(y)
    probs = own_cls().fit(X[lab], y[lab]).sample_proba(X)
    mean = probs.mean(0)
    entropy = -(mean * np.log(mean)).sum(-1)
    expected = -(probs * np.log(probs)).sum(-1).mean(0)
    bald = np.where(lab, -np.inf, entropy - expected)
    return np.argsort(-bald, kind="stable")[:k]


@pytest.mark.parametrize("own_cls", [OwnEnsemble, OwnWithParams])
@pytest.mark.parametrize("as_frame", [False, True])
def test_own_estimator_fitted_by_the_query(own_cls, as_frame):
    X, y, df, ys = pool()
    own = own_cls()
    s = GreedyBALD(sample_predictions_method_name="sample_proba", random_state=0)
    idx = query(s, df if as_frame else X, ys if as_frame else y, own, batch_size=3)
    np.testing.assert_array_equal(idx, by_hand_bald_picks(own_cls, X, y, 3))
    assert own.n_fits == 0 and not hasattr(own, "members_")  # a copy was fitted


def test_own_estimator_already_fitted():
    X, y, _, _ = pool()
    lab = ~np.isnan(y)
    fitted = OwnEnsemble().fit(X[lab], y[lab])
    state = copy.deepcopy(vars(fitted))
    s = GreedyBALD(sample_predictions_method_name="sample_proba", random_state=0)
    idx = query(s, X, y, fitted, fit_ensemble=False, batch_size=3)
    np.testing.assert_array_equal(idx, by_hand_bald_picks(OwnEnsemble, X, y, 3))
    assert vars(fitted).keys() == state.keys() and fitted.n_fits == 1


def test_own_estimator_not_fitted_is_named():
    X, y, _, _ = pool()
    s = GreedyBALD(sample_predictions_method_name="sample_proba")
    with pytest.raises(NotFittedError, match=r"ensemble \(OwnEnsemble\) is not fitted"):
        s.query(X, y, OwnEnsemble(), fit_ensemble=False)


def test_own_estimator_at_the_end_of_a_pipeline():
    X, y, df, ys = pool()
    s = GreedyBALD(sample_predictions_method_name="sample_proba", random_state=0)
    pipe = make_pipeline(StandardScaler(), OwnEnsemble())
    idx_df = query(s, df, ys, pipe, batch_size=3)
    lab = ~np.isnan(y)
    Xs = StandardScaler().fit(X[lab]).transform(X)
    np.testing.assert_array_equal(idx_df, by_hand_bald_picks(OwnEnsemble, Xs, y, 3))
    fitted = make_pipeline(StandardScaler(), OwnEnsemble()).fit(X[lab], y[lab])
    idx_fitted = query(s, X, y, fitted, fit_ensemble=False, batch_size=3)
    np.testing.assert_array_equal(idx_fitted, idx_df)


class OwnClassifier:
    """A plain classifier with fit/predict_proba and nothing else."""

    def fit(self, X, y):
        self.model_ = GaussianNB().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


@pytest.mark.parametrize(
    "ensemble",
    [
        [OwnClassifier(), SklearnClassifier(OwnClassifier())],
        SklearnClassifier(
            BaggingClassifier(
                SklearnClassifier(OwnClassifier()), n_estimators=3, random_state=0
            ),
            classes=[0, 1, 2],
        ),
    ],
)
def test_own_classifiers_as_members(ensemble):
    X, y, df, ys = pool()
    idx_np = query(BatchBALD(random_state=0), X, y, ensemble, batch_size=3)
    idx_df = query(BatchBALD(random_state=0), df, ys, ensemble, batch_size=3)
    np.testing.assert_array_equal(idx_df, idx_np)
