"""EPIG against BALD when the pool is not what the model will be used on.

The model will classify the digits 0-4 of scikit-learn's 8x8 digits. The pool
it may ask labels for also holds the digits 5-9 and noise images (labelled as
a junk class, so the model has 11 classes). BALD asks for whatever the
ensemble is most unsure about, junk included; EPIG asks for what tells the
most about its predictions on the target distribution, given as unlabeled
samples of it (``targets=``).

A bagging of 10 logistic regressions starts from 10 random labels; each
strategy then asks for batches of 10. The script prints, per strategy, the
test accuracy on the digits 0-4 after each batch (mean over ``--seeds``
draws of the problem, default 3) and the share of the labels asked for that
were off target (digits 5-9 or junk). A few seeds are a glimpse, not a
result: the README's experiment (``benchmarks/experiment_epig.py``)
averages 30 and counts the labels each strategy needs.

Usage: python examples/epig_off_target.py [N_CYCLES] [--seeds S]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression

from batchbald.classifier import SklearnClassifier
from batchbald.pool import EPIG, GreedyBALD, PowerEPIG, RandomSampling
from batchbald.utils import MISSING_LABEL

JUNK = 10


def make_problem(rng):
    """Pool (digits 0-9 and noise), unlabeled targets and a test set (0-4)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    on = rng.permutation(np.flatnonzero(y < 5))
    off = rng.permutation(np.flatnonzero(y >= 5))[:400]
    test, targets, pool_on = on[:300], on[300:400], on[400:]
    noise = rng.uniform(0, 1, size=(150, X.shape[1]))
    X_pool = np.concatenate([X[pool_on], X[off], noise])
    y_pool = np.concatenate([y[pool_on], y[off], np.full(len(noise), JUNK)])
    return X_pool, y_pool, X[targets], X[test], y[test]


def run(strategy, problem, n_cycles, seed):
    """Test accuracies after each batch, and how many picks were off target."""
    X_pool, y_pool, X_targets, X_test, y_test = problem
    y = np.full(len(X_pool), MISSING_LABEL)
    start = np.random.RandomState(seed).choice(len(X_pool), 10, replace=False)
    y[start] = y_pool[start]
    clf = SklearnClassifier(
        BaggingClassifier(LogisticRegression(max_iter=300), n_estimators=10),
        classes=np.arange(JUNK + 1),
        random_state=seed,
    )
    accuracies, off_target = [], 0
    for _ in range(n_cycles):
        clf.fit(X_pool, y)
        if isinstance(strategy, (EPIG, PowerEPIG)):
            picks = strategy.query(X_pool, y, clf, batch_size=10, targets=X_targets)
        elif isinstance(strategy, RandomSampling):
            picks = strategy.query(X_pool, y, batch_size=10)
        else:
            picks = strategy.query(X_pool, y, clf, batch_size=10)
        y[picks] = y_pool[picks]  # the person labels them
        off_target += int(np.sum(y_pool[picks] >= 5))
        clf.fit(X_pool, y)
        accuracies.append(float(np.mean(clf.predict(X_test) == y_test)))
    return accuracies, off_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_cycles", nargs="?", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    names = ("random", "BALD", "EPIG", "PowerEPIG")
    curves = {name: [] for name in names}
    off = dict.fromkeys(names, 0)
    for seed in range(args.seeds):
        problem = make_problem(np.random.RandomState(seed))
        strategies = (
            RandomSampling(random_state=seed),
            GreedyBALD(random_state=seed),
            EPIG(random_state=seed),
            PowerEPIG(random_state=seed),
        )
        for name, strategy in zip(names, strategies, strict=True):
            accuracies, off_target = run(strategy, problem, args.n_cycles, seed)
            curves[name].append(accuracies)
            off[name] += off_target
    print(f"mean test accuracy on the digits 0-4 over {args.seeds} seed(s), by batch:")
    for name in names:
        curve = " ".join(f"{a:.2f}" for a in np.mean(curves[name], axis=0))
        share = off[name] / (10 * args.n_cycles * args.seeds)
        print(f"{name:>9}: {curve}; off target {share:.0%}")


if __name__ == "__main__":
    main()
