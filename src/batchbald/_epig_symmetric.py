"""EPIG when the pool itself stands for the targets: half the joints.

Without targets the pool's own samples are the target samples, and
``I(y_n; y*_t)`` is symmetric in ``(n, t)``: the joint of ``(n, t)`` under
a posterior over members, ``J[c, c'] = sum_k post_k p_k(c | n) p_k(c' | t)``,
is the transpose of the joint of ``(t, n)``. The pool is cut into chunks of
``s`` samples; chunk ``i`` scores the blocks ``(i, j)`` for ``j >= i`` only,
and each block's ``sum J log J`` goes to the rows (samples of chunk ``i``,
summed over the targets of chunk ``j``) and, for ``j > i``, to the columns
(samples of chunk ``j``, summed over the targets of chunk ``i``). That is
about half the products and logarithms of :func:`batchbald.epig.epig_scores`
with the same targets given explicitly.

Determinism. Chunk ``i``'s row sums are its own; its column sums for the
chunks after it are kept apart (``N**2 / (2 s)`` numbers in all) and added
in chunk order at the end, so the scores are the same bits on any number of
threads. The chunks depend on ``C`` alone, not on ``max_memory``; when the
kept column sums and the threads' buffers do not fit ``max_memory``,
:func:`symmetric_plan` says so and the caller scores every pair.
"""

from __future__ import annotations

import math

import numpy as np

from . import _epig_blocks, epig
from ._kernels import _single_threaded_blas, thread_count


def symmetric_plan(
    K: int, N: int, C: int, itemsize: int, max_memory: int
) -> int | None:
    """Samples per chunk, or None when the pool's two working copies (float64
    and ``itemsize``), the pairs' column sums and one thread's buffers do not
    fit ``max_memory`` (or the pool is one chunk)."""
    s = max(1, math.isqrt(epig._BLOCK_ELEMENTS // (C * C)))
    if N <= s:
        return None
    copies = K * N * C * (8 + itemsize)
    kept = (N * N // (2 * s) + N) * 8
    buffers = 3 * itemsize * (s * C) ** 2
    return s if copies + kept + buffers <= max_memory else None


def symmetric_joint_sums(pool, post, weights, dtype, s: int, max_memory: int):
    """``sum_m weights_m sum_t sum J log J`` per pool sample, the targets being
    the pool itself (see the module doc), shape (N,), float64."""
    K, N, C = pool.shape
    starts = list(range(0, N, s))
    n_chunks = len(starts)
    rows_K = [
        np.ascontiguousarray(
            np.asarray(pool[:, a : a + s], dtype=np.float64).transpose(1, 2, 0)
        ).reshape(-1, K)
        for a in starts
    ]  # chunk i as (s_i * C, K), float64
    targets = [np.ascontiguousarray(r.T, dtype=dtype) for r in rows_K]
    own = np.zeros(N)
    # cols[i]: chunk i's column sums for the samples after it (chunks > i)
    cols = [np.zeros(max(0, N - a - s)) for a in starts]
    cells = (s * C) ** 2
    itemsize = np.dtype(dtype).itemsize
    used = K * N * C * (8 + itemsize) + (N * N // (2 * s) + N) * 8
    n_threads = min(
        thread_count(), n_chunks, max(1, (max_memory - used) // (3 * itemsize * cells))
    )

    def score_chunk(i: int, work: _epig_blocks.Workspace) -> None:
        a = starts[i]
        n_i = rows_K[i].shape[0] // C
        for m, post_K in enumerate(post):
            if weights[m] == 0:
                continue
            scaled = (rows_K[i] * post_K).astype(dtype, copy=False)
            for j in range(i, n_chunks):
                r, c = _block_sums(scaled, targets[j], work, n_i, C, j > i)
                own[a : a + n_i] += weights[m] * r
                if j > i:
                    b = starts[j] - a - s
                    cols[i][b : b + len(c)] += weights[m] * c

    clamp = _epig_blocks.has_zero(pool)
    with _single_threaded_blas():
        _epig_blocks.run_blocks(
            score_chunk,
            n_chunks,
            n_threads,
            lambda: _epig_blocks.Workspace(cells, dtype, clamp),
        )
    for i, a in enumerate(starts):  # the column sums, in chunk order
        own[a + s :] += cols[i]
    return own


def _block_sums(scaled_nC_K, block_K_tC, work, n: int, C: int, want_cols: bool):
    """Row sums (per pool sample) and column sums (per target sample) of
    ``J log J`` over one block of joints ``J``, with ``0 log 0 = 0``."""
    joint, terms = work.views(n * C, block_K_tC.shape[1])
    np.matmul(scaled_nC_K, block_K_tC, out=joint)
    if work.clamp:  # zero probabilities (see _epig_blocks.Workspace)
        np.maximum(joint, work.floor, out=joint)
    with np.errstate(divide="ignore", invalid="ignore"):
        _xlogx(joint, terms, work)
        rows = terms @ np.ones(terms.shape[1], dtype=terms.dtype)
        if np.isnan(rows).any():  # a zero joint: floor it, as epig does
            np.maximum(joint, work.floor, out=joint)
            _xlogx(joint, terms, work)
            rows = terms @ np.ones(terms.shape[1], dtype=terms.dtype)
    row_sums = rows.reshape(n, C).sum(1, dtype=np.float64) * work.log_scale
    if not want_cols:
        return row_sums, None
    col_sums = (np.ones(terms.shape[0], dtype=terms.dtype) @ terms).reshape(-1, C)
    return row_sums, col_sums.sum(1, dtype=np.float64) * work.log_scale


def _xlogx(joint, out, work: _epig_blocks.Workspace) -> None:
    """``out = joint * log(joint)`` in two passes (the logarithm in the
    workspace's base, see :class:`batchbald._epig_blocks.Workspace`); the sums over
    rows and over columns are then matrix-vector products."""
    work.log(joint, out=out)
    np.multiply(out, joint, out=out)
