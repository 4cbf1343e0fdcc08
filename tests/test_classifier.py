"""Tests for batchbald.classifier.SklearnClassifier."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from batchbald.classifier import FallbackWarning, SklearnClassifier


def blobs(n=40, centers=2, seed=0):
    X, y = make_blobs(n, centers=centers, n_features=2, random_state=seed)
    return X, y


def gallery_classifier(random_state, classes):
    """scikit-learn-activeml's gallery construction, import renamed."""
    return SklearnClassifier(
        BaggingClassifier(
            SklearnClassifier(GaussianProcessClassifier(), random_state=random_state),
            random_state=random_state,
        ),
        classes=classes,
        random_state=random_state,
    )


def fallback_warnings(record):
    return [w for w in record if issubclass(w.category, FallbackWarning)]


# ---------------------------------------------------------------------------
# The gallery construction across active learning cycles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labeled_idx, expected_row",
    [
        ([], [0.5, 0.5]),  # nothing labeled: uniform
        ([0], None),  # one class: one-hot of that class
        ([0, 2, 5], None),  # still one class (checked below)
    ],
)
def test_gallery_fallback_cycles(labeled_idx, expected_row):
    X, y_true = blobs(40)
    if labeled_idx:
        # pick samples of a single class
        labeled_idx = list(np.flatnonzero(y_true == y_true[0])[: len(labeled_idx)])
        c = y_true[labeled_idx[0]]
        expected_row = np.eye(2)[c]
    clf = gallery_classifier(np.random.RandomState(0), np.unique(y_true))
    y = np.full(len(X), np.nan)
    y[labeled_idx] = y_true[labeled_idx]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.fit(X, y)
        probs = clf.predict_proba(X)
        clf.predict_proba(X[:3])
        pred = clf.predict(X)
    assert len(fallback_warnings(record)) == 1  # once per fit, none per predict
    assert clf.fallback_ and clf.estimator_ is None
    np.testing.assert_allclose(probs, np.tile(expected_row, (len(X), 1)))
    assert pred.shape == (len(X),)
    np.testing.assert_array_equal(clf.classes_, [0, 1])


def test_gallery_both_classes_matches_skactiveml_members():
    skc = pytest.importorskip("skactiveml.classifier")
    X, y_true = blobs(40)
    idx = [0, 1, 2, 3, 4, 5]
    assert len(np.unique(y_true[idx])) == 2
    y = np.full(len(X), np.nan)
    y[idx] = y_true[idx]

    ours = gallery_classifier(np.random.RandomState(0), [0, 1])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ours.fit(X, y)
        probs = ours.predict_proba(X)
    # single-class bootstraps of members are reported once, by the outer wrapper
    assert len(fallback_warnings(record)) == int(ours.n_member_fallbacks_ > 0)

    rs = np.random.RandomState(0)
    ref = skc.SklearnClassifier(
        BaggingClassifier(
            skc.SklearnClassifier(GaussianProcessClassifier(), random_state=rs),
            random_state=rs,
        ),
        classes=[0, 1],
        random_state=rs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
        ref_members = [m.predict_proba(X) for m in ref.estimator_.estimators_]
    ours_members = [m.predict_proba(X) for m in ours.estimators_]
    np.testing.assert_allclose(ours_members, ref_members, atol=1e-6)
    np.testing.assert_allclose(probs, np.mean(ours_members, axis=0), atol=1e-12)


def test_member_fallbacks_give_one_warning_per_fit():
    # two labeled samples of different classes: many bootstraps hold one class
    X, y_true = blobs(20)
    idx = [int(np.flatnonzero(y_true == 0)[0]), int(np.flatnonzero(y_true == 1)[0])]
    y = np.full(len(X), np.nan)
    y[idx] = y_true[idx]
    clf = SklearnClassifier(
        BaggingClassifier(
            SklearnClassifier(GaussianProcessClassifier()),
            n_estimators=10,
            random_state=0,
        ),
        classes=[0, 1],
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.fit(X, y)
        clf.predict_proba(X)
    assert clf.n_member_fallbacks_ > 1
    assert len(fallback_warnings(record)) == 1
    assert "members" in str(fallback_warnings(record)[0].message)


def test_fallback_warns_once_per_fit_across_refits():
    X, _ = blobs(10)
    clf = SklearnClassifier(GaussianNB(), classes=[0, 1])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            clf.fit(X, np.full(10, np.nan))
            clf.predict_proba(X)
            clf.predict(X)
    assert len(fallback_warnings(record)) == 3
    assert len({str(w.message) for w in record}) == 1  # constant message
    assert all(w.filename == __file__ for w in record)  # points at the caller


# ---------------------------------------------------------------------------
# Agreement with the plain estimator fitted on the labeled subset
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [LogisticRegression(), GaussianNB(), DecisionTreeClassifier(random_state=0)],
)
@pytest.mark.parametrize("n_labeled", [4, 15])
def test_matches_estimator_on_labeled_subset(estimator, n_labeled):
    rng = np.random.RandomState(1)
    X, y_true = blobs(40, centers=3, seed=1)
    idx = rng.choice(40, n_labeled, replace=False)
    y = np.full(40, -1)
    y[idx] = y_true[idx]
    clf = SklearnClassifier(estimator, classes=[0, 1, 2], missing_label=-1).fit(X, y)
    ref = clone(estimator).fit(X[idx], y_true[idx])
    expected = np.zeros((40, 3))
    expected[:, ref.classes_] = ref.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(X), expected)
    np.testing.assert_array_equal(clf.predict(X), expected.argmax(1))
    assert clf.score(X[idx], y_true[idx]) == ref.score(X[idx], y_true[idx])


