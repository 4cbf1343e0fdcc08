"""BatchBALD, BALD and stochastic batches on pools beyond one machine (Dask).

Needs the ``batchbald[dask]`` extra (``dask[array]``, ``distributed``,
``zarr``). The pool's member probabilities are a dask array of shape
``(K, N, C)`` chunked along ``N`` only: from a zarr store, a folder of
``.npy`` shards, a single ``.npy`` file (all memory-mapped, read chunk by
chunk) or any dask array (:func:`open_pool`).

:func:`select_batch` runs the greedy BatchBALD loop of
:func:`batchbald.engine.select_batch` with the chunks scored where they live:
each step sends the selected set's small state (the members' posteriors and
the configuration weights, ``O(M x K)``) to every worker once; each block
keeps its samples' lazy-greedy bounds in worker memory and returns only its
best gain, its largest remaining bound and the few candidates near its best.
The decisions are made on the driver by the in-memory engine's own loop
(:func:`batchbald._greedy.run_greedy`, through a pool backend), with the
configurations drawn there and every step decided on float64 gains, so the
picks, gains and saturation fields equal the in-memory engine's for the same
seed; :func:`batchbald.engine.select_batch` and the strategies' ``select``
route a dask array here (see :func:`batchbald._greedy._GreedyRun.greedy_choice`
for the one case, more than 1024 float32 near-ties in a sampled step, where
the two may differ).
:func:`select_scores` is the single map-reduce behind BALD, entropy, top-k
and the stochastic strategies: each block returns its best ``batch_size``
keys and the merge is exact.

:func:`connect` gives a ``distributed.Client`` for an existing scheduler or a
``LocalCluster`` it starts and stops (its workers keep glibc's adaptive
malloc; :func:`check_worker_malloc`, run by every selection on a cluster,
warns with a :class:`WorkerMemoryWarning` about workers that do not);
:func:`predict_to_zarr` maps a fitted
ensemble over a dask array of features and writes the ``(K, N, C)``
predictions to zarr chunk by chunk.
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "batchbald.dask needs Dask: pip install 'batchbald[dask]' "
        "(dask[array], distributed and zarr)."
    ) from exc

from ._cluster import WorkerMemoryWarning, check_worker_malloc, connect
from ._greedy import select_batch
from ._methods import select_from_pool
from ._predict import predict_to_zarr
from ._select import pool_entropies, select_scores
from ._sources import is_dask_array, member_votes, open_pool

__all__ = [
    "WorkerMemoryWarning",
    "check_worker_malloc",
    "connect",
    "is_dask_array",
    "member_votes",
    "open_pool",
    "pool_entropies",
    "predict_to_zarr",
    "select_batch",
    "select_from_pool",
    "select_scores",
]
