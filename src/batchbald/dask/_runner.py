"""Run block tasks where the blocks are: on a distributed cluster or here."""

from __future__ import annotations

import dask
import numpy as np

from ._cluster import check_worker_malloc

# Persist the pool in cluster memory when it takes at most this share of the
# workers' total memory limit.
_PERSIST_SHARE = 0.5


def _held_blocks(arr) -> list | None:
    """The futures of ``arr``'s blocks in order when the cluster holds every
    one of them already (a pool the user persisted), else None.

    Block tasks then take these futures themselves: the blocks of
    ``arr.to_delayed()`` would carry the graph of every persisted block into
    every task.
    """
    from distributed import futures_of

    futures = {f.key: f for f in futures_of(arr)}
    if not futures:
        return None
    keys = list(dask.core.flatten(arr.__dask_keys__()))
    if not all(key in futures for key in keys):
        return None
    return [futures[key] for key in keys]


def _default_client():
    try:
        from distributed import get_client

        return get_client()
    except ValueError:  # no client is running
        return None


class BlockRunner:
    """The blocks of a pool and a way to run functions on them.

    With a ``distributed.Client`` each task runs on the cluster; the blocks
    are persisted in cluster memory when they fit (``persist=None``) or read
    from their source for every task, and the per-block states stay on the
    workers as futures. Without a client the blocks are computed one at a
    time in this process, so memory holds one block at once.

    Parameters
    ----------
    arr : dask.array.Array of shape (K, N, C)
        Chunked along N only.
    client : distributed.Client or None
        None: the current client if there is one, else this process.
    persist : bool or None
        Keep the blocks in cluster memory (None: when they fit). A pool whose
        blocks the cluster holds already (``client.persist(arr)``) is used
        where it is, whatever ``persist`` says.
    """

    def __init__(self, arr, client=None, persist: bool | None = None):
        self.client = _default_client() if client is None else client
        if self.client is not None:
            check_worker_malloc(self.client)
        self.blocks = list(arr.to_delayed().ravel())
        sizes = np.asarray(arr.chunks[1], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.sources: list = self.blocks
        self.persisted = False
        held = None if self.client is None else _held_blocks(arr)
        if held is not None:
            self.sources, self.persisted = held, True
        elif self.client is not None:
            if persist is None:
                persist = arr.nbytes <= _PERSIST_SHARE * self._cluster_memory()
            if persist:
                self.sources = self.client.compute(self.blocks)
                self.persisted = True

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    def _cluster_memory(self) -> float:
        workers = self.client.scheduler_info().get("workers", {})
        limits = [w.get("memory_limit") or 0 for w in workers.values()]
        return float(sum(limits)) if all(limits) and limits else float("inf")

    def locate(self, index: int) -> tuple[int, int]:
        """(block, position in the block) of a pool index."""
        b = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return b, int(index - self.offsets[b])

    def put(self, value):
        """A small value for the block tasks of this step (sent once).

        On a cluster it becomes one literal task of the graph that every
        block task depends on: sent to each worker once, and recomputable
        after a worker is lost (scattered data would not be).
        """
        if self.client is None:
            return value
        return dask.delayed(value, pure=True)

    def map(
        self,
        fn,
        block_ids,
        *args,
        states=None,
        per_block=None,
        nout: int = 1,
        blockless=(),
        **kwargs,
    ):
        """Run ``fn(block, [state,] [per_block[b],] *args, **kwargs)`` per block.

        ``states`` and ``per_block`` are indexed by block; the blocks in
        ``blockless`` get None instead of their data (and are not read).
        Returns the outputs
        in the order of ``block_ids``: with ``nout=2`` pairs of (first output,
        left where it was computed, gathered second output), else the
        gathered outputs.
        """

        def extra(b):
            lead = () if states is None else (states[b],)
            return lead + (() if per_block is None else (per_block[b],))

        if self.client is None:
            out = []
            for b in block_ids:
                block = None
                if b not in blockless:
                    block = dask.compute(self.blocks[b], scheduler="sync")[0]
                out.append(fn(block, *extra(b), *args, **kwargs))
            return out
        calls = [
            dask.delayed(fn, nout=nout, pure=False)(
                None if b in blockless else self.sources[b],
                *extra(b),
                *args,
                **kwargs,
            )
            for b in block_ids
        ]
        if nout == 1:
            return self.client.gather(self.client.compute(calls))
        futures = self.client.compute([c[0] for c in calls] + [c[1] for c in calls])
        remote, small = futures[: len(calls)], futures[len(calls) :]
        return list(zip(remote, self.client.gather(small), strict=True))

    def apply(self, fn, handle, *args):
        """``fn(value, *args)`` where ``handle``'s value lives; a new handle."""
        if self.client is None:
            return fn(handle, *args)
        return self.client.submit(fn, handle, *args, pure=False)
