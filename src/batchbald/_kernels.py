"""Small kernels of the numpy chunk scorer (:mod:`batchbald._scoring`).

The blocks of points (:func:`plan_blocks`), one block's gains
(:func:`block_gains`) with its loop over configurations, and the switch that
runs BLAS on one thread while the scorer's own threads split the work.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

import numpy as np

# Threads of the kernels (the BALD scorer's and EPIG's), at most.
_MAX_THREADS = 8
# How deep each thread is inside _single_threaded_blas.
_DEPTH = threading.local()


def thread_count() -> int:
    """Threads for the kernels: the CPUs this process may run on, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(_MAX_THREADS, cpus))


@contextlib.contextmanager
def _single_threaded_blas():
    """BLAS on one thread while our threads split the work between them.

    Re-entrant: within one thread, only the outermost entry sets the limit
    and restores it, so that a lazy round holding it around its many
    scoring calls does not switch the BLAS's threads at each (a switch can
    cost milliseconds on a busy machine).
    """
    controller = _blas_controller()
    depth = getattr(_DEPTH, "n", 0)
    _DEPTH.n = depth + 1
    try:
        if controller is None or depth > 0:
            yield
        else:
            with controller.limit(limits=1, user_api="blas"):
                yield
    finally:
        _DEPTH.n = depth


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return None
    return ThreadpoolController()


def block_gains(
    rows_K_b_C,
    h_b_K,
    post_M_K,
    weights_M,
    member_weights_K,
    buffers,
    m_block,
    floor,
    precise,
) -> np.ndarray:
    """Gains (float64, shape (b,)) of one block of points, all in cache.

    ``rows_K_b_C``: the block's probabilities (a view of the pool, or the
    first scratch buffer holding them already); ``h_b_K``: the members'
    entropies of those points from the scorer's table, or None to compute
    them here; ``buffers``: the scratch arrays ``(p, x, acc, q, lq)`` of at
    least ``K * b * C``, ``K * b * C``, ``b * C`` and (twice)
    ``m_block * b * C`` cells. The probabilities are raised to ``floor``
    (screening: so that ``q > 0`` needs no clamp) or, when ``precise``, only
    inside the logarithms.
    """
    K, b, C = rows_K_b_C.shape
    cols = b * C
    p_buf, x_buf, acc, q, lq = buffers
    src_K_m = rows_K_b_C.reshape(K, cols)
    p_K_m = p_buf[: K * cols].reshape(K, cols)
    acc_m = acc[:cols]
    if h_b_K is not None:  # the members' entropies come from the table
        np.maximum(src_K_m, floor, out=p_K_m)  # read, cast and floor
        acc_m[:] = 0
    else:  # computed here: + sum_k w_k p_k log p_k per class
        x_K_m = x_buf[: K * cols].reshape(K, cols)
        if precise:  # the logarithms are floored, p is not
            p_K_m[...] = src_K_m
            np.maximum(p_K_m, floor, out=x_K_m)
            np.log(x_K_m, out=x_K_m)
        else:
            np.maximum(src_K_m, floor, out=p_K_m)
            np.log(p_K_m, out=x_K_m)
        x_K_m *= p_K_m
        np.matmul(member_weights_K, x_K_m, out=acc_m)
        np.negative(acc_m, out=acc_m)
    _add_weighted_xlogx(
        post_M_K, weights_M, p_K_m, (q, lq), m_block, floor, precise, acc_m
    )
    gains_b = -acc_m.reshape(b, C).sum(axis=1, dtype=np.float64)
    if h_b_K is not None:
        gains_b -= h_b_K @ member_weights_K
    return gains_b


def _add_weighted_xlogx(
    post_M_K, weights_M, p_K_m, buffers, m_block, floor, precise, acc_m
) -> None:
    """``acc_m += sum_m w_m q_m log q_m`` with ``q = post @ p``, in blocks of
    ``m_block`` configurations that stay in cache (``buffers``: two scratch
    arrays of at least ``m_block * m`` cells)."""
    M, cols = post_M_K.shape[0], p_K_m.shape[1]
    q, lq = buffers
    for r in range(0, M, m_block):
        s = min(M, r + m_block)
        q_M_m = q[: (s - r) * cols].reshape(s - r, cols)
        l_M_m = lq[: (s - r) * cols].reshape(s - r, cols)
        np.matmul(post_M_K[r:s], p_K_m, out=q_M_m)
        if precise:
            np.maximum(q_M_m, floor, out=l_M_m)
            np.log(l_M_m, out=l_M_m)
        else:  # screening: q >= the raised floor already
            np.log(q_M_m, out=l_M_m)
        l_M_m *= q_M_m
        acc_m += weights_M[r:s] @ l_M_m


# Rough costs (ns) of the fused kernel, used only to choose between reading a
# span of the pool and gathering its candidates: gathering one point costs
# about _GATHER_NS per (member, class) cell (K small copies, scattered);
# scoring one point about _POINT_NS per cell plus, per (configuration,
# class), _CELL_NS and _CELL_MEMBER_NS per member (the product and the log).
_GATHER_NS = 2.5
_POINT_NS = 0.5
_CELL_NS = 2.0
_CELL_MEMBER_NS = 0.1


def dense_share(K: int, M: int, C: int) -> float:
    """Least share of a span's points that must be candidates for reading
    (and scoring) the whole span to cost less than gathering them."""
    point = K * C * _POINT_NS + M * C * (_CELL_NS + K * _CELL_MEMBER_NS)
    return point / (point + K * C * _GATHER_NS)


def plan_blocks(idx_n, n: int, N: int, sub: int, share: float) -> list:
    """Blocks ``(positions, start, stop)`` of the fused kernel.

    With ``idx_n`` None, the pool's points ``start:stop`` in order
    (``positions`` the same slice of the output). Otherwise the pool is cut
    into spans of ``sub`` points: a span where at least ``share`` of the
    points are candidates is read whole, as a slice of the pool
    (``start:stop``; its candidates' output ``positions`` are then picked
    from the span's gains), and the candidates of the other spans are
    gathered ``sub`` at a time (``start`` None). ``idx_n`` need not be
    sorted.
    """
    if idx_n is None:
        spans = [(a, min(n, a + sub)) for a in range(0, n, sub)]
        return [(slice(a, b), a, b) for a, b in spans]
    order = None
    if n > 1 and not bool((idx_n[1:] > idx_n[:-1]).all()):
        order = np.argsort(idx_n, kind="stable")
    sorted_n = idx_n if order is None else idx_n[order]
    blocks: list = []
    dense_p = np.zeros(n, dtype=bool)
    if n >= sub and share <= 1.0:
        edges = np.append(np.arange(0, N, sub), N)
        pos = np.searchsorted(sorted_n, edges)
        counts = np.diff(pos)
        dense_r = np.flatnonzero((counts > 0) & (counts >= share * np.diff(edges)))
        for r in dense_r:
            lo, hi = int(pos[r]), int(pos[r + 1])
            where = slice(lo, hi) if order is None else order[lo:hi]
            blocks.append((where, int(edges[r]), int(edges[r + 1])))
        is_dense_r = np.zeros(len(counts), dtype=bool)
        is_dense_r[dense_r] = True
        dense_p = np.repeat(is_dense_r, counts)
    sparse_p = np.flatnonzero(~dense_p)
    for a in range(0, len(sparse_p), sub):
        where = sparse_p[a : a + sub]
        blocks.append((where if order is None else order[where], None, None))
    return blocks
