"""Greedy BatchBALD over a pool held by a Dask cluster (driver side)."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from .. import _greedy as _core
from .. import _keys
from .. import engine as _engine
from .._backend import Candidates, PoolBackend, top_scores
from .._validation import Interval, resolve_lazy, validate_params
from ..engine import BatchSelection
from ..information import EPS_CONSTRAINT
from ..saturation import COMPLETION_CONSTRAINT, LABEL_NOISE_CONSTRAINT
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


class DaskBackend(PoolBackend):
    """A pool held by a Dask cluster (or read here block by block), as the
    greedy loop of :func:`batchbald._greedy.run_greedy` sees it: block states
    on the workers, their summaries here."""

    def __init__(self, runner: BlockRunner, K, C, eps, max_memory, cache_points=0):
        self.runner, self.eps, self.max_memory = runner, eps, max_memory
        self.shape = (K, int(runner.offsets[-1]), C)
        self.states: list = [None] * runner.n_blocks
        self.open_bound = np.full(runner.n_blocks, -np.inf)
        self.next_bound = np.full(runner.n_blocks, -np.inf)
        self.uncached = np.full(runner.n_blocks, np.inf)
        # Blocks read from their source keep their best candidates in memory.
        self.cache_points = 0 if runner.persisted else cache_points
        self.rows: list | None = None
        self.round = 0  # numbers the rounds (what a block's "fresh" refers to)
        self.chosen: set[int] = set()
        # The candidates of the last precise_gains and their probabilities.
        self.taken: tuple[np.ndarray, np.ndarray] | None = None
        # The available samples of largest BALD score, best first, when the
        # blocks last reported them, and how many were available then.
        self.bald_ranking: tuple[np.ndarray, int] | None = None

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

    def _candidates(self, summaries, window, want_row) -> Candidates:
        found = _Step(summaries, window)
        row = np.concatenate(self.rows) if want_row and self.rows else None
        return Candidates(found.near_idx, found.near_gain, found.n_scored, row)

    def first_candidates(self, tol, want_row):
        ids = list(range(self.runner.n_blocks))
        self.rows = [None] * len(ids) if want_row else None
        out = self.runner.map(
            _blocks.init_block,
            ids,
            self.eps,
            self.max_memory,
            tol,
            want_row,
            self.cache_points,
            per_block=[int(o) for o in self.runner.offsets[:-1]],
            nout=2,
        )
        return self._candidates(self._apply(out, ids), tol, want_row)

    def _round(self, ids, post, weights, threshold, top, near_tol, want_row,
               cap=np.inf, margin=0.0):  # fmt: skip
        if top is not None:  # a probe: any candidates will do, cached first
            blockless = {b for b in ids if self.cache_points}
        else:  # every sample above the threshold: the cache may not hold them
            blockless = {b for b in ids if self.uncached[b] <= threshold}
        results = self.runner.map(
            _blocks.score_block,
            ids,
            post,
            weights,
            states=self.states,
            nout=2,
            blockless=blockless,
            step=self.round,
            threshold=threshold,
            top=top,
            near_tol=near_tol,
            eps=self.eps,
            max_memory=self.max_memory,
            want_row=want_row,
            cap=cap,
            margin=margin,
        )
        return self._apply(results, ids)

    def step_candidates(self, post_M_K, weights_M, *, lazy, cap, margin, window,
                        want_row):  # fmt: skip
        """See :meth:`PoolBackend.step_candidates`. Lazy: probe the most
        promising block for a first best gain, then score, in one round,
        every sample whose bound exceeds it plus ``margin``; the samples left
        closed are those :func:`batchbald._lazy.lazy_round` would leave
        closed for that best, since the final best is at least the probe's."""
        self.round += 1
        post = self.runner.put(post_M_K)
        weights = self.runner.put(weights_M)
        if not lazy:
            ids = list(range(self.runner.n_blocks))
            summaries = self._round(ids, post, weights, -np.inf, None, window, want_row)
            return self._candidates(summaries, window, want_row)
        self.open_bound[:] = self.next_bound  # a new step: every sample is open
        probe = int(np.argmax(self.open_bound))
        summaries = self._round(
            [probe], post, weights, -np.inf, _core._FIRST_BLOCK, window, False
        )
        best = summaries[probe].best
        if cap > best + margin:
            ids = list(np.flatnonzero(self.open_bound > best + margin))
            if ids:
                summaries.update(
                    self._round(
                        ids,
                        post,
                        weights,
                        best + margin,
                        None,
                        window,
                        False,
                        cap=cap,
                        margin=margin,
                    )
                )
        return self._candidates(summaries, window, False)

    def precise_gains(self, idx_n, post_M_K, weights_M):
        """float64 gains of a few candidates, computed on the driver; their
        probabilities are kept for :meth:`member_probs` (the step's pick is
        one of them)."""
        probs = self.take(idx_n)
        self.taken = (np.asarray(idx_n), probs)
        scorer = _engine.make_scorer(probs, eps=self.eps, max_memory=self.max_memory)
        with scorer:
            return scorer.conditional_mi(None, post_M_K, weights_M, precise=True)

    def take(self, idx_n: np.ndarray) -> np.ndarray:
        """Member probabilities of some pool samples, float64 (K, n, C)."""
        idx_n = np.asarray(idx_n, dtype=np.int64)
        block_n = np.searchsorted(self.runner.offsets, idx_n, side="right") - 1
        ids = sorted(set(block_n.tolist()))
        local = {b: idx_n[block_n == b] - self.runner.offsets[b] for b in ids}
        parts = self.runner.map(_blocks.take_block, ids, per_block=local)
        K, _, C = self.shape
        out = np.empty((K, len(idx_n), C))
        for b, probs in zip(ids, parts, strict=True):
            out[:, block_n == b, :] = probs
        return out

    def member_probs(self, index):
        if self.taken is not None:
            where = np.flatnonzero(self.taken[0] == index)
            if len(where):
                return self.taken[1][:, where[0], :]
        return self.take(np.array([index]))[:, 0, :]

    def mark_chosen(self, index):
        self.chosen.add(int(index))
        b, local = self.runner.locate(index)
        self.states[b] = self.runner.apply(_blocks.mark_chosen, self.states[b], local)

    def completion_order(self, n, mode, seed):
        """Gumbel top-``n`` of every block (from its state alone), merged."""
        ids = list(range(self.runner.n_blocks))
        parts = self.runner.map(
            _blocks.completion_block,
            ids,
            states=self.states,
            blockless=set(ids),
            mode=mode,
            seed=seed,
            k=n,
        )
        idx = np.concatenate([p[0] for p in parts])
        bald = np.concatenate([p[1] for p in parts])
        keys = np.concatenate([p[2] for p in parts])
        top = _keys.order(keys, seed, idx)[:n]
        return idx[top], bald[top]

    def top_bald(self, k):
        """See :meth:`PoolBackend.top_bald`. The BALD scores never change and
        only this driver marks samples chosen, so one ranking of the ``2 k``
        best available samples answers the later calls too (less the samples
        chosen since) while it still holds ``k`` of them."""
        ranking = self._available_ranking(k)
        if ranking is None:
            ids = list(range(self.runner.n_blocks))
            parts = self.runner.map(
                _blocks.top_bald_block, ids, states=self.states, blockless=set(ids),
                k=2 * k,
            )  # fmt: skip
            idx = np.concatenate([p[0] for p in parts])
            bald = np.concatenate([p[1] for p in parts])
            ranking = idx[top_scores(bald, idx, 2 * k)]
            self.bald_ranking = (ranking, self.shape[1] - len(self.chosen))
        return np.sort(ranking[:k])

    def _available_ranking(self, k: int) -> np.ndarray | None:
        """The last BALD ranking less the samples chosen since; None when it
        may miss one of the ``k`` best available samples (fewer than ``k``
        are left in it, and it did not hold every sample available then)."""
        if self.bald_ranking is None:
            return None
        ranking, n_available = self.bald_ranking
        left = [i not in self.chosen for i in ranking.tolist()]
        ranking = ranking[np.array(left, dtype=bool)]
        if len(ranking) >= k or len(self.bald_ranking[0]) >= n_available:
            return ranking
        return None

    def utilities_row(self, post_M_K, weights_M):
        self.round += 1
        ids = list(range(self.runner.n_blocks))
        self.rows = [None] * len(ids)
        summaries = self._round(
            ids,
            self.runner.put(post_M_K),
            self.runner.put(weights_M),
            -np.inf,
            None,
            0.0,
            True,
        )
        n_scored = sum(s.n_scored for s in summaries.values())
        return np.concatenate(self.rows), n_scored


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
        "label_noise": LABEL_NOISE_CONSTRAINT,
        "completion": COMPLETION_CONSTRAINT,
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
    label_noise: float = 0.0,
    completion: str | None = None,
) -> BatchSelection:
    """Greedy BatchBALD on a dask array, scored where its chunks live.

    The same selection as :func:`batchbald.engine.select_batch` for the same
    arguments and seed (see :mod:`batchbald.dask`).

    Parameters
    ----------
    probs_K_N_C : dask.array.Array, str, os.PathLike or numpy.ndarray
        The pool, shape (K, N, C), or anything :func:`open_pool` reads.
    batch_size, eps, random_state, lazy, return_utilities, callback, \
label_noise, completion
        See :func:`batchbald.engine.select_batch`; the result's
        ``saturated_at``, ``joint_information`` (and its standard error) and
        ``exact`` are those of the in-memory engine.
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
    lazy = resolve_lazy(lazy, return_utilities)
    K, N, C = arr.shape
    batch_size = _engine._check_batch_size(batch_size, N)
    _engine._check_state_memory(arr.shape, batch_size, M, max_memory)
    runner = BlockRunner(arr, client=client, persist=persist)
    backend = DaskBackend(runner, K, C, eps, max_memory, cache_points)
    remedy = _core.Remedy(float(label_noise), completion)
    return BatchSelection(**_core.run_greedy(
        backend, batch_size, M, rng, lazy, return_utilities, callback, remedy
    ))  # fmt: skip
