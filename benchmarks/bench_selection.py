"""Speed and memory of greedy BatchBALD selection: batchbald against its peers.

Every implementation reads the same bytes (one ``.npy`` file of ensemble
probabilities ``probs_K_N_C`` per configuration, generated once from a fixed
seed) and runs in its own subprocess (``_peer_runner.py``) under a per-run
wall-clock limit and an address-space limit, so a peer that runs out of time
or memory is recorded as ``timeout >T s`` or ``OOM`` instead of hanging the
benchmark. Results are a Markdown table on stdout (and ``--json PATH``).

Examples::

    python benchmarks/bench_selection.py --quick            # < 1 minute smoke run
    python benchmarks/bench_selection.py                    # everything (20+ min)
    python benchmarks/bench_selection.py --configs mnist --no-peers
    python benchmarks/bench_selection.py --configs small --peers redux --timeout 60

See ``benchmarks/README.md`` for the columns and the data generator.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from _pools import KIND_DOCS, KINDS, synthetic_chunk  # noqa: F401 (bench_dask)

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "_peer_runner.py"
GENERATOR_VERSION = 1
PEERS = ("skactiveml", "redux", "baal")
PEER_LABELS = {
    "batchbald": "batchbald (numpy)",
    "batchbald-torch": "batchbald (torch tensor)",
    "batchbald-full": "batchbald (full scan, lazy=False)",
    "skactiveml": "scikit-activeml batch_bald",
    "redux": "batchbald_redux (torch CPU)",
    "baal": "baal BatchBALD",
}
GIB = 1024**3


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    N: int
    K: int
    C: int
    b: int
    M: int
    dtype: str = "float64"
    peers: bool = True  # False: peers only with --million-peers
    note: str = ""

    @property
    def exact(self) -> bool:
        """True when every greedy step enumerates C**(b-1) <= M configurations."""
        return self.C ** (self.b - 1) <= self.M

    @property
    def input_bytes(self) -> int:
        return self.K * self.N * self.C * np.dtype(self.dtype).itemsize


CONFIGS = {
    "small": Config("small", 10_000, 20, 10, 10, 1_000),
    "mnist": Config("mnist", 20_000, 100, 10, 10, 10_000, note="MNIST-sized"),
    "b50": Config("b50", 5_000, 20, 10, 50, 1_000),
    "million": Config("million", 1_000_000, 20, 10, 10, 1_000, "float32", peers=False),
    "b500": Config("b500", 10_000, 20, 10, 500, 1_000, peers=False, note="large batch"),
    "exact": Config("exact", 500, 10, 3, 3, 1_000, note="exact regime: adapter check"),
}
# --quick: the same kinds of problem, scaled down. By default --quick runs
# small, million and the exact-regime adapter check (under a minute on an idle
# 2-core machine, most of it interpreter and library start-up); the scaled-down
# mnist and b50 run when named with --configs.
QUICK_CONFIGS = {
    "small": Config("small-quick", 1_000, 20, 10, 5, 1_000),
    "mnist": Config("mnist-quick", 1_000, 50, 10, 4, 500),
    "b50": Config("b50-quick", 500, 20, 10, 10, 1_000),
    "million": Config(
        "million-quick", 100_000, 20, 10, 5, 1_000, "float32", peers=False
    ),
    "b500": Config("b500-quick", 2_000, 20, 10, 50, 1_000, peers=False),
    "exact": CONFIGS["exact"],
}
DEFAULT_QUICK_CONFIGS = ("small", "million", "exact")
DEFAULT_CONFIGS = ("small", "mnist", "b50", "million", "b500")
DEFAULT_KINDS = ("mixed", "disagree", "forest")

# Targets from the issues "Selection engine: 10x faster than the peers" and
# "Selection engine at the machine's limit on hard pools".
SPEEDUP_TARGET = 10.0  # every config and kind with peers, fastest finishing peer
SPEEDUP_TARGETS = {("small", "disagree"): 30.0}  # (config, kind) -> peers' multiple
# (config, kind or None for every kind) -> (max seconds, max GiB beyond the
# input or None).
ABS_TARGETS = {
    ("mnist", "disagree"): (5.0, 0.5),
    ("mnist", None): (10.0, 1.0),
    ("million", None): (10.0, 4.0),
    ("b500", None): (60.0, None),
}


# --------------------------------------------------------------------------
# Data generator
# --------------------------------------------------------------------------

GENERATOR_DOC = """\
Synthetic ensembles, seed {seed}, chunks of samples from one numpy
default_rng stream, stored as {dtype}; pool kinds:"""


def generate_probs(path: Path, cfg: Config, seed: int, kind: str = "mixed") -> None:
    """Write ``probs_K_N_C`` of pool ``kind`` for ``cfg`` to ``path`` (.npy),
    chunk by chunk."""
    make_chunk = KINDS[kind]
    rng = np.random.default_rng(seed)
    K, N, C = cfg.K, cfg.N, cfg.C
    tmp = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=cfg.dtype, shape=(K, N, C))
    chunk = max(1, min(N, 4_000_000 // (K * C)))
    for start in range(0, N, chunk):
        n = min(chunk, N - start)
        probs = make_chunk(rng, K, n, C)
        out[:, start : start + n, :] = probs
    out.flush()
    del out
    os.replace(tmp, path)


def data_file(cfg: Config, seed: int, data_dir: Path, kind: str = "mixed") -> Path:
    """Path of the cached input of ``cfg`` and pool ``kind``, generated if
    missing."""
    prefix = "probs" if kind == "mixed" else f"probs_{kind}"
    name = (
        f"{prefix}_K{cfg.K}_N{cfg.N}_C{cfg.C}_{cfg.dtype}"
        f"_seed{seed}_gen{GENERATOR_VERSION}.npy"
    )
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        generate_probs(path, cfg, seed, kind)
    return path


# --------------------------------------------------------------------------
# Running one implementation in a child process
# --------------------------------------------------------------------------


def _reader(stream, q: queue.Queue) -> None:
    for line in stream:
        q.put((time.monotonic(), line))
    q.put((time.monotonic(), None))


def run_child(
    impl: str,
    path: Path,
    cfg: Config,
    *,
    seed: int,
    repeats: int,
    timeout: float,
    setup_timeout: float,
    mem_limit: int,
    device: str | None = None,
) -> dict:
    """Run ``impl`` on ``path`` in a subprocess; return a result record.

    ``timeout`` bounds each selection call (from its ``start`` event);
    ``setup_timeout`` bounds import + load + layout conversion.
    """
    cmd = [
        sys.executable,
        str(RUNNER),
        "--impl",
        impl,
        "--input",
        str(path),
        "--batch-size",
        str(cfg.b),
        "--n-samples",
        str(cfg.M),
        "--seed",
        str(seed),
        "--repeats",
        str(repeats),
        "--mem-limit",
        str(mem_limit),
    ]
    if device is not None and impl == "batchbald-torch":
        cmd += ["--device", device]
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONWARNINGS="ignore")
    record: dict = {"impl": impl, "status": "ok", "runs": [], "setup": None}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            start_new_session=True,
        )
        killed = _follow_events(proc, record, timeout, setup_timeout)
        proc.wait()
        err.seek(0)
        stderr_tail = err.read().decode(errors="replace")[-1500:]
    _final_status(record, killed, proc.returncode, stderr_tail, timeout, setup_timeout)
    _summarise(record)
    return record


def _follow_events(proc, record: dict, timeout: float, setup_timeout: float):
    """Read the child's JSON events into ``record`` until it ends or runs past
    a limit (then kill it); return ``"setup"``/``"run"`` for the limit hit,
    None when the child ended by itself."""
    q: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
    deadline = time.monotonic() + setup_timeout
    limit_kind = "setup"
    while True:
        try:
            stamp, line = q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            os.killpg(proc.pid, signal.SIGKILL)
            return limit_kind
        if line is None:
            return None
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = event.pop("event", None)
        if kind == "setup":
            record["setup"] = event
        elif kind == "start":
            deadline = stamp + timeout
            limit_kind = "run"
        elif kind == "done":
            record["runs"].append(event)
            deadline = time.monotonic() + setup_timeout  # until next start
            limit_kind = "setup"
        elif kind == "error":
            record["status"] = event["status"]
            if event.get("stage") == "setup":
                record["status"] += " during setup"
            record["message"] = event.get("message", "")


def _final_status(
    record: dict,
    killed,
    returncode: int,
    stderr_tail: str,
    timeout: float,
    setup_timeout: float,
) -> None:
    if killed == "run":
        record["status"] = f"timeout >{timeout:g} s"
    elif killed == "setup":
        record["status"] = f"setup timeout >{setup_timeout:g} s"
    elif record["status"] == "ok" and returncode != 0:
        low = stderr_tail.lower()
        if returncode == -signal.SIGKILL:
            record["status"] = "OOM (killed)"
        elif "bad_alloc" in low or "memoryerror" in low or "allocate" in low:
            record["status"] = "OOM"
        else:
            record["status"] = f"crashed (rc={returncode})"
        record["message"] = stderr_tail
    if record["status"] != "ok" and record["runs"]:
        record["status"] += f" after {len(record['runs'])} run(s)"


def _summarise(record: dict) -> None:
    runs = record["runs"]
    if not runs:
        return
    record["median_s"] = statistics.median(r["seconds"] for r in runs)
    record["min_s"] = min(r["seconds"] for r in runs)
    record["peak_rss"] = max(r["peak_rss"] for r in runs)
    record["peak_beyond_input"] = max(r["peak_beyond_input"] for r in runs)
    record["indices"] = runs[0]["indices"]
    record["scores"] = runs[0]["scores"]
    record["deterministic"] = all(r["indices"] == runs[0]["indices"] for r in runs)
    notes = {r.get("note") for r in runs} - {None}
    if notes:
        record["note"] = "; ".join(sorted(notes))


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def _fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    if abs(n) >= GIB:
        return f"{n / GIB:.2f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def overlap(ref: list[int], other: list[int]) -> float:
    return len(set(ref) & set(other)) / max(1, len(ref))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _blas_description() -> str:
    """numpy's BLAS and the kernels it picked (OPENBLAS_CORETYPE if set)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            forced = os.environ.get("OPENBLAS_CORETYPE")
            arch = lib.get("architecture", "?")
            suffix = f", OPENBLAS_CORETYPE={forced}" if forced else ""
            return f"{lib.get('internal_api')} {lib.get('version')} ({arch}{suffix})"
    return "?"


