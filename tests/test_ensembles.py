"""Tests for batchbald.ensembles.ensemble_probas."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_blobs
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from batchbald.classifier import FallbackWarning, SklearnClassifier
from batchbald.ensembles import ensemble_probas


def data(n=40, centers=2, seed=0, n_labeled=12):
    rng = np.random.RandomState(seed)
    X, y_true = make_blobs(n, centers=centers, n_features=3, random_state=seed)
    y = np.full(n, np.nan)
    idx = rng.choice(n, n_labeled, replace=False)
    y[idx] = y_true[idx]
    return X, y, y_true


def by_hand(fitted_ensemble, X_cand, n_classes):
    """Member probabilities of a fitted bagging/forest, computed by hand."""
    features = getattr(
        fitted_ensemble,
        "estimators_features_",
        [np.arange(X_cand.shape[1])] * len(fitted_ensemble.estimators_),
    )
    out = []
    for est, f in zip(fitted_ensemble.estimators_, features, strict=True):
        p = np.zeros((len(X_cand), n_classes))
        p[:, est.classes_.astype(int)] = est.predict_proba(X_cand[:, f])
        out.append(p)
    return np.array(out)


ENSEMBLES = [
    BaggingClassifier(DecisionTreeClassifier(), n_estimators=5, random_state=0),
    BaggingClassifier(GaussianNB(), n_estimators=4, max_features=0.5, random_state=0),
    RandomForestClassifier(n_estimators=6, random_state=0),
    ExtraTreesClassifier(n_estimators=3, random_state=0),
]


# ---------------------------------------------------------------------------
# Each kind of ensemble
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("inner", ENSEMBLES)
def test_wrapper_members_match_by_hand(inner):
    X, y, _ = data()
    X_cand = X[:7]
    wrapper = SklearnClassifier(inner, classes=[0, 1])
    probs, fitted = ensemble_probas(wrapper, X_cand, X=X, y=y, fit=True)
    assert probs.dtype == np.float64
    assert probs.shape == (inner.n_estimators, 7, 2)
    np.testing.assert_allclose(probs, by_hand(fitted.estimator_, X_cand, 2))
    np.testing.assert_allclose(probs.mean(0), fitted.predict_proba(X_cand))
    assert fitted is not wrapper and not hasattr(wrapper, "classes_")
    # fit=False on the fitted wrapper gives the same and returns it as is
    again, same = ensemble_probas(fitted, X_cand)
    assert same is fitted
    np.testing.assert_array_equal(again, probs)


@pytest.mark.parametrize("ensemble", ENSEMBLES)
def test_bare_ensemble_fitted_on_labeled_subset(ensemble):
    X, y, _ = data()
    lab = ~np.isnan(y)
    X_cand = X[::5]
    probs, fitted = ensemble_probas(ensemble, X_cand, X=X, y=y, fit=True)
    reference = clone(ensemble).fit(X[lab], y[lab])
    np.testing.assert_allclose(probs, by_hand(reference, X_cand, 2))
    np.testing.assert_allclose(probs.mean(0), reference.predict_proba(X_cand))
    assert not hasattr(ensemble, "estimators_")
    probs2, same = ensemble_probas(fitted, X_cand, fit=False)
    assert same is fitted
    np.testing.assert_array_equal(probs2, probs)


def test_list_members_get_full_or_labeled_y():
    X, y, _ = data()
    lab = ~np.isnan(y)
    members = [
        SklearnClassifier(GaussianProcessClassifier(random_state=0), classes=[0, 1]),
        LogisticRegression(),
        GaussianNB(),
    ]
    probs, fitted = ensemble_probas(members, X[:9], X=X, y=y, fit=True)
    assert isinstance(fitted, list) and len(fitted) == 3
    expected = [
        GaussianProcessClassifier(random_state=0).fit(X[lab], y[lab]),
        LogisticRegression().fit(X[lab], y[lab]),
        GaussianNB().fit(X[lab], y[lab]),
    ]
    np.testing.assert_allclose(
        probs, [m.predict_proba(X[:9]) for m in expected], atol=1e-10
    )
    assert all(not hasattr(m, "classes_") for m in members)
    tup_probs, tup = ensemble_probas(tuple(fitted), X[:9])
    assert isinstance(tup, tuple)
    np.testing.assert_array_equal(tup_probs, probs)


class MCModel(ClassifierMixin, BaseEstimator):
    """A stand-in for an MC-dropout model: K fixed 'weight samples'."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y):
        lab = ~np.isnan(np.asarray(y, dtype=float))
        self.classes_ = np.unique(np.asarray(y)[lab])
        self.n_features_in_ = X.shape[1]
        return self

    def sample_proba(self, X, n_samples=3):
        rng = np.random.RandomState(0)
        w = rng.normal(size=(n_samples, X.shape[1], len(self.classes_)))
        logits = self.scale * np.einsum("nd,kdc->knc", X, w)
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("n_samples", [1, 4, np.int64(5)])
def test_sample_predictions_method(n_samples):
    X, y, _ = data()
    model = MCModel().fit(X, y)
    probs, same = ensemble_probas(
        model,
        X[:6],
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_samples": n_samples},
    )
    assert same is model
    np.testing.assert_allclose(probs, model.sample_proba(X[:6], n_samples=n_samples))
    # fitting a clone, classes reordered
    probs2, fitted = ensemble_probas(
        MCModel(),
        X[:6],
        X=X,
        y=y,
        fit=True,
        classes=[1, 0],
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_samples": n_samples},
    )
    np.testing.assert_allclose(probs2, probs[:, :, ::-1])
    assert fitted is not model


