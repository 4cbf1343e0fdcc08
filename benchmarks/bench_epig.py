"""Speed and memory of EPIG scoring: batchbald against baal's EPIG.

Both implementations read the same bytes: one ``.npy`` file of member
probabilities (K, N_pool + N_target, C) in float32 from the generator of
``bench_selection.py`` (seeded), whose first N_pool samples are the pool and
the rest the targets. Each run is its own subprocess (this file with
``--child``) under an address-space limit (``RLIMIT_AS``) and a wall-clock
limit, so a run that runs out of memory is recorded as ``OOM`` instead of
taking the machine down. ``--pool-as-targets`` scores the pool against
itself, as EPIG does without targets (batchbald then scores each symmetric
pair once). ``--votes`` gives both the members' votes (one-hot rows, as a
scikit-learn ensemble's members give; batchbald then builds the joints from
the members' labels). ``--threads N`` (default 1) gives both the same N
CPUs: the child pins itself to N of them (``sched_setaffinity``, which is what
batchbald's kernels count) and sets torch's and BLAS's thread counts to N.

- batchbald: ``batchbald.epig.epig_scores(pool, targets, precise=False)``
  (float32 blocks within ``max_memory``, default 256 MiB).
- baal: ``baal.active.heuristics.EPIG().compute_score(pool_N_C_K,
  targets_N_C_K)``, its native layout (classes before members), which builds
  one N_pool x C x N_target*C float32 tensor.

Timed: the scoring call only (not the import, loading or the layout change).
``--repeats R`` runs each implementation R times, alternating them so that
both see the same load, and reports the median (and the range).
Scores of the two are compared where both finish.

Examples::

    python benchmarks/bench_epig.py --quick
    python benchmarks/bench_epig.py --out benchmarks/results/bench_epig_$(date +%F).md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _pools import rss_bytes

HERE = Path(__file__).resolve().parent
GIB = 1024**3

# name -> (N_pool, N_target, K, C)
CONFIGS = {
    "small": (2_000, 1_000, 20, 10),
    "medium": (5_000, 2_000, 20, 10),
    "issue": (20_000, 5_000, 20, 10),
}
QUICK = {"small": (1_000, 500, 20, 10), "medium": (2_000, 1_000, 20, 10)}


# --------------------------------------------------------------------------
# child
# --------------------------------------------------------------------------
def _pin(n_threads: int) -> None:
    """Run this process on ``n_threads`` CPUs (both implementations see them)."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:n_threads]
        os.sched_setaffinity(0, cpus)