def machine_description() -> dict:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if commit and dirty:
            commit += "+uncommitted src changes"
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": cores,
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": _version("torch"),
        "batchbald": _version("batchbald"),
        "batchbald_commit": commit,
        "blas": _blas_description(),
        "scikit-activeml": _version("scikit-activeml"),
        "batchbald-redux": _version("batchbald-redux"),
        "baal": _version("baal"),
    }


def markdown_report(results: list[dict], machine: dict, args, seed: int) -> str:
    lines = ["# BatchBALD selection benchmark", ""]
    mem = machine["memory_bytes"]
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{_fmt_bytes(mem)} RAM; {machine['platform']}"
    )
    lines.append(
        f"Python {machine['python']}, numpy {machine['numpy']}, torch "
        f"{machine['torch']}, BLAS {machine.get('blas', '?')}; batchbald "
        f"{machine['batchbald']} "
        f"({machine['batchbald_commit']}), scikit-activeml "
        f"{machine['scikit-activeml']}, batchbald-redux "
        f"{machine['batchbald-redux']}, baal {machine['baal']}"
    )
    lines.append(
        f"Repeats: batchbald {args.repeats}, peers {args.peer_repeats}; "
        f"per-run limit {args.timeout:g} s (peers), {args.batchbald_timeout:g} s "
        f"(batchbald); address-space limit "
        f"{_fmt_bytes(args.mem_limit_bytes) if args.mem_limit_bytes else 'none'}."
    )
    lines += [
        "",
        "Data generator:",
        "",
        "```",
        GENERATOR_DOC.format(seed=seed, dtype="the config's dtype"),
        "",
        *(f"{kind}: {KIND_DOCS[kind]}" for kind in args.kind_list),
        "```",
        "",
    ]
    header = (
        "| implementation | status | median s | runs | peak RSS | peak beyond input "
        "| time / batchbald | overlap w/ batchbald | same 1st |"
    )
    sep = "|---|---|---:|---:|---:|---:|---:|---:|---|"
    for res in results:
        cfg: Config = res["config"]
        regime = "exact" if cfg.exact else "sampled"
        lines.append(
            f"## {cfg.name} ({res.get('kind', 'mixed')} pool): N={cfg.N:,}, "
            f"K={cfg.K}, C={cfg.C}, b={cfg.b}, "
            f"M={cfg.M:,}, {cfg.dtype} ({_fmt_bytes(cfg.input_bytes)} input, "
            f"{regime} joint entropies){' - ' + cfg.note if cfg.note else ''}"
        )
        lines += ["", header, sep]
        ref = res["impls"].get("batchbald")
        ref_ok = ref is not None and ref.get("median_s") is not None
        for impl, rec in res["impls"].items():
            t = rec.get("median_s")
            ratio = "-"
            if ref_ok and t is not None:
                ratio = f"{t / ref['median_s']:.1f}x"
            elif ref_ok and rec["status"].startswith("timeout"):
                ratio = f">{args.timeout / ref['median_s']:.0f}x"
            agree = first = "-"
            if ref_ok and rec.get("indices") is not None:
                agree = f"{overlap(ref['indices'], rec['indices']):.2f}"
                first = "yes" if rec["indices"][:1] == ref["indices"][:1] else "no"
            status = rec["status"]
            if rec.get("note"):
                status += f" ({rec['note']})"
            label = PEER_LABELS.get(impl, impl)
            if args.device and impl == "batchbald-torch":
                label += f" on {args.device}"
            lines.append(
                f"| {label} | {status} | {_fmt_s(t)} | "
                f"{len(rec['runs'])} | {_fmt_bytes(rec.get('peak_rss'))} | "
                f"{_fmt_bytes(rec.get('peak_beyond_input'))} | {ratio} | {agree} | "
                f"{first} |"
            )
        ok = {k: v for k, v in res["impls"].items() if v.get("indices") is not None}
        if len(ok) >= 2:
            names = list(ok)
            lines += ["", "Pairwise overlap of chosen indices (same first?):", ""]
            for i, a in enumerate(names):
                for bname in names[i + 1 :]:
                    same = ok[a]["indices"][:1] == ok[bname]["indices"][:1]
                    lines.append(
                        f"- {a} / {bname}: "
                        f"{overlap(ok[a]['indices'], ok[bname]['indices']):.2f}"
                        f" ({'yes' if same else 'no'})"
                    )
        lines += ["", *target_lines(res), ""]
    return "\n".join(lines)


