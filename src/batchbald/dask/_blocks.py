"""What runs on the workers: pure functions of one block of the pool.

A block is ``probs_K_n_C``, the member probabilities of ``n`` consecutive pool
samples starting at ``offset``. Its lazy-greedy state (:class:`BlockState`)
stays where the block is scored; the driver only sees a
:class:`BlockSummary`. The scores come from the same
:class:`batchbald._scoring.NumpyScorer` kernels as the in-memory engine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .._backend import completion_top, top_scores
from .._lazy import lazy_round
from .._scoring import NumpyScorer
from ..information import check_probabilities, member_votes


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
    cache_idx : numpy.ndarray of int, shape (T,)
        Block positions, in increasing order, of the samples whose member
        probabilities are kept with the state: the ``T`` of largest BALD
        score. A round that only needs them does not read the block again,
        which is what keeps a pool larger than the cluster's memory cheap.
    cache_probs : numpy.ndarray of shape (K, T, C)
        Their member probabilities.
    bald : numpy.ndarray of float64, shape (n,)
        The BALD scores (what a PowerBALD-style completion draws by).
    """

    offset: int
    bounds: np.ndarray
    available: np.ndarray
    fresh: np.ndarray
    step: int = 0
    cache_idx: np.ndarray = dataclasses.field(
        default_factory=lambda: np.empty(0, dtype=np.intp)
    )
    cache_probs: np.ndarray | None = None
    bald: np.ndarray | None = None

    def uncached_bound(self) -> float:
        """The largest bound among available samples outside the cache."""
        outside = self.available.copy()
        outside[self.cache_idx] = False
        return float(self.bounds[outside].max()) if outside.any() else -np.inf


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
    uncached_bound : float
        The largest bound among available samples outside the block's cache:
        a round whose threshold is at least this needs only the cache.
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
    uncached_bound: float
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
        uncached_bound=state.uncached_bound(),
        near_idx=near + state.offset,
        near_gain=state.bounds[near],
        n_scored=n_scored,
        row=row,
    )


def init_block(
    probs_K_n_C,
    offset: int,
    eps: float,
    max_memory: int,
    near_tol: float,
    want_row: bool,
    cache_points: int = 0,
) -> tuple[BlockState, BlockSummary]:
    """Validate a block, compute its BALD scores (step 0's exact gains) and
    keep the ``cache_points`` samples of largest BALD score with the state."""
    probs = check_probabilities(probs_K_n_C, "probs_K_N_C")
    with _scorer(probs, eps, max_memory) as scorer:
        pred_n, expected_n = scorer.entropies()
    n = len(pred_n)
    bald_n = pred_n - expected_n
    t = min(n, int(cache_points))
    cache_idx = (
        np.sort(np.argpartition(-bald_n, t - 1)[:t])
        if t
        else np.empty(0, dtype=np.intp)
    )
    state = BlockState(
        offset=int(offset),
        bounds=bald_n,
        bald=bald_n.copy(),
        available=np.ones(n, dtype=bool),
        fresh=np.ones(n, dtype=bool),
        step=0,
        cache_idx=cache_idx,
        cache_probs=np.array(probs[:, cache_idx, :]) if t else None,
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
    cap: float = np.inf,
    margin: float = 0.0,
) -> tuple[BlockState, BlockSummary]:
    """Score the block's open samples whose bound exceeds ``threshold``.

    In a lazy round (a finite ``threshold``, no ``top``, the block at hand)
    the open samples go through :func:`batchbald._lazy.lazy_round` with the
    members' remaining entropy ``cap``, ``margin`` and the best gain found so
    far (``threshold - margin``, the probe's): its cheap upper bounds close
    the samples that cannot beat that best or the block's own (both at most
    the step's best) plus ``margin``, so no sample that could win is left
    unscored.

    ``top`` limits the round to that many samples of largest bound (a probe).
    ``probs_K_n_C`` None scores from the state's cache alone: only cached
    samples are scored (the driver passes None only when every sample the
    round must score is cached). Returns the new state (the input is not
    modified) and its summary.
    """
    fresh = state.fresh if state.step == step else np.zeros_like(state.fresh)
    open_n = state.available & ~fresh & (state.bounds > threshold)
    if probs_K_n_C is None:
        cached = np.zeros_like(open_n)
        cached[state.cache_idx] = True
        open_n &= cached
    idx = np.flatnonzero(open_n)
    if top is not None and len(idx) > top:
        part = np.argpartition(-state.bounds[idx], top - 1)[:top]
        idx = np.sort(idx[part])
    bounds = state.bounds.copy()
    fresh = fresh.copy()
    if len(idx) and top is None and np.isfinite(threshold) and probs_K_n_C is not None:
        # A lazy round: the in-memory engine's bounds close what cannot beat
        # the block's own best (at most the step's best) plus the margin.
        with _scorer(probs_K_n_C, eps, max_memory) as scorer:
            idx, gain = lazy_round(
                scorer, post_M_K, weights_M, bounds, open_n, cap=cap,
                margin=margin, best=threshold - margin,
            )  # fmt: skip
        bounds[idx] = gain
        fresh[idx] = True
    elif len(idx):
        source, rows = probs_K_n_C, idx
        if probs_K_n_C is None:
            source, rows = state.cache_probs, np.searchsorted(state.cache_idx, idx)
        with _scorer(source, eps, max_memory) as scorer:
            bounds[idx] = scorer.conditional_mi(rows, post_M_K, weights_M)
        fresh[idx] = True
    new = dataclasses.replace(state, bounds=bounds, fresh=fresh, step=step)
    return new, _summary(new, near_tol, len(idx), want_row)


def mark_chosen(state: BlockState, local_index: int) -> BlockState:
    """The state with one sample no longer available."""
    available = state.available.copy()
    available[int(local_index)] = False
    return dataclasses.replace(state, available=available)


def take_block(probs_K_n_C, local_idx: np.ndarray) -> np.ndarray:
    """Member probabilities of some of the block's samples, float64 (K, m, C)."""
    return np.asarray(probs_K_n_C[:, np.asarray(local_idx), :], dtype=np.float64)


def completion_block(probs_K_n_C, state: BlockState, *, mode: str, seed: int, k: int):
    """The block's first ``k`` available samples in the completion draw's
    order (:func:`batchbald._backend.completion_top`): pool indices, BALD
    scores, keys. Reads only the state (``probs_K_n_C`` is None)."""
    local = np.flatnonzero(state.available)
    bald_n = np.asarray(state.bald)
    return completion_top(bald_n[local], local + state.offset, mode, seed, k)


def votes_block(probs_K_n_C) -> np.ndarray:
    """:func:`batchbald.information.member_votes` of a validated block."""
    return member_votes(check_probabilities(probs_K_n_C, "probs_K_N_C"))


def top_bald_block(probs_K_n_C, state: BlockState, *, k: int):
    """The block's ``k`` available samples of largest BALD score: pool
    indices and scores (from the state alone)."""
    local = np.flatnonzero(state.available)
    bald_n = np.asarray(state.bald)[local]
    top = top_scores(bald_n, local, k)
    return local[top] + state.offset, bald_n[top]
