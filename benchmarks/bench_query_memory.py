"""Time and memory of ``BatchBALD.query`` on a million-sample float32 pool.

The estimator's ``sample_proba`` returns the pool's member probabilities
(K, N, C) as stored, float32, so the figure is what the strategy layer adds
on top of the engine: checks, class mapping, votes (off for a sampler) and
the selection itself, under the default ``max_memory`` (256 MiB). The pool is
``bench_selection.py``'s million-sample pool of the chosen kind (generated on
first use into the same cache). Memory is the process's peak RSS beyond what
it held once the pool was loaded.

Usage::

    python benchmarks/bench_query_memory.py --kind disagree
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from _pools import rss_bytes
from bench_selection import CONFIGS, data_file, generate_probs

from batchbald.pool import BatchBALD

MIB = 2**20


class _Sampler:
    """A fitted 'ensemble' whose members' probabilities are the pool."""

    def __init__(self, probs_K_N_C, classes):
        self.probs_K_N_C, self.classes_ = probs_K_N_C, classes

    def fit(self, X, y):
        return self

    def sample_proba(self, X):
        return self.probs_K_N_C


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--kind", default="disagree", choices=("mixed", "disagree", "forest")
    )
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "batchbald-bench"
    )
    args = p.parse_args(argv)
    cfg = CONFIGS["million"]
    path = data_file(cfg, 0, args.data_dir, args.kind)
    if not path.exists():
        args.data_dir.mkdir(parents=True, exist_ok=True)
        generate_probs(path, cfg, 0, args.kind)
    probs = np.load(path)
    K, N, C = probs.shape
    X = np.zeros((N, 1), dtype=np.float32)
    y = np.full(N, np.nan)
    ensemble = _Sampler(probs, np.arange(C))
    strategy = BatchBALD(sample_predictions_method_name="sample_proba", random_state=0)
    base = rss_bytes()
    t0 = time.perf_counter()
    idx = strategy.query(X, y, ensemble, fit_ensemble=False, batch_size=args.batch_size)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"| BatchBALD.query, {path.name} | {seconds:.1f} s | "
        f"{(peak - base) / MIB:.0f} MiB beyond the input "
        f"({probs.nbytes / MIB:.0f} MiB, {probs.dtype}) | picks {idx.tolist()} |"
    )


if __name__ == "__main__":
    main()
