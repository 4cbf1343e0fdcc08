"""Label efficiency of EPIG when the pool does not look like the targets.

The task: classify the digits 0-4 of scikit-learn's 8x8 digits. The test set
and the (unlabeled) target samples come from that distribution only. The
pool, as a pool scraped from the world would, also holds

- every image of the digits 5-9 (classes the task does not care about),
- noise images (uniform pixels), and
- repeated outliers: a few noise images, each many times with small jitter.

The oracle labels every pool point with its true class (5-9 as themselves,
noise as an extra "junk" class 10), so the model has 11 classes; accuracy is
measured on the 0-4 test set (argmax over all 11 classes). Every strategy
starts from the same random labeled points per seed and acquires batches of
``--batch-size`` until ``--budget`` labels. The model is a bagging of ``K``
logistic regressions (:func:`batchbald.ensembles.bagging_ensemble`), refitted
after every batch; the strategies' ``select`` reads its members' outputs
(pool, targets and test predicted in one call): their votes by default
(``--members-as votes``, what BatchBALD and the EPIG strategies score when
``query`` reads a scikit-learn ensemble), or their probabilities.

Reported: labels needed to first reach each target accuracy (mean over the
seeds that reach it, and how many do), accuracy at a few budgets, and the
share of acquired labels that were off-target (digits 5-9 or junk).

Example (about 10 minutes on one busy core)::

    python benchmarks/experiment_epig.py --seeds 5 \\
        --out benchmarks/results/experiment_epig_$(date +%F).md

Costs: BatchEPIG evaluates EPIG once per configuration of the batch so far;
it runs with the library's default of 100 configurations (``--mc``) against
BatchBALD's 1000, on ``--n-targets`` unlabeled targets (default 100). With
the members' votes the joints come from their labels and cost little.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from batchbald.ensembles import bagging_ensemble, ensemble_probas  # noqa: E402
from batchbald.information import member_votes  # noqa: E402
from batchbald.pool import (  # noqa: E402
    EPIG,
    BatchBALD,
    BatchEPIG,
    GreedyBALD,
    PowerBALD,
    PowerEPIG,
)

JUNK = 10
N_CLASSES = 11
STRATEGIES = (
    "random", "bald", "powerbald", "batchbald", "epig", "powerepig", "batchepig"
)  # fmt: skip


def make_problem(seed: int, args):
    """Pool / targets / test split of the shifted digits problem."""
    n_noise, n_outliers, n_repeats = args.noise, args.outliers, args.repeats
    rng = np.random.RandomState(seed)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    on = rng.permutation(np.flatnonzero(y < 5))
    off = rng.permutation(np.flatnonzero(y >= 5))[: args.off_class]
    n_test, n_target = 300, args.n_targets
    test, target, pool_on = (
        on[:n_test],
        on[n_test : n_test + n_target],
        on[n_test + n_target :],
    )
    noise = rng.uniform(0, 1, size=(n_noise, X.shape[1]))
    outliers = rng.uniform(0, 1, size=(n_outliers, X.shape[1]))
    repeated = np.repeat(outliers, n_repeats, axis=0)
    repeated = np.clip(repeated + rng.normal(0, 0.02, size=repeated.shape), 0, 1)
    X_pool = np.concatenate([X[pool_on], X[off], noise, repeated])
    y_pool = np.concatenate(
        [y[pool_on], y[off], np.full(n_noise + len(repeated), JUNK)]
    ).astype(float)
    return X_pool, y_pool, X[target], X[test], y[test]


def choose(name, probs_pool, probs_target, b, rng, args):
    if name == "random":
        return rng.choice(probs_pool.shape[1], size=b, replace=False)
    strategy = {
        "bald": lambda: GreedyBALD(random_state=rng),
        "powerbald": lambda: PowerBALD(random_state=rng),
        "powerepig": lambda: PowerEPIG(random_state=rng),
        "batchbald": lambda: BatchBALD(n_MC_samples=args.mc_bald, random_state=rng),
        "epig": lambda: EPIG(random_state=rng),
        "batchepig": lambda: BatchEPIG(n_MC_samples=args.mc, random_state=rng),
    }[name]()
    if name in ("epig", "powerepig", "batchepig"):
        return strategy.select(probs_pool, probs_target, b).indices
    return strategy.select(probs_pool, b).indices


def run_one(name, problem, args, seed):
    X_pool, y_pool, X_target, X_test, y_test = problem
    rng = np.random.RandomState(1000 + seed)
    y = np.full(len(X_pool), np.nan)
    start = np.random.RandomState(seed).choice(len(X_pool), args.initial, replace=False)
    y[start] = y_pool[start]
    curve, off_target = [], 0
    ens = bagging_ensemble(
        LogisticRegression(C=args.C, max_iter=300),
        args.members,
        classes=np.arange(N_CLASSES),
        random_state=seed,
    )
    while True:
        unlabeled = np.flatnonzero(np.isnan(y))
        stacked = np.concatenate([X_pool[unlabeled], X_target, X_test])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probs, _ = ensemble_probas(ens, stacked, X=X_pool, y=y, fit=True)
        nu, nt = len(unlabeled), len(X_target)
        pred = probs[:, nu + nt :].mean(0).argmax(1)
        n_labels = int(np.sum(~np.isnan(y)))
        curve.append((n_labels, float(np.mean(pred == y_test))))
        if n_labels >= args.budget:
            break
        b = min(args.batch_size, args.budget - n_labels)
        seen = probs[:, : nu + nt]
        if args.members_as == "votes":
            seen = member_votes(seen)
        picks = unlabeled[choose(name, seen[:, :nu], seen[:, nu:], b, rng, args)]
        off_target += int(np.sum(y_pool[picks] >= 5))
        y[picks] = y_pool[picks]
    acquired = args.budget - args.initial
    return curve, off_target / max(1, acquired)


def labels_to_reach(curve, target):
    for n, acc in curve:
        if acc >= target:
            return n
    return None


def report(results, args, seconds) -> str:
    cmd = "python benchmarks/experiment_epig.py " + " ".join(sys.argv[1:])
    lines = [
        f"# EPIG label efficiency on shifted digits ({time.strftime('%Y-%m-%d')})",
        "",
        f"Command: `{cmd.strip()}` ({seconds / 60:.1f} min on this shared machine).",
        "",
        f"Task: digits 0-4 (test 300, targets {args.n_targets} unlabeled). Pool: the "
        f"remaining 0-4 digits, {args.off_class} digits 5-9, {args.noise} noise "
        f"images and "
        f"{args.outliers} outliers x {args.repeats} jittered copies (junk class). "
        f"Model: bagging of {args.members} logistic regressions (C={args.C}), 11 "
        f"classes. Start {args.initial} random labels, batches of "
        f"{args.batch_size}, budget {args.budget}; BatchBALD with "
        f"M={args.mc_bald} configurations, BatchEPIG with M={args.mc}; "
        f"{args.seeds} seeds; "
        f"every strategy scores the members' {args.members_as}.",
        "",
        "Labels needed to reach a test accuracy on digits 0-4 (mean over the "
        "seeds that reach it; in brackets how many of the seeds do):",
        "",
        "| strategy | " + " | ".join(f"{t:.0%}" for t in args.targets) + " | "
        + " | ".join(f"acc@{n}" for n in args.report_at) + " | off-target labels |",
        "|---|" + "---:|" * (len(args.targets) + len(args.report_at) + 1),
    ]  # fmt: skip
    for name in args.strategies:
        runs = results[name]
        cells = []
        for t in args.targets:
            got = [labels_to_reach(c, t) for c, _ in runs]
            ok = [g for g in got if g is not None]
            mean = f"{np.mean(ok):.0f}" if ok else "-"
            cells.append(f"{mean} ({len(ok)}/{len(runs)})")
        for n in args.report_at:
            accs = [dict(c).get(n) for c, _ in runs]
            accs = [a for a in accs if a is not None]
            cells.append(f"{np.mean(accs):.3f} ± {np.std(accs):.3f}" if accs else "-")
        off = np.mean([o for _, o in runs])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {off:.0%} |")
    lines += [
        "",
        "Accuracy curves (mean over seeds): labels -> accuracy",
        "",
    ]
    for name in args.strategies:
        curves = np.array([[a for _, a in c] for c, _ in results[name]])
        ns = [n for n, _ in results[name][0][0]]
        pts = ", ".join(
            f"{n}: {a:.3f}" for n, a in zip(ns, curves.mean(0), strict=True)
        )
        lines.append(f"- {name}: {pts}")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--C", type=float, default=1.0, help="logistic regression C")
    p.add_argument("--initial", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--budget", type=int, default=150)
    p.add_argument(
        "--mc", type=int, default=100, help="BatchEPIG's M (the library's default)"
    )
    p.add_argument("--mc-bald", type=int, default=1000, help="BatchBALD's M")
    p.add_argument("--n-targets", type=int, default=100, help="unlabeled targets")
    p.add_argument("--off-class", type=int, default=400, help="digits 5-9 in pool")
    p.add_argument("--noise", type=int, default=150)
    p.add_argument("--outliers", type=int, default=10)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--targets", default="0.7,0.8,0.85")
    p.add_argument("--report-at", default="50,100,150")
    p.add_argument(
        "--members-as",
        choices=("votes", "probabilities"),
        default="votes",
        help="what every strategy scores: the members' votes (what BatchBALD and "
        "the EPIG strategies score by default when query reads a scikit-learn "
        "ensemble) or their probabilities",
    )
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    args.strategies = [s for s in args.strategies.split(",") if s]
    bad = [s for s in args.strategies if s not in STRATEGIES]
    if bad:
        p.error(f"unknown strategies {bad}; choose from {', '.join(STRATEGIES)}")
    args.targets = [float(t) for t in args.targets.split(",")]
    args.report_at = [int(n) for n in args.report_at.split(",")]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    results: dict[str, list] = {name: [] for name in args.strategies}
    for seed in range(args.seeds):
        problem = make_problem(seed, args)
        for name in args.strategies:
            t1 = time.perf_counter()
            curve, off = run_one(name, problem, args, seed)
            results[name].append((curve, off))
            print(
                f"seed {seed} {name:<10} final acc {curve[-1][1]:.3f} off-target "
                f"{off:.0%} ({time.perf_counter() - t1:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    text = report(results, args, time.perf_counter() - t0)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
