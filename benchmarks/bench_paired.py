"""Two versions of the engine timed in alternation on the cached pools.

On a shared machine the load drifts between runs; alternating the two
versions run by run (A B A B ...) in fresh processes, each timing only its
``select_batch`` call, makes their medians comparable::

    PYTHONPATH=src python benchmarks/bench_paired.py --a /tmp/base/src --b src \
        --pools million/forest,million/disagree --repeats 3

The pools are those of ``check_picks.py`` (the ``.npy`` files that
``bench_selection.py`` caches in ``/tmp/batchbald-bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys, time
import numpy as np
from batchbald import engine
probs = np.load(sys.argv[1])
start = time.perf_counter()
sel = engine.select_batch(probs, int(sys.argv[3]), n_configurations=int(sys.argv[2]),
                          random_state=0, lazy=sys.argv[4] == "lazy")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "n_scored": int(sel.n_scored),
                  "indices": [int(i) for i in sel.indices]}))
"""


def _run(src: str, path: Path, m: int, batch: int, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(m), str(batch), mode],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from check_picks import POOLS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="src folder of version A")
    parser.add_argument("--b", required=True, help="src folder of version B")
    parser.add_argument("--pools", help="comma-separated pool names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--full-scan", action="store_true", help="lazy=False")
    parser.add_argument("--data-dir", default="/tmp/batchbald-bench")
    args = parser.parse_args(argv)
    wanted = None if args.pools is None else set(args.pools.split(","))
    mode = "full" if args.full_scan else "lazy"
    print("| pool | A median s | B median s | B / A | same picks |")
    print("|---|---:|---:|---:|---|")
    for name, stem, m in POOLS:
        if wanted is not None and name not in wanted:
            continue
        path = Path(args.data_dir) / f"{stem}.npy"
        runs: dict = {"a": [], "b": []}
        for _ in range(args.repeats):
            for key in ("a", "b"):
                src = getattr(args, key)
                runs[key].append(_run(src, path, m, args.batch_size, mode))
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
        same = runs["a"][0]["indices"] == runs["b"][0]["indices"]
        print(
            f"| {name} | {med['a']:.2f} | {med['b']:.2f} | "
            f"{med['b'] / med['a']:.2f} | {'yes' if same else 'no'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
