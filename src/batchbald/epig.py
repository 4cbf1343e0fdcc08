"""Expected predictive information gain (EPIG), chunked, in pure functions.

BALD values information about the parameters ``w``; EPIG (Bickford Smith,
Foster, Farquhar, Kirsch, Rainforth and Gal, AISTATS 2023) values information
about the *predictions* on a target input distribution ``p*(x*)``::

    EPIG(x) = E_{x* ~ p*} I(y; y* | x, x*)

With an ensemble of ``K`` equally likely members the joint predictive of a
pool point ``x`` and a target ``x*`` is the ``C x C`` matrix
``p(y, y*) = mean_k p_k(y) p_k(y*)``, and

    I(y; y*) = H(y) + H(y*) - H(y, y*)

is computed exactly for every (pool, target) pair, with ``0 log 0 = 0`` (no
floor is needed: ``x log x`` is continuous at 0). The expectation over
``x*`` is the mean over the given target samples.

Conditioning on a selected set. Batch (joint) EPIG adds the sample ``n``
whose gain ``E_{x*} I(y_n; y* | y_A)`` is largest. Given the configurations
of ``y_A`` (see :mod:`batchbald.information`), each configuration ``m``
turns the uniform prior over members into a posterior ``post_M_K[m]``, and::

    I(y_n; y* | y_A) = sum_m weights_M[m] * I_{post_m}(y_n; y*)

where ``I_{post_m}`` is the same formula with the members weighted by
``post_m`` instead of ``1 / K`` (:func:`conditional_epig`). Plain EPIG is the
case of one configuration with a uniform posterior (:func:`epig_scores`).

Data-processing bound. Given the member ``w``, ``y_n`` and ``y*`` are
independent, so for every posterior over members ``I(y_n; y*) <= I(y_n;
w)`` and ``I(y_n; y*) <= I(y*; w)``: EPIG never exceeds BALD, and the
conditional gain never exceeds the conditional BALD score under the same
configurations (:func:`conditional_bald`). The batch engine prunes with this
bound (:mod:`batchbald._epig_engine`).

Memory. Nothing of size ``N_pool x C x N_target x C`` is ever built: the
pool and the targets are cut into blocks, each block's joints are one matrix
product ``(n*C x K) @ (K x t*C)`` and one ``x log x`` reduction, and the block
size follows ``max_memory`` (and stays small enough to live in cache).

The pool as the targets. Without targets the pool stands for them and
``I(y_n; y*_t)`` is symmetric in the two samples: when the same array is
given twice, each pair is scored once (:mod:`batchbald._epig_symmetric`:
about half the work), if its column sums and buffers fit ``max_memory``.

Votes. When every member's prediction is one-hot (a scikit-learn ensemble's
votes), the joints come from the members' labels instead
(:mod:`batchbald._epig_votes`: ``K**2`` multiply-adds and ``K`` logarithms
per pair instead of ``C**2 K`` and ``C**2``), where that is the cheaper.

Kernels (:mod:`batchbald._epig_blocks`). In float32 the logarithms are base
2 (faster in numpy, and as accurate); each row of a block is one BLAS dot
product and a pool point's rows are added in float64 (errors around 1e-7
nats against float64). Inputs that hold zero probabilities have their
joints raised to the smallest normal number before the logarithm.

Threads. The pool's blocks are spread over a few threads (the CPUs the
process may use, at most 8; numpy releases the GIL in the products and the
logarithms), each with its own buffers and BLAS on one thread meanwhile, as
the BALD scorer does. The blocks do not depend on the number of threads and
each writes its own slice of the result, so the scores are the same bits on
any number of threads; the threads share ``max_memory`` (fewer run when the
budget holds fewer blocks).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _epig_blocks
from ._kernels import _single_threaded_blas, thread_count
from .information import check_probabilities

__all__ = [
    "DEFAULT_EPIG_MAX_MEMORY",
    "conditional_bald",
    "conditional_epig",
    "epig_scores",
]

#: Default working-memory budget of the EPIG kernels, in bytes (256 MiB).
DEFAULT_EPIG_MAX_MEMORY = 256 * 2**20

# Elements of one joint block (n*C x t*C): large enough that the per-block
# Python calls cost little, small enough for the cache (2**19 measured 4-6 %
# faster than 2**18 on 2,000 x 1,000 and 5,000 x 2,000, K=20, C=10).
_BLOCK_ELEMENTS = 1 << 19
# Pool points per block, at least: the per-chunk work (copying the pool
# points, their predictive entropies) is then shared by enough joints, and
# the products stay efficient (measured on 2,000 x 1,000, K=20, C=10).
_MIN_POOL_ROWS = 64


def check_max_memory(max_memory) -> int:
    """Validate ``max_memory``: None (256 MiB) or a number of bytes >= 1 MiB."""
    if max_memory is None:
        return DEFAULT_EPIG_MAX_MEMORY
    if isinstance(max_memory, bool) or not isinstance(max_memory, numbers.Real):
        raise TypeError(
            "max_memory must be a number of bytes (at least 1 MiB) or None; "
            f"got {max_memory!r}."
        )
    value = float(max_memory)
    if not value >= 2**20:
        raise ValueError(
            f"max_memory must be at least 1 MiB (1048576 bytes); got {max_memory!r}."
        )
    return int(value)


def check_pool_and_targets(probs_pool_K_N_C, probs_target_K_T_C):
    """Validate both probability arrays and that their members and classes agree.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The two arrays (views where possible).
    """
    pool = check_probabilities(probs_pool_K_N_C, "probs_pool_K_N_C")
    target = check_probabilities(probs_target_K_T_C, "probs_target_K_T_C")
    if pool.shape[0] != target.shape[0] or pool.shape[2] != target.shape[2]:
        raise ValueError(
            "probs_pool_K_N_C and probs_target_K_T_C must come from the same K "
            "members over the same C classes; got shapes "
            f"{pool.shape} and {target.shape} (K, N, C) / (K, T, C)."
        )
    return pool, target


def _check_posterior(post_M_K, weights_M, K: int):
    post = np.asarray(post_M_K, dtype=np.float64)
    weights = np.asarray(weights_M, dtype=np.float64)
    if post.ndim != 2 or post.shape[1] != K or post.shape[0] == 0:
        raise ValueError(
            f"post_M_K must have shape (M, K) with K={K} and M >= 1; got {post.shape}."
        )
    if weights.shape != (post.shape[0],):
        raise ValueError(
            f"weights_M must have shape ({post.shape[0]},) to match post_M_K; got "
            f"{weights.shape}."
        )
    if not (np.isfinite(post).all() and np.isfinite(weights).all()):
        raise ValueError("post_M_K and weights_M must be finite.")
    if (post < 0).any() or (weights < 0).any():
        raise ValueError("post_M_K and weights_M must be non-negative.")
    return post, weights


def _xlogx_sum(q: np.ndarray, axis) -> np.ndarray:
    """``sum q log q`` along ``axis`` with ``0 log 0 = 0``."""
    return np.sum(q * np.log(np.maximum(q, np.finfo(q.dtype).tiny)), axis=axis)


# --------------------------------------------------------------------------
# conditional BALD (the bound)
# --------------------------------------------------------------------------
def conditional_bald(probs_K_N_C, post_M_K, weights_M) -> np.ndarray:
    """``sum_m weights_m I_{post_m}(y_n; w)``, the BALD score under posteriors.

    ``I_{post}(y; w) = H(sum_k post_k p_k(y)) - sum_k post_k H(p_k(y))``. With
    one uniform posterior this is the BALD score; with the posteriors of a
    selected set's configurations it is ``I(y_n; w | y_A)``. It bounds
    :func:`conditional_epig` under the same configurations (data processing).

    Parameters
    ----------
    probs_K_N_C : array-like of shape (K, N, C)
        Member probabilities.
    post_M_K : array-like of shape (M, K)
        Posterior over members for each configuration (rows sum to 1).
    weights_M : array-like of shape (M,)
        Configuration weights.

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
    """
    probs = np.asarray(probs_K_N_C, dtype=np.float64)
    K, N, C = probs.shape
    post, weights = _check_posterior(post_M_K, weights_M, K)
    member_H_K_N = -_xlogx_sum(probs, axis=-1)
    out = -(weights @ post @ member_H_K_N)
    rows = max(1, (1 << 20) // max(1, N * C))
    for a in range(0, len(weights), rows):
        q_M_N_C = (post[a : a + rows] @ probs.reshape(K, N * C)).reshape(-1, N, C)
        out += weights[a : a + rows] @ -_xlogx_sum(q_M_N_C, axis=-1)
    return out


# --------------------------------------------------------------------------
# EPIG
# --------------------------------------------------------------------------
def epig_scores(
    probs_pool_K_N_C,
    probs_target_K_T_C,
    *,
    max_memory: int | None = None,
    precise: bool = True,
) -> np.ndarray:
    """EPIG of every pool point: ``mean_t I(y_n; y*_t)`` in nats.

    Parameters
    ----------
    probs_pool_K_N_C : array-like of shape (K, N, C)
        Member probabilities of the pool (the candidates to score).
    probs_target_K_T_C : array-like of shape (K, T, C)
        Probabilities of the *same* members for ``T`` samples of the target
        input distribution (member ``k`` of both arrays must be one model).
    max_memory : int, default=None
        Budget in bytes for the temporaries (None: 256 MiB), beyond the inputs
        and one copy of the target probabilities in the working precision.
    precise : bool, default=True
        Compute in float64; False uses float32 (about twice as fast, absolute
        errors around 1e-7 nats).

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
        Non-negative up to rounding, and at most the BALD score.

    Raises
    ------
    ValueError
        If the arrays are not probabilities or their K or C differ.
    """
    pool, target = check_pool_and_targets(probs_pool_K_N_C, probs_target_K_T_C)
    K = pool.shape[0]
    return _conditional_epig(
        pool,
        target,
        np.full((1, K), 1.0 / K),
        np.ones(1),
        None,
        check_max_memory(max_memory),
        _check_precise(precise),
    )


def conditional_epig(
    probs_pool_K_N_C,
    probs_target_K_T_C,
    post_M_K,
    weights_M,
    *,
    idx_n=None,
    max_memory: int | None = None,
    precise: bool = True,
) -> np.ndarray:
    """``sum_m weights_m mean_t I_{post_m}(y_n; y*_t)``: EPIG given configurations.

    With the configurations of a selected set ``A`` (posteriors over members
    and weights, see :func:`batchbald.information.enumerate_configurations`
    and :func:`~batchbald.information.sample_configurations`) this is the
    greedy batch-EPIG gain ``E_{x*} I(y_n; y* | y_A)``: exact for enumerated
    configurations, an unbiased estimate for sampled ones.

    Parameters
    ----------
    probs_pool_K_N_C, probs_target_K_T_C, max_memory, precise
        See :func:`epig_scores`.
    post_M_K : array-like of shape (M, K)
        Posterior over members given each configuration (rows sum to 1).
    weights_M : array-like of shape (M,)
        Configuration weights (summing to 1).
    idx_n : array-like of int, default=None
        Pool indices to score (None: all, in order).

    Returns
    -------
    numpy.ndarray of float64, shape (N,) or (len(idx_n),)
    """
    pool, target = check_pool_and_targets(probs_pool_K_N_C, probs_target_K_T_C)
    post, weights = _check_posterior(post_M_K, weights_M, pool.shape[0])
    if idx_n is not None:
        idx_n = np.asarray(idx_n, dtype=np.intp)
        if idx_n.ndim != 1 or (
            len(idx_n) and (idx_n.min() < 0 or idx_n.max() >= pool.shape[1])
        ):
            raise ValueError(
                f"idx_n must be a 1-D array of indices in [0, {pool.shape[1]})."
            )
    return _conditional_epig(
        pool,
        target,
        post,
        weights,
        idx_n,
        check_max_memory(max_memory),
        _check_precise(precise),
    )


def _check_precise(precise) -> type:
    if not isinstance(precise, (bool, np.bool_)):
        raise TypeError(f"precise must be True or False; got {precise!r}.")
    return np.float64 if precise else np.float32


class _Targets:
    """Target probabilities cut into blocks of ``t`` targets, in ``dtype``."""

    def __init__(self, target_K_T_C, t_chunk: int, dtype):
        K, T, C = target_K_T_C.shape
        self.T = T
        self.blocks = [
            np.ascontiguousarray(
                target_K_T_C[:, a : a + t_chunk].reshape(K, -1), dtype=dtype
            )
            for a in range(0, T, t_chunk)
        ]
        self.probs = target_K_T_C


def _plan(n: int, T: int, K: int, C: int, itemsize: int, max_memory: int):
    """(pool points, targets) per block within the budget and the cache.

    The targets per block depend on ``T`` and ``C`` alone, so each pool
    point's sum over the targets is taken in the same order (and gives the
    same bits) whatever ``max_memory`` and the number of pool points; a
    smaller budget only takes fewer pool points per block.
    """
    target_copy = K * T * C * itemsize
    budget = max(1 << 16, (max_memory - target_copy) // (3 * itemsize))
    block = min(_BLOCK_ELEMENTS, budget)
    t_chunk = max(1, min(T, _BLOCK_ELEMENTS // (_MIN_POOL_ROWS * C * C)))
    n_chunk = max(1, min(n, block // (t_chunk * C * C)))
    return n_chunk, t_chunk


def _conditional_epig(pool, target, post, weights, idx_n, max_memory, dtype):
    K, N, C = pool.shape
    T = target.shape[1]
    n = N if idx_n is None else len(idx_n)
    out = np.zeros(n)
    if n == 0:
        return out
    itemsize = np.dtype(dtype).itemsize
    h_target_M, h_weighted_T = _target_entropies(target, post, weights)
    from ._epig_votes import pool_entropies, vote_sums

    joint_sum_n = vote_sums(pool, target, post, weights, idx_n, max_memory, dtype)
    if joint_sum_n is not None:  # every member votes (one-hot predictions)
        h_pool_n = pool_entropies(pool, idx_n, post, weights)
        return h_pool_n + weights @ h_target_M + joint_sum_n / T
    if idx_n is None and _same_array(pool, target):  # the pool stands for them
        from ._epig_symmetric import symmetric_joint_sums, symmetric_plan

        s = symmetric_plan(K, N, C, itemsize, max_memory)
        if s is not None:
            joint_sum_N = symmetric_joint_sums(
                pool, post, weights, dtype, s, max_memory
            )
            return h_weighted_T + weights @ h_target_M + joint_sum_N / T
    n_chunk, t_chunk = _plan(n, T, K, C, itemsize, max_memory)
    targets = _Targets(target, t_chunk, dtype)
    cells = n_chunk * C * t_chunk * C
    starts = range(0, n, n_chunk)
    # The plan does not depend on the threads (so neither do the scores);
    # the threads, each with its own workspace, share the budget.
    spare = max_memory - K * T * C * itemsize
    n_threads = min(
        thread_count(), len(starts), max(1, spare // (3 * itemsize * cells))
    )

    def score_block(b: int, work: _epig_blocks.Workspace) -> None:
        start = starts[b]
        stop = min(n, start + n_chunk)
        idx = np.arange(start, stop) if idx_n is None else idx_n[start:stop]
        chunk_K_n_C = np.asarray(pool[:, idx], dtype=np.float64)
        out[start:stop] = _chunk_gain(
            chunk_K_n_C, targets, post, weights, h_target_M, work
        )

    # The blocks' matrix products are small and cache-sized: a threaded BLAS
    # only adds synchronisation (and stalls badly on a busy machine), so
    # BLAS runs on one thread and our threads split the pool's blocks.
    clamp = _epig_blocks.has_zero(target) or _epig_blocks.has_zero(pool, idx_n)
    with _single_threaded_blas():
        _epig_blocks.run_blocks(
            score_block,
            len(starts),
            n_threads,
            lambda: _epig_blocks.Workspace(cells, dtype, clamp),
        )
    return out


def _target_entropies(target, post, weights):
    """``(h_target_M, h_weighted_T)``: each configuration's mean predictive
    entropy of the targets, and ``sum_m weights_m H_post_m(y*_t)`` per target
    (the pool's own term when it stands for the targets); M x K x T x C."""
    target64 = np.asarray(target, dtype=np.float64)
    h_target_M = np.empty(len(weights))
    h_weighted_T = np.zeros(target.shape[1])
    for m, post_K in enumerate(post):
        h_T = -_xlogx_sum(np.tensordot(post_K, target64, axes=1), axis=-1)
        h_target_M[m] = h_T.mean()
        h_weighted_T += weights[m] * h_T
    return h_target_M, h_weighted_T


def _same_array(a, b) -> bool:
    """Whether ``a`` and ``b`` are the same numbers in memory (no targets
    given: the pool stands for them), so that the pairs are symmetric."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return (a.shape, a.strides, a.dtype) == (b.shape, b.strides, b.dtype) and (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )


def _chunk_gain(chunk_K_n_C, targets, post, weights, h_target_M, work):
    """Weighted EPIG of one pool chunk over all targets and configurations."""
    K, n, C = chunk_K_n_C.shape
    rows_nC_K = np.ascontiguousarray(chunk_K_n_C.transpose(1, 2, 0).reshape(n * C, K))
    gain_n = np.zeros(n)
    for m, post_K in enumerate(post):
        if weights[m] == 0:
            continue
        q_n_C = np.tensordot(post_K, chunk_K_n_C, axes=1)
        h_pool_n = -_xlogx_sum(q_n_C, axis=-1)
        scaled = (rows_nC_K * post_K).astype(work.dtype, copy=False)
        joint_sum_n = np.zeros(n)
        # log(0) = -inf and 0 * -inf = NaN are expected (see
        # _epig_blocks.joint_xlogx); the error state is set once per chunk.
        with np.errstate(divide="ignore", invalid="ignore"):
            for block_K_tC in targets.blocks:
                joint_sum_n += _epig_blocks.joint_xlogx(scaled, block_K_tC, work, n, C)
        h_joint_n = -joint_sum_n / targets.T
        gain_n += weights[m] * (h_pool_n + h_target_M[m] - h_joint_n)
    return gain_n
