"""Every registered strategy over a dask pool, by name (what the CLI calls)."""

from __future__ import annotations

from collections.abc import Callable

from ..engine import BatchSelection
from ..registry import strategy_rule
from ._greedy import select_batch
from ._select import select_scores


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
    (``random`` is a uniform draw, power sampling with ``beta = 0``). The
    EPIG strategies need every target's probabilities next to every pool
    chunk and are refused here.

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
    if rule == "greedy":
        return select_batch(
            pool, batch_size, n_configurations=n_configurations,
            random_state=random_state, max_memory=max_memory, client=client,
            callback=callback,
        )  # fmt: skip
    if scores == "epig" or rule == "greedy-epig":
        raise ValueError(
            f"method {method!r} (EPIG) runs on pools held in memory; load the "
            "predictions as an array (a .npy file without --workers/--scheduler)."
        )
    mode, b = (rule, 1.0 if beta is None else beta)
    if rule == "random":
        mode, b = "power", 0.0
    return select_scores(
        pool, batch_size, score=scores or "bald", mode=mode, beta=b,
        random_state=random_state, max_memory=max_memory, client=client,
    )  # fmt: skip
