"""Where the time of one greedy selection goes, step by step.

Runs ``select_batch`` once on a cached benchmark pool and prints, for every
step, its wall time and each call of the scorer's ``conditional_mi`` grouped
by the number of configurations it scored with (the full estimate, the
truncated and grouped upper bounds of the lazy rounds, the float64
refinement)::

    PYTHONPATH=src python benchmarks/profile_lazy.py \
        /tmp/batchbald-bench/probs_forest_K20_N1000000_C10_float32_seed0_gen1.npy
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from batchbald import engine
from batchbald._scoring import NumpyScorer


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pool", help="a .npy file of probabilities (K, N, C)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--configurations", type=int, default=1000)
    parser.add_argument("--full-scan", action="store_true")
    args = parser.parse_args(argv)
    probs = np.load(args.pool)
    calls: collections.defaultdict = collections.defaultdict(lambda: [0, 0, 0.0])
    original = NumpyScorer.conditional_mi

    def traced(self, idx_n, post_M_K, weights_M, precise=False):
        start = time.perf_counter()
        out = original(self, idx_n, post_M_K, weights_M, precise)
        key = (len(weights_M), precise)
        entry = calls[key]
        entry[0] += 1
        entry[1] += len(out)
        entry[2] += time.perf_counter() - start
        return out

    NumpyScorer.conditional_mi = traced
    last = [time.perf_counter()]
    first = last[0]

    def callback(step, index, gain):
        now = time.perf_counter()
        parts = ", ".join(
            f"M={m}{' f64' if p else ''}: {c} calls {n} pts {t:.2f}s"
            for (m, p), (c, n, t) in sorted(calls.items())
        )
        took = now - last[0]
        print(f"step {step}: pick {index} gain {gain:.5f} {took:.2f}s  [{parts}]")
        calls.clear()
        last[0] = now

    sel = engine.select_batch(
        probs, args.batch_size, n_configurations=args.configurations,
        random_state=0, callback=callback, lazy=not args.full_scan,
    )  # fmt: skip
    print(f"total {time.perf_counter() - first:.2f}s, scored {sel.n_scored}")


if __name__ == "__main__":
    main()
