"""``batchbald experiment``: learning curves of strategies x seeds on a data set."""

from __future__ import annotations

import argparse
import importlib
import sys

NAME = "experiment"
HELP = "run active-learning loops and write learning curves and tables"

DESCRIPTION = """\
Run pool-based active learning for several strategies and seeds: start from a
small labelled set, retrain the model every cycle, let the strategy query a
batch from the unlabelled pool, reveal its labels, and record the test
accuracy. For one seed every strategy starts from the same labelled set and
the same initial model. Writes the results as JSON and CSV, a Markdown summary
(labels needed to reach target accuracies) and a learning-curve plot.
"""

EPILOG = """\
examples:
  # the paper's Repeated MNIST finding, small-scale, on a CPU
  batchbald experiment --dataset repeated-digits --model mc-dropout \\
      --strategies batchbald,bald,powerbald,random --seeds 5 --batch-size 10 \\
      --initial 20 --cycles 10 --samples-K 20 --out-dir results/

  # a quick check without torch: bagging of logistic regressions
  batchbald experiment --dataset digits --model bagging-logreg \\
      --strategies bald,random --seeds 2 --cycles 3 --out-dir results/

  # a label budget instead of a number of cycles, and other target accuracies
  batchbald experiment --dataset blobs --strategies batchbald,random \\
      --budget 60 --targets 0.9,0.95 --out-dir results/

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


# Kept here rather than imported so that ``batchbald --help`` stays fast; the
# tests check that they match batchbald.datasets.DATASETS,
# batchbald.experiments.MODELS and batchbald.experiments.STRATEGIES.
DATASET_CHOICES = ("digits", "repeated-digits", "blobs")
MODEL_CHOICES = ("mc-dropout", "bagging-logreg", "bagging-mlp")
STRATEGY_CHOICES = (
    "batchbald",
    "bald",
    "powerbald",
    "softmaxbald",
    "softrankbald",
    "entropy",
    "random",
)


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
        default="repeated-digits",
        choices=DATASET_CHOICES,
        help="data set (default: %(default)s)",
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
        default="batchbald,bald,random",
        metavar="LIST",
        help="comma-separated, from: "
        + ", ".join(STRATEGY_CHOICES)
        + " (default: %(default)s)",
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
    g.add_argument(
        "--samples-K",
        type=int,
        default=20,
        dest="samples_K",
        metavar="K",
        help="posterior samples: MC-dropout passes or bagging members "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--configurations-M",
        type=int,
        default=None,
        dest="configurations_M",
        metavar="M",
        help="BatchBALD: sampled label configurations for the joint entropy "
        "(default: BatchBALD's own)",
    )
    g.add_argument(
        "--beta",
        metavar="BETA",
        type=float,
        default=None,
        help="PowerBALD/SoftmaxBALD/SoftrankBALD temperature (default: theirs)",
    )

    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default="bagging-logreg",
        choices=MODEL_CHOICES,
        help="mc-dropout needs torch (default: %(default)s)",
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
    g.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar",
    )
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


def _build(args):
    from ..datasets import DATASETS, load_dataset
    from ..experiments import MODELS, STRATEGIES

    if args.dataset not in DATASETS:
        raise _UsageError(
            f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)}"
        )
    if args.model not in MODELS:
        raise _UsageError(
            f"unknown model {args.model!r}; choose from {', '.join(MODELS)}"
        )
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad or not strategies:
        raise _UsageError(
            f"unknown strategy {', '.join(map(repr, bad)) or '(none given)'}; "
            f"choose from {', '.join(STRATEGIES)}"
        )

    deep_only = {
        "torch-threads": args.torch_threads,
        "epochs": args.epochs,
        "patience": args.patience,
        "hidden": args.hidden,
        "dropout": args.dropout,
    }
    given = [k for k, v in deep_only.items() if v is not None]
    model_params = {}
    if args.model == "mc-dropout":
        try:
            importlib.import_module("batchbald.deep")
        except ImportError:
            raise _UsageError(
                '--model mc-dropout needs PyTorch: pip install "batchbald[torch]" '
                "(or use --model bagging-logreg)"
            ) from None
        if args.torch_threads is not None:
            if args.torch_threads < 1:
                raise _UsageError(
                    f"--torch-threads must be >= 1; got {args.torch_threads}"
                )
            import torch

            torch.set_num_threads(args.torch_threads)
        if args.epochs is not None:
            model_params["max_epochs"] = args.epochs
        if args.patience is not None:
            if args.patience < 0:
                raise _UsageError(f"--patience must be >= 0; got {args.patience}")
            model_params["patience"] = args.patience or None
        if args.dropout is not None:
            model_params["dropout"] = args.dropout
        if args.hidden is not None:
            widths = _floats(args.hidden, "--hidden")
            if not widths or any(w < 1 or w != int(w) for w in widths):
                raise _UsageError(
                    f"--hidden must be positive integers; got {args.hidden!r}"
                )
            model_params["hidden"] = tuple(int(w) for w in widths)
    elif given:
        raise _UsageError(
            "--" + ", --".join(given) + " only apply to --model mc-dropout"
        )

    data_kwargs = {"random_state": args.data_seed, "test_size": args.test_size}
    if args.dataset == "repeated-digits":
        data_kwargs.update(
            n_repeats=args.repeats, noise=args.noise, n_pool=args.pool_size
        )
    elif args.dataset == "digits":
        data_kwargs["n_pool"] = args.pool_size
    elif args.pool_size is not None:
        data_kwargs["n_samples"] = args.pool_size
    dataset = load_dataset(args.dataset, **data_kwargs)

    strategy_params = {}
    if args.beta is not None:
        for s in strategies:
            if s in ("powerbald", "softmaxbald", "softrankbald"):
                strategy_params[s] = {"beta": args.beta}
    return dataset, strategies, model_params, strategy_params


def _check_outputs(args, name: str) -> None:
    """Check every output path before the run (see ``io.check_new_file``)."""
    from pathlib import Path

    from ..experiments._result import output_paths
    from ..io import check_new_file

    paths = output_paths(args.out_dir, name, args.figure)
    if paths["figure"].resolve() in {
        p.resolve() for k, p in paths.items() if k != "figure"
    }:
        raise _UsageError(
            f"--figure {str(paths['figure'])!r} is also the path of another "
            "output; choose another --figure."
        )
    for kind, path in paths.items():
        # The first existing folder above the file: save() creates the rest.
        parent = path.parent if str(path.parent) else Path(".")
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise _UsageError(
                f"cannot write {kind} file {str(path)!r}: {str(parent)!r} is not "
                "a folder."
            )
        if parent != (path.parent if str(path.parent) else Path(".")):
            continue  # its folder does not exist yet, so neither does the file
        try:
            check_new_file(path, args.force, kind)
        except ValueError as exc:
            if path.exists() and not path.is_dir():
                raise _UsageError(
                    f"{kind} file {str(path)!r} already exists; refusing to "
                    "overwrite it. Pass --force to replace it, or choose another "
                    "--name or --out-dir."
                ) from None
            raise _UsageError(str(exc)) from None


def _free_name(out_dir, name: str, figure):
    """The first ``NAME-N`` (and ``--figure`` stem ``-N``) whose files are all
    free."""
    from pathlib import Path

    from ..experiments._result import output_paths

    n = 1
    while True:
        fig = None
        if figure is not None:
            fig = Path(figure)
            fig = fig.with_name(f"{fig.stem}-{n}{fig.suffix}")
        paths = output_paths(out_dir, f"{name}-{n}", fig)
        if not any(p.exists() for p in paths.values()):
            return f"{name}-{n}", fig
        n += 1


def run(args) -> int:
    """Run the experiment described by ``args`` and write its files.

    Returns 0; bad usage, and output files that exist without ``--force``,
    raise ``ValueError`` before the run (printed by :func:`batchbald.cli.main`,
    exit status 2).
    """
    from ..experiments import labels_to_reach_markdown, run_experiment

    targets = _floats(args.targets, "--targets")
    seeds = _seeds(args.seeds)
    dataset, strategies, model_params, strategy_params = _build(args)
    name = args.name or dataset.name
    _check_outputs(args, name)
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
        n_samples_K=args.samples_K,
        n_MC_samples=args.configurations_M,
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
        free, figure = _free_name(args.out_dir, name, args.figure)
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