def test_sample_predictions_accepts_image_shaped_candidates():
    class ImageModel(MCModel):
        def fit(self, X, y):
            return super().fit(X.reshape(len(X), -1), y)

        def sample_proba(self, X, n_samples=3):
            return super().sample_proba(X.reshape(len(X), -1), n_samples)

    X, y, _ = data()
    images = X.reshape(len(X), 1, 3, 1)
    probs, fitted = ensemble_probas(
        ImageModel(),
        images[:5],
        X=images,
        y=y,
        fit=True,
        sample_predictions_method_name="sample_proba",
    )
    np.testing.assert_allclose(probs, MCModel().fit(X, y).sample_proba(X[:5]))
    with pytest.raises(ValueError, match="X_cand must be a numeric 2-D"):
        ensemble_probas(RandomForestClassifier(2), images, X=images, y=y, fit=True)


def test_sample_predictions_torch_tensor():
    torch = pytest.importorskip("torch")

    class TorchModel(MCModel):
        def sample_proba(self, X, n_samples=3):
            return torch.tensor(super().sample_proba(X, n_samples), requires_grad=True)

    X, y, _ = data()
    model = TorchModel().fit(X, y)
    probs, _ = ensemble_probas(
        model, X[:4], sample_predictions_method_name="sample_proba"
    )
    assert isinstance(probs, np.ndarray) and probs.shape == (3, 4, 2)
    np.testing.assert_allclose(probs, MCModel.sample_proba(model, X[:4]))


