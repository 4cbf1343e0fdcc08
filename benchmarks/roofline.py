"""Roofline of the scoring kernel: this machine's peaks and the share of them
that the hot loop reaches.

The hot loop of greedy BatchBALD (:meth:`batchbald._scoring.NumpyScorer.
_cond_entropy_chunk`) does, per cell (configuration x sample x class), one
dot product of length ``K`` (``2 K`` flops of a matrix product), one float32
logarithm, one multiplication and two flops of the weighted reduction. This
script measures, on all cores of this machine:

- **log**: float32 ``np.log`` elements per second on cache-resident blocks;
- **GEMM**: float32 FLOP/s of the matrix products of the kernel's own block
  shapes (one BLAS thread per worker thread, as the kernel runs them);
- **bandwidth**: main-memory bytes per second of a large ``np.copyto``
  (read + write);

then times ``NumpyScorer.conditional_mi`` for each benchmark configuration
and reports cells per second and the share of the peak: the time the same
log and GEMM work would take at the measured peaks (one after the other, as
they share the cores) over the kernel's time, and the memory bandwidth used
by reading the probabilities.

Run::

    python benchmarks/roofline.py                   # about half a minute
    python benchmarks/roofline.py --json benchmarks/results/roofline.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from batchbald._scoring import NumpyScorer, _single_threaded_blas

# (name, K, C, M): the kernel's shapes in bench_selection.py's configurations.
SHAPES = [
    ("small / million / b500", 20, 10, 1_000),
    ("mnist", 100, 10, 10_000),
    ("exact step, 100 configurations", 20, 10, 100),
]


def _best_rate(fn, work: float, repeats: int, seconds: float = 0.3) -> float:
    """Highest work per second of ``fn`` over ``repeats`` timed rounds."""
    fn()
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt > seconds:
                break
        best = max(best, n * work / dt)
    return best


def _parallel(fn_factory, n_threads: int):
    """A callable running ``fn_factory(t)()`` on ``n_threads`` threads."""
    pool = ThreadPoolExecutor(n_threads)
    fns = [fn_factory(t) for t in range(n_threads)]

    def run():
        list(pool.map(lambda f: f(), fns))

    return run, pool


def peak_log(n_threads: int, repeats: int) -> float:
    """float32 logarithms per second, all threads, cache-resident blocks."""
    size = 1 << 16

    def factory(t):
        x = np.random.default_rng(t).random(size, dtype=np.float32) + 1e-3
        y = np.empty_like(x)
        return lambda: [np.log(x, out=y) for _ in range(16)]

    run, pool = _parallel(factory, n_threads)
    try:
        return _best_rate(run, 16 * size * n_threads, repeats)
    finally:
        pool.shutdown()


def peak_gemm(K: int, C: int, M: int, n_threads: int, repeats: int) -> float:
    """float32 FLOP/s of the kernel's block products, all threads."""
    scorer = NumpyScorer(np.full((K, 1, C), 1.0 / C), eps=1e-7, max_memory=2**28)
    scorer.n_threads = n_threads
    sub, m_block = scorer._block_shape(10**9, M, C, 4)
    cols = sub * C

    def factory(t):
        rng = np.random.default_rng(t)
        a = rng.random((m_block, K), dtype=np.float32)
        b = rng.random((K, cols), dtype=np.float32)
        c = np.empty((m_block, cols), dtype=np.float32)
        return lambda: [np.matmul(a, b, out=c) for _ in range(8)]

    run, pool = _parallel(factory, n_threads)
    try:
        with _single_threaded_blas():
            return _best_rate(run, 8 * 2.0 * K * m_block * cols * n_threads, repeats)
    finally:
        pool.shutdown()


def peak_bandwidth(repeats: int) -> float:
    """Main-memory bytes per second (read + write) of a 256 MiB copy."""
    src = np.ones(1 << 26, dtype=np.float32)
    dst = np.empty_like(src)
    return _best_rate(lambda: np.copyto(dst, src), 2.0 * src.nbytes, repeats)


def kernel_rate(K: int, C: int, M: int, repeats: int) -> dict:
    """Cells per second of ``conditional_mi`` on a pool slice of float32."""
    rng = np.random.default_rng(0)
    n = max(64, int(2e7 // (M * C)))  # about 2e7 cells per call
    logits = 1.5 * rng.standard_normal((K, n, C), dtype=np.float32)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    post = rng.dirichlet(np.full(K, 0.5), size=M)
    weights = np.full(M, 1.0 / M)
    with NumpyScorer(probs, eps=1e-7, max_memory=256 * 2**20) as scorer:
        cells = float(M) * n * C
        rate = _best_rate(
            lambda: scorer.conditional_mi(None, post, weights), cells, repeats, 0.5
        )
        n_threads = scorer.n_threads
    return {"cells_per_s": rate, "n_points": n, "n_threads": n_threads}


def roofline(repeats: int) -> dict:
    n_threads = max(1, min(8, os.cpu_count() or 1))
    log_peak = peak_log(n_threads, repeats)
    bandwidth = peak_bandwidth(repeats)
    rows = []
    for name, K, C, M in SHAPES:
        gemm = peak_gemm(K, C, M, n_threads, repeats)
        kern = kernel_rate(K, C, M, repeats)
        rate = kern["cells_per_s"]
        # Seconds per cell at the peaks: log, GEMM, then the 4 flops of the
        # multiplication and reduction at GEMM speed (generous to us).
        ideal = 1.0 / log_peak + (2.0 * K + 4.0) / gemm
        bytes_per_cell = K * 4.0 / M  # the float32 probabilities, read once
        rows.append(
            {
                "shape": name,
                "K": K,
                "C": C,
                "M": M,
                "gemm_flops_peak": gemm,
                "kernel_cells_per_s": rate,
                "kernel_log_per_s": rate,
                "kernel_gemm_flops": rate * 2.0 * K,
                "share_of_peak": rate * ideal,
                "share_log": rate / log_peak,
                "share_gemm": rate * 2.0 * K / gemm,
                "bandwidth_used": rate * bytes_per_cell,
                "share_bandwidth": rate * bytes_per_cell / bandwidth,
            }
        )
    return {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "threads": n_threads,
            "load_average": os.getloadavg(),
        },
        "log_per_s_peak": log_peak,
        "bandwidth_peak": bandwidth,
        "rows": rows,
    }


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['threads']} kernel threads, numpy "
        f"{m['numpy']}, load average {m['load_average'][0]:.1f} at the start.",
        "",
        f"- peak float32 log: {result['log_per_s_peak'] / 1e9:.2f} G elements/s "
        f"({1e9 * m['threads'] / result['log_per_s_peak']:.2f} ns per element "
        "per core)",
        f"- memory bandwidth (copy, read + write): "
        f"{result['bandwidth_peak'] / 1e9:.1f} GB/s",
        "",
        "| shape | K | C | M | GEMM peak GFLOP/s | kernel G cells/s | share of "
        "log peak | share of GEMM peak | share of log+GEMM roofline | bandwidth "
        "share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['shape']} | {r['K']} | {r['C']} | {r['M']:,} | "
            f"{r['gemm_flops_peak'] / 1e9:.0f} | "
            f"{r['kernel_cells_per_s'] / 1e9:.2f} | {r['share_log']:.0%} | "
            f"{r['share_gemm']:.0%} | {r['share_of_peak']:.0%} | "
            f"{r['share_bandwidth']:.1%} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (best)")
    p.add_argument("--json", type=Path, default=None, help="also save here")
    args = p.parse_args(argv)
    result = roofline(args.repeats)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
