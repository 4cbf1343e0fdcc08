"""``batchbald experiment``: learning curves of strategies x seeds on a data set."""

from __future__ import annotations

import argparse
import importlib
import sys

from .._names import DATASETS, MODELS, STRATEGIES, describe
from ._args import (
    ModelName,
    add_beta,
    add_configurations,
    add_members,
    add_no_progress,
    add_table_columns,
    names_list,
    strategy_list,
)

NAME = "experiment"
HELP = "run active-learning loops and write learning curves and tables"

DESCRIPTION = f"""\
Run pool-based active learning for several strategies and seeds: start from a
small labelled set, retrain the model every cycle, let the strategy query a
batch from the unlabelled pool, reveal its labels, and record the test
accuracy. For one seed every strategy starts from the same labelled set and
the same initial model. Writes the results as JSON and CSV, a Markdown summary
(labels needed to reach target accuracies) and a learning-curve plot.

The data: a built-in set (--dataset) or your own labelled file (--data): a
table (.csv, .tsv, ...) with --label-column, a .npy of samples with --labels,
or an .npz holding arrays X and y.

strategies (--strategies):
{describe(STRATEGIES)}

models (--model):
{describe(MODELS)}

data sets (--dataset):
{describe(DATASETS)}
"""

EPILOG = """\
examples:
  # the paper's Repeated MNIST finding, small-scale, on a CPU
  batchbald experiment --dataset repeated-digits --model mc-dropout \\
      --strategies batchbald,bald,powerbald,random --seeds 5 --batch-size 10 \\
      --initial 20 --cycles 10 --members 20 --out-dir results/

  # a quick check without torch: bagging of logistic regressions
  batchbald experiment --dataset digits --model logreg-bagging \\
      --strategies bald,random --seeds 2 --cycles 3 --out-dir results/

  # your own table: a label column, an ID column left out
  batchbald experiment --data cells.csv --label-column type --drop-columns id \\
      --strategies batchbald,random --budget 60 --targets 0.9,0.95

  # your own arrays
  batchbald experiment --data X.npy --labels y.npy --strategies bald,random

outputs (in --out-dir, NAME defaults to the data set):
  experiment_NAME.json   configuration, one row per strategy/seed/cycle, summary
  experiment_NAME.csv    the rows: strategy, seed, cycle, n_labels, accuracy,
                         query_time_s, fit_time_s, n_distinct
  experiment_NAME.md     labels needed to reach each target accuracy (median
                         over seeds), accuracy by number of labels, timings
  learning_curve_NAME.png

Existing files are never replaced unless --force is given; this is checked
before the run starts, and every file is written atomically.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``experiment`` sub-command."""
    p = subparsers.add_parser(
        NAME,
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--dataset",
        default=None,
        choices=tuple(DATASETS),
        help="a built-in data set (default: repeated-digits unless --data)",
    )
    g.add_argument(
        "--data",
        default=None,
        metavar="PATH",
        help="your own labelled data: a table (.csv, .tsv) with --label-column, "
        "a .npy of samples with --labels, or an .npz with arrays X and y",
    )
    g.add_argument(
        "--labels",
        default=None,
        metavar="PATH",
        help="--data .npy: the .npy file of the labels",
    )
    add_table_columns(g, prefix="--data table: ")
    g.add_argument(
        "--scaling",
        choices=("standard", "minmax", "none"),
        default="standard",
        help="--data: feature scaling from the pool's statistics (default: "
        "%(default)s)",
    )
    g.add_argument(
        "--pool-size",
        type=int,
        default=None,
        metavar="N",
        help="digits: number of distinct pool images before repeating (default: "
        "all); blobs: number of samples generated, pool and test together",
    )
    g.add_argument(
        "--repeats",
        metavar="R",
        type=int,
        default=3,
        help="repeated-digits: copies of each pool image (default: %(default)s)",
    )
    g.add_argument(
        "--noise",
        metavar="STD",
        type=float,
        default=0.1,
        help="repeated-digits: std of the Gaussian noise added to each copy "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--test-size",
        metavar="F",
        type=float,
        default=0.25,
        help="fraction of the data held out for testing (default: %(default)s)",
    )
    g.add_argument(
        "--data-seed",
        metavar="SEED",
        type=int,
        default=0,
        help="seed of the pool/test split and the noise (default: %(default)s)",
    )

    g = p.add_argument_group("active learning")
    g.add_argument(
        "--strategies",
        type=strategy_list,
        default=["batchbald", "bald", "random"],
        metavar="LIST",
        help="comma-separated strategies, see above (default: batchbald,bald,random)",
    )
    g.add_argument(
        "--seeds",
        default="5",
        metavar="N|LIST",
        help="N runs seeds 0..N-1; a comma-separated list runs those seeds "
        "(a single seed 7: '7,') (default: %(default)s)",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        default=10,
        metavar="B",
        help="labels acquired per cycle (default: %(default)s)",
    )
    g.add_argument(
        "--initial",
        type=int,
        default=20,
        metavar="N",
        help="size of the initial labelled set (default: %(default)s)",
    )
    g.add_argument(
        "--initial-method",
        choices=("balanced", "random"),
        default="balanced",
        help="balanced: the same number per class (default: %(default)s)",
    )
    stop = g.add_mutually_exclusive_group()
    stop.add_argument(
        "--cycles",
        type=int,
        default=None,
        metavar="N",
        help="acquisition cycles (default: 10)",
    )
    stop.add_argument(
        "--budget",
        type=int,
        default=None,
        metavar="N",
        help="stop at this many labels, initial set included",
    )
    add_members(g, default=20, deprecated=("--samples-K",))
    add_configurations(g, deprecated=("--configurations-M",))
    add_beta(g)

    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        action=ModelName,
        default="logreg-bagging",
        metavar="{" + ",".join(MODELS) + "}",
        help="see above; mc-dropout needs torch (default: %(default)s)",
    )
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        metavar="N",
        help="mc-dropout: maximum training epochs per cycle (default: the "
        "classifier's)",
    )
    g.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="N",
        help="mc-dropout: early-stopping patience in epochs, 0 to always train "
        "--epochs epochs (default: the classifier's)",
    )
    g.add_argument(
        "--hidden",
        default=None,
        metavar="LIST",
        help="mc-dropout: hidden layer widths, comma-separated, e.g. 128 or 256,128 "
        "(default: make_mlp's)",
    )
    g.add_argument(
        "--dropout",
        type=float,
        default=None,
        metavar="P",
        help="mc-dropout: dropout probability (default: make_mlp's)",
    )

    g.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        metavar="N",
        help="mc-dropout: torch.set_num_threads(N) for this run; 1 is often "
        "fastest for small networks on a busy machine (default: torch's)",
    )

    g = p.add_argument_group("output")
    g.add_argument(
        "--out-dir",
        default="results",
        metavar="DIR",
        help="output folder (default: %(default)s)",
    )
    g.add_argument(
        "--name",
        default=None,
        metavar="NAME",
        help="file name stem (default: the data set)",
    )
    g.add_argument(
        "--figure",
        default=None,
        metavar="PATH",
        help="path of the PNG (default: DIR/learning_curve_NAME.png)",
    )
    g.add_argument(
        "--targets",
        default="0.8,0.85,0.9",
        metavar="LIST",
        help="target accuracies for the labels-to-reach table (default: %(default)s)",
    )
    g.add_argument(
        "--band",
        choices=("iqr", "minmax", "std", "none"),
        default="iqr",
        help="spread over seeds in the plot (default: %(default)s)",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="replace output files that already exist",
    )
    add_no_progress(g)
    return p


