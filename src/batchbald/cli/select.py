"""``batchbald select``: choose a batch from saved ensemble predictions."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._names import STRATEGIES, describe
from ._args import (
    add_beta,
    add_configurations,
    add_engine_options,
    add_method,
    add_no_progress,
    add_output,
    add_seed,
    check_device,
    check_output,
    check_seed,
    positive_int,
    warn,
)

if TYPE_CHECKING:
    from .. import engine

NAME = "select"
#: The strategies --method offers: every registered one.
METHODS: tuple[str, ...] = tuple(STRATEGIES)

_DESCRIPTION = f"""\
Choose the next batch to label from predictions you saved: the class
probabilities of K ensemble members (or K MC-dropout passes) for N pool
samples, as a .npy or .npz array of shape (K, N, C) (--layout KNC, the order of
scikit-activeml's batch_bald) or (N, K, C) (--layout NKC).

methods (--method):
{describe(STRATEGIES)}

Writes one row per chosen sample, in the order chosen: step (1 = first),
index (0-based, into the full pool) and the gain in nats: gain_nats for
batchbald (the step's increase of the joint information I(y_batch; w); their
sum is the batch's), entropy_nats for entropy, and otherwise bald_nats (the
sample's own BALD score I(y; w); their sum over-counts what samples share).
The EPIG methods write gain_nats for batchepig (the step's increase of the
joint predictive information E_x* I(y_batch; y*)) and epig_nats otherwise (the
sample's own EPIG score E_x* I(y; y*)).

EPIG methods (epig, batchepig, powerepig, softmaxepig, softrankepig) score the
pool by what labelling a sample tells about the predictions on target inputs:
--targets TARGETS gives the probabilities of the same K members for T target
samples, shape (K, T, C), read like PREDICTIONS (same --layout, --log and
--key). Without --targets the pool itself stands for the targets (also when
--candidates restricts the choice: the candidates stand for them).

.npy files are memory-mapped and read chunk by chunk, so a pool larger than
memory works; --log and --candidates need a converted copy, kept in memory up
to --max-memory and in an (automatically deleted) temporary file beyond that.
.npz archives are read into memory. Nothing is overwritten without --force,
and the output appears only once complete; its format follows its suffix.
"""

_EPILOG = """\
examples:
  batchbald select probs.npy --batch-size 10
  batchbald select probs.npy --batch-size 10 --out batch.json
  batchbald select logits_logsoftmax.npy --log --layout NKC --batch-size 32
  batchbald select preds.npz --key probs --batch-size 5 --method powerbald --seed 1
  batchbald select probs.npy --batch-size 10 --candidates unlabeled.txt --out - \\
      > batch.csv                     # CSV on stdout, summary on stderr
  batchbald select probs.npy --batch-size 10 --method epig --targets test.npy

exit status: 0 ok, 2 bad arguments or input, 130 interrupted (Ctrl-C)
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``select`` on the sub-parsers of the ``batchbald`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="choose a batch from saved predictions (.npy/.npz)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "predictions",
        type=Path,
        metavar="PREDICTIONS",
        help="a .npy or .npz file of member probabilities, or (with "
        "batchbald[dask]) a zarr store or a folder of .npy shards",
    )
    p.add_argument(
        "--batch-size",
        "-b",
        type=positive_int,
        required=True,
        metavar="B",
        help="number of samples to choose",
    )
    add_method(p)
    p.add_argument(
        "--layout",
        choices=("KNC", "NKC"),
        default=None,
        help="axis order in the file: members K, samples N, classes C (default: "
        "KNC, with a warning when the shape suggests NKC)",
    )
    p.add_argument(
        "--log",
        action="store_true",
        help="the file holds natural log-probabilities (log_softmax "
        "outputs), not probabilities",
    )
    p.add_argument(
        "--key",
        default=None,
        metavar="NAME",
        help="array to use in an .npz holding several",
    )
    p.add_argument(
        "--candidates",
        type=Path,
        default=None,
        metavar="FILE",
        help="restrict the choice to these pool indices (.npy, or text "
        "with integers separated by spaces, commas or newlines); the "
        "output still gives indices into the full pool",
    )
    p.add_argument(
        "--targets",
        type=Path,
        default=None,
        metavar="TARGETS",
        help="EPIG methods: a .npy or .npz file of the same members' "
        "probabilities for target samples, (K, T, C), read like PREDICTIONS "
        "(default: the pool stands for the targets)",
    )
    add_output(p, "selection.csv", ".csv, .json")
    add_configurations(p, deprecated=("--samples",))
    add_beta(p)
    add_seed(p, "ties, sampling and the stochastic methods")
    add_engine_options(p)
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="score the pool on this running Dask cluster (tcp://host:8786; "
        "needs batchbald[dask])",
    )
    cluster.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="score the pool on a local Dask cluster of N worker processes, "
        "started and stopped by the command",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for --scheduler (default: 10)",
    )
    add_no_progress(p)
    return p


_PARAM_NAMES = ("--beta", "--configurations")


def _check_args(args) -> None:
    """Every check that needs no reading, the inputs' existence first."""
    from ..registry import check_strategy_params

    inputs = [args.predictions]
    if args.targets is not None:
        inputs.append(args.targets)
    for path, what in zip(inputs, ("predictions", "targets"), strict=False):
        if not path.exists():
            raise FileNotFoundError(f"{what} file {str(path)!r} does not exist.")
    check_seed(args.seed)
    check_strategy_params(
        args.method, args.beta, args.configurations, names=_PARAM_NAMES
    )
    _check_targeted(args)
    check_output(args.out, (".csv", ".json"), args.force, inputs)
    args.device = check_device(args.device)


def _check_targeted(args) -> None:
    """--targets only for the EPIG methods, --device only for the others."""
    from ..registry import STRATEGY_NAMES, is_targeted

    targeted = is_targeted(args.method)
    epig = ", ".join(n for n in STRATEGY_NAMES if is_targeted(n))
    if args.targets is not None and not targeted:
        raise ValueError(
            f"--targets only applies to the EPIG methods ({epig}); got --method "
            f"{args.method}."
        )
    if args.device is not None and targeted:
        raise ValueError(
            f"--device only applies to the BALD methods; --method {args.method} "
            "runs on numpy (leave --device out)."
        )


def select(probs_K_N_C, method, batch_size, *, seed, n_samples=None, **kwargs):
    """Deprecated: :func:`batchbald.registry.select_from_probabilities` with
    ``random_state=seed`` and ``n_configurations=n_samples`` (ignored, as
    before, for methods other than batchbald). Kept for cli/query."""
    from ..registry import select_from_probabilities

    return select_from_probabilities(
        probs_K_N_C,
        method,
        batch_size,
        random_state=seed,
        n_configurations=n_samples if method == "batchbald" else None,
        **kwargs,
    )


def _load(args, max_memory: int) -> tuple[Any, dict, Any, str]:
    """(probs_K_N_C, file info, candidates or None, layout), checked."""
    from ..predictions import layout_warning, load_checked_probabilities, read_indices

    layout = args.layout or "KNC"
    candidates = None
    if args.candidates is not None:
        candidates = read_indices(args.candidates, "candidates")
    probs, info = load_checked_probabilities(
        args.predictions,
        layout=layout,
        log=args.log,
        key=args.key,
        candidates=candidates,
        max_in_memory=max_memory,
    )
    if args.layout is None and (message := layout_warning(info["shape"], layout)):
        warn(NAME, message)
    if probs.shape[0] < 2:
        warn(
            NAME,
            f"only K=1 member in {args.predictions.name}; every BALD score is 0, "
            "so the choice is arbitrary. Stack several members or MC-dropout "
            "samples on the first axis.",
        )
    return probs, info, candidates, layout


def _load_targets(args, probs, layout: str, max_memory: int) -> tuple[Any, dict]:
    """(target_probs_K_T_C, file info), or (None, {}) without --targets."""
    from ..predictions import load_checked_probabilities

    if args.targets is None:
        return None, {}
    target, info = load_checked_probabilities(
        args.targets, layout=layout, log=args.log, key=args.key,
        max_in_memory=max_memory,
    )  # fmt: skip
    # No layout warning: a swapped file fails the members check below.
    K, C = probs.shape[0], probs.shape[2]
    if (target.shape[0], target.shape[2]) != (K, C):
        raise ValueError(
            f"--targets {args.targets.name} holds {target.shape[0]} members and "
            f"{target.shape[2]} classes (shape {tuple(target.shape)} as "
            f"{layout}); the predictions hold K={K} members and C={C} classes. "
            "Save the targets' probabilities from the same members."
        )
    return target, info


def _choose(
    args, probs, target, batch_size: int, max_memory: int
) -> engine.BatchSelection:
    import warnings

    from .._progress import progress_bar
    from ..registry import select_from_probabilities

    bar = progress_bar(
        batch_size, f"select ({args.method})", unit="point", enabled=args.progress
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # batch size handled above
            return select_from_probabilities(
                probs,
                args.method,
                batch_size,
                random_state=args.seed,
                n_configurations=args.configurations,
                beta=args.beta,
                max_memory=max_memory,
                device=args.device,
                callback=lambda *_: bar.update(),
                target_probs_K_T_C=target,
            )
    except (AssertionError, RuntimeError) as exc:
        if args.device is None:
            raise
        # torch's own errors for a device that failed midway (out of memory)
        raise ValueError(f"--device {args.device}: {exc}") from None
    finally:
        bar.close()


def _write(args, data: bytes) -> str:
    """Write the output (stdout for ``-``); returns where it went."""
    from ..io import atomic_write

    if args.out == "-":
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return "stdout"
    atomic_write(Path(args.out), data, overwrite=args.force)
    return str(args.out)


def run(args: argparse.Namespace) -> int:
    """Carry out ``batchbald select``; returns the exit status."""
    from ..engine import DEFAULT_MAX_MEMORY

    t0 = time.perf_counter()
    _check_args(args)
    max_memory = DEFAULT_MAX_MEMORY if args.max_memory is None else args.max_memory
    if _on_dask(args):
        from ._select_dask import run_dask

        return run_dask(args, max_memory, t0)
    probs, info, candidates, layout = _load(args, max_memory)
    target, target_info = _load_targets(args, probs, layout, max_memory)
    N = probs.shape[1]
    batch_size = args.batch_size
    if batch_size > N:
        where = "candidates" if candidates is not None else "pool samples"
        print(
            f"batchbald select: note: only {N} {where}; selecting all of them.",
            file=sys.stderr,
        )
        batch_size = N
    selection = _choose(args, probs, target, batch_size, max_memory)
    meta = dict(
        layout=layout,
        log=bool(args.log),
        shape=list(info["shape"]),
        pool_size=int(info["shape"][1 if layout == "KNC" else 0]),
        n_candidates=int(N),
        **_targets_meta(args, target_info),
    )
    return finish(args, selection, candidates, N, meta, t0)


def finish(args, selection, candidates, N: int, meta: dict, t0: float) -> int:
    """Write the selection (CSV or JSON by --out's suffix) and the summary."""
    import numpy as np

    from ..predictions import (
        selection_csv,
        selection_json,
        selection_table,
        total_meaning,
    )

    indices = np.asarray(selection.indices)
    if candidates is not None:
        indices = candidates[indices]
    header, rows = selection_table(indices, selection.gains, args.method)
    total = total_text(selection)
    elapsed = time.perf_counter() - t0
    if Path(args.out).suffix.lower() == ".json" and args.out != "-":
        data = selection_json(
            header, rows, args.method, predictions=str(args.predictions),
            seed=args.seed, seconds=elapsed, **meta,
        )  # fmt: skip
    else:
        data = selection_csv(header, rows)
    where = _write(args, data)
    print(
        f"batchbald select: {args.method} chose {len(rows)} of {N} samples; "
        f"{total_meaning(args.method)} = {total} nats; {elapsed:.2f} s; "
        f"wrote {where}",
        file=sys.stderr,
    )
    if args.method == "batchbald":
        from ..saturation import selection_saturation_message

        K = int(meta["shape"][0 if meta["layout"] == "KNC" else 1])
        message = selection_saturation_message(selection, K, completion="power")
        if message is not None:
            warn(NAME, message)
    return 0


def total_text(selection) -> str:
    """The batch's joint information (with its standard error when it is an
    estimate), else the sum of the per-pick scores."""
    import numpy as np

    if selection.joint_information is None:
        return f"{float(np.sum(selection.gains)):.4f}"
    if selection.exact:
        return f"{selection.joint_information:.4f}"
    return (
        f"{selection.joint_information:.4f} +- {selection.joint_information_se:.4f} "
        "(estimate)"
    )


def _on_dask(args) -> bool:
    """A zarr store or shard folder, or a cluster asked for: the Dask path."""
    return (
        args.predictions.is_dir()
        or args.predictions.suffix == ".zarr"
        or args.scheduler is not None
        or args.workers is not None
    )


def _targets_meta(args, target_info: dict) -> dict:
    """The JSON keys that describe the targets of an EPIG method."""
    from ..registry import is_targeted

    if not is_targeted(args.method):
        return {}
    if args.targets is None:
        return {"targets": None}  # the pool stood for the targets
    return {
        "targets": str(args.targets),
        "targets_shape": list(target_info["shape"]),
    }
