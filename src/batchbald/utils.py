"""Label bookkeeping, random states and small validation helpers.

These are the names a scikit-activeml user imports from ``skactiveml.utils``:
an unlabeled sample carries ``MISSING_LABEL`` (``np.nan`` by default) in ``y``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state as _sklearn_check_random_state

from ._validation import Interval, check_params

__all__ = [
    "MISSING_LABEL",
    "check_random_state",
    "is_labeled",
    "is_unlabeled",
    "labeled_indices",
    "unlabeled_indices",
]

#: The value that marks a sample as unlabeled.
MISSING_LABEL = np.nan


def check_random_state(random_state) -> np.random.RandomState:
    """Turn ``random_state`` into a ``numpy.random.RandomState``.

    This is the one place where batchbald interprets a random state; every
    random step in the library draws from the generator returned here.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        ``None`` gives numpy's global ``RandomState`` singleton, an integer a new
        generator seeded with it, and a ``RandomState`` is returned as is (so
        consecutive calls advance the caller's generator).

    Returns
    -------
    numpy.random.RandomState
    """
    check_params(
        {"random_state": random_state},
        {"random_state": ["random_state"]},
    )
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return _sklearn_check_random_state(random_state)
    return np.random.RandomState(int(random_state))


def _is_missing(y: np.ndarray, missing_label) -> np.ndarray:
    if isinstance(missing_label, float) and np.isnan(missing_label):
        if y.dtype.kind in "fc":
            return np.isnan(y)
        if y.dtype.kind == "O":
            return np.array(
                [isinstance(v, float) and np.isnan(v) for v in y.ravel()], dtype=bool
            ).reshape(y.shape)
        return np.zeros(y.shape, dtype=bool)
    return y == missing_label


def is_unlabeled(y, missing_label=MISSING_LABEL) -> np.ndarray:
    """Boolean mask of the samples whose label is missing.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Labels, with ``missing_label`` marking the unlabeled samples.
    missing_label : scalar, default=np.nan
        The value that marks a missing label.

    Returns
    -------
    numpy.ndarray of bool, same shape as ``y``
    """
    return _is_missing(np.asarray(y), missing_label)


def is_labeled(y, missing_label=MISSING_LABEL) -> np.ndarray:
    """Boolean mask of the samples that carry a label.

    Parameters are those of :func:`is_unlabeled`.
    """
    return ~is_unlabeled(y, missing_label)


def labeled_indices(y, missing_label=MISSING_LABEL) -> np.ndarray:
    """Indices of the labeled samples of a one-dimensional ``y``.

    Parameters are those of :func:`is_unlabeled`.

    Returns
    -------
    numpy.ndarray of int, shape (n_labeled,)
    """
    return np.flatnonzero(is_labeled(y, missing_label))


def unlabeled_indices(y, missing_label=MISSING_LABEL) -> np.ndarray:
    """Indices of the unlabeled samples of a one-dimensional ``y``.

    Parameters are those of :func:`is_unlabeled`.

    Returns
    -------
    numpy.ndarray of int, shape (n_unlabeled,)
    """
    return np.flatnonzero(is_unlabeled(y, missing_label))


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Validate an integer parameter ``>= minimum``; return it as an ``int``.

    A thin wrapper of the declared validation (:mod:`batchbald._validation`)
    for callers that check one value by hand. Accepts any ``numbers.Integral``
    (numpy integers included) but not bools or floats.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` and ``TypeError`` naming ``name`` and the value.
    """
    check_params(
        {name: value},
        {name: [Interval(numbers.Integral, minimum, None, closed="left")]},
    )
    return int(value)
