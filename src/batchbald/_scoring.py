"""Chunk scorers: the hot loop of the selection engine, on numpy or torch.

A scorer owns a read-only reference to the pool's member probabilities
``probs_K_N_C`` and evaluates, for any subset of the pool, the conditional
mutual information of each sample with the members given the configurations
of the selected set::

    I(y_n; w | y_A) = sum_m weights_m * [H(sum_k post_mk p_k(y_n))
                                         - sum_k post_mk H(p_k(y_n))]

with ``post_M_K`` the posterior over members given each configuration (see
:func:`batchbald.information.conditional_mutual_information`). That is one
matrix product ``(M x K) @ (K x n*C)`` followed by an entropy kernel, done
in float32 (or float64 when ``precise``). A sample's score depends only on
(its probabilities, the selected-set state), which is the seam along which a
distributed engine can split the pool.

:class:`NumpyScorer` fuses the product, the logarithm and the weighted
reductions in cache-sized blocks (a few hundred columns of samples times
classes by a few hundred configurations), spread over threads that each run
their products on one BLAS thread and read their samples straight from the
pool: the ``M x n*C`` intermediate never reaches main memory, and the working
memory is a few blocks per thread. CPU torch tensors are scored by it on a
zero-copy numpy view. :class:`TorchScorer` (CUDA, bfloat16) works chunk by
chunk. Memory stays within ``max_memory`` bytes either way.
"""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._devices import cpu_numpy_view, is_torch_tensor
from ._kernels import (
    _single_threaded_blas,
    block_gains,
    dense_share,
    plan_blocks,
    thread_count,
)
from .information import check_probabilities

# Bytes of temporaries per (configuration, class, sample) cell in a chunk: the
# product q and q log q.
_CELLS_BYTES_FACTOR = 2
# Floor of the screening pass: the chunk's probabilities are raised to at
# least max(eps, this) before the product, so that q > 0 needs no clamp.
_SCREEN_FLOOR = 1e-30
# Cells (configurations x classes x samples) of one fused block of the
# scoring kernel: 2**16 float32 cells (256 KiB) per buffer, so that the
# product, its logarithm and the reduction stay in the core's L2 cache.
_BLOCK_CELLS = 1 << 16
# Columns (points x classes) of a block: wide enough for the BLAS's kernels
# on both sides of the product, at most _MAX_BLOCK_COLUMNS when few
# configurations leave room for more points.
_BLOCK_COLUMNS = 256
_MAX_BLOCK_COLUMNS = 8192
# Least work of a scoring call, in cells (points x classes x (configurations
# + members)), split over the thread pool; smaller ones (a lazy round's
# probes and small blocks) run in the calling thread, where the hand-off
# would cost about what it saves. Full scans stay above it.
_THREADED_CELLS = 1 << 18


def make_scorer(probs_K_N_C, *, eps: float, max_memory: int, device=None) -> _Scorer:
    """Pick the backend from the input type or ``device`` and validate input.

    Parameters
    ----------
    probs_K_N_C : numpy.ndarray or torch.Tensor of shape (K, N, C)
        Member probabilities.
    eps : float
        Floor applied to probabilities inside logarithms.
    max_memory : int
        Budget in bytes for the temporaries of one chunk.
    device : None, str or torch.device, default=None
        None keeps numpy input on numpy and torch input on its device; any
        other value runs the torch backend on that device (``"cpu"``,
        ``"cuda"``, ``"cuda:1"``...).

    Notes
    -----
    On the CPU the numpy kernel is the faster one (fused, cache-blocked and
    threaded), so a CPU tensor, or ``device="cpu"``, is scored by
    :class:`NumpyScorer` on a zero-copy numpy view of the tensor; only
    bfloat16, which numpy cannot view, stays on :class:`TorchScorer`.
    """
    view = cpu_numpy_view(probs_K_N_C, device)
    if view is not None:
        return NumpyScorer(view, eps=eps, max_memory=max_memory)
    if is_torch_tensor(probs_K_N_C) or device is not None:
        from ._scoring_torch import TorchScorer

        return TorchScorer(probs_K_N_C, eps=eps, max_memory=max_memory, device=device)
    return NumpyScorer(probs_K_N_C, eps=eps, max_memory=max_memory)


