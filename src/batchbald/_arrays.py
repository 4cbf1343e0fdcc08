"""Feature arrays as users bring them: numpy arrays, sparse matrices, DataFrames.

A pandas DataFrame is kept a DataFrame on its way to the user's estimator, so
that estimators which use column names (a ``ColumnTransformer``, anything
fitted with ``feature_names_in_``) see them; its rows are taken by position
(``.iloc``), never by index label. Arrays and sparse matrices are validated
as numeric. Only where batchbald itself reads the members of a bagging
ensemble or a forest (which scikit-learn fits on plain arrays) does a
DataFrame become an array, after its columns were checked against the
ensemble's ``feature_names_in_``.
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.utils import check_array

__all__ = [
    "check_X",
    "check_candidate_indices",
    "check_candidate_samples",
    "check_not_index_labels",
    "check_feature_names",
    "is_dataframe",
    "n_rows",
    "take_rows",
    "to_numeric_array",
]

if "ensure_all_finite" in inspect.signature(check_array).parameters:
    _ALLOW_NAN = {"ensure_all_finite": False}
else:  # scikit-learn < 1.6
    _ALLOW_NAN = {"force_all_finite": False}


def is_dataframe(X) -> bool:
    """Whether ``X`` is a pandas (or pandas-like) DataFrame."""
    return hasattr(X, "iloc") and hasattr(X, "columns") and hasattr(X, "dtypes")


def check_X(X, name: str = "X", allow_nd: bool = False):
    """Validate features; a DataFrame is returned as it is.

    Parameters
    ----------
    X : array-like, sparse matrix or DataFrame
        Samples. Arrays must be numeric and 2-D (at least 2-D with
        ``allow_nd``); NaN is allowed (the estimator decides about it). A
        DataFrame must have at least one column; its dtypes are left to the
        estimator that receives it (a ``Pipeline`` may encode strings).
    name : str, default="X"
        Name of the parameter in error messages.
    allow_nd : bool, default=False
        Accept arrays of shape ``(n_samples, ...)`` (images, sequences).

    Returns
    -------
    numpy.ndarray, scipy.sparse.csr_matrix or DataFrame
        The caller's DataFrame itself (never modified), or the validated
        array (possibly the caller's array; never written to).
    """
    shape = "(n_samples, ...)" if allow_nd else "2-D (n_samples, n_features)"
    if X is None:
        raise ValueError(f"{name} must be a numeric {shape} array; got None.")
    if is_dataframe(X):
        if X.shape[1] == 0:
            raise ValueError(f"{name} is a DataFrame without columns.")
        return X
    try:
        return check_array(
            X,
            accept_sparse="csr",
            dtype="numeric",
            ensure_min_samples=0,
            allow_nd=allow_nd,
            **_ALLOW_NAN,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be a numeric {shape} array: {exc}") from None


def n_rows(X) -> int:
    """Number of samples of an array, sparse matrix, DataFrame or sequence."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def take_rows(X, rows):
    """Rows of ``X`` by position: ``X.iloc[rows]`` for a DataFrame, else ``X[rows]``.

    ``rows`` may be integer positions or a boolean mask. A DataFrame result is
    a new DataFrame (a copy), so nothing written to it reaches the caller's.
    """
    if is_dataframe(X):
        return X.iloc[np.asarray(rows)]
    return X[rows]


def check_feature_names(estimator, X, name: str, what: str = "X_cand") -> None:
    """``X``'s columns must be the ones ``estimator`` was fitted on.

    Checked only when both sides have names (a DataFrame ``X`` and an
    estimator with ``feature_names_in_``), as scikit-learn does; otherwise
    only the number of features is compared (2-D input only).

    Raises
    ------
    ValueError
        If the names or the number of features differ.
    """
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if fitted_names is not None and is_dataframe(X):
        given = [str(c) for c in X.columns]
        expected = [str(c) for c in fitted_names]
        if given != expected:
            raise ValueError(
                f"{what} has the columns {given[:10]!r}, but {name} was fitted on "
                f"the columns {expected[:10]!r} (same names, same order needed)."
            )
    n_features = getattr(estimator, "n_features_in_", None)
    ndim = len(getattr(X, "shape", ()))
    if n_features is not None and ndim == 2 and X.shape[1] != n_features:
        raise ValueError(
            f"{what} has {X.shape[1]} features, but {name} was fitted with "
            f"{n_features} features."
        )


def to_numeric_array(X, name: str = "X_cand"):
    """A DataFrame as a numeric array (what bagging and forest members see).

    Arrays and sparse matrices are returned as they are.

    Raises
    ------
    ValueError
        If a DataFrame has columns that are not numeric.
    """
    if not is_dataframe(X):
        return X
    try:
        return check_array(X, dtype="numeric", ensure_min_samples=0, **_ALLOW_NAN)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold numeric columns for the members of a bagging "
            f"ensemble or forest (encode the others, e.g. in a Pipeline): {exc}"
        ) from None


# ---------------------------------------------------------------------------
# Candidates of a query
# ---------------------------------------------------------------------------


def check_index_range(idx: np.ndarray, n_samples: int, name: str) -> None:
    """Refuse an empty ``idx`` or one with positions outside ``[0, n_samples)``."""
    if idx.size == 0:
        raise ValueError(f"{name} is empty; pass None or at least one index.")
    if idx.min() < 0 or idx.max() >= n_samples:
        raise ValueError(
            f"{name} holds indices outside [0, {n_samples}) (got "
            f"min {idx.min()}, max {idx.max()})."
        )


def check_candidate_indices(cand: np.ndarray, n_samples: int) -> np.ndarray:
    """Integer candidates: distinct positions in ``[0, n_samples)``, as intp."""
    check_index_range(cand, n_samples, "candidates")
    if len(np.unique(cand)) != len(cand):
        raise ValueError("candidates holds repeated indices.")
    return cand.astype(np.intp)


def check_not_index_labels(candidates, X) -> None:
    """Refuse a pandas Index as candidates when X's index labels are not
    its positions: the two readings would pick different rows."""
    if not (hasattr(candidates, "get_indexer") and is_dataframe(X)):
        return
    if np.array_equal(np.asarray(X.index), np.arange(n_rows(X))):
        return
    raise ValueError(
        "candidates is a pandas Index, but candidates are positions in X and "
        "X's index labels are not 0..n-1; pass X.index.get_indexer(candidates) "
        "to select by label, or np.asarray(candidates) if they are positions."
    )


def check_candidate_samples(candidates, X):
    """Candidates given as samples (an array or a DataFrame) shaped like X's."""
    cand = candidates if hasattr(candidates, "shape") else np.asarray(candidates)
    shape = tuple(cand.shape)
    if len(shape) < 2 or shape[0] == 0:
        dtype = getattr(cand, "dtype", None)
        raise ValueError(
            "candidates must be None, a 1-D array of integer indices into X, or "
            f"an array of samples shaped like X; got shape {shape} and dtype "
            f"{dtype}."
        )
    if shape[1:] != tuple(X.shape[1:]):
        raise ValueError(
            f"candidates given as samples must have the shape of X's samples "
            f"{tuple(X.shape[1:])}; got {shape[1:]}."
        )
    return cand
