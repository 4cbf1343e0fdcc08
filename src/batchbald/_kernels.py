"""Small kernels of the numpy chunk scorer (:mod:`batchbald._scoring`).

The per-block loop over configurations and the switch that runs BLAS on one
thread while the scorer's own threads split the work.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np


@contextlib.contextmanager
def _single_threaded_blas():
    """BLAS on one thread while our threads split the work between them."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


@functools.lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return None
    return ThreadpoolController()


def _add_weighted_xlogx(post_M_K, weights_M, p_K_m, buffers, m_block, floor,
                        precise, acc_m) -> None:
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

