"""The block kernels of EPIG (:mod:`batchbald.epig` and its symmetric path).

One block of joints ``J`` (pool rows ``n*C`` x target columns ``t*C``) is a
``K``-deep product, a logarithm and one dot product per row
(:func:`joint_xlogx`), in the buffers of a :class:`Workspace`;
:func:`run_blocks` spreads the blocks over threads, each with its own
workspace; :func:`has_zero` tells whether the inputs hold zero
probabilities, which decides whether the workspace clamps the joints.
"""

from __future__ import annotations

import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Cells read at a time by has_zero.
_CHECK_CELLS = 1 << 19


def sample_blocks(probs_K_N_C, idx_n=None, cells: int = _CHECK_CELLS):
    """``(start, block)`` over the samples ``idx_n`` (None: all), about
    ``cells`` numbers at a time, each block a numpy array (K, b, C)."""
    K, N, C = probs_K_N_C.shape
    n = N if idx_n is None else len(idx_n)
    step = max(1, cells // max(1, K * C))
    for a in range(0, n, step):
        part = slice(a, a + step) if idx_n is None else idx_n[a : a + step]
        yield a, np.asarray(probs_K_N_C[:, part])


def has_zero(probs_K_N_C, idx_n=None) -> bool:
    """Whether the samples ``idx_n`` (None: all) hold a zero probability,
    read a block of samples at a time."""
    return any(not np.all(block) for _, block in sample_blocks(probs_K_N_C, idx_n))


def run_blocks(task, n_blocks: int, n_threads: int, make_state) -> None:
    """``task(b, state)`` for every block ``b`` on ``n_threads`` threads.

    Each thread builds its own ``state`` (its buffers) once and takes the
    next block as soon as it is free (a busy core slows no one down); each
    block writes only its own slice of the output, so the result does not
    depend on the threads.
    """
    if n_threads <= 1:
        state = make_state()
        for b in range(n_blocks):
            task(b, state)
        return
    counter = itertools.count()
    lock = threading.Lock()

    def worker(_: int) -> None:
        state = make_state()
        while True:
            with lock:
                b = next(counter)
            if b >= n_blocks:
                return
            task(b, state)

    with ThreadPoolExecutor(n_threads) as executor:
        list(executor.map(worker, range(n_threads)))


def joint_xlogx(scaled_nC_K, block_K_tC, work, n: int, C: int) -> np.ndarray:
    """``sum_{c, t, c'} J log J`` per pool point for one block of joints ``J``.

    Unless the workspace clamps, the logarithm is taken without a floor (one
    pass less); a zero joint then gives ``0 * -inf = NaN`` and only those
    rows are recomputed with the floor, which makes ``0 log 0 = 0``. Each
    row is one BLAS dot product (faster than ``einsum`` and, with its several
    accumulators, more accurate); a pool point's ``C`` rows are added in
    float64.
    """
    joint, logs = work.views(n * C, block_K_tC.shape[1])
    np.matmul(scaled_nC_K, block_K_tC, out=joint)  # p_post(y_n, y*_t)
    if work.clamp:  # zero probabilities: zero joints are likely (see Workspace)
        np.maximum(joint, work.floor, out=joint)
    work.log(joint, out=logs)  # the caller ignores divide and invalid
    rows = row_dots(joint, logs)
    bad = np.flatnonzero(np.isnan(rows))
    if len(bad):
        sub = np.maximum(joint[bad], work.floor)
        rows[bad] = row_dots(sub, work.log(sub))
    return rows.reshape(n, C).sum(1, dtype=np.float64) * work.log_scale


def row_dots(a_R_L: np.ndarray, b_R_L: np.ndarray) -> np.ndarray:
    """``sum_l a[r, l] b[r, l]`` for every row ``r`` (one BLAS dot per row)."""
    return np.matmul(a_R_L[:, None, :], b_R_L[:, :, None])[:, 0, 0]


class Workspace:
    """Two reusable buffers for a block's joints and their logarithms.

    ``clamp``: raise the joints to the smallest normal number before their
    logarithm, one pass over every block. It is set when the inputs hold zero
    probabilities (members that never predict a class): then many rows hold
    a zero joint (half of them for a bagging of 10 logistic regressions on
    digits), and clamping them all costs less than recomputing those rows.

    In float32 the logarithms are base 2 (numpy's float32 ``log2`` is about
    1.6x faster than ``log`` and at least as accurate), and ``log_scale``
    (ln 2) turns their sums back into nats; in float64 they are natural.
    """

    def __init__(self, size: int, dtype, clamp: bool = False):
        self.dtype = np.dtype(dtype)
        self.floor = float(np.finfo(dtype).tiny)
        self.clamp = clamp
        self.log = np.log2 if self.dtype == np.float32 else np.log
        self.log_scale = math.log(2.0) if self.dtype == np.float32 else 1.0
        self._joint = np.empty(size, dtype=dtype)
        self._logs = np.empty(size, dtype=dtype)

    def views(self, rows: int, cols: int):
        size = rows * cols
        return (
            self._joint[:size].reshape(rows, cols),
            self._logs[:size].reshape(rows, cols),
        )