def test_class_mapping_when_estimator_saw_fewer_classes():
    X, y_true = blobs(30)
    y = y_true.astype(object)
    y[::2] = np.nan
    y = np.where(y == 0, "b", np.where(y == 1, "d", y))
    classes = ["d", "c", "b", "a"]  # unsorted, two never labeled
    clf = SklearnClassifier(LogisticRegression(), classes=classes).fit(X, y)
    lab = np.array([isinstance(v, str) for v in y])
    ref = LogisticRegression().fit(X[lab], y[lab].astype(str))
    probs = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_, classes)
    np.testing.assert_allclose(probs[:, [1, 3]], 0.0)
    np.testing.assert_allclose(probs[:, 2], ref.predict_proba(X)[:, 0])  # "b"
    np.testing.assert_allclose(probs[:, 0], ref.predict_proba(X)[:, 1])  # "d"
    assert set(clf.predict(X)) <= {"b", "d"}


@pytest.mark.parametrize(
    "y, missing_label, classes, expected_classes",
    [
        (["a", "none", "b", "a"], "none", None, ["a", "b"]),
        (["b", np.nan, "a", "b"], np.nan, None, ["a", "b"]),
        (np.array(["b", "x", "a", "b"]), "x", ["b", "a"], ["b", "a"]),
        ([1, -1, 0, 1], -1, None, [0, 1]),
        ([1.0, np.nan, 0.0, 1.0], np.nan, [1, 0], [1, 0]),
    ],
)
def test_classes_and_missing_label_kinds(y, missing_label, classes, expected_classes):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    clf = SklearnClassifier(
        GaussianNB(), classes=classes, missing_label=missing_label
    ).fit(X, y)
    assert clf.classes_.tolist() == expected_classes
    labeled = [i for i in range(4) if i != 1]
    y_lab = [y[i] for i in labeled]
    ref = GaussianNB().fit(X[labeled], y_lab)
    probs = clf.predict_proba(X)
    for j, c in enumerate(ref.classes_.tolist()):
        np.testing.assert_allclose(
            probs[:, expected_classes.index(c)], ref.predict_proba(X)[:, j]
        )


