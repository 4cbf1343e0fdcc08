"""Picks of ``select_batch`` on the cached benchmark pools, for comparing
two versions of the engine (the lazy rounds must not change them).

Usage::

    PYTHONPATH=src python benchmarks/check_picks.py --out picks.json
    PYTHONPATH=src python benchmarks/check_picks.py --compare picks.json

The pools are the ``.npy`` files that ``bench_selection.py`` caches in its
data directory (``/tmp/batchbald-bench`` by default).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from batchbald import engine

# (name, file stem, n_configurations) of the pools compared by default.
_KINDS = [("mixed", ""), ("disagree", "disagree_"), ("forest", "forest_")]
POOLS = [
    (f"{config}/{kind}", f"probs_{prefix}{shape}", m)
    for config, shape, m in [
        ("small", "K20_N10000_C10_float64_seed0_gen1", 1000),
        ("million", "K20_N1000000_C10_float32_seed0_gen1", 1000),
        ("mnist", "K100_N20000_C10_float64_seed0_gen1", 10_000),
    ]
    for kind, prefix in _KINDS
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="/tmp/batchbald-bench")
    parser.add_argument("--out", help="write the picks to this JSON file")
    parser.add_argument("--compare", help="compare with the picks in this JSON file")
    parser.add_argument("--pools", help="comma-separated subset of the pool names")
    parser.add_argument("--batch-size", type=int, default=10)
    return parser


def _report(name: str, old: dict, new: dict) -> bool:
    """Print where two runs' picks part, with both gains there; True if
    they differ."""
    if old["indices"] == new["indices"]:
        return False
    step = next(
        i for i, (a, b) in enumerate(zip(old["indices"], new["indices"], strict=True))
        if a != b
    )  # fmt: skip
    pairs = zip(old["gains"][:step], new["gains"][:step], strict=True)
    spread = max((abs(a - b) for a, b in pairs), default=0.0)
    print(
        f"{name}: picks part at step {step}: {old['indices'][step]} (gain "
        f"{old['gains'][step]:.3g}) before, {new['indices'][step]} (gain "
        f"{new['gains'][step]:.3g}) now; earlier gains agree to {spread:.1g}"
    )
    return True


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    wanted = None if args.pools is None else set(args.pools.split(","))
    picks = {}
    for name, stem, m in POOLS:
        if wanted is not None and name not in wanted:
            continue
        path = Path(args.data_dir) / f"{stem}.npy"
        if not path.exists():
            print(f"{name}: {path} missing, skipped", file=sys.stderr)
            continue
        probs = np.load(path)
        start = time.perf_counter()
        sel = engine.select_batch(
            probs, args.batch_size, n_configurations=m, random_state=0
        )
        seconds = time.perf_counter() - start
        picks[name] = {
            "indices": [int(i) for i in sel.indices],
            "gains": [float(g) for g in sel.gains],
        }
        chosen = picks[name]["indices"]
        print(f"{name}: {seconds:.2f} s, scored {sel.n_scored}, {chosen}")
    if args.out:
        Path(args.out).write_text(json.dumps(picks, indent=1))
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        differ = [n for n in picks if n in old and _report(n, old[n], picks[n])]
        print("identical picks" if not differ else f"DIFFERENT picks: {differ}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