# ---------------------------------------------------------------------------
# Fallbacks and class mapping
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labeled, expected_row",
    [([], [1 / 3, 1 / 3, 1 / 3]), ([1, 1], [0.0, 1.0, 0.0]), ([2], [0.0, 0.0, 1.0])],
)
def test_wrapper_fallback_repeats_prediction(labeled, expected_row):
    X, _, _ = data(n=20)
    y = np.full(20, np.nan)
    y[: len(labeled)] = labeled
    wrapper = SklearnClassifier(
        BaggingClassifier(
            SklearnClassifier(GaussianProcessClassifier()), n_estimators=np.int64(7)
        ),
        classes=[0, 1, 2],
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        probs, fitted = ensemble_probas(wrapper, X[:5], X=X, y=y, fit=True)
    assert [w.category for w in record] == [FallbackWarning]
    assert fitted.fallback_
    np.testing.assert_allclose(probs, np.tile(expected_row, (7, 5, 1)))


def test_gallery_construction_through_cycles():
    X, _, y_true = data(n=30)
    rng = np.random.RandomState(0)
    clf = SklearnClassifier(
        BaggingClassifier(
            SklearnClassifier(GaussianProcessClassifier(), random_state=rng),
            random_state=rng,
        ),
        classes=np.unique(y_true),
        random_state=rng,
    )
    y = np.full(30, np.nan)
    with pytest.warns(FallbackWarning):
        probs, _ = ensemble_probas(clf, X, X=X, y=y, fit=True)
    np.testing.assert_allclose(probs, 0.5)
    assert probs.shape == (10, 30, 2)
    y[:8] = y_true[:8]
    assert len(np.unique(y_true[:8])) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        probs, fitted = ensemble_probas(clf, X, X=X, y=y, fit=True)
    assert not fitted.fallback_
    np.testing.assert_allclose(
        probs, [m.predict_proba(X) for m in fitted.estimators_], atol=1e-12
    )


def test_member_that_saw_fewer_classes_is_mapped():
    # three labeled samples, three classes: bootstraps miss classes
    X = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0], [3.0, 3.0], [7.0, 1.0]])
    y = np.array(["a", "b", "c", "none", "none"])
    bag = SklearnClassifier(
        BaggingClassifier(  # no sample_weight: bootstraps by indexing
            KNeighborsClassifier(n_neighbors=1), n_estimators=8, random_state=1
        ),
        classes=["c", "b", "a", "d"],
        missing_label="none",
    )
    probs, fitted = ensemble_probas(bag, X, X=X, y=y, fit=True, missing_label="none")
    members = fitted.estimators_
    assert any(len(m.classes_) < 3 for m in members)
    inner_classes = fitted.estimator_.classes_  # ['a', 'b', 'c']
    for k, m in enumerate(members):
        expected = np.zeros((5, 4))
        for j, code in enumerate(m.classes_.astype(int)):
            col = ["c", "b", "a", "d"].index(inner_classes[code])
            expected[:, col] = m.predict_proba(X)[:, j]
        np.testing.assert_allclose(probs[k], expected)
    np.testing.assert_allclose(probs[:, :, 3], 0.0)


@pytest.mark.parametrize(
    "classes, order",
    [(None, [0, 1, 2]), ([2, 0, 1], [2, 0, 1]), ([3, 1, 0, 2], [None, 1, 0, 2])],
)
def test_classes_parameter_orders_columns(classes, order):
    X, y, _ = data(centers=3, n_labeled=20)
    forest = RandomForestClassifier(4, random_state=0)
    base, _ = ensemble_probas(forest, X[:5], X=X, y=y, fit=True)
    probs, _ = ensemble_probas(forest, X[:5], X=X, y=y, fit=True, classes=classes)
    for col, c in enumerate(order):
        expected = 0.0 if c is None else base[:, :, c]
        np.testing.assert_allclose(probs[:, :, col], expected)


def test_list_fit_false_with_different_member_classes():
    X, _, y_true = data(centers=3, n_labeled=20)
    a = LogisticRegression().fit(X[y_true != 2], y_true[y_true != 2])
    b = GaussianNB().fit(X, y_true)
    probs, _ = ensemble_probas([a, b], X[:4])
    assert probs.shape == (2, 4, 3)
    np.testing.assert_allclose(probs[0, :, :2], a.predict_proba(X[:4]))
    np.testing.assert_allclose(probs[0, :, 2], 0.0)
    np.testing.assert_allclose(probs[1], b.predict_proba(X[:4]))


def test_hard_vote_members():
    X, y, _ = data()
    lab = ~np.isnan(y)
    bag = BaggingClassifier(Perceptron(), n_estimators=3, random_state=0)
    probs, fitted = ensemble_probas(bag, X[:6], X=X, y=y, fit=True)
    ref = clone(bag).fit(X[lab], y[lab])
    onehot = [np.eye(2)[m.predict(X[:6]).astype(int)] for m in ref.estimators_]
    np.testing.assert_array_equal(probs, onehot)


def test_sample_weight_reaches_the_fit():
    X, y, _ = data()
    lab = ~np.isnan(y)
    w = np.random.RandomState(3).uniform(0.1, 3.0, len(X))
    forest = RandomForestClassifier(3, random_state=0)
    probs, _ = ensemble_probas(forest, X[:5], X=X, y=y, fit=True, sample_weight=w)
    ref = clone(forest).fit(X[lab], y[lab], sample_weight=w[lab])
    np.testing.assert_allclose(probs, by_hand(ref, X[:5], 2))