class _Scorer:
    """Shared chunking logic; backends supply the array operations."""

    probs: Any  # the pool's probabilities, (K, N, C), in the backend's type

    def __init__(self, eps: float, max_memory: int):
        self.eps = eps
        self.max_memory = max_memory

    # -- backend operations -------------------------------------------------
    def _to_backend(self, arr, precise):
        raise NotImplementedError

    @staticmethod
    def _to_numpy(arr) -> np.ndarray:
        raise NotImplementedError

    def _slice(self, start, stop, precise):
        raise NotImplementedError

    def _gather(self, idx, precise):
        raise NotImplementedError

    def _raise_floor(self, chunk):
        raise NotImplementedError

    def _entropies_chunk(self, start, stop) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _cond_entropy_chunk(self, chunk_K_n_C, post_M_K, weights_M, precise):
        raise NotImplementedError

    def _weighted_member_entropy(self, chunk_K_n_C, member_weights_K, precise):
        raise NotImplementedError

    # -- sizes ------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.probs.shape)

    def _plan(self, n_points: int, M: int, itemsize: int) -> tuple[int, int]:
        """Chunk sizes (points per chunk, configurations per slice)."""
        K, _, C = self.shape
        budget = self.max_memory
        per_point_fixed = K * C * itemsize * 2  # gathered probs (+ a cast copy)
        per_cell = C * itemsize * _CELLS_BYTES_FACTOR
        m_chunk = M
        # Slice over configurations when even 64 points would not fit.
        if M * per_cell * 64 > budget:
            m_chunk = max(1, int(budget // (per_cell * 64)))
        per_point = per_point_fixed + m_chunk * per_cell + 8 * m_chunk
        n_chunk = max(1, min(n_points, int(budget // per_point)))
        return n_chunk, m_chunk

    # -- public API -------------------------------------------------------
    def entropies(self) -> tuple[np.ndarray, np.ndarray]:
        """Predictive entropy ``H(mean_k p_k)`` and expected entropy
        ``mean_k H(p_k)`` of every pool sample, float64 arrays of shape (N,).

        Computed in float64 chunk by chunk (chunks spread over the backend's
        threads, each with its share of ``max_memory``).
        """
        K, N, C = self.shape
        per_point = K * C * 8 * 3 * self._n_workers()
        n_chunk = max(1, min(N, int(self.max_memory // per_point)))
        n_chunk = min(n_chunk, self._entropies_chunk_limit(K, C))
        pred_N = np.empty(N)
        expected_N = np.empty(N)

        def work(start: int) -> None:
            stop = min(N, start + n_chunk)
            pred, expected = self._entropies_chunk(start, stop)
            pred_N[start:stop] = pred
            expected_N[start:stop] = expected

        self._run_all(work, range(0, N, n_chunk))
        return pred_N, expected_N

    def _n_workers(self) -> int:
        return 1

    def _entropies_chunk_limit(self, K: int, C: int) -> int:
        """Most samples per chunk of :meth:`entropies` (no limit here)."""
        return 2**62

    def _run_all(self, fn, items) -> None:
        for item in items:
            fn(item)

    def conditional_mi(
        self, idx_n, post_M_K: np.ndarray, weights_M: np.ndarray, precise: bool = False
    ) -> np.ndarray:
        """``I(y_n; w | y_A)`` for the pool samples ``idx_n`` (None for all).

        Parameters
        ----------
        idx_n : numpy.ndarray of int, shape (n,), or None
            Pool indices to score; None scores the whole pool in order.
        post_M_K : numpy.ndarray of shape (M, K)
            Posterior over members given each configuration.
        weights_M : numpy.ndarray of shape (M,)
            Configuration weights.
        precise : bool, default=False
            Compute in float64 instead of float32.

        Returns
        -------
        numpy.ndarray of float64, shape (n,)
        """
        K, N, C = self.shape
        n = N if idx_n is None else len(idx_n)
        M = post_M_K.shape[0]
        itemsize = 8 if precise else 4
        n_chunk, m_chunk = self._plan(n, M, itemsize)
        out = np.zeros(n)
        # Posterior-weighted member entropies: sum_m w_m sum_k post_mk H_k(n).
        member_weights_K = self._to_backend(weights_M @ post_M_K, precise)
        slices = [
            (
                self._to_backend(post_M_K[a : a + m_chunk], precise),
                self._to_backend(weights_M[a : a + m_chunk], precise),
            )
            for a in range(0, M, m_chunk)
        ]
        for start in range(0, n, n_chunk):
            stop = min(n, start + n_chunk)
            if idx_n is None:
                chunk_K_n_C = self._slice(start, stop, precise)
            else:
                chunk_K_n_C = self._gather(idx_n[start:stop], precise)
            if not precise:
                chunk_K_n_C = self._raise_floor(chunk_K_n_C)
            for post, weights in slices:
                out[start:stop] += self._cond_entropy_chunk(
                    chunk_K_n_C, post, weights, precise
                )
            out[start:stop] -= self._weighted_member_entropy(
                chunk_K_n_C, member_weights_K, precise
            )
        return out

    def close(self) -> None:
        """Release worker threads, if any."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def member_probs(self, index: int) -> np.ndarray:
        """Member probabilities of one pool sample as float64, shape (K, C)."""
        return self._to_numpy(self.probs[:, int(index), :]).astype(np.float64)


class NumpyScorer(_Scorer):
    """Scorer on numpy arrays (memory-mapped arrays included).

    Blocks of samples are spread over a small thread pool (numpy releases
    the GIL), each thread with its own reused buffers and the BLAS limited
    to one thread meanwhile; see :meth:`conditional_mi`.
    """

    def __init__(
        self, probs_K_N_C, *, eps: float, max_memory: int, validate: bool = True
    ):
        super().__init__(eps, max_memory)
        self.probs = (
            check_probabilities(probs_K_N_C, "probs_K_N_C") if validate else probs_K_N_C
        )
        self.n_threads = thread_count()
        self._pool: ThreadPoolExecutor | None = None
        self._buffers: dict = {}
        self._member_entropy_N_K: np.ndarray | None = None
        self._member_entropy_of: weakref.ref | None = None

    def close(self) -> None:
        """Shut the thread pool down and drop the buffers."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._buffers.clear()

    def _floor(self, dtype) -> float:
        return max(self.eps, float(np.finfo(dtype).tiny))

    def _n_workers(self) -> int:
        return self.n_threads

    def _entropies_chunk_limit(self, K: int, C: int) -> int:
        """Chunks of about 1 MiB of float64, so that the passes of the
        entropy kernel stay in cache."""
        return max(64, 2**20 // (8 * K * C))

    def _run_all(self, fn, items) -> None:
        items = list(items)
        if self.n_threads == 1 or len(items) == 1:
            for item in items:
                fn(item)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.n_threads)
        with _single_threaded_blas():
            list(self._pool.map(fn, items))

    def _to_backend(self, arr, precise):
        return np.ascontiguousarray(arr, dtype=np.float64 if precise else np.float32)

    @staticmethod
    def _to_numpy(arr):
        return np.asarray(arr)

    def _buffer(self, name, size, dtype):
        buf = self._buffers.get((name, dtype))
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._buffers[(name, dtype)] = buf
        return buf[:size]

    def _xlogx(self, q):
        """``q log q`` elementwise (a new array; ``q`` is left alone)."""
        lq = np.maximum(q, self._floor(q.dtype))
        np.log(lq, out=lq)
        lq *= q
        return lq

    def entropies(self) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`_Scorer.entropies`; also keeps every member's entropy
        ``H(p_k(y_n))`` in float32 for the screening passes when that
        ``N x K`` table (one point's entropies side by side, for gathering)
        takes at most half of ``max_memory``; the blocks of the fused kernel
        take a few MiB at most of the rest (:meth:`_block_cells`)."""
        K, N, _ = self.shape
        self._member_entropy_N_K = self._member_entropy_of = None
        if K * N * 4 <= self.max_memory // 2:
            self._member_entropy_N_K = np.empty((N, K), dtype=np.float32)
            try:  # the table belongs to this array (callers may swap probs)
                self._member_entropy_of = weakref.ref(self.probs)
            except TypeError:  # pragma: no cover - numpy arrays allow weakrefs
                self._member_entropy_N_K = None
        return super().entropies()

    def _member_entropy_table(self):
        """The table of :meth:`entropies` if it is still of ``self.probs``."""
        ref = self._member_entropy_of
        if ref is None or ref() is not self.probs:
            return None
        return self._member_entropy_N_K

    def _entropies_chunk(self, start, stop):
        chunk = np.asarray(self.probs[:, start:stop, :], dtype=np.float64)
        K, n, C = chunk.shape
        ones_C = np.ones(C)  # sums over the short class axis as products
        h_K_n = -(self._xlogx(chunk).reshape(K * n, C) @ ones_C).reshape(K, n)
        if self._member_entropy_N_K is not None:
            self._member_entropy_N_K[start:stop] = h_K_n.T
        pred = -(self._xlogx(chunk.mean(axis=0)) @ ones_C)
        return pred, h_K_n.mean(axis=0)

    def _block_cells(self, itemsize: int) -> int:
        """Cells of one block: ``_BLOCK_CELLS``, or less when two buffers per
        thread of that size would take more than half of the budget (what
        the members' entropy table leaves of ``max_memory``)."""
        per_cell = itemsize * _CELLS_BYTES_FACTOR * self.n_threads
        return max(1, min(_BLOCK_CELLS, self._buffer_budget() // 2 // per_cell))

    def _buffer_budget(self) -> int:
        """``max_memory`` less the members' entropy table, if any."""
        table = self._member_entropy_N_K
        return self.max_memory - (0 if table is None else table.nbytes)

    def _block_shape(self, n: int, M: int, C: int, itemsize: int):
        """(points, configurations) of one block of the fused kernel.

        Matrix products of ``K`` inner dimension reach the BLAS's speed only
        when both sides of the block are wide: about ``_BLOCK_COLUMNS``
        columns (points times classes) and as many configurations as then
        fit in :meth:`_block_cells`; fewer configurations than that leave
        room for more points, up to ``_MAX_BLOCK_COLUMNS`` columns.
        """
        cells = self._block_cells(itemsize)
        K = self.shape[0]
        sub = max(-(-_BLOCK_COLUMNS // C), cells // (M * C))
        # The block's probabilities and their x log x: two K x columns
        # buffers per thread, within a quarter of the budget.
        per_point = 2 * K * C * itemsize * self.n_threads
        max_sub = max(1, self._buffer_budget() // 4 // per_point)
        sub = max(1, min(n, sub, max(1, _MAX_BLOCK_COLUMNS // C), max_sub))
        m_block = max(1, min(M, cells // (sub * C)))
        return sub, m_block

    def conditional_mi(
        self, idx_n, post_M_K: np.ndarray, weights_M: np.ndarray, precise: bool = False
    ) -> np.ndarray:
        """``I(y_n; w | y_A)`` for the pool samples ``idx_n`` (None for all).

        One fused pass (see :meth:`_fused_gains`): each thread reads its
        blocks of samples straight from the pool, so no chunk of the pool is
        copied and the working memory is a few cache-sized blocks per thread.
        Parameters and result as :meth:`_Scorer.conditional_mi`.
        """
        dtype = np.float64 if precise else np.float32
        post = np.ascontiguousarray(post_M_K, dtype=dtype)
        weights = np.ascontiguousarray(weights_M, dtype=dtype)
        member_weights = np.ascontiguousarray(weights_M @ post_M_K, dtype=dtype)
        n = self.shape[1] if idx_n is None else len(idx_n)
        if idx_n is not None:
            idx_n = np.asarray(idx_n, dtype=np.intp)
        out_n = np.empty(n, dtype=np.float64)
        self._fused_gains(idx_n, n, post, weights, member_weights, precise, out_n)
        return out_n

    def _fused_gains(
        self, idx_n, n, post_M_K, weights_M, member_weights_K, precise, out_n
    ):
        """Gains of the ``n`` samples ``idx_n`` (None: the pool in order) into
        ``out_n``, block by block.

        Per block of samples (:meth:`_block_shape`: a few hundred columns of
        samples times classes; :func:`_kernels.plan_blocks`: a span of the
        pool read as a view where enough of its points are candidates, else
        gathered candidates) a thread raises the block's probabilities to the
        screening floor (or floors the logarithm when ``precise``) and, for
        each block of configurations, runs the product ``q = post @ p``,
        ``q log q`` and the weighted reduction over configurations, all in
        cache (:func:`_kernels.block_gains`); the members' entropies
        ``sum_k member_weights_k H_k`` are subtracted in the same block.
        Threads take blocks round robin and run their products on one BLAS
        thread each.
        """
        K, N, C = self.shape
        M = post_M_K.shape[0]
        dtype = post_M_K.dtype
        sub, m_block = self._block_shape(n, M, C, dtype.itemsize)
        floor = self._floor(dtype) if precise else _SCREEN_FLOOR
        blocks = plan_blocks(idx_n, n, N, sub, dense_share(K, M, C))
        n_threads = min(self.n_threads, len(blocks))
        if n * C * (M + K) < _THREADED_CELLS:
            n_threads = 1
        table_N_K = None if precise else self._member_entropy_table()
        plain = isinstance(self.probs, np.ndarray)
        take = plain and self.probs.dtype == dtype

        def work(t: int) -> None:
            names = (("p", K), ("x", K), ("a", 1), ("q", m_block), ("l", m_block))
            bufs = [self._buffer(f"{c}{t}", r * sub * C, dtype) for c, r in names]
            for where, start, stop in blocks[t::n_threads]:
                if start is None:  # gathered candidates
                    points = idx_n[where]
                    if take:  # straight into the first buffer
                        rows = bufs[0][: K * len(points) * C].reshape(K, -1, C)
                        np.take(self.probs, points, axis=1, out=rows)
                    elif plain:  # contiguous (a fancy index is strided, slow to cast)
                        rows = np.take(self.probs, points, axis=1)
                    else:
                        rows = self.probs[:, points]
                    h = None if table_N_K is None else table_N_K[points]
                else:  # a span of the pool, read in place
                    rows = self.probs[:, start:stop]
                    h = None if table_N_K is None else table_N_K[start:stop]
                gains = block_gains(
                    rows, h, post_M_K, weights_M, member_weights_K, bufs,
                    m_block, floor, precise,
                )  # fmt: skip
                if start is None or idx_n is None:
                    out_n[where] = gains
                else:
                    out_n[where] = gains[idx_n[where] - start]

        with _single_threaded_blas():
            self._run_all(work, range(n_threads))


__all__ = ["NumpyScorer", "TorchScorer", "make_scorer"]  # noqa: F822


def __getattr__(name: str):
    # TorchScorer lives in its own module; `_scoring.TorchScorer` still works.
    if name == "TorchScorer":
        from ._scoring_torch import TorchScorer

        return TorchScorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