def _abs_target(name: str, kind: str):
    return ABS_TARGETS.get((name, kind), ABS_TARGETS.get((name, None)))


def target_lines(res: dict) -> list[str]:
    cfg: Config = res["config"]
    kind = res.get("kind", "mixed")
    ref = res["impls"].get("batchbald")
    if ref is None or ref.get("median_s") is None:
        return []
    out = []
    t = ref["median_s"]
    peer_times = [
        v["median_s"]
        for k, v in res["impls"].items()
        if k in PEERS and v.get("median_s") is not None
    ]
    if cfg.name not in DEFAULT_CONFIGS:  # quick and check configs: no targets
        return []
    if peer_times:
        target = SPEEDUP_TARGETS.get((cfg.name, kind), SPEEDUP_TARGET)
        speedup = min(peer_times) / t
        verdict = "met" if speedup >= target else "NOT met"
        out.append(
            f"Target >= {target:g}x the fastest finishing peer: "
            f"{speedup:.1f}x ({verdict})."
        )
    limits = _abs_target(cfg.name, kind)
    if limits is not None:
        max_s, max_gib = limits
        extra = ref["peak_beyond_input"] / GIB
        ok = t < max_s and (max_gib is None or extra < max_gib)
        mem = "" if max_gib is None else f" and < {max_gib:g} GiB beyond the input"
        out.append(
            f"Target < {max_s:g} s{mem}: {t:.2f} s, {extra:.2f} GiB beyond the "
            f"input ({'met' if ok else 'NOT met'})."
        )
    return out


