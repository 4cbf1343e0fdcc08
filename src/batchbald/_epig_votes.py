"""EPIG when every member votes: the joints from the members' labels.

When each member's prediction is one-hot (the members of a scikit-learn
ensemble vote, see :func:`batchbald.information.member_votes`, and fully
grown trees predict one class), the joint of ``(n, t)`` under a posterior
``post`` over the members puts on the cell ``(c, c')`` the mass of the
members that vote ``c`` for ``n`` and ``c'`` for ``t``. Grouping the sum
``sum_cells J log J`` by member instead of by cell::

    sum_cells J log J = sum_k post_k log J_k(n, t),
    J_k(n, t) = sum_k' post_k' [v_k'(n) = v_k(n)] [v_k'(t) = v_k(t)],

the mass of member ``k``'s own cell. For each member ``k`` that is one
product of depth ``K`` between "agrees with ``k`` on ``n``, weighted by the
posterior" (``n x K``) and "agrees with ``k`` on ``t``" (``K x t``): per
pair ``K**2`` multiply-adds and ``K`` logarithms, against the ``C**2 K`` and
``C**2`` of the full joint (ten times fewer for 10 members and 10 classes).
Every ``J_k >= post_k``, so no logarithm meets a zero; members without
posterior weight are left out (they add nothing to any cell).

:func:`vote_sums` is what :mod:`batchbald.epig` calls: it recognises such
inputs (:func:`one_hot_labels`), decides by the cost of the two kernels
(:func:`use_votes`) and computes the sums (:func:`vote_joint_sums`);
:func:`pool_entropies` gives the pool's own term.
"""

from __future__ import annotations

import numpy as np

from . import _epig_blocks, epig
from ._kernels import _single_threaded_blas, thread_count

# Cells of the one-hot test at a time (its boolean temporaries stay small).
_CHECK_CELLS = 1 << 20
# Costs per pair (see use_votes), in multiply-adds of the joint kernel's
# K-deep products: one multiply-add of the vote kernel's shallow products,
# one of its logarithms (with its share of the sums), and one cell of the
# joint kernel (its logarithm, clamp and dot product).
_VOTE_MAC_COST = 2
_VOTE_LOG_COST = 12
_JOINT_CELL_COST = 42


def one_hot_labels(probs_K_N_C: np.ndarray, idx_n=None) -> np.ndarray | None:
    """Every member's label for the samples ``idx_n`` (None: all), shape
    (K, n) (uint8 up to 256 classes, else int32), when each member's
    prediction is one-hot (all 0 but one 1); None otherwise. Read a block of
    samples at a time, stopping at the first block that is not."""
    K, N, C = probs_K_N_C.shape
    n = N if idx_n is None else len(idx_n)
    labels = np.empty((K, n), dtype=np.uint8 if C <= 256 else np.int32)
    for a, block in _epig_blocks.sample_blocks(probs_K_N_C, idx_n, _CHECK_CELLS):
        ones = block == 1
        if not (
            np.all(ones | (block == 0)) and np.all(np.count_nonzero(ones, -1) == 1)
        ):
            return None
        labels[:, a : a + block.shape[1]] = np.argmax(ones, axis=-1)
    return labels


def use_votes(K: int, C: int) -> bool:
    """Whether the vote kernel is the cheaper for one-hot inputs of K members
    and C classes: ``K**2`` shallow multiply-adds and ``K`` logarithms per
    pair against ``C**2 K`` multiply-adds and ``C**2`` cells.

    The constants were fitted on one core from
    ``python benchmarks/epig_kernel_parts.py --votes-crossover`` (2026-12-07,
    one-hot ensembles of 600 x 600 samples, K from 3 to 200): for C = 10 the
    vote kernel was the faster up to K = 70 and the slower from K = 80; for
    C = 3 up to K = 7 and the slower from K = 10; for C = 2 the joint kernel
    was the faster at every K (by a millisecond or two below K = 10). This
    rule switches at K = 73 for C = 10, 14 for C = 3 and 8 for C = 2.
    """
    votes = _VOTE_MAC_COST * K * K + _VOTE_LOG_COST * K
    return votes < C * C * (K + _JOINT_CELL_COST)


def vote_joint_sums(
    labels_pool_K_n: np.ndarray,
    labels_target_K_T: np.ndarray,
    post_M_K: np.ndarray,
    weights_M: np.ndarray,
    dtype,
    max_memory: int,
) -> np.ndarray:
    """``sum_m weights_m sum_t sum_cells J log J`` per pool sample, float64,
    shape (n,), from the members' labels (see the module doc)."""
    n = labels_pool_K_n.shape[1]
    out = np.zeros(n)
    floor = float(np.finfo(dtype).tiny)
    for post_K, w in zip(post_M_K, weights_M, strict=True):
        keep = post_K > floor  # members without weight add nothing
        if w == 0 or keep.sum() < 2:  # one member: J = 1, log J = 0
            continue
        out += w * _member_sums(
            labels_pool_K_n[keep], labels_target_K_T[keep], post_K[keep], dtype,
            max_memory,
        )  # fmt: skip
    return out


