"""A first batch when no model can rank the pool yet (a cold start).

With no labels, or a single labeled class, BALD has nothing to measure. The
batch is then a diverse one: k-means++ seeding (Arthur and Vassilvitskii,
2007) over the features, started from the labeled rows, so that each pick is
drawn with probability proportional to its squared distance to the nearest
labeled or already chosen row.
"""

from __future__ import annotations

import numbers

import numpy as np

from .utils import check_random_state

__all__ = ["diverse_batch"]


def _check_indices(idx, n: int, name: str) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of row indices; got {idx!r}.")
    arr = arr.astype(np.intp)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(
            f"{name} must hold row indices in [0, {n}); got min {arr.min()}, "
            f"max {arr.max()}."
        )
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{name} repeats a row index.")
    return arr


def diverse_batch(
    X, candidates, labeled=(), batch_size: int = 1, random_state=None
) -> np.ndarray:
    """``batch_size`` diverse rows of ``candidates`` by k-means++ seeding.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Features, already scaled as the distances should see them (e.g.
        standardised).
    candidates : array-like of int, shape (n_candidates,)
        Rows of ``X`` that may be chosen.
    labeled : array-like of int, default=()
        Rows already labeled: the first pick keeps away from them. Empty: the
        first pick is uniform over the candidates.
    batch_size : int, default=1
        Number of rows; at most ``len(candidates)`` are returned.
    random_state : None, int or numpy.random.RandomState, default=None
        See :func:`batchbald.utils.check_random_state`.

    Returns
    -------
    numpy.ndarray of int, shape (min(batch_size, n_candidates),)
        Chosen rows of ``X`` (values of ``candidates``), in the order drawn,
        without repeats. Each is drawn with probability proportional to its
        squared Euclidean distance to the nearest labeled or chosen row;
        when every remaining distance is 0 (duplicates), uniformly.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_rows, n_features); got shape {X.shape}.")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
    cand = _check_indices(candidates, len(X), "candidates")
    lab = _check_indices(labeled, len(X), "labeled")
    rng = check_random_state(random_state)
    C = X[cand]
    d2 = None
    for i in lab:
        d = np.sum((C - X[i]) ** 2, axis=1)
        d2 = d if d2 is None else np.minimum(d2, d)
    chosen: list[int] = []
    free = np.ones(len(cand), dtype=bool)
    for _ in range(min(int(batch_size), len(cand))):
        if d2 is None or d2[free].sum() <= 0:
            pick = int(rng.choice(np.flatnonzero(free)))
        else:
            p = np.where(free, d2, 0.0)
            pick = int(rng.choice(len(p), p=p / p.sum()))
        chosen.append(pick)
        free[pick] = False
        d = np.sum((C - C[pick]) ** 2, axis=1)
        d2 = d if d2 is None else np.minimum(d2, d)
    return cand[np.asarray(chosen, dtype=np.intp)]