def _jsonable(results: list[dict]) -> list[dict]:
    out = []
    for res in results:
        out.append(
            {
                "config": dataclasses.asdict(res["config"]),
                "kind": res.get("kind", "mixed"),
                "input": res["input"],
                "impls": res["impls"],
            }
        )
    return out


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--configs",
        default=None,
        help=f"comma-separated subset of {','.join(CONFIGS)}; default "
        f"{','.join(DEFAULT_CONFIGS)} ({','.join(DEFAULT_QUICK_CONFIGS)} with --quick)",
    )
    p.add_argument(
        "--kinds",
        default=",".join(DEFAULT_KINDS),
        help=f"comma-separated pool kinds from {','.join(KINDS)}, each config "
        "is run on each (see benchmarks/_pools.py)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="scaled-down configs; by default small, million and exact (< 1 minute)",
    )
    p.add_argument("--repeats", type=int, default=3, help="batchbald runs (median)")
    p.add_argument("--peer-repeats", type=int, default=1, help="runs per peer")
    p.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma-separated subset of {','.join(PEERS)}",
    )
    p.add_argument("--no-peers", action="store_true")
    p.add_argument(
        "--no-batchbald",
        action="store_true",
        help="peers only (e.g. to check the adapters)",
    )
    p.add_argument(
        "--torch", action="store_true", help="also run batchbald on torch CPU tensors"
    )
    p.add_argument(
        "--full-scan",
        action="store_true",
        help="also run batchbald with lazy=False (every gain at every step)",
    )
    p.add_argument(
        "--device",
        default=None,
        help="with --torch: the torch device of that run (e.g. cuda), the tensor "
        "moved there before the timed call; numpy batchbald stays on the CPU",
    )
    p.add_argument(
        "--million-peers",
        action="store_true",
        help="also run the peers (under --timeout) on 'million'",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="wall-clock limit (s) of one peer selection call",
    )
    p.add_argument(
        "--batchbald-timeout",
        type=float,
        default=600.0,
        help="wall-clock limit (s) of one batchbald selection call",
    )
    p.add_argument(
        "--setup-timeout",
        type=float,
        default=300.0,
        help="limit (s) for import + load + layout conversion",
    )
    p.add_argument(
        "--mem-limit",
        type=float,
        default=None,
        help="address-space limit (GiB) per child, 0 for none; default 50%% of RAM",
    )
    p.add_argument("--seed", type=int, default=0, help="data and selection seed")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "batchbald-bench",
        help="where the generated .npy inputs are cached",
    )
    p.add_argument("--json", type=Path, default=None, help="also save results here")
    args = p.parse_args(argv)
    if args.configs is None:
        args.configs = ",".join(
            DEFAULT_QUICK_CONFIGS if args.quick else DEFAULT_CONFIGS
        )
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        p.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    table = QUICK_CONFIGS if args.quick else CONFIGS
    args.config_list = [table[c] for c in names]
    args.kind_list = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad_kinds = [k for k in args.kind_list if k not in KINDS]
    if bad_kinds or not args.kind_list:
        p.error(f"unknown pool kind(s) {bad_kinds}; choose from {list(KINDS)}")
    peers = [] if args.no_peers else [s.strip() for s in args.peers.split(",") if s]
    bad = [s for s in peers if s not in PEERS]
    if bad:
        p.error(f"unknown peer(s) {bad}; choose from {list(PEERS)}")
    args.peer_list = peers
    if args.mem_limit is None:
        total = machine_description()["memory_bytes"] or 0
        args.mem_limit_bytes = int(0.5 * total)
    else:
        args.mem_limit_bytes = int(args.mem_limit * GIB)
    return args