def test_inputs_not_mutated():
    X, y, _ = data()
    X0, y0 = X.copy(), y.copy()
    wrapper = SklearnClassifier(RandomForestClassifier(3), classes=[0, 1])
    params0 = wrapper.get_params()
    ensemble_probas(wrapper, X[:3], X=X, y=y, fit=True)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert wrapper.get_params().keys() == params0.keys()
    assert not hasattr(wrapper, "estimator_")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

Xe, ye, _ = data(n=10, n_labeled=6)


@pytest.mark.parametrize(
    "ensemble, kwargs, error, match",
    [
        (LogisticRegression(), {}, TypeError, "ensemble must be .*got LogisticReg"),
        ("forest", {}, TypeError, "ensemble must be"),
        (
            SklearnClassifier(GaussianNB()),
            {},
            TypeError,
            "ensemble is a SklearnClassifier around GaussianNB",
        ),
        ([], {}, ValueError, "ensemble is an empty list"),
        ([GaussianNB(), "x"], {}, TypeError, r"ensemble\[1\] must be"),
        (RandomForestClassifier(2), {}, NotFittedError, "ensemble .* not fitted"),
        ([GaussianNB()], {}, NotFittedError, r"ensemble\[0\] .* not fitted"),
        (RandomForestClassifier(2), {"fit": True}, ValueError, "X and y"),
        (RandomForestClassifier(2), {"fit": 1}, TypeError, "fit must be a bool"),
        (
            RandomForestClassifier(2),
            {"sample_predictions_dict": {"n": 2}},
            ValueError,
            "sample_predictions_method_name",
        ),
        (
            RandomForestClassifier(2),
            {"sample_predictions_method_name": "nope"},
            TypeError,
            "ensemble must have a method named 'nope'",
        ),
        (
            RandomForestClassifier(2),
            {"sample_predictions_method_name": 3},
            TypeError,
            "sample_predictions_method_name must be a str",
        ),
        (
            MCModel(),
            {
                "sample_predictions_method_name": "sample_proba",
                "sample_predictions_dict": [1],
            },
            TypeError,
            "sample_predictions_dict must be a dict",
        ),
        (
            RandomForestClassifier(2),
            {"X": Xe, "y": ye[:5], "fit": True},
            ValueError,
            r"len\(X\)=10 and len\(y\)=5",
        ),
        (
            RandomForestClassifier(2),
            {"X": Xe, "y": ye, "fit": True, "classes": [0]},
            ValueError,
            r"not in classes: 1\.0",
        ),
        (
            RandomForestClassifier(2),
            {"X": Xe, "y": np.full(10, np.nan), "fit": True},
            ValueError,
            "no labeled samples",
        ),
        (
            [GaussianProcessClassifier()],
            {"X": Xe, "y": ye, "fit": True, "sample_weight": np.ones(10)},
            TypeError,
            "sample_weight .* does not accept",
        ),
        (
            SklearnClassifier(RandomForestClassifier(2), missing_label=-1),
            {"X": Xe, "y": ye, "fit": True},
            ValueError,
            "missing_label=nan differs",
        ),
        (RandomForestClassifier(2), {"missing_label": [1]}, TypeError, "missing_label"),
    ],
)
def test_errors(ensemble, kwargs, error, match):
    with pytest.raises(error, match=match):
        ensemble_probas(ensemble, Xe, **kwargs)


def test_error_on_feature_mismatch_and_empty_candidates():
    forest = RandomForestClassifier(2, random_state=0).fit(Xe[:6], [0, 1] * 3)
    with pytest.raises(ValueError, match="X_cand has 2 features.*3 features"):
        ensemble_probas(forest, Xe[:, :2])
    with pytest.raises(ValueError, match="X_cand must hold at least one sample"):
        ensemble_probas(forest, Xe[:0])
    with pytest.raises(ValueError, match="X_cand must be"):
        ensemble_probas(forest, Xe[0])


def test_error_when_classes_miss_ensemble_classes():
    forest = RandomForestClassifier(2, random_state=0).fit(Xe[:6], [0, 1, 2] * 2)
    with pytest.raises(ValueError, match=r"classes \[2\] that are not in classes"):
        ensemble_probas(forest, Xe, classes=[0, 1])