def test_fallback_frequencies_with_sample_weight():
    X = np.arange(6.0).reshape(-1, 1)
    y = np.array([0, 0, np.nan, 1, np.nan, 1])
    w = np.array([1.0, 3.0, 5.0, 0.0, 1.0, 0.0])  # class 1 weighs nothing
    with pytest.warns(FallbackWarning):
        clf = SklearnClassifier(GaussianNB(), classes=[0, 1, 2]).fit(X, y, w)
    np.testing.assert_allclose(clf.label_counts_, [4.0, 0.0, 0.0])
    np.testing.assert_allclose(clf.predict_proba(X), np.tile([1.0, 0, 0], (6, 1)))


def test_sample_weight_passed_to_supporting_estimator():
    rng = np.random.RandomState(2)
    X, y_true = blobs(30)
    y = y_true.astype(float)
    y[:10] = np.nan
    w = rng.uniform(0.5, 2.0, 30)
    clf = SklearnClassifier(LogisticRegression()).fit(X, y, sample_weight=w)
    ref = LogisticRegression().fit(X[10:], y_true[10:], sample_weight=w[10:])
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X))


def test_integer_weights_repeat_rows_for_non_supporting_estimator():
    X, y_true = blobs(12)
    w = np.array([2, 0, 1, 3, 1, 0, 1, 1, 2, 1, 0, 1])
    clf = SklearnClassifier(GaussianProcessClassifier(random_state=0))
    clf.fit(X, y_true, sample_weight=w)
    rows = np.repeat(np.arange(12), w)
    ref = GaussianProcessClassifier(random_state=0).fit(X[rows], y_true[rows])
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-8)


def test_as_bagging_member_uses_bootstrap_samples():
    X, y_true = blobs(30)
    bag = BaggingClassifier(
        SklearnClassifier(GaussianProcessClassifier()), n_estimators=4, random_state=0
    ).fit(X, y_true)
    expected = []
    for samples in bag.estimators_samples_:
        ref = GaussianProcessClassifier().fit(X[samples], y_true[samples])
        expected.append(ref.predict_proba(X))
    members = [m.predict_proba(X) for m in bag.estimators_]
    np.testing.assert_allclose(members, expected, atol=1e-6)
    np.testing.assert_allclose(bag.predict_proba(X), np.mean(members, 0), atol=1e-12)


def test_predict_only_estimator_gives_one_hot():
    X, y_true = blobs(30)
    clf = SklearnClassifier(Perceptron(random_state=0)).fit(X, y_true)
    ref = Perceptron(random_state=0).fit(X, y_true)
    np.testing.assert_array_equal(clf.predict_proba(X), np.eye(2)[ref.predict(X)])


# ---------------------------------------------------------------------------
# Random states, cloning, no mutation, member access
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("random_state", [3, np.int64(3)])
def test_seed_drawn_for_estimator_without_random_state(random_state):
    X, y = blobs(20)
    est = DecisionTreeClassifier()
    clf = SklearnClassifier(est, random_state=random_state).fit(X, y)
    assert clf.estimator_.random_state == np.random.RandomState(3).randint(2**31 - 1)
    assert est.random_state is None  # the user's estimator is untouched


@pytest.mark.parametrize(
    "estimator_seed, random_state, expected",
    [(7, 3, 7), (None, None, None)],
)
def test_seed_not_drawn(estimator_seed, random_state, expected):
    X, y = blobs(20)
    clf = SklearnClassifier(
        DecisionTreeClassifier(random_state=estimator_seed), random_state=random_state
    ).fit(X, y)
    assert clf.estimator_.random_state == expected


def test_shared_random_state_advances_between_fits():
    X, y = blobs(20)
    rng = np.random.RandomState(0)
    clf = SklearnClassifier(DecisionTreeClassifier(), random_state=rng)
    first = clf.fit(X, y).estimator_.random_state
    second = clf.fit(X, y).estimator_.random_state
    reference = np.random.RandomState(0)
    assert [first, second] == [reference.randint(2**31 - 1) for _ in range(2)]