class _UsageError(ValueError):
    """A bad command line; batchbald.cli.main prints it and exits with 2."""


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise _UsageError(
            f"{name} must be comma-separated numbers; got {text!r}"
        ) from None


def _seeds(text: str):
    try:
        parts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise _UsageError(
            f"--seeds must be a number or comma-separated integers; got {text!r}"
        ) from None
    if len(parts) == 1 and "," not in text:
        return parts[0]
    return parts


def _dataset(args):
    """The Dataset: a built-in one, or the user's --data file."""
    from ..datasets import load_dataset
    from ..experiments import load_user_data

    table_only = {
        "--label-column": args.label_column,
        "--labels": args.labels,
        "--features": args.features,
        "--drop-columns": args.drop_columns,
    }
    if args.data is None:
        given = [k for k, v in table_only.items() if v is not None]
        if given:
            raise _UsageError(", ".join(given) + " only apply with --data")
        return _builtin_dataset(args, load_dataset)
    if args.dataset is not None or args.pool_size is not None:
        raise _UsageError("give --dataset (with --pool-size) or --data, not both")
    return load_user_data(
        args.data,
        label_column=args.label_column,
        labels=args.labels,
        features=names_list(args.features),
        drop=names_list(args.drop_columns),
        test_size=args.test_size,
        scaling=args.scaling,
        random_state=args.data_seed,
    )


def _builtin_dataset(args, load_dataset):
    name = args.dataset or "repeated-digits"
    data_kwargs = {"random_state": args.data_seed, "test_size": args.test_size}
    if name == "repeated-digits":
        data_kwargs.update(
            n_repeats=args.repeats, noise=args.noise, n_pool=args.pool_size
        )
    elif name == "digits":
        data_kwargs["n_pool"] = args.pool_size
    elif args.pool_size is not None:
        data_kwargs["n_samples"] = args.pool_size
    return load_dataset(name, **data_kwargs)


