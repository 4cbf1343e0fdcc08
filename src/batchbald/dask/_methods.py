"""Every registered strategy over a dask pool, by name (what the CLI calls)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..engine import BatchSelection, select_topk
from ..registry import strategy_rule
from ..utils import check_random_state
from ._greedy import select_batch
from ._select import pool_entropies, select_scores
from ._sources import open_pool


def select_from_pool(
    pool,
    method: str,
    batch_size: int,
    *,
    random_state=None,
    n_configurations: int | None = None,
    beta: float | None = None,
    max_memory: int | None = None,
    client=None,
    callback: Callable[[int, int, float], None] | None = None,
) -> BatchSelection:
    """Choose a batch from a dask pool with the strategy called ``method``.

    The counterpart of :func:`batchbald.registry.select_from_probabilities`
    for pools held by a cluster or read chunk by chunk: ``batchbald`` runs
    :func:`select_batch`, the score-based strategies :func:`select_scores`
    (``random`` draws as :class:`batchbald.pool.RandomSampling` and reads only
    the chosen samples, for their BALD scores). The
    EPIG strategies need every target's probabilities next to every pool
    chunk and are refused here. The choices are those of
    :func:`batchbald.registry.select_from_probabilities` on the same pool in
    memory (BatchBALD completes a saturated batch PowerBALD-style).

    Parameters
    ----------
    pool : dask.array.Array, str or os.PathLike
        See :func:`batchbald.dask.open_pool`.
    method : str
        A registered strategy name (:data:`batchbald.registry.STRATEGY_NAMES`).
    batch_size, random_state, max_memory, client
        See :func:`select_batch`.
    n_configurations : int, default=None
        ``batchbald`` only: configurations M.
    beta : float, default=None
        The sampling strategies' inverse temperature (None: 1).
    callback : callable, default=None
        ``batchbald`` only: called as ``callback(step, index, gain)``.

    Returns
    -------
    batchbald.engine.BatchSelection
    """
    scores, rule = strategy_rule(method)
    if rule == "greedy":  # with the strategy's (and the registry's) remedy
        from ..pool import BatchBALD

        return select_batch(
            pool, batch_size, n_configurations=n_configurations,
            random_state=random_state, max_memory=max_memory, client=client,
            callback=callback, completion=BatchBALD().completion,
        )  # fmt: skip
    if scores == "epig" or rule == "greedy-epig":
        raise ValueError(
            f"method {method!r} (EPIG) runs on pools held in memory; load the "
            "predictions as an array (a .npy file without --workers/--scheduler)."
        )
    if rule == "random":
        return _select_random(pool, batch_size, random_state, max_memory, client)
    mode, b = (rule, 1.0 if beta is None else beta)
    return select_scores(
        pool, batch_size, score=scores or "bald", mode=mode, beta=b,
        random_state=random_state, max_memory=max_memory, client=client,
    )  # fmt: skip


def _select_random(pool, batch_size, random_state, max_memory, client):
    """``random``: the registry's draw, with the chosen samples' BALD scores."""
    arr = open_pool(pool)
    rng = check_random_state(random_state)
    sel = select_topk(rng.random_sample(arr.shape[1]), batch_size, rng)
    chosen = arr[:, np.sort(sel.indices), :]
    pred, expected = pool_entropies(chosen, max_memory=max_memory, client=client)
    bald = np.empty(len(sel.indices))
    bald[np.argsort(sel.indices)] = pred - expected
    return BatchSelection(sel.indices, bald, None, sel.n_scored)
