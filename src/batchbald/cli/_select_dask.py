"""``batchbald select`` on a pool read by Dask: zarr, .npy shards, a cluster."""

from __future__ import annotations

import argparse
import contextlib

from .select import finish


def _refuse_in_memory_options(args) -> None:
    for flag, given in (
        ("--log", args.log),
        ("--layout NKC", args.layout == "NKC"),
        ("--candidates", args.candidates is not None),
        ("--targets", args.targets is not None),
        ("--device", args.device is not None),
        ("--key", args.key is not None),
    ):
        if given:
            raise ValueError(
                f"{flag} applies to predictions read into this process; a zarr "
                "store, a folder of .npy shards or --workers/--scheduler reads "
                "the pool with Dask, as (K, N, C) probabilities."
            )
    if args.predictions.suffix == ".npz":
        raise ValueError(
            f"{args.predictions.name}: Dask reads .npy files, zarr stores and "
            "folders of .npy shards, not .npz archives."
        )


def _import_dask():
    try:
        import batchbald.dask as bd
    except ImportError as exc:
        raise ValueError(
            "reading a zarr store or .npy shards, and --workers/--scheduler, need "
            "Dask: pip install 'batchbald[dask]'."
        ) from exc
    return bd


def run_dask(args: argparse.Namespace, max_memory: int, t0: float) -> int:
    """Choose the batch with :func:`batchbald.dask.select_from_pool`."""
    from .._progress import progress_bar

    _refuse_in_memory_options(args)
    bd = _import_dask()
    pool = bd.open_pool(args.predictions)
    K, N, C = pool.shape
    batch_size = min(args.batch_size, N)
    if args.scheduler is not None or args.workers is not None:
        cluster = bd.connect(
            args.scheduler, workers=args.workers, timeout=args.connect_timeout
        )
    else:
        cluster = contextlib.nullcontext(None)
    bar = progress_bar(
        batch_size, f"select ({args.method})", unit="point", enabled=args.progress
    )
    with cluster as client, bar:
        selection = bd.select_from_pool(
            pool, args.method, batch_size, random_state=args.seed,
            n_configurations=args.configurations, beta=args.beta,
            max_memory=max_memory, client=client,
            callback=lambda *_: bar.update(),
        )  # fmt: skip
    meta = dict(layout="KNC", log=False, shape=[K, N, C], pool_size=N, n_candidates=N)
    return finish(args, selection, None, N, meta, t0)
