"""BALD, entropy, top-k and stochastic batches as one map-reduce over blocks."""

from __future__ import annotations

import numbers

import numpy as np

from .. import _keys
from .. import engine as _engine
from .._validation import Interval, Options, validate_params
from ..engine import BatchSelection
from ..information import EPS_CONSTRAINT
from ..utils import check_random_state
from . import _blocks
from ._runner import BlockRunner
from ._sources import open_pool

_SCORES = ("bald", "entropy")
_MODES = ("topk", "power", "softmax", "softrank")


def _scores(pred_n, expected_n, score: str) -> np.ndarray:
    return pred_n - expected_n if score == "bald" else pred_n


def _log_weights(scores_n, mode: str, beta: float) -> np.ndarray:
    if mode == "power":
        return beta * np.log(np.maximum(scores_n, np.finfo(np.float64).tiny))
    return beta * scores_n  # softmax


def _block_top(probs_K_n_C, offset, *, score, mode, beta, seed, k, eps, max_memory):
    """The block's ``k`` best (index, score, key) by the selection's order."""
    pred_n, expected_n = _blocks.entropies_block(probs_K_n_C, eps, max_memory)
    scores_n = _scores(pred_n, expected_n, score)
    idx_n = np.arange(offset, offset + len(scores_n))
    keys_n = scores_n
    if mode != "topk":
        keys_n = _log_weights(scores_n, mode, beta) + _keys.gumbel(seed, idx_n)
    top = _keys.order(keys_n, seed, idx_n)[:k]
    return idx_n[top], scores_n[top], keys_n[top]


@validate_params({"eps": EPS_CONSTRAINT, "max_memory": _engine._MEMORY})
def pool_entropies(
    probs_K_N_C, *, eps: float = _engine.DEFAULT_EPS, max_memory=None, client=None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive and expected entropies of every pool sample, shape (N,) each.

    The dask counterpart of :func:`batchbald.engine.pool_entropies`; both
    arrays come back to the driver (16 bytes per pool sample).
    """
    arr = open_pool(probs_K_N_C)
    eps = float(eps)
    max_memory = _engine.DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    runner = BlockRunner(arr, client=client, persist=False)
    parts = runner.map(_blocks.entropies_block, range(runner.n_blocks), eps, max_memory)
    return (
        np.concatenate([p for p, _ in parts]),
        np.concatenate([e for _, e in parts]),
    )


@validate_params(
    {
        "batch_size": _engine._BATCH_SIZE,
        "score": [Options(str, set(_SCORES))],
        "mode": [Options(str, set(_MODES))],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "return_utilities": ["boolean"],
        "eps": EPS_CONSTRAINT,
        "max_memory": _engine._MEMORY,
    }
)
def select_scores(
    probs_K_N_C,
    batch_size: int,
    *,
    score: str = "bald",
    mode: str = "topk",
    beta: float = 1.0,
    random_state=None,
    return_utilities: bool = False,
    eps: float = _engine.DEFAULT_EPS,
    max_memory=None,
    client=None,
) -> BatchSelection:
    """Top-k or stochastic batches of BALD or entropy scores over a dask pool.

    Each block scores its samples, adds the Gumbel noise of its indices
    (:mod:`batchbald._keys`) and returns its best ``batch_size``; merging
    those is exact, so the batch equals
    :func:`batchbald.engine.select_topk` / :func:`~batchbald.engine.select_stochastic`
    on the in-memory scores for the same seed. ``mode="softrank"`` needs the
    global ranking, and ``return_utilities`` every score: then the scores
    (8 bytes per sample) come back to the driver and the in-memory function
    decides.

    Parameters
    ----------
    probs_K_N_C : dask.array.Array, str, os.PathLike or numpy.ndarray
        The pool, shape (K, N, C), or anything :func:`open_pool` reads.
    batch_size : int
        Number of samples; more than N selects all with a warning.
    score : {"bald", "entropy"}, default="bald"
        BALD scores, or the entropy of the mean prediction.
    mode : {"topk", "power", "softmax", "softrank"}, default="topk"
        The highest scores, or a draw as in
        :func:`batchbald.engine.select_stochastic`.
    beta : float, default=1.0
        Inverse temperature of the stochastic modes, ``>= 0``.
    random_state, return_utilities, eps, max_memory, client
        See :func:`batchbald.dask.select_batch`.

    Returns
    -------
    batchbald.engine.BatchSelection
    """
    arr = open_pool(probs_K_N_C)
    N = arr.shape[1]
    batch_size = _engine._check_batch_size(batch_size, N)
    if mode == "softrank" or return_utilities:
        pred, expected = pool_entropies(
            arr, eps=eps, max_memory=max_memory, client=client
        )
        scores = _scores(pred, expected, score)
        if mode == "topk":
            return _engine.select_topk(
                scores, batch_size, random_state, return_utilities
            )
        return _engine.select_stochastic(
            scores, batch_size, mode, beta, random_state, return_utilities
        )
    eps = float(eps)
    max_memory = _engine.DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    seed = _keys.draw_seed(check_random_state(random_state))
    runner = BlockRunner(arr, client=client, persist=False)
    parts = runner.map(
        _block_top,
        range(runner.n_blocks),
        per_block=[int(o) for o in runner.offsets[:-1]],
        score=score,
        mode=mode,
        beta=beta,
        seed=seed,
        k=batch_size,
        eps=eps,
        max_memory=max_memory,
    )
    idx = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    keys = np.concatenate([p[2] for p in parts])
    best = _keys.order(keys, seed, idx)[:batch_size]
    return BatchSelection(
        indices=idx[best].astype(np.intp), gains=scores[best], n_scored=N
    )