def test_clone_and_params_round_trip():
    clf = SklearnClassifier(
        LogisticRegression(C=2.0),
        classes=["a", "b"],
        missing_label="?",
        random_state=1,
    )
    params = clf.get_params()
    assert params["estimator__C"] == 2.0
    assert params["missing_label"] == "?"
    twin = clone(clf)
    assert twin.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
    assert twin.classes == ["a", "b"] and twin.random_state == 1
    twin.set_params(estimator__C=0.5, classes=None)
    assert twin.estimator.C == 0.5 and clf.estimator.C == 2.0
    with pytest.raises(NotFittedError):
        twin.predict_proba(np.zeros((1, 2)))


def test_inputs_not_mutated():
    X, y_true = blobs(20)
    y = y_true.astype(float)
    y[::3] = np.nan
    w = np.ones(20)
    X0, y0, w0 = X.copy(), y.copy(), w.copy()
    est = LogisticRegression()
    params0 = est.get_params()
    clf = SklearnClassifier(est, random_state=0).fit(X, y, sample_weight=w)
    clf.predict_proba(X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, w0)
    assert est.get_params() == params0 and not hasattr(est, "coef_")
    assert clf.estimator_ is not est


def test_member_access_properties():
    X, y = blobs(30)
    bag = SklearnClassifier(
        BaggingClassifier(
            DecisionTreeClassifier(), n_estimators=3, max_features=0.5, random_state=0
        )
    ).fit(X, y)
    assert bag.estimators_ is bag.estimator_.estimators_
    assert bag.estimators_features_ is bag.estimator_.estimators_features_
    forest = SklearnClassifier(RandomForestClassifier(3, random_state=0)).fit(X, y)
    assert len(forest.estimators_) == 3
    with pytest.raises(AttributeError, match="estimators_features_"):
        _ = forest.estimators_features_
    with pytest.warns(FallbackWarning):
        bag.set_params(classes=[0, 1]).fit(X, np.full(30, np.nan))
    with pytest.raises(AttributeError, match="fell back"):
        _ = bag.estimators_
    assert not hasattr(clone(bag), "estimators_")


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

X4 = np.arange(8.0).reshape(4, 2)


@pytest.mark.parametrize(
    "kwargs, X, y, fit_kwargs, error, match",
    [
        ({}, X4, [0, 1, 0], {}, ValueError, r"len\(X\)=4 and len\(y\)=3"),
        (
            {"classes": [0, 1]},
            X4,
            [0, 1, 5, 7],
            {},
            ValueError,
            r"not in classes: 5, 7; valid classes are \[0, 1\]",
        ),
        (
            {},
            X4,
            ["a", "b", "z", "a"],
            {"classes": ["a", "b"]},
            ValueError,
            r"'z'.*valid classes are \['a', 'b'\]",
        ),
        ({}, X4, [np.nan] * 4, {}, ValueError, "classes"),
        ({"missing_label": "none"}, X4, [0, 1, 0, 1], {}, TypeError, "missing_label"),
        ({"missing_label": [1]}, X4, [0, 1, 0, 1], {}, TypeError, "missing_label"),
        (
            {"missing_label": -1},
            X4,
            [0, 1, np.nan, 1],
            {},
            ValueError,
            "NaN.*missing_label",
        ),
        (
            {"classes": [0, 0, 1]},
            X4,
            [0, 1, 0, 1],
            {},
            ValueError,
            "classes must not contain duplicates",
        ),
        (
            {"classes": [0, 1, np.nan]},
            X4,
            [0, 1, 0, 1],
            {},
            ValueError,
            "classes must not contain NaN",
        ),
        (
            {"classes": [0, 1, -1], "missing_label": -1},
            X4,
            [0, 1, 0, 1],
            {},
            ValueError,
            "classes must not contain missing_label",
        ),
        ({}, X4, [[0], [1], [0], [1]], {}, ValueError, "y must be one-dimensional"),
        ({}, np.arange(4.0), [0, 1, 0, 1], {}, ValueError, "X must be"),
        (
            {},
            X4,
            [0, 1, 0, 1],
            {"sample_weight": [1.0, 1.0]},
            ValueError,
            "sample_weight must have shape",
        ),
        (
            {},
            X4,
            [0, 1, 0, 1],
            {"sample_weight": [1.0, -1.0, 1.0, 1.0]},
            ValueError,
            "sample_weight must be finite and non-negative",
        ),
        ({"random_state": "seed"}, X4, [0, 1, 0, 1], {}, TypeError, "random_state"),
        ({"estimator": None}, X4, [0, 1, 0, 1], {}, TypeError, "estimator must be"),
        (
            {"estimator": GaussianNB},
            X4,
            [0, 1, 0, 1],
            {},
            TypeError,
            "estimator must be",
        ),
    ],
)
def test_fit_errors(kwargs, X, y, fit_kwargs, error, match):
    init = {"estimator": GaussianNB()}
    init.update(kwargs)
    classes = fit_kwargs.pop("classes", None)
    if classes is not None:
        init["classes"] = classes
    with pytest.raises(error, match=match):
        SklearnClassifier(**init).fit(X, y, **fit_kwargs)