def run_config(cfg: Config, kind: str, args) -> dict:
    """Every implementation on one configuration and pool kind."""
    t0 = time.perf_counter()
    path = data_file(cfg, args.seed, args.data_dir, kind)
    gen_s = time.perf_counter() - t0
    tag = f"{cfg.name}/{kind}"
    print(
        f"[{tag}] input {path} ({_fmt_bytes(cfg.input_bytes)}, "
        f"generated/found in {gen_s:.1f} s)",
        file=sys.stderr,
    )
    impls = []
    if not args.no_batchbald:
        impls.append("batchbald")
        if args.torch:
            impls.append("batchbald-torch")
        if args.full_scan:
            impls.append("batchbald-full")
    if cfg.peers or args.million_peers:
        impls += args.peer_list
    records = {}
    for impl in impls:
        is_bb = impl.startswith("batchbald")
        print(f"[{tag}] running {impl} ...", file=sys.stderr, flush=True)
        rec = run_child(
            impl,
            path,
            cfg,
            seed=args.seed,
            repeats=args.repeats if is_bb else args.peer_repeats,
            timeout=args.batchbald_timeout if is_bb else args.timeout,
            setup_timeout=args.setup_timeout,
            mem_limit=args.mem_limit_bytes,
            device=args.device,
        )
        print(
            f"[{tag}] {impl}: {rec['status']}, {_fmt_s(rec.get('median_s'))} s",
            file=sys.stderr,
            flush=True,
        )
        records[impl] = rec
    if not (cfg.peers or args.million_peers):
        for impl in args.peer_list:
            records[impl] = {
                "impl": impl,
                "runs": [],
                "status": "skipped (--million-peers to run)",
            }
    return {"config": cfg, "kind": kind, "input": str(path), "impls": records}


def main(argv=None) -> int:
    args = parse_args(argv)
    machine = machine_description()
    results = [
        run_config(cfg, kind, args)
        for cfg in args.config_list
        for kind in args.kind_list
    ]
    report = markdown_report(results, machine, args, args.seed)
    print(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": machine,
            "generator": GENERATOR_DOC.format(seed=args.seed, dtype="config dtype"),
            "args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "config_list"
            },
            "results": _jsonable(results),
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
