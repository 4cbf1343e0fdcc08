"""The one list of strategy, model and data-set names (no heavy imports).

Every public entry point that takes a strategy or model name, and every CLI
sub-command with its ``--help``, reads these tables, so the names and their
one-line descriptions can never drift apart. Importing this module costs
nothing beyond the standard library, which keeps ``batchbald --help`` fast.

Naming across the API and the CLI: ``M`` is the number of configurations
(joint labellings of the selected set; ``n_MC_samples`` in the
scikit-activeml-compatible strategies, ``n_configurations`` elsewhere,
``--configurations/-M`` on the command line), ``K`` the number of ensemble
members or MC-dropout samples (``n_members``, ``--members/-K``) and ``N`` the
number of pool points (``n_pool``, ``--pool-size``).
"""

from __future__ import annotations

#: Strategy name -> (class name in :mod:`batchbald.pool`, one-line description).
STRATEGIES: dict[str, tuple[str, str]] = {
    "batchbald": ("BatchBALD", "greedy joint mutual information I(y_1..y_b; w)"),
    "bald": ("GreedyBALD", "the b highest BALD scores (top-k BALD)"),
    "powerbald": ("PowerBALD", "sampled proportionally to BALD**beta"),
    "softmaxbald": ("SoftmaxBALD", "sampled proportionally to exp(beta BALD)"),
    "softrankbald": ("SoftrankBALD", "sampled proportionally to rank**-beta"),
    "entropy": ("EntropySampling", "the highest entropies of the mean prediction"),
    "random": ("RandomSampling", "uniformly at random"),
    "epig": ("EPIG", "the b highest EPIG scores E_x* I(y; y*) (needs targets)"),
    "batchepig": ("BatchEPIG", "greedy joint predictive gain E_x* I(y_1..y_b; y*)"),
    "powerepig": ("PowerEPIG", "sampled proportionally to EPIG**beta"),
    "softmaxepig": ("SoftmaxEPIG", "sampled proportionally to exp(beta EPIG)"),
    "softrankepig": ("SoftrankEPIG", "sampled proportionally to rank**-beta of EPIG"),
}

#: Model name -> one-line description (the factories live in batchbald.models).
MODELS: dict[str, str] = {
    "gp-bagging": "bagging of K Gaussian-process classifiers (small tables)",
    "rf": "random forest; its K trees are the members",
    "logreg-bagging": "bagging of K logistic regressions",
    "mlp-bagging": "bagging of K small scikit-learn MLPs",
    "mc-dropout": "MC-dropout MLP from batchbald.deep (needs torch); K = MC samples",
}

#: Deprecated model names still accepted (with a FutureWarning) -> current name.
MODEL_ALIASES: dict[str, str] = {
    "bagging-logreg": "logreg-bagging",
    "bagging-mlp": "mlp-bagging",
}

#: Offline data sets of batchbald.datasets -> one-line description.
DATASETS: dict[str, str] = {
    "digits": "scikit-learn's 8x8 digits (1,797 images, 10 classes)",
    "repeated-digits": "digits, each pool image three times with N(0, 0.1) noise",
    "blobs": "2-D Gaussian blobs labelled by parity",
}


def describe(table: dict) -> str:
    """``name: description`` lines for ``--help`` texts."""
    rows = []
    for name, value in table.items():
        text = value[1] if isinstance(value, tuple) else value
        rows.append(f"  {name:<14} {text}")
    return "\n".join(rows)
