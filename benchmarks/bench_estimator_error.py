"""Error of the sampled BatchBALD gain estimate as a function of M.

For the `small` configuration of bench_selection.py (N=10,000, K=20, C=10),
takes the first selected points of a batch as the set A, enumerates all
C**|A| labellings for the exact conditional mutual information I(y_n; w | y_A)
of 200 random candidates, and compares it with the sampled estimate for
M = 100, 1,000 and 10,000 labellings over 20 seeds.

Usage: python benchmarks/bench_estimator_error.py [--data-dir DIR]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_selection as bench  # noqa: E402

from batchbald.engine import select_batch  # noqa: E402
from batchbald.information import (  # noqa: E402
    conditional_mutual_information,
    enumerate_configurations,
    sample_configurations,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "batchbald-bench",
        help="cache of generated inputs (shared with bench_selection.py)",
    )
    args = parser.parse_args()
    cfg = bench.CONFIGS["small"]
    probs = np.load(bench.data_file(cfg, 0, args.data_dir))
    chosen = select_batch(probs, 5, n_samples=10**5, random_state=0).indices
    rng = np.random.RandomState(0)
    others = np.setdiff1d(np.arange(probs.shape[1]), chosen)
    cand = rng.choice(others, 200, replace=False)
    print("| set size | M | rms error (nats) | max error | mean exact gain |")
    print("|---:|---:|---:|---:|---:|")
    for size in (3, 5):
        A = chosen[:size]
        exact = conditional_mutual_information(
            probs[:, cand], *enumerate_configurations(probs[:, A])
        )
        for M in (100, 1000, 10000):
            errors = np.array(
                [
                    conditional_mutual_information(
                        probs[:, cand], *sample_configurations(probs[:, A], M, s)[:2]
                    )
                    - exact
                    for s in range(20)
                ]
            )
            rms = np.sqrt((errors**2).mean())
            print(
                f"| {size} | {M:,} | {rms:.1e} | {np.abs(errors).max():.1e} "
                f"| {exact.mean():.4f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
