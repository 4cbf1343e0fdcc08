"""What the greedy loop asks of a pool, and the pool held in memory.

:func:`batchbald._greedy.run_greedy` decides; a :class:`PoolBackend` holds
the pool and scores it. :class:`InMemoryBackend` scores an array in this
process (:mod:`batchbald._scoring`); ``batchbald.dask._greedy.DaskBackend``
scores the blocks of a dask array where they live. Both are driven by the
same loop with the same selected-set state, so they make the same choices.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from . import _keys
from ._lazy import lazy_round


def is_dask_array(x) -> bool:
    """Whether ``x`` is a dask array, without importing dask."""
    t = type(x)
    return t.__module__.split(".")[0] == "dask" and t.__name__ == "Array"


@dataclass
class Candidates:
    """What one scoring step of the pool gives the loop.

    Attributes
    ----------
    idx : numpy.ndarray of int, shape (m,)
        Pool indices of the candidates within the step's window of its best
        gain, in increasing order.
    gain : numpy.ndarray of float64, shape (m,)
        Their gains: float64 BALD scores at step 0, float32 screening values
        of the step's estimate after.
    n_scored : int
        How many gains the step computed.
    row : numpy.ndarray of float64, shape (N,) or None
        The step's gains of every sample it scored, NaN elsewhere (only when
        asked for).
    """

    idx: np.ndarray
    gain: np.ndarray
    n_scored: int
    row: np.ndarray | None = None


def completion_keys(bald_n, idx_n, mode: str, seed: int) -> np.ndarray:
    """Gumbel-top-k keys of the completion draw (:mod:`batchbald._keys`).

    ``"power"`` draws in proportion to the BALD scores, ``"random"``
    uniformly; the noise of a sample depends only on (seed, its pool index),
    so the keys of a pool split into blocks are those of the whole pool.
    """
    log_p = np.zeros(len(idx_n))
    if mode == "power":
        log_p = np.log(np.maximum(bald_n, np.finfo(np.float64).tiny))
    return log_p + _keys.gumbel(seed, idx_n)


def completion_top(bald_n, idx_n, mode: str, seed: int, k: int):
    """The ``k`` first of ``idx_n`` in the completion draw's order, with their
    BALD scores and keys (merging the tops of blocks gives the pool's top)."""
    keys_n = completion_keys(bald_n, idx_n, mode, seed)
    top = _keys.order(keys_n, seed, idx_n)[:k]
    return idx_n[top], bald_n[top], keys_n[top]


def top_scores(scores_n, idx_n, k: int) -> np.ndarray:
    """Positions of the ``k`` largest scores, equal scores by smaller index.

    Sorts only the scores at least the ``k``-th largest (a partition first),
    so a few of a large pool cost a pass over it rather than a sort.
    """
    neg_n = -np.asarray(scores_n)
    idx_n = np.asarray(idx_n)
    if 0 < k < len(neg_n):
        kth = np.partition(neg_n, k - 1)[k - 1]
        near = np.flatnonzero(neg_n <= kth)
        if len(near) >= k:  # (NaN scores would leave fewer: sort them all)
            return near[np.lexsort((idx_n[near], neg_n[near]))][:k]
    return np.lexsort((idx_n, neg_n))[:k]


class PoolBackend(abc.ABC):
    """A pool of member probabilities that the greedy loop scores.

    Attributes
    ----------
    shape : tuple of int
        ``(K, N, C)``.
    """

    shape: tuple[int, int, int]

    @abc.abstractmethod
    def first_candidates(self, tol: float, want_row: bool) -> Candidates:
        """Step 0: the samples whose BALD score (float64) is within ``tol``
        of the largest."""

    @abc.abstractmethod
    def step_candidates(
        self,
        post_M_K,
        weights_M,
        *,
        lazy: bool,
        cap: float,
        margin: float,
        window: float,
        want_row: bool,
    ) -> Candidates:
        """Screen the available samples (float32) against the selected set's
        configurations and return those within ``window`` of the best.

        Lazy: score only the samples whose bound (their last gain, or their
        BALD score) exceeds the best gain found plus ``margin``, and none
        once ``cap`` (no gain exceeds it) is at most that; the bounds become
        the new gains.
        """

    @abc.abstractmethod
    def precise_gains(self, idx_n, post_M_K, weights_M) -> np.ndarray:
        """float64 gains of a few samples, shape (m,)."""

    @abc.abstractmethod
    def member_probs(self, index: int) -> np.ndarray:
        """Member probabilities of one sample, float64, shape (K, C)."""

    @abc.abstractmethod
    def mark_chosen(self, index: int) -> None:
        """Sample ``index`` is in the batch: no longer available."""

    @abc.abstractmethod
    def completion_order(self, n: int, mode: str, seed: int):
        """The first ``n`` available samples of the completion draw
        (:func:`completion_top`): their indices and BALD scores."""

    @abc.abstractmethod
    def top_bald(self, k: int) -> np.ndarray:
        """The ``k`` available samples of largest BALD score (equal scores by
        smaller index), in increasing index order."""

    @abc.abstractmethod
    def utilities_row(self, post_M_K, weights_M) -> tuple[np.ndarray, int]:
        """Screened gains of every available sample (NaN at the others),
        shape (N,), and how many were computed."""


class InMemoryBackend(PoolBackend):
    """A pool scored in this process by a :mod:`batchbald._scoring` scorer."""

    def __init__(self, scorer):
        self.scorer = scorer
        self.shape = scorer.shape
        predictive_N, expected_N = scorer.entropies()
        self.bald_N = predictive_N - expected_N  # exact first-step gains
        self.bounds_N = self.bald_N.copy()
        self.available_N = np.ones(self.shape[1], dtype=bool)

    def first_candidates(self, tol, want_row):
        near = np.flatnonzero(self.bald_N >= self.bald_N.max() - tol)
        row = self.bald_N.copy() if want_row else None
        return Candidates(near, self.bald_N[near], len(self.bald_N), row)

    def step_candidates(self, post_M_K, weights_M, *, lazy, cap, margin, window,
                        want_row):  # fmt: skip
        if lazy:
            idx, gain = lazy_round(
                self.scorer, post_M_K, weights_M, self.bounds_N, self.available_N,
                cap=cap, margin=margin,
            )  # fmt: skip
            order = np.argsort(idx, kind="stable")
            idx, gain = idx[order], gain[order]
        else:
            idx = np.flatnonzero(self.available_N)
            gain = self.scorer.conditional_mi(None, post_M_K, weights_M)[idx]
        self.bounds_N[idx] = gain
        row = None
        if want_row:
            row = np.full(len(self.bald_N), np.nan)
            row[idx] = gain
        keep = gain >= gain.max() - window
        return Candidates(idx[keep], gain[keep], len(idx), row)

    def precise_gains(self, idx_n, post_M_K, weights_M):
        return self.scorer.conditional_mi(idx_n, post_M_K, weights_M, precise=True)

    def member_probs(self, index):
        return self.scorer.member_probs(index)

    def mark_chosen(self, index):
        self.available_N[index] = False

    def completion_order(self, n, mode, seed):
        idx = np.flatnonzero(self.available_N)
        top_idx, top_bald, _ = completion_top(self.bald_N[idx], idx, mode, seed, n)
        return top_idx, top_bald

    def top_bald(self, k):
        idx = np.flatnonzero(self.available_N)
        return np.sort(idx[top_scores(self.bald_N[idx], idx, k)])

    def utilities_row(self, post_M_K, weights_M):
        gain_N = self.scorer.conditional_mi(None, post_M_K, weights_M)
        row = np.where(self.available_N, gain_N, np.nan)
        return row, int(self.available_N.sum())
