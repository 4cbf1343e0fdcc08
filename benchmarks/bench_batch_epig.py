"""Time of one BatchEPIG query through a scikit-learn ensemble, as a user runs it.

Digits (1,797 samples, 10 classes), a bagging of 10 logistic regressions
(scaled inputs) fitted on 30 random labels, ``BatchEPIG(random_state=0)
.query(X, y, clf, batch_size=B)``: without targets (the unlabeled pool
stands for them) and with 200 target samples, once on the members' votes
(the default for a scikit-learn ensemble) and once on their probabilities
(``member_votes=False``). Each row times one query; the model is fitted
once, before the timings.

Example::

    python benchmarks/bench_batch_epig.py --batch-size 5
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from batchbald.classifier import SklearnClassifier
from batchbald.pool import BatchEPIG


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=5)
    p.add_argument("--labels", type=int, default=30)
    p.add_argument("--targets", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(args.seed)
    y_seen = np.full(len(y), np.nan)
    labelled = rng.choice(len(y), args.labels, replace=False)
    y_seen[labelled] = y[labelled]
    members = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    clf = SklearnClassifier(
        BaggingClassifier(members, n_estimators=10, random_state=args.seed),
        classes=np.arange(10),
        random_state=args.seed,
    ).fit(X, y_seen)
    targets = X[rng.choice(len(X), args.targets, replace=False)]

    print("| members give | targets | seconds | picks | saturated |")
    print("|---|---|---:|---|---|")
    for votes in (True, False):
        for name, tgt in (("the pool", None), (f"{args.targets} samples", targets)):
            strategy = BatchEPIG(random_state=0, member_votes=None if votes else False)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                picks = strategy.query(
                    X, y_seen, clf, batch_size=args.batch_size, targets=tgt
                )
                seconds = time.perf_counter() - t0
            saturated = any("saturated" in str(w.message) for w in caught)
            print(
                f"| {'votes' if votes else 'probabilities'} | {name} | "
                f"{seconds:.2f} | {picks.tolist()} | {'yes' if saturated else 'no'} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
