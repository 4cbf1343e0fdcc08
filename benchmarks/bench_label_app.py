"""How responsive ``batchbald label`` stays while the worker retrains.

Builds a table of ``--rows`` rows (30 labeled, 3 classes), starts a labeling
session with ``--model`` and polls ``GET /api/state`` through Starlette's
TestClient every 50 ms until the first model-chosen batch is shown. Prints the
time to that batch and the median and maximum latency of the state requests
made meanwhile (the model fit and the selection run in the worker thread).

    python benchmarks/bench_label_app.py --rows 2000 --model gp-bagging
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _table(path: Path, n_rows: int, seed: int) -> None:
    rng = np.random.RandomState(seed)
    lines = ["a,b,c,d,label"]
    for i in range(n_rows):
        c = i % 3
        x = rng.randn(4) + c
        label = ["r", "g", "b"][c] if i < 30 else ""
        lines.append(",".join(f"{v:.3f}" for v in x) + "," + label)
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--model", default="gp-bagging")
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from batchbald.app.server import HEADER, create_app
    from batchbald.app.session import LabelingSession
    from batchbald.app.sources import TableSource

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        _table(path, args.rows, args.seed)
        session = LabelingSession(
            TableSource(path, "label"),
            model=args.model,
            n_members=args.members,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        client = TestClient(create_app(session, "token"))
        t0 = time.perf_counter()
        session.start()
        latencies = []
        while True:
            t = time.perf_counter()
            state = client.get("/api/state", headers={HEADER: "token"}).json()
            latencies.append(time.perf_counter() - t)
            if (state["batch"] and not state["worker"]) or state["error"]:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        session.close(timeout=60)
    print(
        f"rows={args.rows} model={args.model} K={args.members} "
        f"b={args.batch_size}: first batch after {elapsed:.1f} s; "
        f"{len(latencies)} state requests meanwhile: median "
        f"{1000 * statistics.median(latencies):.0f} ms, max "
        f"{1000 * max(latencies):.0f} ms"
        + (f"; error: {state['error']}" if state["error"] else "")
    )


if __name__ == "__main__":
    main()