@pytest.mark.parametrize(
    "output, match",
    [
        (np.full((2, 10), 0.5), "must have 3 dimensions"),
        (np.full((2, 4, 2), 0.5), r"n_candidates=10"),
        (np.full((2, 10, 2), 0.7), "sum"),
        (np.full((2, 10, 3), 1 / 3), "3 classes but ensemble.classes_ has 2"),
    ],
)
def test_error_on_bad_sample_predictions(output, match):
    class Bad(MCModel):
        def sample_proba(self, X, n_samples=3):
            return output

    model = Bad().fit(Xe, ye)
    with pytest.raises(ValueError, match=match):
        ensemble_probas(model, Xe, sample_predictions_method_name="sample_proba")


def test_missing_label_mismatch_is_named_before_the_labels_are_read():
    """With labels that only make sense under the wrapper's missing_label, the
    error names the mismatch, not a symptom of reading y the wrong way."""
    X = np.random.RandomState(0).rand(6, 2)
    y = np.array(["a", "b", None, "a", None, "b"], dtype=object)
    wrapper = SklearnClassifier(
        BaggingClassifier(LogisticRegression(), n_estimators=2), missing_label=None
    )
    with pytest.raises(ValueError, match="missing_label=nan differs"):
        ensemble_probas(wrapper, X, X=X, y=y, fit=True)


def test_bagging_ensemble_tolerates_single_class_bootstraps():
    """The seed's nested construction: members fall back instead of failing
    on a bootstrap sample with one class."""
    from batchbald.ensembles import bagging_ensemble

    X = np.random.RandomState(0).rand(30, 2)
    y = np.full(30, np.nan)
    y[[0, 1, 2]] = [0, 0, 1]  # tiny label set: single-class bootstraps are likely
    ens = bagging_ensemble(LogisticRegression(), 8, classes=[0, 1], random_state=0)
    with pytest.warns(FallbackWarning, match="some members"):
        probs, fitted = ensemble_probas(ens, X, X=X, y=y, fit=True)
    assert probs.shape == (8, 30, 2)
    assert fitted.n_member_fallbacks_ > 0
    assert ens.get_params()["classes"] == [0, 1] and not hasattr(ens, "classes_")


# ---------------------------------------------------------------------------
# Pipelines, DataFrames and estimators without BaseEstimator (issue 14)
# ---------------------------------------------------------------------------


def test_select_adapter_kinds():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from batchbald._adapters import (
        ListAdapter,
        MembersAdapter,
        MethodAdapter,
        PipelineAdapter,
        WrapperAdapter,
    )
    from batchbald.ensembles import select_adapter

    forest = RandomForestClassifier(2)
    table = [
        (forest, None, MembersAdapter),
        (SklearnClassifier(forest), None, WrapperAdapter),
        ([GaussianNB()], None, ListAdapter),
        (MCModel(), "sample_proba", MethodAdapter),
        (make_pipeline(StandardScaler(), forest), None, PipelineAdapter),
        (make_pipeline(StandardScaler(), MCModel()), "sample_proba", PipelineAdapter),
        (
            SklearnClassifier(make_pipeline(StandardScaler(), forest)),
            None,
            WrapperAdapter,
        ),
    ]
    for ensemble, method, expected in table:
        assert type(select_adapter(ensemble, method)) is expected
    nested = select_adapter(make_pipeline(StandardScaler(), SklearnClassifier(forest)))
    assert type(nested.final) is WrapperAdapter


def test_pipeline_members_are_preprocessing_then_each_member():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = data()
    lab = ~np.isnan(y)
    pipe = make_pipeline(
        StandardScaler(),
        BaggingClassifier(GaussianNB(), 4, max_features=2, random_state=0),
    )
    probs, fitted = ensemble_probas(pipe, X[:9], X=X, y=y, fit=True)
    reference = clone(pipe).fit(X[lab], y[lab])
    Xt = reference[0].transform(X[:9])
    np.testing.assert_allclose(probs, by_hand(reference[-1], Xt, 2))
    np.testing.assert_allclose(probs.mean(0), reference.predict_proba(X[:9]))
    assert not hasattr(pipe[0], "mean_")
    again, same = ensemble_probas(fitted, X[:9])
    assert same is fitted
    np.testing.assert_array_equal(again, probs)