def test_fractional_weights_need_supporting_estimator():
    X, y = blobs(10)
    clf = SklearnClassifier(GaussianProcessClassifier())
    with pytest.raises(ValueError, match="sample_weight must hold whole numbers"):
        clf.fit(X, y, sample_weight=np.full(10, 0.5))


def test_predict_with_wrong_number_of_features():
    X, y = blobs(10)
    clf = SklearnClassifier(GaussianNB()).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features.*2 features"):
        clf.predict_proba(np.zeros((2, 3)))


# ---------------------------------------------------------------------------
# DataFrames, Pipelines and estimators without BaseEstimator (issue 14)
# ---------------------------------------------------------------------------


def test_dataframe_keeps_column_names_and_is_read_by_position():
    pd = pytest.importorskip("pandas")
    X, y_true = blobs(30)
    y = np.where(np.arange(30) < 10, y_true, np.nan)
    index = np.arange(30)[::-1] * 3
    df = pd.DataFrame(X, columns=["x1", "x2"], index=index)
    ys = pd.Series(y, index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = SklearnClassifier(LogisticRegression()).fit(df, ys)
        probs_df = clf.predict_proba(df.iloc[5:20])
    assert clf.feature_names_in_.tolist() == ["x1", "x2"]
    assert clf.estimator_.feature_names_in_.tolist() == ["x1", "x2"]
    reference = LogisticRegression().fit(X[:10], y_true[:10])
    np.testing.assert_allclose(probs_df, reference.predict_proba(X[5:20]))
    with pytest.raises(ValueError, match=r"X has the columns \['x2', 'x1'\]"):
        clf.predict_proba(df[["x2", "x1"]])
    clf.fit(X, y)  # refit on an array: the names are gone
    assert not hasattr(clf, "feature_names_in_")


def test_dataframe_rows_repeated_for_whole_weights():
    pd = pytest.importorskip("pandas")
    X, y = blobs(12)
    w = np.arange(12) % 3
    df = pd.DataFrame(X, columns=["a", "b"], index=np.arange(12) + 100)
    clf = SklearnClassifier(GaussianProcessClassifier(random_state=0)).fit(df, y, w)
    reference = GaussianProcessClassifier(random_state=0).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    np.testing.assert_allclose(clf.predict_proba(df), reference.predict_proba(X))


def test_pipeline_inside():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs(20)
    y = np.where(np.arange(20) < 8, y, np.nan)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    clf = SklearnClassifier(pipe, classes=[0, 1]).fit(X, y)
    reference = clone(pipe).fit(X[:8], y[:8])
    np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X))


class PlainClassifier:
    """fit/predict_proba/classes_ and nothing from scikit-learn's base classes."""

    def fit(self, X, y):
        self.model_ = GaussianNB().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_estimator_without_base_estimator_is_deep_copied():
    X, y = blobs(20)
    y = np.where(np.arange(20) < 8, y, np.nan)
    plain = PlainClassifier()
    clf = SklearnClassifier(plain, classes=[0, 1], random_state=0).fit(X, y)
    assert clf.estimator_ is not plain and not hasattr(plain, "model_")
    reference = GaussianNB().fit(X[:8], y[:8])
    np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X))
