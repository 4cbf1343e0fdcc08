"""``batchbald select``: choose a batch from saved ensemble predictions."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._args import positive_int

if TYPE_CHECKING:
    from .. import engine

NAME = "select"
METHODS = ("batchbald", "bald", "powerbald", "random")

_DESCRIPTION = """\
Choose the next batch to label from predictions you saved: the class
probabilities of K ensemble members (or K MC-dropout passes) for N pool
samples, as a .npy or .npz array of shape (K, N, C) (--layout KNC, the order of
scikit-activeml's batch_bald) or (N, K, C) (--layout NKC).

Writes one row per chosen sample, in the order chosen: step (1 = first),
index (0-based position in the full pool, also with --candidates) and the gain
in nats. For batchbald the column is gain_nats, the step's increase of the
joint mutual information I(y_batch; w); their sum is the batch's joint
information. For bald, powerbald and random the column is bald_nats, the
sample's own BALD score I(y; w); their sum over-counts what similar samples
share.

.npy files are memory-mapped and read chunk by chunk, so a pool larger than
memory works; --log and --candidates need a converted copy, kept in memory up
to --max-memory and in an (automatically deleted) temporary file beyond that.
.npz archives are read into memory. Nothing is overwritten without --force,
and the output appears only once complete.
"""

_EPILOG = """\
examples:
  batchbald select probs.npy --batch-size 10
  batchbald select probs.npy --batch-size 10 --out batch.json
  batchbald select logits_logsoftmax.npy --log --layout NKC --batch-size 32
  batchbald select preds.npz --key probs --batch-size 5 --method powerbald --seed 1
  batchbald select probs.npy --batch-size 10 --candidates unlabeled.txt --out - \\
      > batch.csv                     # CSV on stdout, summary on stderr

exit status: 0 ok, 2 bad arguments or input, 130 interrupted (Ctrl-C)
"""


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """``"512M"``, ``"2GiB"``, ``"1.5g"`` or a plain number of bytes."""
    match = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(i?b)?\s*", text.lower()
    )
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 512M, 2G or 1000000 (bytes), got {text!r}"
        )
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value < 2**20:
        raise argparse.ArgumentTypeError(f"expected at least 1M, got {text!r}")
    return value


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
        help="a .npy or .npz file of member probabilities",
    )
    p.add_argument(
        "--batch-size",
        "-b",
        type=positive_int,
        required=True,
        metavar="B",
        help="number of samples to choose",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="batchbald",
        help="selection rule (default: batchbald)",
    )
    p.add_argument(
        "--layout",
        choices=("KNC", "NKC"),
        default="KNC",
        help="axis order in the file: members K, samples N, classes C (default: KNC)",
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
        "--out",
        "-o",
        default="selection.csv",
        metavar="FILE",
        help="output: .csv, .json, or - for CSV on stdout (default: selection.csv)",
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        metavar="M",
        help="batchbald: joint labellings M used once exact "
        "enumeration gets too large (default: 1000)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed for ties, sampling and powerbald/random (default: 0)",
    )
    p.add_argument(
        "--max-memory",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="working-memory budget, e.g. 512M or 4G (default: 256M)",
    )
    p.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="run on PyTorch on this device, e.g. cuda or cpu (needs "
        "batchbald[torch]; default: numpy)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar",
    )
    return p


def _check_args(args) -> None:
    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {args.seed}.")
    if args.out != "-":
        from ..io import check_new_file

        out = Path(args.out)
        if out.suffix.lower() not in (".csv", ".json"):
            raise ValueError(
                f"--out must end in .csv or .json (or be - for stdout); got "
                f"{args.out!r}."
            )
        check_new_file(out, args.force, "output")
        if out.resolve() == args.predictions.resolve():
            raise ValueError("--out must not be the predictions file.")


def select(
    probs_K_N_C,
    method,
    batch_size,
    *,
    seed,
    n_samples=None,
    max_memory=None,
    device=None,
    callback=None,
) -> engine.BatchSelection:
    """Run one selection method; returns a :class:`batchbald.engine.BatchSelection`
    whose ``gains`` are BatchBALD gains or BALD scores (see the module help).

    The same choices as the strategies of :mod:`batchbald.pool`
    (``BatchBALD``, ``GreedyBALD``, ``PowerBALD`` with ``beta=1`` and
    ``RandomSampling``) with ``random_state=seed``; the BALD scores are
    computed chunk by chunk so that memory maps are never read whole.
    """
    import numpy as np

    from .. import engine
    from ..information import DEFAULT_EPS
    from ..utils import check_random_state

    budget = engine.DEFAULT_MAX_MEMORY if max_memory is None else max_memory
    if method == "batchbald":
        return engine.select_batch(
            probs_K_N_C,
            batch_size,
            n_samples=n_samples,
            random_state=seed,
            max_memory=budget,
            device=device,
            callback=callback,
        )
    predictive_N, expected_N = engine.pool_entropies(
        probs_K_N_C, eps=DEFAULT_EPS, max_memory=budget, device=device
    )
    scores = predictive_N - expected_N
    rng = check_random_state(seed)
    if method == "bald":
        sel = engine.select_topk(scores, batch_size, rng)
    elif method == "powerbald":
        sel = engine.select_stochastic(scores, batch_size, "power", 1.0, rng)
    elif method == "random":
        sel = engine.select_topk(rng.random_sample(len(scores)), batch_size, rng)
        sel = engine.BatchSelection(
            indices=sel.indices, gains=scores[sel.indices], n_scored=len(scores)
        )
    else:
        raise ValueError(
            f"--method must be one of {', '.join(METHODS)}; got {method!r}."
        )
    if callback is not None:
        for step, (i, g) in enumerate(zip(sel.indices, sel.gains, strict=True)):
            callback(step, int(i), float(g))
    return engine.BatchSelection(
        indices=sel.indices, gains=np.asarray(sel.gains), n_scored=sel.n_scored
    )


def format_rows(indices, gains, method) -> tuple[tuple[str, ...], list[tuple]]:
    """Header and rows of the output table."""
    column = "gain_nats" if method == "batchbald" else "bald_nats"
    rows = [
        (step, int(i), float(g))
        for step, (i, g) in enumerate(zip(indices, gains, strict=True), 1)
    ]
    return ("step", "index", column), rows


def _csv_bytes(header, rows) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for step, index, gain in rows:
        writer.writerow([step, index, repr(gain)])
    return buf.getvalue().encode("utf-8")


def run(args: argparse.Namespace) -> int:
    """Carry out ``batchbald select``; returns the exit status."""
    try:
        return _run(args)
    except IsADirectoryError as exc:
        raise ValueError(f"{exc.filename} is a directory.") from None
    except PermissionError as exc:
        raise ValueError(f"{exc.filename}: permission denied.") from None


def _run(args: argparse.Namespace) -> int:
    import json
    import warnings

    import numpy as np

    from ..engine import DEFAULT_MAX_MEMORY
    from ..information import check_probabilities
    from ..io import atomic_write, load_predictions, probability_hint, read_indices

    t0 = time.perf_counter()
    _check_args(args)
    max_memory = DEFAULT_MAX_MEMORY if args.max_memory is None else args.max_memory
    candidates = None
    if args.candidates is not None:
        candidates = read_indices(args.candidates, "candidates")
    probs, info = load_predictions(
        args.predictions,
        layout=args.layout,
        log=args.log,
        key=args.key,
        candidates=candidates,
        max_in_memory=max_memory,
    )
    K, N, C = probs.shape
    n_pool = info["shape"][1] if args.layout == "KNC" else info["shape"][0]
    label = f"{args.predictions.name} (--layout {args.layout}, shape {info['shape']})"
    try:
        check_probabilities(probs, name=label)
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc) + probability_hint(probs, args.log)) from None
    if K < 2:
        print(
            f"batchbald select: warning: only K=1 member in {args.predictions.name}; "
            "every BALD score is 0, so the choice is arbitrary. Stack several "
            "members or MC-dropout samples on the first axis.",
            file=sys.stderr,
        )
    batch_size = args.batch_size
    if batch_size > N:
        where = "candidates" if candidates is not None else "pool samples"
        print(
            f"batchbald select: note: only {N} {where}; selecting all of them.",
            file=sys.stderr,
        )
        batch_size = N

    bar = None
    if args.progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=batch_size,
            desc=f"select ({args.method})",
            unit="point",
            file=sys.stderr,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # batch size handled above
            selection = select(
                probs,
                args.method,
                batch_size,
                seed=args.seed,
                n_samples=args.samples,
                max_memory=max_memory,
                device=args.device,
                callback=None if bar is None else (lambda *_: bar.update()),
            )
    finally:
        if bar is not None:
            bar.close()

    indices = np.asarray(selection.indices)
    if candidates is not None:
        indices = candidates[indices]
    header, rows = format_rows(indices, selection.gains, args.method)
    total = float(np.sum(selection.gains))
    elapsed = time.perf_counter() - t0
    if args.out == "-":
        sys.stdout.write(_csv_bytes(header, rows).decode("utf-8"))
        sys.stdout.flush()
        where = "stdout"
    else:
        out = Path(args.out)
        if out.suffix.lower() == ".json":
            doc = {
                "predictions": str(args.predictions),
                "layout": args.layout,
                "log": bool(args.log),
                "shape": list(info["shape"]),
                "pool_size": int(n_pool),
                "n_candidates": int(N),
                "method": args.method,
                "batch_size": int(len(rows)),
                "seed": args.seed,
                "gain_column": header[2],
                "total_nats": total,
                "total_is": (
                    "joint mutual information I(y_batch; w)"
                    if args.method == "batchbald"
                    else "sum of the BALD scores (an upper bound on I(y_batch; w))"
                ),
                "seconds": elapsed,
                "selection": [dict(zip(header, r, strict=True)) for r in rows],
            }
            data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
        else:
            data = _csv_bytes(header, rows)
        atomic_write(out, data, overwrite=args.force)
        where = str(out)
    what = (
        "joint information I(batch; w)"
        if args.method == "batchbald"
        else "sum of BALD scores"
    )
    print(
        f"batchbald select: {args.method} chose {len(rows)} of {N} samples; "
        f"{what} = {total:.4f} nats; {elapsed:.2f} s; wrote {where}",
        file=sys.stderr,
    )
    return 0