def test_pipeline_ending_in_wrapper_scales_on_every_sample():
    """The last step handles missing labels: the Pipeline gets the whole y,
    so the scaler sees the unlabeled samples too; weights reach that step."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = data()
    wrapper = SklearnClassifier(
        BaggingClassifier(LogisticRegression(), 3, random_state=0), classes=[0, 1]
    )
    w = np.linspace(1, 2, len(X))
    probs, fitted = ensemble_probas(
        make_pipeline(StandardScaler(), wrapper),
        X[:5],
        X=X,
        y=y,
        fit=True,
        sample_weight=w,
    )
    np.testing.assert_allclose(fitted[0].mean_, X.mean(0))
    reference = clone(wrapper).fit(StandardScaler().fit_transform(X), y, w)
    Xt = fitted[0].transform(X[:5])
    np.testing.assert_allclose(probs, by_hand(reference.estimator_, Xt, 2))


def test_pipeline_without_members_is_refused():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(TypeError, match="Pipeline ending in LogisticRegression"):
        ensemble_probas(make_pipeline(StandardScaler(), LogisticRegression()), Xe)
    with pytest.raises(TypeError, match="which has no method named 'sample_proba'"):
        ensemble_probas(
            make_pipeline(StandardScaler(), RandomForestClassifier(2)),
            Xe,
            sample_predictions_method_name="sample_proba",
        )


def test_dataframe_keeps_names_for_members_and_refuses_other_columns():
    pd = pytest.importorskip("pandas")
    X, y, _ = data()
    df = pd.DataFrame(X, columns=["u", "v", "w"], index=np.arange(len(X)) + 7)
    for ensemble in [RandomForestClassifier(3, random_state=0), [LogisticRegression()]]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            probs_df, fitted = ensemble_probas(
                ensemble, df.iloc[:6], X=df, y=pd.Series(y), fit=True
            )
        probs_np, _ = ensemble_probas(ensemble, X[:6], X=X, y=y, fit=True)
        # A DataFrame's values may reach BLAS in another memory order, which
        # can change the last bit of the logistic regression's sums.
        np.testing.assert_allclose(probs_df, probs_np, rtol=1e-12, atol=1e-15)
        member = fitted[0] if isinstance(fitted, list) else fitted
        assert member.feature_names_in_.tolist() == ["u", "v", "w"]
        with pytest.raises(ValueError, match=r"columns \['w', 'v', 'u'\]"):
            ensemble_probas(fitted, df[["w", "v", "u"]])


def test_dataframe_with_strings_for_forest_members_is_named():
    pd = pytest.importorskip("pandas")
    forest = RandomForestClassifier(2, random_state=0).fit(Xe[:6], [0, 1] * 3)
    df = pd.DataFrame(Xe).assign(colour="red")
    with pytest.raises(ValueError, match="X_cand has 4 features"):
        ensemble_probas(forest, df)
    df = pd.DataFrame({"a": Xe[:, 0], "b": Xe[:, 1], "c": ["x"] * len(Xe)})
    with pytest.raises(ValueError, match="numeric columns"):
        ensemble_probas(forest, df)


class PlainMC:
    """MCModel without scikit-learn's base classes (no tags, no get_params)."""

    scale = 1.0

    def fit(self, X, y):
        self.classes_ = np.unique(np.asarray(y))
        self.n_features_in_ = X.shape[1]
        return self

    def sample_proba(self, X, n_samples=3):
        return MCModel.sample_proba(self, X, n_samples)


def test_estimator_without_base_estimator():
    X, y, _ = data()
    lab = ~np.isnan(y)
    plain = PlainMC()
    kwargs = {"sample_predictions_method_name": "sample_proba"}
    probs, fitted = ensemble_probas(plain, X[:5], X=X, y=y, fit=True, **kwargs)
    assert fitted is not plain and not hasattr(plain, "classes_")  # deep copy
    expected = MCModel().fit(X[lab], y[lab]).sample_proba(X[:5])
    np.testing.assert_allclose(probs, expected)
    again, same = ensemble_probas(fitted, X[:5], **kwargs)
    assert same is fitted
    np.testing.assert_array_equal(again, probs)
    with pytest.raises(NotFittedError, match=r"ensemble \(PlainMC\) is not fitted"):
        ensemble_probas(PlainMC(), X[:5], **kwargs)