def pool_entropies(pool, idx_n, post, weights) -> np.ndarray:
    """``sum_m weights_m H_post_m(y_n)`` for the pool samples ``idx_n`` (None:
    all), a chunk of samples at a time."""
    K, N, C = pool.shape
    n = N if idx_n is None else len(idx_n)
    out = np.zeros(n)
    step = max(1, epig._BLOCK_ELEMENTS // (K * C))
    for a in range(0, n, step):
        b = min(n, a + step)
        idx = np.arange(a, b) if idx_n is None else idx_n[a:b]
        chunk = np.asarray(pool[:, idx], dtype=np.float64)
        for m, post_K in enumerate(post):
            q_n_C = np.tensordot(post_K, chunk, axes=1)
            out[a:b] -= weights[m] * epig._xlogx_sum(q_n_C, axis=-1)
    return out


def vote_sums(pool, target, post, weights, idx_n, max_memory, dtype):
    """``sum_m weights_m sum_t sum_cells J log J`` for the pool samples
    ``idx_n`` (None: all) by the vote kernel, when every member's prediction
    is one-hot and this kernel is the cheaper; None otherwise."""
    K, _, C = pool.shape
    if not use_votes(K, C):
        return None
    labels_pool = one_hot_labels(pool, idx_n)
    if labels_pool is None:
        return None
    if idx_n is None and epig._same_array(pool, target):
        labels_target = labels_pool
    else:
        labels_target = one_hot_labels(target)
        if labels_target is None:
            return None
    return vote_joint_sums(labels_pool, labels_target, post, weights, dtype, max_memory)


def _member_sums(lab_n, lab_t, post_K, dtype, max_memory) -> np.ndarray:
    """``sum_t sum_k post_k log J_k(n, t)`` per pool sample for one posterior."""
    K, n = lab_n.shape
    T = lab_t.shape[1]
    itemsize = np.dtype(dtype).itemsize
    t_chunk, n_chunk, cache, n_threads = _plan(K, n, T, itemsize, max_memory)
    target_blocks = [lab_t[:, a : a + t_chunk] for a in range(0, T, t_chunk)]
    if cache:  # block b as [v_k'(t) = v_k(t)], shape (k, k', t)
        target_blocks = [_agreement(lab, dtype) for lab in target_blocks]
    post = post_K.astype(dtype)
    log = np.log2 if np.dtype(dtype) == np.float32 else np.log
    scale = np.log(2.0) if np.dtype(dtype) == np.float32 else 1.0
    out = np.zeros(n)
    starts = range(0, n, n_chunk)

    def score_chunk(i: int, buf: np.ndarray) -> None:
        a = starts[i]
        lab = lab_n[:, a : a + n_chunk]
        nb = lab.shape[1]
        # [v_k'(n) = v_k(n)] post_k' as (k, n, k')
        agree_n = np.ascontiguousarray(
            ((lab[:, None, :] == lab[None, :, :]) * post[None, :, None]).transpose(
                0, 2, 1
            ),
            dtype=dtype,
        )
        sums_K_n = np.zeros((K, nb))
        for block in target_blocks:
            if block.ndim == 2:
                block = _agreement(block, dtype)
            tb = block.shape[2]
            J = buf[: K * nb * tb].reshape(K, nb, tb)
            np.matmul(agree_n, block, out=J)  # J_k(n, t) >= post_k > 0
            log(J, out=J)
            sums_K_n += J.reshape(K * nb, tb).sum(1, dtype=np.float64).reshape(K, nb)
        out[a : a + nb] = post_K @ sums_K_n * scale

    with _single_threaded_blas():
        _epig_blocks.run_blocks(
            score_chunk,
            len(starts),
            n_threads,
            lambda: np.empty(K * n_chunk * t_chunk, dtype=dtype),
        )
    return out


def _plan(K: int, n: int, T: int, itemsize: int, max_memory: int):
    """``(t_chunk, n_chunk, cache, n_threads)`` of the vote kernel.

    As in :func:`batchbald.epig._plan`, the targets per block depend on K
    alone, so each pool sample's sum is taken in the same order whatever the
    budget. The targets' agreements are kept for every pool chunk (``cache``)
    when a quarter of the budget holds them, else each thread makes one
    block's at a time; each thread also holds its joints and its chunk's
    agreements, and the threads share what the cache leaves of the budget.
    """
    t_chunk = max(1, min(T, epig._BLOCK_ELEMENTS // (epig._MIN_POOL_ROWS * K)))
    budget = max(1 << 16, max_memory // (4 * itemsize))
    n_chunk = max(1, min(n, min(epig._BLOCK_ELEMENTS, budget) // (t_chunk * K)))
    cached = K * K * T * itemsize
    cache = cached <= max_memory // 4
    per_thread = (K * n_chunk * t_chunk + K * K * n_chunk) * itemsize
    if not cache:
        cached, per_thread = 0, per_thread + K * K * t_chunk * itemsize
    n_chunks = -(-n // n_chunk)
    spare = max(1, (max_memory - cached) // per_thread)
    return t_chunk, n_chunk, cache, min(thread_count(), n_chunks, spare)


def _agreement(labels_K_t: np.ndarray, dtype) -> np.ndarray:
    """``[v_k'(t) = v_k(t)]`` as an array of shape (k, k', t) in ``dtype``."""
    return (labels_K_t[:, None, :] == labels_K_t[None, :, :]).astype(dtype)
