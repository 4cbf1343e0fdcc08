"""Dask-backed selection: out-of-core pools and the in-memory comparison.

Three sub-commands::

    # a zarr pool of the benchmark's synthetic ensemble, written chunk by chunk
    python benchmarks/bench_dask.py build --n 40000000 --store /tmp/pool40m.zarr
    # BatchBALD on it with a LocalCluster whose workers have a memory limit
    python benchmarks/bench_dask.py select --store /tmp/pool40m.zarr --workers 2 \
        --memory-limit 4GiB -b 10
    # the same 1M pool in memory and on a LocalCluster: time ratio and picks
    python benchmarks/bench_dask.py compare --n 1000000 --workers 2
    # ... with the pool persisted by the user before the call
    python benchmarks/bench_dask.py compare --n 1000000 --workers 2 --user-persist

``select`` and ``compare`` print a Markdown table (time, each process's peak
resident memory) and append it to ``--report`` when given.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_selection import synthetic_chunk  # noqa: E402

GIB = 1024**3


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux: ru_maxrss KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mixed_chunk(
    rng: np.random.Generator, K: int, n: int, C: int, informative: float
) -> np.ndarray:
    """A pool as large ones are: most samples predicted confidently by every
    member, a share ``informative`` from the synthetic ensemble
    (:func:`bench_selection.synthetic_chunk`: ambiguous, contested and
    near-duplicate samples)."""
    delta_n = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), size=n))
    jitter_K_n = 1.0 + 0.2 * rng.random((K, n), dtype=np.float32)
    rest_K_n = (delta_n * jitter_K_n / (C - 1)).astype(np.float32)
    probs = np.repeat(rest_K_n[:, :, None], C, axis=2)
    cls_n = rng.integers(0, C, size=n)
    probs[:, np.arange(n), cls_n] = 1.0 - rest_K_n * (C - 1)
    hard = np.flatnonzero(rng.random(n) < informative)
    if hard.size:
        probs[:, hard, :] = synthetic_chunk(rng, K, hard.size, C)
    return probs


def build(
    store: Path, n: int, K: int, C: int, seed: int, chunk: int, informative: float
) -> None:
    """Write a (K, n, C) float32 zarr pool; each chunk has its own seed."""
    import zarr

    z = zarr.create_array(
        str(store),
        shape=(K, n, C),
        chunks=(K, chunk, C),
        dtype=np.float32,
        compressors=None,
    )  # random floats
    t0 = time.perf_counter()
    for i, start in enumerate(range(0, n, chunk)):
        m = min(chunk, n - start)
        rng = np.random.default_rng([seed, i])
        z[:, start : start + m, :] = mixed_chunk(rng, K, m, C, informative)
        if i % 20 == 0:
            print(
                f"  {start + m:,} / {n:,} points, {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
    print(
        f"wrote {store} ({K * n * C * 4 / GIB:.1f} GiB) in "
        f"{time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )


def _cluster_select(source, args):
    import distributed

    import batchbald.dask as bd

    t_start = time.perf_counter()
    with bd.connect(workers=args.workers, memory_limit=args.memory_limit) as client:
        if getattr(args, "user_persist", False):  # the pool held before the call
            source = client.persist(bd.open_pool(source))
            distributed.wait(source)
        t0 = time.perf_counter()
        args.start_seconds = t0 - t_start  # the cluster's start, not timed
        result = bd.select_batch(
            source, args.batch_size, random_state=args.seed, client=client
        )
        seconds = time.perf_counter() - t0
        workers = client.run(_peak_rss)
    return result, seconds, list(workers.values())


def cmd_select(args) -> str:
    import batchbald.dask as bd

    arr = bd.open_pool(args.store)
    K, N, C = arr.shape
    result, seconds, worker_rss = _cluster_select(args.store, args)
    rows = [
        f"| pool | N={N:,}, K={K}, C={C}, b={args.batch_size}, float32 zarr "
        f"({arr.nbytes / GIB:.1f} GiB) |",
        f"| workers | {args.workers} processes, memory limit {args.memory_limit} |",
        f"| time | {seconds:.1f} s |",
        f"| driver peak RSS | {_peak_rss() / GIB:.2f} GiB |",
        "| worker peak RSS | "
        + ", ".join(f"{r / GIB:.2f} GiB" for r in worker_rss)
        + " |",
        f"| indices | {' '.join(map(str, result.indices))} |",
        f"| gains (nats) | {' '.join(f'{g:.4f}' for g in result.gains)} |",
    ]
    return "| | |\n|---|---|\n" + "\n".join(rows)


def cmd_compare(args) -> str:
    import tempfile

    from batchbald.engine import select_batch

    K, C = args.members, args.classes
    rng = np.random.default_rng(args.seed)
    probs = synthetic_chunk(rng, K, args.n, C).astype(np.float32)
    # The workers read the pool from a .npy file (memory-mapped), as a user's
    # saved predictions would be read, instead of it travelling in the graph.
    tmp = tempfile.TemporaryDirectory(dir=args.tmp)
    path = Path(tmp.name) / "pool.npy"
    np.save(path, probs)
    times, ref = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref = select_batch(probs, args.batch_size, random_state=args.seed)
        times.append(time.perf_counter() - t0)
    mem_s = float(np.median(times))
    dask_times, start_times, got = [], [], None
    for _ in range(args.repeat):
        got, seconds, _ = _cluster_select(path, args)
        dask_times.append(seconds)
        start_times.append(args.start_seconds)
    tmp.cleanup()
    dask_s = float(np.median(dask_times))
    same = int(np.sum(ref.indices == got.indices))
    return (
        "| pool | in memory | Dask LocalCluster | ratio | same picks |\n"
        "|---|---|---|---|---|\n"
        f"| N={args.n:,}, K={K}, C={C}, b={args.batch_size}, M=1,000, float32"
        f"{', persisted by the user' if args.user_persist else ''} "
        f"| {mem_s:.1f} s | {dask_s:.1f} s ({args.workers} workers; cluster start"
        f"{' and persist' if args.user_persist else ''} "
        f"{np.median(start_times):.1f} s, not timed) "
        f"| {dask_s / mem_s:.2f}x | {same} of {args.batch_size} |"
    )


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write a synthetic zarr pool")
    b.add_argument("--store", type=Path, required=True)
    b.add_argument("--n", type=int, required=True)
    b.add_argument("--chunk", type=int, default=200_000)
    b.add_argument(
        "--informative",
        type=float,
        default=0.02,
        help="share of ambiguous/contested samples (default 0.02)",
    )
    for q in (
        sub.add_parser("select", help="BatchBALD on a zarr pool"),
        sub.add_parser("compare", help="in memory against Dask"),
    ):
        q.add_argument("--workers", type=int, default=2)
        q.add_argument("--memory-limit", default="4GiB")
        q.add_argument("-b", "--batch-size", type=int, default=10)
        q.add_argument("--report", type=Path)
    sub.choices["select"].add_argument("--store", type=Path, required=True)
    sub.choices["compare"].add_argument("--n", type=int, default=1_000_000)
    sub.choices["compare"].add_argument("--repeat", type=int, default=1)
    sub.choices["compare"].add_argument(
        "--tmp", default=None, help="folder for the pool's .npy file"
    )
    sub.choices["compare"].add_argument(
        "--user-persist",
        action="store_true",
        help="persist the pool on the cluster before the timed call (untimed), "
        "as a user holding it in cluster memory would",
    )
    for q in sub.choices.values():
        q.add_argument("--members", "-K", type=int, default=20)
        q.add_argument("--classes", "-C", type=int, default=10)
        q.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "build":
        build(
            args.store,
            args.n,
            args.members,
            args.classes,
            args.seed,
            args.chunk,
            args.informative,
        )
        return 0
    table = cmd_select(args) if args.command == "select" else cmd_compare(args)
    stamp = time.strftime("%Y-%m-%d")
    text = f"\n### `bench_dask.py {args.command}`, {stamp}\n\n{table}\n"
    print(text)
    if args.report:
        with open(args.report, "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