def _child(args) -> int:
    _pin(args.threads)
    if args.mem_limit > 0:
        limit = int(args.mem_limit * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    probs = np.load(args.input)
    if args.votes:  # each member's vote: one-hot, as a scikit-learn ensemble's
        from batchbald.information import member_votes

        probs = member_votes(probs)
    pool, target = probs[:, : args.n_pool], probs[:, args.n_pool :]
    if args.pool_as_targets:  # EPIG without targets: the pool stands for them
        target = pool
    try:
        if args.impl == "batchbald":
            from batchbald.epig import epig_scores

            rss0 = rss_bytes()
            t0 = time.perf_counter()
            scores = epig_scores(pool, target, precise=False)
        else:
            import torch
            from baal.active.heuristics import EPIG

            torch.set_num_threads(args.threads)
            pool_N_C_K = np.ascontiguousarray(pool.transpose(1, 2, 0))
            target_N_C_K = np.ascontiguousarray(target.transpose(1, 2, 0))
            del probs, pool, target
            rss0 = rss_bytes()
            t0 = time.perf_counter()
            scores = EPIG().compute_score(pool_N_C_K, target_N_C_K)
        seconds = time.perf_counter() - t0
    except (MemoryError, RuntimeError) as exc:
        text = str(exc).lower()
        oom = isinstance(exc, MemoryError) or "memory" in text or "alloc" in text
        print(
            json.dumps({"status": "OOM" if oom else "error", "message": str(exc)[:300]})
        )
        return 3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    np.save(args.scores, np.asarray(scores, dtype=np.float64))
    print(json.dumps({"status": "ok", "seconds": seconds, "peak": peak, "rss0": rss0}))
    return 0


# --------------------------------------------------------------------------
# parent
# --------------------------------------------------------------------------
def _data(name, shape, seed, data_dir: Path) -> Path:
    sys.path.insert(0, str(HERE))
    from bench_selection import Config, generate_probs

    n_pool, n_target, K, C = shape
    path = data_dir / f"epig-{name}-{n_pool}-{n_target}-{K}-{C}-s{seed}.npy"
    if not path.exists():
        cfg = Config(name, n_pool + n_target, K, C, 1, 1, "float32")
        generate_probs(path, cfg, seed)
    return path


def _run(impl, path, n_pool, args, scores_path) -> dict:
    cmd = [
        sys.executable, __file__, "--child", "--impl", impl, "--input", str(path),
        "--n-pool", str(n_pool), "--mem-limit", str(args.mem_limit),
        "--scores", str(scores_path), "--threads", str(args.threads),
    ] + (["--pool-as-targets"] if args.pool_as_targets else []) + (
        ["--votes"] if args.votes else [])  # fmt: skip
    n = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n,
               MKL_NUM_THREADS=n)  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timeout >{args.timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if lines:
        return json.loads(lines[-1])
    oom = "memory" in proc.stderr.lower() or proc.returncode in (-9, 137)
    return {"status": "OOM" if oom else "error", "message": proc.stderr[-300:]}


def _fmt(res: dict) -> tuple[str, str, str]:
    if res["status"] != "ok":
        return res["status"], "-", "-"
    beyond = (res["peak"] - res["rss0"]) / 2**20
    secs = f"{res['seconds']:.2f}"
    if len(res["runs"]) > 1:
        secs += f" ({min(res['runs']):.2f}-{max(res['runs']):.2f})"
    return "ok", secs, f"{res['peak'] / 2**20:.0f} / {beyond:.0f}"


def _median_run(runs: list[dict]) -> dict:
    """The run of median time (the first failure, if any run failed), with
    every run's seconds in ``runs``."""
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        return failed[0]
    times = sorted(r["seconds"] for r in runs)
    res = dict(runs[0], seconds=float(np.median(times)), runs=times)
    res["peak"] = max(r["peak"] for r in runs)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled-down configs")
    p.add_argument("--configs", default=None, help="comma-separated config names")
    p.add_argument("--peers", default="baal", help="'baal' or '' (none)")
    p.add_argument("--mem-limit", type=float, default=6.0, help="GiB per run")
    p.add_argument("--timeout", type=int, default=900, help="seconds per run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="runs of each implementation, alternated; the median is reported",
    )
    p.add_argument(
        "--threads", type=int, default=1, help="CPUs (and threads) for each run"
    )
    p.add_argument(
        "--pool-as-targets",
        action="store_true",
        help="score the pool against itself (EPIG without targets; N_target unused)",
    )
    p.add_argument(
        "--votes",
        action="store_true",
        help="give both the members' votes (one-hot) instead of probabilities",
    )
    p.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "bbepig"))
    p.add_argument("--out", default=None, help="also write the Markdown here")
    # child mode
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", default="batchbald", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--n-pool", type=int, help=argparse.SUPPRESS)
    p.add_argument("--scores", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)

    table = QUICK if args.quick else CONFIGS
    names = list(table) if args.configs is None else args.configs.split(",")
    impls = ["batchbald"] + [s for s in args.peers.split(",") if s]
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        shape = table[name]
        path = _data(name, shape, args.seed, data_dir)
        runs: dict[str, list[dict]] = {impl: [] for impl in impls}
        scores = {}
        for _ in range(args.repeats):  # alternated, so both see the same load
            for impl in impls:
                spath = data_dir / f"scores-{impl}-{name}.npy"
                spath.unlink(missing_ok=True)
                res = _run(impl, path, shape[0], args, spath)
                runs[impl].append(res)
                if res["status"] == "ok":
                    scores[impl] = np.load(spath)
                shown = _fmt(dict(res, runs=[0]))
                print(name, impl, shown, file=sys.stderr, flush=True)
        results = {impl: _median_run(r) for impl, r in runs.items()}
        rows.append((name, shape, results, scores))
    text = _report(rows, args)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


def _report(rows, args) -> str:
    from importlib import metadata

    import numpy

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "absent"

    cmd = "python benchmarks/bench_epig.py " + " ".join(sys.argv[1:])
    out = [
        f"# EPIG scoring benchmark ({time.strftime('%Y-%m-%d')})",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (shared; timings are noisy), "
        f"load average {os.getloadavg()[0]:.1f} at the end. numpy "
        f"{numpy.__version__}, torch {version('torch')}, baal {version('baal')}. "
        f"{args.threads} thread(s) on as many CPUs per run, both "
        f"implementations; address-space limit {args.mem_limit} GiB per run; "
        f"wall-clock limit {args.timeout} s. Seconds: the median of "
        f"{args.repeats} run(s) of each, alternated (range in brackets). "
        f"Data: bench_selection's generator, "
        f"seed {args.seed}, float32; targets are "
        + ("the pool itself." if args.pool_as_targets else "the samples after it.")
        + (
            " Both get the members' votes (each member's most likely class as "
            "a one-hot row) instead of probabilities."
            if args.votes
            else ""
        ),
        "",
        "| config | N_pool | N_target | K | C | implementation | status | seconds "
        "| peak RSS / beyond input (MiB) | baal time / batchbald | max abs diff |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for name, (n, t, k, c), results, scores in rows:
        t = n if args.pool_as_targets else t  # the pool is its own targets
        ours = results["batchbald"]
        for impl, res in results.items():
            status, secs, mem = _fmt(res)
            speed = diff = ""
            if impl != "batchbald" and res["status"] == "ok" and ours["status"] == "ok":
                speed = f"{res['seconds'] / ours['seconds']:.1f}x"
                diff = f"{np.max(np.abs(scores[impl] - scores['batchbald'])):.1e}"
            out.append(
                f"| {name} | {n:,} | {t:,} | {k} | {c} | {impl} | {status} | {secs} "
                f"| {mem} | {speed} | {diff} |"
            )
    out += [
        "",
        "baal's tensor alone needs N_pool x C x N_target x C x 4 bytes (40 GB for",
        "the issue's configuration); batchbald works in cache-sized blocks within",
        "max_memory (default 256 MiB) beyond its inputs.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
