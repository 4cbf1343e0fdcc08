"""A ``distributed.Client`` for an existing scheduler or a LocalCluster."""

from __future__ import annotations

import contextlib
import numbers
import os
import warnings
from collections.abc import Iterator, Mapping

import dask
import distributed

from .._validation import external_stacklevel

# Dask's nannies start workers with this variable at 65536 bytes, which turns
# off glibc's adaptive mmap threshold: every freed numpy temporary above
# 128 KiB goes back to the system and the next one is page-faulted in anew.
# On the 1M-point benchmark pool that was about 950,000 page faults and 40% of
# each worker's CPU time in the kernel.
_TRIM_VARIABLE = "MALLOC_TRIM_THRESHOLD_"
# Imported by every local worker as it starts (numpy, scikit-learn and the
# block functions: seconds on a busy machine), not during the first selection.
_WORKER_PRELOAD = ["batchbald.dask._blocks"]


# A worker whose threshold is below this returns the kernels' temporaries to
# the system after every call (they are a few MiB each).
_SMALL_TRIM = 2**20


class WorkerMemoryWarning(UserWarning):
    """Workers that return every freed temporary to the system at once (the
    Dask default ``MALLOC_TRIM_THRESHOLD_=65536``) score pools several times
    slower; see :func:`check_worker_malloc`."""


def _trim_threshold() -> str | None:
    """This worker's ``MALLOC_TRIM_THRESHOLD_`` (run on each worker)."""
    return os.environ.get(_TRIM_VARIABLE)


def trimming_workers(values: Mapping[str, str | None]) -> list[str]:
    """The workers (of ``{address: MALLOC_TRIM_THRESHOLD_ or None}``) whose
    threshold is set below 1 MiB, sorted."""
    small = []
    for worker, value in values.items():
        try:
            if value is not None and int(value) < _SMALL_TRIM:
                small.append(worker)
        except ValueError:  # not a number: glibc ignores it
            continue
    return sorted(small)


def check_worker_malloc(client) -> list[str]:
    """Warn (:class:`WorkerMemoryWarning`) when workers of ``client`` trim.

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which
    makes glibc map and page-fault every numpy temporary above 128 KiB anew:
    the scoring kernels then spend much of their time in the system (on the
    1M-point benchmark pool, 40% of each worker's CPU time and several times
    the wall time). :func:`connect` starts its local workers without it; a
    cluster started elsewhere should set
    ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to null
    in its Dask configuration.

    Returns
    -------
    list of str
        The addresses of the workers that trim (empty when none does).
    """
    small = trimming_workers(client.run(_trim_threshold))
    if small:
        shown = ", ".join(small[:3]) + (" ..." if len(small) > 3 else "")
        warnings.warn(
            f"{len(small)} Dask worker(s) ({shown}) run with "
            f"{_TRIM_VARIABLE} below 1 MiB (Dask's default is 65536), which "
            "makes glibc return every freed numpy temporary to the system: "
            "scoring the pool can be several times slower. Start the workers "
            f"with distributed.nanny.pre-spawn-environ.{_TRIM_VARIABLE} set to "
            "null in the Dask configuration, or use batchbald.dask.connect("
            "workers=N) for a local cluster.",
            WorkerMemoryWarning,
            stacklevel=external_stacklevel(),
        )
    return small


@contextlib.contextmanager
def _adaptive_malloc() -> Iterator[None]:
    """Nannies created here start their workers with glibc's adaptive malloc
    thresholds, unless this process's environment sets ``_TRIM_VARIABLE``
    (the user's choice, or left there by an earlier nanny of this process)."""
    if _TRIM_VARIABLE in os.environ:
        yield
        return
    key = f"distributed.nanny.pre-spawn-environ.{_TRIM_VARIABLE}"
    with dask.config.set({key: None}):
        yield


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int = "auto",
    timeout: float = 10.0,
) -> Iterator[distributed.Client]:
    """Connect to a Dask cluster for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str, default=None
        Address of a running scheduler (``"tcp://10.0.0.5:8786"``). The
        cluster is left running afterwards.
    workers : int, default=None
        Without ``scheduler``: start a ``LocalCluster`` of this many worker
        processes (None: one per core) and stop it afterwards.
    threads_per_worker : int, default=1
        Threads per local worker process.
    memory_limit : str or int, default="auto"
        Memory limit of each local worker ("4GiB", bytes, or "auto"). Local
        workers keep glibc's adaptive malloc thresholds: Dask's default
        ``MALLOC_TRIM_THRESHOLD_=65536`` (which returns freed memory to the
        system at once) is not passed to them unless this process's
        environment sets it. Each local worker imports the block functions
        of :mod:`batchbald.dask` as it starts.
    timeout : float, default=10.0
        Seconds to wait for the scheduler before giving up.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ValueError
        If both or neither sensible options are given, or the scheduler cannot
        be reached (the message names the address).
    """
    if scheduler is not None and workers is not None:
        raise ValueError(
            "pass either scheduler (an existing cluster) or workers (a local "
            f"cluster), not both; got scheduler={scheduler!r}, workers={workers!r}."
        )
    if workers is not None and (
        isinstance(workers, bool)
        or not isinstance(workers, numbers.Integral)
        or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer; got {workers!r}.")
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler:
            raise TypeError(
                f"scheduler must be an address such as 'tcp://host:8786'; got "
                f"{scheduler!r}."
            )
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(
                f"could not reach the Dask scheduler at {scheduler!r} within "
                f"{timeout:g} s ({type(exc).__name__}: {exc}); check the address "
                "and that the scheduler is running, or use workers=N for a local "
                "cluster."
            ) from exc
        with client:
            yield client
        return
    with _adaptive_malloc():
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
            preload=_WORKER_PRELOAD,
        )
    with cluster, distributed.Client(cluster) as client:
        yield client
