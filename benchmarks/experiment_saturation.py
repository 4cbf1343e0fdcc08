"""Learning curves with the scikit-learn ensembles users have (issue 9).

BatchBALD with few members (a bagging of 10, a forest of near 0/1 trees)
spends the members' information ``log K`` after a few picks; this script
measures what that costs and which remedy (:mod:`batchbald.saturation`) wins.

Two grids:

``--grid remedy``
    Chooses the remedy: BatchBALD plain, with ``label_noise``, with
    ``completion="power"`` and both, against random and top-k BALD, on
    repeated digits at b=20 with a bagging of 10 MLPs and of 10 logistic
    regressions.
``--grid early``
    The first three cycles only (b=20, 12 seeds), where the cold start
    decides: BatchBALD's defaults against random, PowerBALD, and BatchBALD
    scoring the members' probabilities instead of their votes or completing
    uniformly; reported as mean accuracy per cycle with its standard error.
``--grid full``
    BatchBALD with the strategy's default settings against random and top-k
    BALD: bagging of 10 MLPs, bagging of 10 logistic regressions and a random
    forest of 100 trees, on digits and repeated digits, at b = 10, 20, 40.

Every (setting, strategy, seed) run is appended to
``<out>/runs_<grid>.jsonl`` as soon as it finishes, and runs already there
are skipped, so the script can be stopped and resumed. ``--summary`` writes
``<out>/summary_<grid>.md``: median labels to reach each target accuracy
(over seeds, ``labels_to_reach``) and the mean final accuracy.

Usage (2 shared cores: a full grid takes hours; run it in the background)::

    PYTHONPATH=src python benchmarks/experiment_saturation.py --grid remedy
    nohup env PYTHONPATH=src python benchmarks/experiment_saturation.py \
        --grid full > benchmarks/results/saturation/full.log 2>&1 &
    PYTHONPATH=src python benchmarks/experiment_saturation.py --grid full --summary

``--batch-sizes 20`` (or ``--models``, ``--strategies``) runs a part of a grid;
``--out DIR`` keeps a re-run apart from the recorded one. ``--plot FILE``
draws the learning curves of ``--panels`` (``model/data/b``, comma-separated)
from the runs recorded in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "saturation"
TARGETS = (0.80, 0.85, 0.90)
DATA = ("repeated-digits", "digits")

#: label -> BatchBALD keyword arguments (None: a named library strategy).
_OFF = {"label_noise": 0.0, "completion": None, "member_votes": False}
REMEDY_STRATEGIES: dict[str, dict | None] = {
    "random": None,
    "bald": None,
    "powerbald": None,
    "bb-plain": _OFF,
    "bb-noise0.05": {**_OFF, "label_noise": 0.05},
    "bb-power": {**_OFF, "completion": "power"},
    "bb-random": {**_OFF, "completion": "random"},
    # The strategy's defaults (member_votes=None is True for these models).
    "bb-votes+power": {"member_votes": True, "completion": "power"},
}
#: Tried on one seed of the MLP setting only (too slow for the shared machine).
EXTRA_REMEDIES: dict[str, dict | None] = {
    "bb-noise0.2": {**_OFF, "label_noise": 0.2},
    "bb-noise0.05+power": {**_OFF, "label_noise": 0.05, "completion": "power"},
}
EARLY_STRATEGIES: dict[str, dict | None] = {
    "random": None,
    "powerbald": None,
    "batchbald": None,  # the strategy's defaults: votes + power completion
    "bb-probs+power": {"member_votes": False, "completion": "power"},
    "bb-votes+random": {"member_votes": True, "completion": "random"},
}
FULL_STRATEGIES: dict[str, dict | None] = {
    "random": None,
    "bald": None,
    "batchbald": None,  # the strategy's defaults
}


def _dataset(name: str, seed: int):
    from batchbald import datasets

    if name == "digits":
        return datasets.load_digits_pool(random_state=seed)
    return datasets.make_repeated_digits(3, 0.1, random_state=seed)


def _forest_factory(n_classes: int):
    from sklearn.ensemble import RandomForestClassifier

    from batchbald.classifier import SklearnClassifier

    def factory(seed: int):
        forest = RandomForestClassifier(100, n_jobs=1, random_state=seed)
        return SklearnClassifier(
            forest, classes=np.arange(n_classes), random_state=seed
        )

    factory.__name__ = "random-forest-100"
    return factory


def _strategy(label: str, kwargs: dict | None):
    if kwargs is None:
        return label
    from batchbald.pool import BatchBALD

    def factory(random_state):
        return BatchBALD(random_state=random_state, **kwargs)

    return (label, factory)


def _settings(grid: str):
    if grid == "remedy":
        for model in ("bagging-mlp", "bagging-logreg", "random-forest"):
            yield model, "repeated-digits", 20, 8
        return
    if grid == "early":
        for data in DATA:
            for model in ("bagging-mlp", "bagging-logreg"):
                yield model, data, 20, 3
        return
    cycles = {10: 12, 20: 8, 40: 5}
    # b = 20 first (the fast logistic regressions first), then b = 10 and 40.
    models = ("bagging-logreg", "bagging-mlp", "random-forest")
    order = [(m, d, b) for b in (20, 10, 40) for m in models for d in DATA]
    for m, d, b in order:
        yield m, d, b, cycles[b]


def _run(model, data, b, n_cycles, label, kwargs, seed):
    from batchbald.experiments import run_experiment

    # The data split is fixed (seed 0); the seed varies the initial set, the
    # models and the strategies.
    ds = _dataset(data, 0)
    model_ref = _forest_factory(ds.n_classes) if model == "random-forest" else model
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_experiment(
            ds,
            [_strategy(label, kwargs)],
            model=model_ref,
            seeds=[seed],
            batch_size=b,
            n_cycles=n_cycles,
            n_members=10,
        )
    return result.records, time.perf_counter() - t0


def run_grid(
    grid: str, seeds: int, out: Path, only=None, models=None, batch_sizes=None
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"runs_{grid}.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["model"], r["data"], r["b"], r["strategy"], r["seed"]))
    strategies = {
        "remedy": REMEDY_STRATEGIES, "early": EARLY_STRATEGIES
    }.get(grid, FULL_STRATEGIES)  # fmt: skip
    strategies = {**strategies, **EXTRA_REMEDIES}
    for model, data, b, n_cycles in _settings(grid):
        if (models and model not in models) or (batch_sizes and b not in batch_sizes):
            continue
        for seed in range(seeds):
            for label, kwargs in strategies.items():
                key = (model, data, b, label, seed)
                if key in done or (only and label not in only):
                    continue
                if not only and label in EXTRA_REMEDIES:
                    continue
                records, wall = _run(model, data, b, n_cycles, label, kwargs, seed)
                row = {
                    "model": model,
                    "data": data,
                    "b": b,
                    "strategy": label,
                    "seed": seed,
                    "wall_s": round(wall, 2),
                    "n_labels": [r["n_labels"] for r in records],
                    "accuracy": [r["accuracy"] for r in records],
                }
                with path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{key} acc={row['accuracy'][-1]:.3f} {wall:.0f}s", flush=True)


def _labels_needed(rows, target):
    needed = []
    for r in rows:
        hits = [
            n for n, a in zip(r["n_labels"], r["accuracy"], strict=True) if a >= target
        ]
        needed.append(hits[0] if hits else math.inf)
    med = float(np.median(needed))
    return "n.r." if math.isinf(med) else f"{med:.0f}"


def summarize(grid: str, out: Path) -> str:
    rows = [
        json.loads(x) for x in (out / f"runs_{grid}.jsonl").read_text().splitlines()
    ]
    settings = sorted({(r["model"], r["data"], r["b"]) for r in rows})
    head = ["model", "data", "b", "strategy", "seeds"]
    head += [f"labels to {t:.0%}" for t in TARGETS]
    head += ["mean AUC acc", "final acc"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model, data, b in settings:
        sub = [r for r in rows if (r["model"], r["data"], r["b"]) == (model, data, b)]
        for label in dict.fromkeys(r["strategy"] for r in sub):
            rs = [r for r in sub if r["strategy"] == label]
            auc = np.mean([np.mean(r["accuracy"]) for r in rs])
            final = np.mean([r["accuracy"][-1] for r in rs])
            cells = [model, data, str(b), label, str(len(rs))]
            cells += [_labels_needed(rs, t) for t in TARGETS]
            cells += [f"{auc:.4f}", f"{final:.4f}"]
            lines.append("| " + " | ".join(cells) + " |")
    text = (
        f"Grid `{grid}` (benchmarks/experiment_saturation.py): median labels "
        "over seeds to reach each test accuracy (n.r.: not reached by the "
        "median seed), mean accuracy over all cycles and at the last cycle.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    if grid == "early":
        text += "\n" + _by_cycle(rows)
    (out / f"summary_{grid}.md").write_text(text)
    return text


def _by_cycle(rows) -> str:
    """Mean test accuracy per cycle, +- its standard error over seeds."""
    n_cycles = max(len(r["accuracy"]) for r in rows)
    head = ["model", "data", "strategy", "seeds"]
    head += [f"{n} labels" for n in rows[0]["n_labels"][:n_cycles]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model, data in sorted({(r["model"], r["data"]) for r in rows}):
        sub = [r for r in rows if (r["model"], r["data"]) == (model, data)]
        for label in dict.fromkeys(r["strategy"] for r in sub):
            acc = np.array([r["accuracy"] for r in sub if r["strategy"] == label])
            se = (
                acc.std(axis=0, ddof=1) / np.sqrt(len(acc))
                if len(acc) > 1
                else 0 * acc[0]
            )
            cells = [model, data, label, str(len(acc))]
            cells += [
                f"{m:.3f} +- {e:.3f}" for m, e in zip(acc.mean(0), se, strict=True)
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return (
        "Mean test accuracy by number of labels, +- the standard error over "
        "seeds:\n\n" + "\n".join(lines) + "\n"
    )


def _records(rows) -> list[dict]:
    """Runs of the grid as :func:`batchbald.experiments.plot_learning_curves`
    records (one per strategy, seed and cycle), BatchBALD first (the
    strategies keep the colours of ``batchbald experiment``'s figures)."""
    order = {"batchbald": 0, "bald": 1}
    rows = sorted(rows, key=lambda r: order.get(r["strategy"], 2))
    return [
        {"strategy": r["strategy"], "seed": r["seed"], "cycle": c, "n_labels": n,
         "accuracy": a}
        for r in rows
        for c, (n, a) in enumerate(zip(r["n_labels"], r["accuracy"], strict=True))
    ]  # fmt: skip


def plot_panels(grid: str, out: Path, panels: list[str], path: Path) -> None:
    """Learning curves of ``panels`` (``model/data/b``), one axes each, from
    the runs recorded in ``out`` (the README's scikit-learn panels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from batchbald.experiments import plot_learning_curves

    rows = [
        json.loads(x) for x in (out / f"runs_{grid}.jsonl").read_text().splitlines()
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.6))
    for ax, panel in zip(np.atleast_1d(axes), panels, strict=True):
        model, data, b = panel.split("/")
        key = (model, data, b)
        sub = [r for r in rows if (r["model"], r["data"], str(r["b"])) == key]
        if not sub:
            raise SystemExit(f"no runs recorded for {panel} in {out}")
        plot_learning_curves(
            _records(sub), ax, band="iqr", targets=TARGETS,
            title=f"{data}, {model} (K={10 if 'bagging' in model else 100}), batch {b}",
        )  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("remedy", "early", "full"), default="remedy")
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds per setting (remedy: 3, early: 12, full: 5)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--strategies", default=None, help="comma-separated labels to run (all)"
    )
    parser.add_argument(
        "--models", default=None, help="comma-separated models to run (all)"
    )
    parser.add_argument(
        "--batch-sizes",
        default=None,
        help="comma-separated batch sizes to run (all of the grid's)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="only summarize the runs recorded so far"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="draw the learning curves of --panels from the recorded runs here",
    )
    parser.add_argument(
        "--panels",
        default="bagging-mlp/repeated-digits/20,bagging-logreg/repeated-digits/20",
        help="comma-separated model/data/b settings for --plot",
    )
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    if args.plot is not None:
        plot_panels(args.grid, args.out, args.panels.split(","), args.plot)
        return
    if not args.summary:
        seeds = args.seeds or {"remedy": 3, "early": 12}.get(args.grid, 5)
        only = args.strategies.split(",") if args.strategies else None
        models = args.models.split(",") if args.models else None
        sizes = args.batch_sizes and [int(b) for b in args.batch_sizes.split(",")]
        run_grid(args.grid, seeds, args.out, only, models, sizes)
    print(summarize(args.grid, args.out))


if __name__ == "__main__":
    main()