def _deep_model_params(args) -> dict:
    """Keywords of the mc-dropout model from --epochs, --hidden, ..."""
    try:
        importlib.import_module("batchbald.deep")
    except ImportError:
        raise _UsageError(
            '--model mc-dropout needs PyTorch: pip install "batchbald[torch]" '
            "(or use --model logreg-bagging)"
        ) from None
    if args.torch_threads is not None:
        if args.torch_threads < 1:
            raise _UsageError(f"--torch-threads must be >= 1; got {args.torch_threads}")
        import torch

        torch.set_num_threads(args.torch_threads)
    params: dict = {}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    if args.patience is not None:
        if args.patience < 0:
            raise _UsageError(f"--patience must be >= 0; got {args.patience}")
        params["patience"] = args.patience or None
    if args.dropout is not None:
        params["dropout"] = args.dropout
    if args.hidden is not None:
        widths = _floats(args.hidden, "--hidden")
        if not widths or any(w < 1 or w != int(w) for w in widths):
            raise _UsageError(
                f"--hidden must be positive integers; got {args.hidden!r}"
            )
        params["hidden"] = tuple(int(w) for w in widths)
    return params


def _model_params(args) -> dict:
    if args.model == "mc-dropout":
        return _deep_model_params(args)
    deep_only = {
        "torch-threads": args.torch_threads,
        "epochs": args.epochs,
        "patience": args.patience,
        "hidden": args.hidden,
        "dropout": args.dropout,
    }
    given = [k for k, v in deep_only.items() if v is not None]
    if given:
        raise _UsageError(
            "--" + ", --".join(given) + " only apply to --model mc-dropout"
        )
    return {}


#: The strategies that take --beta: the sampling ones, BALD's and EPIG's.
_SAMPLING = tuple(
    n for n in STRATEGIES if n.startswith(("power", "softmax", "softrank"))
)
_PARAM_NAMES = ("--beta", "--configurations")


def _build(args):
    from ..registry import check_strategy_params

    strategies = args.strategies
    model_params = _model_params(args)
    dataset = _dataset(args)
    strategy_params = {}
    if args.beta is not None:
        sampling = [s for s in strategies if s in _SAMPLING]
        if not sampling:
            raise _UsageError(
                f"--beta only applies to {', '.join(_SAMPLING)}; "
                "--strategies has none of them"
            )
        for s in sampling:
            beta = check_strategy_params(s, beta=args.beta, names=_PARAM_NAMES)
            strategy_params[s] = {"beta": beta}
    return dataset, strategies, model_params, strategy_params


def run(args) -> int:
    """Run the experiment described by ``args`` and write its files.

    Returns 0; bad usage, and output files that exist without ``--force``,
    raise ``ValueError`` before the run (printed by :func:`batchbald.cli.main`,
    exit status 2).
    """
    from ..experiments import (
        check_outputs,
        free_name,
        labels_to_reach_markdown,
        run_experiment,
    )

    targets = _floats(args.targets, "--targets")
    seeds = _seeds(args.seeds)
    dataset, strategies, model_params, strategy_params = _build(args)
    name = args.name or dataset.name
    check_outputs(args.out_dir, name, args.figure, overwrite=args.force)
    result = run_experiment(
        dataset,
        strategies,
        model=args.model,
        seeds=seeds,
        n_initial=args.initial,
        initial_method=args.initial_method,
        batch_size=args.batch_size,
        n_cycles=args.cycles,
        budget=args.budget,
        n_members=args.members,
        n_configurations=args.configurations,
        model_params=model_params,
        strategy_params=strategy_params,
        progress=args.progress,
    )
    save = dict(
        targets=targets,
        band=None if args.band == "none" else args.band,
        overwrite=args.force,
    )
    try:
        paths = result.save(args.out_dir, name, figure=args.figure, **save)
    except ValueError:
        if args.force:
            raise
        # An output appeared during the run: keep the results under a free name
        # rather than lose them or replace that file.
        free, figure = free_name(args.out_dir, name, args.figure)
        print(
            "batchbald experiment: warning: an output file was created during "
            f"the run; writing the results under the name {free!r} instead.",
            file=sys.stderr,
        )
        paths = result.save(args.out_dir, free, figure=figure, **save)
    print(f"{dataset!r}, {args.model}, wall time {result.config['wall_time_s']:.0f} s")
    print(labels_to_reach_markdown(result.records, targets), end="")
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")
    return 0
