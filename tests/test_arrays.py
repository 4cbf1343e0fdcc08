"""Tests for batchbald._arrays: feature arrays, sparse matrices and DataFrames."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.ensemble import RandomForestClassifier

from batchbald._arrays import (
    check_candidate_indices,
    check_candidate_samples,
    check_feature_names,
    check_not_index_labels,
    check_X,
    is_dataframe,
    n_rows,
    take_rows,
    to_numeric_array,
)

pd = pytest.importorskip("pandas")


def frame(n=5):
    X = np.arange(n * 3, dtype=float).reshape(n, 3)
    return pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(n)[::-1] + 10)


def test_dataframe_returned_as_is():
    df = frame()
    assert check_X(df) is df
    # a DataFrame's dtypes are left to the estimator that receives it
    mixed = df.assign(colour=["r", "g", "b", "r", "g"])
    assert check_X(mixed) is mixed


@pytest.mark.parametrize(
    "X, allow_nd, shape",
    [
        ([[1, 2], [3, 4]], False, (2, 2)),
        (np.zeros((3, 2), dtype=np.int32), False, (3, 2)),
        (np.zeros((0, 2)), False, (0, 2)),
        (np.full((2, 2), np.nan), False, (2, 2)),
        (np.zeros((4, 2, 3)), True, (4, 2, 3)),
    ],
)
def test_arrays_validated(X, allow_nd, shape):
    out = check_X(X, allow_nd=allow_nd)
    assert isinstance(out, np.ndarray) and out.shape == shape


def test_sparse_kept_sparse():
    X = sp.random(6, 4, density=0.5, format="csc", random_state=0)
    out = check_X(X)
    assert sp.issparse(out) and out.format == "csr"
    np.testing.assert_array_equal(out.toarray(), X.toarray())


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        (None, {}, ValueError, "X must be a numeric 2-D .* got None"),
        (np.arange(3.0), {}, ValueError, "X must be a numeric 2-D"),
        (np.zeros((2, 2, 2)), {}, ValueError, "X must be a numeric 2-D"),
        ([["a", "b"]], {}, ValueError, "X must be a numeric"),
        (pd.DataFrame(index=range(3)), {}, ValueError, "DataFrame without columns"),
    ],
)
def test_check_X_errors(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_X(X, **kwargs)


@pytest.mark.parametrize(
    "X, expected",
    [
        (frame(5), 5),
        (np.zeros((7, 2)), 7),
        (sp.csr_matrix(np.eye(4)), 4),
        ([[1], [2], [3]], 3),
    ],
)
def test_n_rows(X, expected):
    assert n_rows(X) == expected


@pytest.mark.parametrize(
    "rows", [np.array([0, 3]), np.array([True, False, False, True, False])]
)
def test_take_rows_by_position_not_label(rows):
    df = frame()
    out = take_rows(df, rows)
    assert is_dataframe(out)
    np.testing.assert_array_equal(out.to_numpy(), df.to_numpy()[rows])
    assert list(out.columns) == ["a", "b", "c"]
    out.iloc[0, 0] = -1.0  # a copy: the caller's frame is untouched
    assert df.iloc[0, 0] == 0.0
    np.testing.assert_array_equal(take_rows(df.to_numpy(), rows), df.to_numpy()[rows])


def test_feature_names_checked_only_when_both_have_them():
    df = frame()
    forest = RandomForestClassifier(2, random_state=0).fit(df, [0, 1, 0, 1, 0])
    check_feature_names(forest, df, "ensemble")
    check_feature_names(forest, df.to_numpy(), "ensemble")  # no names: count only
    with pytest.raises(ValueError, match=r"columns \['c', 'b', 'a'\].*\['a', 'b'"):
        check_feature_names(forest, df[["c", "b", "a"]], "ensemble")
    with pytest.raises(ValueError, match="X_cand has 2 features.*3 features"):
        check_feature_names(forest, df.to_numpy()[:, :2], "ensemble")
    plain = RandomForestClassifier(2, random_state=0).fit(
        df.to_numpy(), [0, 1] * 2 + [0]
    )
    check_feature_names(plain, df[["c", "b", "a"]], "ensemble")  # no fitted names


def test_to_numeric_array():
    df = frame()
    out = to_numeric_array(df)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, df.to_numpy())
    X = np.zeros((2, 2))
    assert to_numeric_array(X) is X
    with pytest.raises(ValueError, match="numeric columns .* bagging ensemble"):
        to_numeric_array(df.assign(colour=list("rgbrg")))


@pytest.mark.parametrize(
    "cand, match",
    [
        (np.array([], dtype=int), "candidates is empty"),
        (np.array([0, 5]), r"outside \[0, 5\)"),
        (np.array([-1, 2]), r"outside \[0, 5\)"),
        (np.array([1, 1]), "repeated indices"),
    ],
)
def test_candidate_indices_errors(cand, match):
    with pytest.raises(ValueError, match=match):
        check_candidate_indices(cand, 5)


def test_candidate_samples_and_index_labels():
    df = frame()
    assert check_candidate_samples(df.iloc[:2], df) is not None
    np.testing.assert_array_equal(
        check_candidate_samples([[1.0, 2.0, 3.0]], df), [[1.0, 2.0, 3.0]]
    )
    with pytest.raises(ValueError, match=r"shape of X's samples \(3,\)"):
        check_candidate_samples(np.zeros((2, 2)), df)
    with pytest.raises(ValueError, match="candidates is a pandas Index"):
        check_not_index_labels(df.index[:2], df)
    check_not_index_labels(df.index[:2], df.reset_index(drop=True))
    check_not_index_labels(np.arange(2), df)  # plain positions
