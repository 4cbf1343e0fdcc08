"""Grouping equal rows of a small integer table, fast.

``np.unique(keys, axis=0)`` sorts the rows as opaque byte strings, which takes
about 0.15 s for 10,000 rows of 100 members, once or twice per greedy step.
:func:`unique_rows` sorts one 64-bit hash per row instead and then checks
that every row equals its group's first row, so the grouping is exact: a
hash collision (probability about ``M**2 / 2**64``) falls back to
``np.unique``.
"""

from __future__ import annotations

import numpy as np

# Fixed odd multipliers of the row hash (any fixed odd numbers would do).
_MULTIPLIERS = np.random.default_rng(0x5EED).integers(
    1, 2**63, size=4096, dtype=np.uint64
) | np.uint64(1)


def unique_rows(keys_M_D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal rows.

    Parameters
    ----------
    keys_M_D : numpy.ndarray of shape (M, D)
        Integer or boolean table (not modified).

    Returns
    -------
    first_U : numpy.ndarray of shape (U,)
        Index of the first row of each of the ``U`` groups, in increasing
        order (groups are numbered by their first row).
    inverse_M : numpy.ndarray of shape (M,)
        Group of each row: ``keys_M_D[first_U[inverse_M]] == keys_M_D``.
    """
    M, D = keys_M_D.shape
    if M == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    if D > len(_MULTIPLIERS):
        return _by_sorting(keys_M_D)
    words_M_D = keys_M_D.astype(np.int64, copy=False).view(np.uint64)
    with np.errstate(over="ignore"):
        hash_M = (words_M_D * _MULTIPLIERS[:D]).sum(axis=1, dtype=np.uint64)
    _, first_H, inverse_M = np.unique(hash_M, return_index=True, return_inverse=True)
    inverse_M = inverse_M.ravel()
    if not np.array_equal(keys_M_D[first_H[inverse_M]], keys_M_D):
        return _by_sorting(keys_M_D)  # a collision: two rows share a hash
    return _renumber(first_H, inverse_M)


def _by_sorting(keys_M_D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, first_U, inverse_M = np.unique(
        keys_M_D, axis=0, return_index=True, return_inverse=True
    )
    return _renumber(first_U, inverse_M.ravel())


def _renumber(first_U: np.ndarray, inverse_M: np.ndarray):
    """Number the groups in the order of their first rows."""
    order_U = np.argsort(first_U, kind="stable")
    rank_U = np.empty_like(order_U)
    rank_U[order_U] = np.arange(len(order_U))
    return first_U[order_U].astype(np.intp), rank_U[inverse_M].astype(np.intp)
