"""Tests for batchbald._labels: label validation and class-column mapping."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Perceptron

from batchbald._labels import (
    check_classes,
    check_label_vector,
    check_labels,
    check_sample_weight,
    class_lookup,
    is_nan_scalar,
    probas_on_classes,
    same_missing_label,
)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (np.nan, float("nan"), True),
        (np.nan, -1, False),
        (-1, -1.0, True),
        ("none", "none", True),
        ("1", 1, False),
        (None, None, True),
        (None, np.nan, False),
    ],
)
def test_same_missing_label(a, b, expected):
    assert same_missing_label(a, b) is expected


@pytest.mark.parametrize(
    "value, expected", [(np.nan, True), (1.0, False), ("nan", False), (True, False)]
)
def test_is_nan_scalar(value, expected):
    assert is_nan_scalar(value) is expected


@given(
    codes=st.lists(st.integers(-1, 3), min_size=1, max_size=30),
    classes=st.permutations(["a", "b", "c", "d"]),
)
@settings(max_examples=60, deadline=None)
def test_check_labels_round_trips(codes, classes):
    """classes_[codes] gives back the labeled entries, in order; -1 is missing."""
    y = [classes[c] if c >= 0 else None for c in codes]
    labeled, codes_L, classes_ = check_labels(y, len(y), classes, None)
    np.testing.assert_array_equal(labeled, np.array(codes) >= 0)
    assert classes_.tolist() == list(classes)
    assert classes_[codes_L].tolist() == [v for v in y if v is not None]


def test_classes_inferred_sorted():
    labeled, codes, classes_ = check_labels([2, np.nan, 0, 2], 4, None, np.nan)
    assert classes_.tolist() == [0.0, 2.0]
    assert codes.tolist() == [1, 0, 1]
    assert labeled.tolist() == [True, False, True, True]


def test_nothing_labeled_without_classes():
    _, codes, classes_ = check_labels(
        [np.nan] * 3, 3, None, np.nan, require_classes=False
    )
    assert codes.size == 0 and classes_.size == 0
    with pytest.raises(ValueError, match="no labeled samples and classes=None"):
        check_labels([np.nan] * 3, 3, None, np.nan)


def test_pandas_labels_read_by_position():
    pd = pytest.importorskip("pandas")
    y = pd.Series([1, None, 0, 1], dtype="Int64", index=[9, 8, 7, 6])
    arr = check_label_vector(y)
    assert arr.dtype == np.float64
    np.testing.assert_array_equal(arr, [1.0, np.nan, 0.0, 1.0])
    labeled, codes, classes_ = check_labels(y, 4, None, np.nan)
    assert labeled.tolist() == [True, False, True, True]
    assert classes_[codes].tolist() == [1.0, 0.0, 1.0]
    strings = pd.Series(["a", None, "b"], dtype="string")
    labeled, codes, classes_ = check_labels(strings, 3, None, np.nan)
    assert classes_.tolist() == ["a", "b"] and labeled.tolist() == [True, False, True]


@pytest.mark.parametrize(
    "classes, match",
    [
        ([], "non-empty"),
        ([[0, 1]], "non-empty one-dimensional"),
        ([0, 0], "duplicates"),
        ([0, np.nan], "NaN"),
    ],
)
def test_check_classes_errors(classes, match):
    with pytest.raises(ValueError, match=match):
        check_classes(classes, np.nan)


@pytest.mark.parametrize(
    "weights, error, match",
    [
        ([1.0, 2.0], ValueError, "shape"),
        (["a", "b", "c"], TypeError, "real numbers"),
        ([1.0, np.inf, 0.0], ValueError, "finite and non-negative"),
    ],
)
def test_check_sample_weight_errors(weights, error, match):
    with pytest.raises(error, match=match):
        check_sample_weight(weights, 3)


def test_check_sample_weight_none_and_ints():
    assert check_sample_weight(None, 3) is None
    out = check_sample_weight([1, 0, 2], 3)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 0.0, 2.0]


# ---------------------------------------------------------------------------
# probas_on_classes: the one class-column mapping
# ---------------------------------------------------------------------------

X = np.random.RandomState(0).normal(size=(12, 2))


def test_estimator_that_saw_fewer_classes_gets_zero_columns():
    model = LogisticRegression().fit(X, ["b", "d"] * 6)
    out = probas_on_classes(model, X[:4], class_lookup(["d", "c", "b", "a"]), name="m")
    expected = np.zeros((4, 4))
    expected[:, [2, 0]] = model.predict_proba(X[:4])
    np.testing.assert_array_equal(out, expected)


def test_hard_votes_become_one_hot():
    model = Perceptron(random_state=0).fit(X, [0, 1, 2] * 4)
    out = probas_on_classes(model, X, class_lookup([2, 1, 0]), name="m")
    np.testing.assert_array_equal(out.argmax(1), 2 - model.predict(X))
    np.testing.assert_array_equal(out.sum(1), 1.0)


def test_decode_maps_encoded_member_classes():
    forest = RandomForestClassifier(3, random_state=0).fit(X, ["x", "y"] * 6)
    tree = forest.estimators_[0]  # fitted on class indices 0, 1
    classes = forest.classes_

    def decode(v):
        return classes[np.asarray(v).astype(int)]

    out = probas_on_classes(
        tree, X, class_lookup(["y", "x"]), name="tree", decode=decode
    )
    np.testing.assert_array_equal(out, tree.predict_proba(X)[:, ::-1])


def test_unknown_class_and_bad_shape_are_named():
    model = LogisticRegression().fit(X, [0, 1] * 6)
    with pytest.raises(ValueError, match="m predicts class 1"):
        probas_on_classes(model, X, class_lookup([0]), name="m")

    class Bad:
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            return np.full((len(X), 3), 1 / 3)

    with pytest.raises(ValueError, match=r"b.predict_proba returned shape \(12, 3\)"):
        probas_on_classes(Bad(), X, class_lookup([0, 1]), name="b")
