"""Deep Bayesian active learning on digits: MC dropout + BatchBALD vs top-k BALD.

An MLP with dropout is trained on 20 labeled digits; each cycle, BatchBALD
and top-k BALD each ask for 10 more labels from a pool in which every image
appears three times (with a little noise), the situation where top-k BALD
wastes its batch on copies. Prints the test accuracy and how many copies of
an already chosen image each strategy asked for.

Needs PyTorch: pip install "batchbald[torch]". The run takes a minute or two
on a 2-core CPU (time it with ``time python examples/mc_dropout_digits.py``).

Usage: python examples/mc_dropout_digits.py [N_CYCLES] [--quick]

``--quick`` runs the same loop at toy scale (200 distinct pool images, a
smaller network trained for at most 10 epochs, 8 MC-dropout samples): a smoke
test of the code path in a few seconds, not a result to read.
"""

import argparse

import numpy as np

from batchbald.datasets import make_repeated_digits
from batchbald.deep import MCDropoutClassifier, make_mlp
from batchbald.pool import BatchBALD, GreedyBALD
from batchbald.utils import MISSING_LABEL, labeled_indices

#: The real run and the smoke-test scale of --quick.
SETTINGS = {
    "full": {"n_pool": None, "hidden": (128, 128), "max_epochs": 200, "K": 20},
    "quick": {"n_pool": 200, "hidden": (32,), "max_epochs": 10, "K": 8},
}


def run(strategy, data, n_cycles: int, seed: int, settings: dict) -> list[float]:
    rng = np.random.RandomState(seed)
    n_classes = len(np.unique(data.y_pool))
    y = np.full(len(data.y_pool), MISSING_LABEL)
    # Two labels per class to start with.
    for c in range(n_classes):
        y[rng.choice(np.flatnonzero(data.y_pool == c), 2, replace=False)] = c
    net = MCDropoutClassifier(
        make_mlp(data.X_pool.shape[1], n_classes, hidden=settings["hidden"]),
        classes=np.arange(n_classes),
        max_epochs=settings["max_epochs"],
        random_state=rng,
    )
    accuracies = []
    for _ in range(n_cycles):
        net.fit(data.X_pool, y)
        accuracies.append(net.score(data.X_test, data.y_test))
        picks = strategy.query(data.X_pool, y, net, fit_ensemble=False, batch_size=10)
        y[picks] = data.y_pool[picks]
    net.fit(data.X_pool, y)
    accuracies.append(net.score(data.X_test, data.y_test))
    originals = data.groups_pool[labeled_indices(y)]
    copies = len(originals) - len(np.unique(originals))
    print(
        f"{type(strategy).__name__:>10}: accuracy by cycle "
        f"{' '.join(f'{a:.3f}' for a in accuracies)}; "
        f"{copies} labels spent on copies"
    )
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_cycles", nargs="?", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke-test scale")
    args = parser.parse_args()
    settings = SETTINGS["quick" if args.quick else "full"]
    if args.quick:
        import torch

        torch.set_num_threads(1)  # toy networks run fastest on one thread
    data = make_repeated_digits(
        n_repeats=3, noise=0.1, n_pool=settings["n_pool"], random_state=0
    )
    sampling = {"n_members": settings["K"]}
    for strategy in (
        BatchBALD(
            sample_predictions_method_name="sample_proba",
            sample_predictions_dict=sampling,
            random_state=0,
        ),
        GreedyBALD(
            sample_predictions_method_name="sample_proba",
            sample_predictions_dict=sampling,
            random_state=0,
        ),
    ):
        run(strategy, data, args.n_cycles, seed=0, settings=settings)


if __name__ == "__main__":
    main()
