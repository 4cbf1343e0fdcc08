"""Greedy BatchBALD over a pool held by a Dask cluster (driver side)."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from .. import _greedy as _core
from .. import engine as _engine
from .._validation import Interval, validate_params
from ..engine import BatchSelection
from ..information import EPS_CONSTRAINT
from ..utils import check_random_state
from . import _blocks
from ._runner import BlockRunner
from ._sources import open_pool


class _Step:
    """The candidates a step decides between, gathered from the blocks."""

    def __init__(self, summaries: dict, near_tol: float):
        self.best = max((s.best for s in summaries.values()), default=-np.inf)
        idx = [s.near_idx for s in summaries.values()]
        gain = [s.near_gain for s in summaries.values()]
        idx_n = np.concatenate(idx) if idx else np.empty(0, dtype=np.intp)
        gain_n = np.concatenate(gain) if gain else np.empty(0)
        keep = gain_n >= self.best - near_tol
        order = np.argsort(idx_n[keep], kind="stable")
        self.near_idx = idx_n[keep][order]
        self.near_gain = gain_n[keep][order]
        self.n_scored = sum(s.n_scored for s in summaries.values())


class _DaskGreedy:
    """State of one greedy selection: block states, bounds, the selected set."""

    def __init__(
        self, runner: BlockRunner, K, C, M, eps, rng, max_memory, cache_points=0
    ):
        self.runner, self.eps, self.max_memory = runner, eps, max_memory
        self.state = _core._SelectedSet(K, C, M, rng, 0.0)
        self.states: list = [None] * runner.n_blocks
        self.open_bound = np.full(runner.n_blocks, -np.inf)
        self.next_bound = np.full(runner.n_blocks, -np.inf)
        self.uncached = np.full(runner.n_blocks, np.inf)
        # Blocks read from their source keep their best candidates in memory.
        self.cache_points = 0 if runner.persisted else cache_points
        self.rows: list | None = None

    def _apply(self, results, block_ids) -> dict:
        summaries = {}
        for b, (state, summary) in zip(block_ids, results, strict=True):
            self.states[b] = state
            self.open_bound[b] = summary.open_bound
            self.next_bound[b] = summary.next_bound
            self.uncached[b] = summary.uncached_bound
            summaries[b] = summary
            if self.rows is not None and summary.row is not None:
                self.rows[b] = summary.row
        return summaries

    def first(self, want_row: bool) -> _Step:
        ids = list(range(self.runner.n_blocks))
        out = self.runner.map(
            _blocks.init_block, ids, self.eps, self.max_memory, _core._TIE_TOL,
            want_row, self.cache_points,
            per_block=[int(o) for o in self.runner.offsets[:-1]], nout=2,
        )
        return _Step(self._apply(out, ids), _core._TIE_TOL)

    def _round(self, ids, step, post, weights, threshold, top, near_tol, want_row):
        if top is not None:  # a probe: any candidates will do, cached first
            blockless = {b for b in ids if self.cache_points}
        else:  # every sample above the threshold: the cache may not hold them
            blockless = {b for b in ids if self.uncached[b] <= threshold}
        results = self.runner.map(
            _blocks.score_block, ids, post, weights, states=self.states, nout=2,
            blockless=blockless, step=step, threshold=threshold, top=top,
            near_tol=near_tol, eps=self.eps, max_memory=self.max_memory,
            want_row=want_row,
        )
        return self._apply(results, ids)

    def step(self, step: int, lazy: bool, want_row: bool) -> _Step:
        post_M_K, weights_M = self.state.screen()
        exact = self.state.exact
        near_tol = _core._REFINE_TOL if exact else _core._F32_TIE_TOL
        post = self.runner.put(post_M_K)
        weights = self.runner.put(weights_M)
        if not lazy:
            ids = list(range(self.runner.n_blocks))
            return _Step(self._round(
                ids, step, post, weights, -np.inf, None, near_tol, want_row
            ), near_tol)
        margin = -_core._REFINE_TOL if exact else _core._F32_TIE_TOL
        self.open_bound[:] = self.next_bound  # a new step: every sample is open
        # Probe the most promising block for a first best gain...
        probe = int(np.argmax(self.open_bound))
        summaries = self._round(
            [probe], step, post, weights, -np.inf, _core._FIRST_BLOCK,
            near_tol, False,
        )
        best = summaries[probe].best
        # ... then every sample whose bound can still beat it, in one round.
        if self.state.member_entropy() > best + margin:
            ids = list(np.flatnonzero(self.open_bound > best + margin))
            if ids:
                summaries.update(self._round(
                    ids, step, post, weights, best + margin, None, near_tol, False
                ))
        return _Step(summaries, near_tol)

    def refine(self, idx_n: np.ndarray) -> np.ndarray:
        """float64 gains of a few candidates, computed on the driver."""
        probs = self.take(idx_n)
        post_full, weights_full = self.state.full()
        scorer = _engine.make_scorer(
            probs, eps=self.eps, max_memory=self.max_memory
        )
        with scorer:
            return scorer.conditional_mi(None, post_full, weights_full, precise=True)

    def take(self, idx_n: np.ndarray) -> np.ndarray:
        """Member probabilities of some pool samples, float64 (K, n, C)."""
        idx_n = np.asarray(idx_n, dtype=np.int64)
        block_n = np.searchsorted(self.runner.offsets, idx_n, side="right") - 1
        ids = sorted(set(block_n.tolist()))
        local = {b: idx_n[block_n == b] - self.runner.offsets[b] for b in ids}
        parts = self.runner.map(_blocks.take_block, ids, per_block=local)
        out = np.empty((self.state.K, len(idx_n), self.state.C))
        for b, probs in zip(ids, parts, strict=True):
            out[:, block_n == b, :] = probs
        return out

    def choose(self, index: int, last: bool) -> None:
        b, local = self.runner.locate(index)
        self.states[b] = self.runner.apply(_blocks.mark_chosen, self.states[b], local)
        if not last:
            self.state.add(self.take(np.array([index]))[:, 0, :])


@validate_params(
    {
        "batch_size": _engine._BATCH_SIZE,
        "n_configurations": _engine._M,
        "eps": EPS_CONSTRAINT,
        "random_state": ["random_state"],
        "lazy": ["boolean", None],
        "return_utilities": ["boolean"],
        "max_memory": _engine._MEMORY,
        "persist": ["boolean", None],
        "cache_points": [Interval(numbers.Integral, 0, None, closed="left")],
        "callback": [callable, None],
    }
)
def select_batch(
    probs_K_N_C,
    batch_size: int,
    *,
    n_configurations: int | None = None,
    eps: float = _engine.DEFAULT_EPS,
    random_state=None,
    lazy: bool | None = None,
    return_utilities: bool = False,
    max_memory: int | None = None,
    client=None,
    persist: bool | None = None,
    cache_points: int = 1024,
    callback: Callable[[int, int, float], None] | None = None,
) -> BatchSelection:
    """Greedy BatchBALD on a dask array, scored where its chunks live.

    The same selection as :func:`batchbald.engine.select_batch` for the same
    arguments and seed (see :mod:`batchbald.dask`).

    Parameters
    ----------
    probs_K_N_C : dask.array.Array, str, os.PathLike or numpy.ndarray
        The pool, shape (K, N, C), or anything :func:`open_pool` reads.
    batch_size, eps, random_state, lazy, return_utilities, callback
        See :func:`batchbald.engine.select_batch`.
    n_configurations : int, default=None
        ``M``, the number of configurations (None: 1000).
    max_memory : int, default=None
        Working-memory budget of each block's scoring, in bytes (None:
        256 MiB), on top of the block itself.
    client : distributed.Client, default=None
        The cluster to run on (None: the current client, else this process,
        one block at a time).
    persist : bool, default=None
        Keep the pool in cluster memory between steps (None: when it takes
        at most half of the workers' memory limit).
    cache_points : int, default=1024
        When the pool is read from its source at every round (not persisted),
        each block keeps the member probabilities of its ``cache_points``
        samples of largest BALD score in worker memory; rounds that need
        only those do not read the block again.

    Returns
    -------
    batchbald.engine.BatchSelection
    """
    arr = open_pool(probs_K_N_C)
    eps = float(eps)
    M = (
        _engine.DEFAULT_N_CONFIGURATIONS
        if n_configurations is None
        else int(n_configurations)
    )
    max_memory = _engine.DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    rng = check_random_state(random_state)
    if lazy is None:
        lazy = not return_utilities
    elif lazy and return_utilities:
        raise ValueError(
            "lazy=True cannot return utilities, which need every gain at every "
            "step; pass lazy=None or lazy=False."
        )
    K, N, C = arr.shape
    batch_size = _engine._check_batch_size(batch_size, N)
    runner = BlockRunner(arr, client=client, persist=persist)
    greedy = _DaskGreedy(runner, K, C, M, eps, rng, max_memory, cache_points)
    return _loop(greedy, batch_size, N, lazy, return_utilities, callback, rng)


def _loop(greedy, batch_size, N, lazy, return_utilities, callback, rng):
    utilities = np.full((batch_size, N), np.nan) if return_utilities else None
    if return_utilities:
        greedy.rows = [None] * greedy.runner.n_blocks
    indices: list[int] = []
    gains: list[float] = []
    n_scored = 0
    for step in range(batch_size):
        if step == 0:
            found = greedy.first(return_utilities)
        else:
            found = greedy.step(step, lazy, return_utilities)
        n_scored += found.n_scored
        near_idx, near_gain = found.near_idx, found.near_gain
        if step == 0 or not greedy.state.exact:
            tie_tol = np.inf
        else:
            near_gain = greedy.refine(near_idx)
            tie_tol = _core._TIE_TOL
        chosen = int(near_idx[_core._pick(near_gain, near_idx, rng, tie_tol)])
        gain = float(near_gain[near_idx == chosen][0])
        if utilities is not None:
            base = float(np.sum(gains))
            utilities[step] = base + np.concatenate(greedy.rows)
            utilities[step, near_idx] = base + near_gain
            utilities[step, indices] = np.nan
        indices.append(chosen)
        gains.append(gain)
        greedy.choose(chosen, last=step + 1 == batch_size)
        if callback is not None:
            callback(step, chosen, gain)
    return BatchSelection(
        indices=np.asarray(indices, dtype=np.intp),
        gains=np.asarray(gains),
        utilities=utilities,
        n_scored=n_scored,
    )
