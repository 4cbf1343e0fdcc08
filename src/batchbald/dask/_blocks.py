"""What runs on the workers: pure functions of one block of the pool.

A block is ``probs_K_n_C``, the member probabilities of ``n`` consecutive pool
samples starting at ``offset``. Its lazy-greedy state (:class:`BlockState`)
stays where the block is scored; the driver only sees a
:class:`BlockSummary`. The scores come from the same
:class:`batchbald._scoring.NumpyScorer` kernels as the in-memory engine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .._scoring import NumpyScorer
from ..information import check_probabilities


@dataclass
class BlockState:
    """Lazy-greedy state of one block (lives on a worker).

    Attributes
    ----------
    offset : int
        Pool index of the block's first sample.
    bounds : numpy.ndarray of float64, shape (n,)
        Upper bounds of each sample's gain: its BALD score, then its last
        computed gain (gains only shrink as the batch grows).
    available : numpy.ndarray of bool, shape (n,)
        Not chosen yet.
    fresh : numpy.ndarray of bool, shape (n,)
        Scored during step ``step``: ``bounds`` holds the step's gain there.
    step : int
        The step ``fresh`` refers to.
    """

    offset: int
    bounds: np.ndarray
    available: np.ndarray
    fresh: np.ndarray
    step: int = 0


@dataclass
class BlockSummary:
    """What a block tells the driver after a round.

    Attributes
    ----------
    best : float
        The block's best gain this step (-inf when none was scored).
    open_bound : float
        The largest bound among the block's available samples not scored this
        step (-inf when none is left): what the step may still have to score.
    next_bound : float
        The largest bound among all its available samples: what the next step
        may have to score.
    near_idx : numpy.ndarray of int, shape (m,)
        Pool indices of the samples scored this step within ``near_tol`` of
        ``best``, in increasing order.
    near_gain : numpy.ndarray of float64, shape (m,)
        Their gains.
    n_scored : int
        Gains computed in this round.
    row : numpy.ndarray of float64, shape (n,) or None
        The step's gains (NaN where not scored), when asked for.
    """

    best: float
    open_bound: float
    next_bound: float
    near_idx: np.ndarray
    near_gain: np.ndarray
    n_scored: int
    row: np.ndarray | None = None


# One scorer per worker thread, so that its scratch buffers and thread pool
# are reused from block to block and round to round (fresh buffers of up to
# max_memory bytes would be page-faulted in again on every call).
_LOCAL = threading.local()


@contextlib.contextmanager
def _scorer(probs_K_n_C, eps: float, max_memory: int) -> Iterator[NumpyScorer]:
    scorer = getattr(_LOCAL, "scorer", None)
    if scorer is None or (scorer.eps, scorer.max_memory) != (eps, max_memory):
        if scorer is not None:
            scorer.close()
        scorer = NumpyScorer(
            probs_K_n_C, eps=eps, max_memory=max_memory, validate=False
        )
        _LOCAL.scorer = scorer
    scorer.probs = probs_K_n_C
    try:
        yield scorer
    finally:
        scorer.probs = None  # do not keep the block alive


def _summary(state: BlockState, near_tol: float, n_scored: int, want_row: bool):
    fresh_idx = np.flatnonzero(state.fresh)
    gains = state.bounds[fresh_idx]
    best = float(gains.max()) if len(gains) else -np.inf
    near = fresh_idx[gains >= best - near_tol] if len(gains) else fresh_idx
    rest = state.available & ~state.fresh
    open_bound = float(state.bounds[rest].max()) if rest.any() else -np.inf
    avail = state.available
    next_bound = float(state.bounds[avail].max()) if avail.any() else -np.inf
    row = None
    if want_row:
        row = np.full(len(state.bounds), np.nan)
        row[fresh_idx] = gains
    return BlockSummary(
        best=best,
        open_bound=open_bound,
        next_bound=next_bound,
        near_idx=near + state.offset,
        near_gain=state.bounds[near],
        n_scored=n_scored,
        row=row,
    )


def init_block(
    probs_K_n_C, offset: int, eps: float, max_memory: int, near_tol: float,
    want_row: bool,
) -> tuple[BlockState, BlockSummary]:
    """Validate a block, compute its BALD scores (step 0's exact gains)."""
    probs = check_probabilities(probs_K_n_C, "probs_K_N_C")
    with _scorer(probs, eps, max_memory) as scorer:
        pred_n, expected_n = scorer.entropies()
    n = len(pred_n)
    state = BlockState(
        offset=int(offset),
        bounds=pred_n - expected_n,
        available=np.ones(n, dtype=bool),
        fresh=np.ones(n, dtype=bool),
        step=0,
    )
    return state, _summary(state, near_tol, n, want_row)


def entropies_block(probs_K_n_C, eps: float, max_memory: int):
    """``(predictive_n, expected_n)`` entropies of a block, float64."""
    probs = check_probabilities(probs_K_n_C, "probs_K_N_C")
    with _scorer(probs, eps, max_memory) as scorer:
        return scorer.entropies()


def score_block(
    probs_K_n_C,
    state: BlockState,
    post_M_K: np.ndarray,
    weights_M: np.ndarray,
    *,
    step: int,
    threshold: float,
    top: int | None,
    near_tol: float,
    eps: float,
    max_memory: int,
    want_row: bool,
) -> tuple[BlockState, BlockSummary]:
    """Score the block's open samples whose bound exceeds ``threshold``.

    ``top`` limits the round to that many samples of largest bound (a probe).
    Returns the new state (the input is not modified) and its summary.
    """
    fresh = state.fresh if state.step == step else np.zeros_like(state.fresh)
    open_n = state.available & ~fresh & (state.bounds > threshold)
    idx = np.flatnonzero(open_n)
    if top is not None and len(idx) > top:
        part = np.argpartition(-state.bounds[idx], top - 1)[:top]
        idx = np.sort(idx[part])
    bounds = state.bounds.copy()
    fresh = fresh.copy()
    if len(idx):
        with _scorer(probs_K_n_C, eps, max_memory) as scorer:
            bounds[idx] = scorer.conditional_mi(idx, post_M_K, weights_M)
        fresh[idx] = True
    new = BlockState(state.offset, bounds, state.available, fresh, step)
    return new, _summary(new, near_tol, len(idx), want_row)


def mark_chosen(state: BlockState, local_index: int) -> BlockState:
    """The state with one sample no longer available."""
    available = state.available.copy()
    available[int(local_index)] = False
    return BlockState(state.offset, state.bounds, available, state.fresh, state.step)


def take_block(probs_K_n_C, local_idx: np.ndarray) -> np.ndarray:
    """Member probabilities of some of the block's samples, float64 (K, m, C)."""
    return np.asarray(probs_K_n_C[:, np.asarray(local_idx), :], dtype=np.float64)
