"""``batchbald query``: which rows of a CSV file to label next (and label them).

Parsing and orchestration only: the table and the label saving are
:mod:`batchbald.tables`, the features :mod:`batchbald.features`, the models
:mod:`batchbald.models`, the cold start :mod:`batchbald.coldstart`, the
session :mod:`batchbald.cli._interactive`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from .._names import MODELS, STRATEGIES, describe
from .._progress import progress_bar
from ..labeling import SCORE_COLUMN
from ._args import add_beta, add_configurations, add_members, add_method, positive_int

NAME = "query"

_DESCRIPTION = f"""\
Read a table (CSV, or TSV for .tsv files) in which the rows with an empty
--label-column are unlabeled, fit an ensemble on the labeled rows, and choose
the unlabeled rows whose labels would tell the model the most.

Features are the --features columns (default: every other column), less the
--exclude columns (leave out IDs and notes). Numeric columns are used as they
are, other columns are one-hot encoded (listed on stderr; --no-one-hot rejects
them instead); all features are standardised. Empty feature cells are an
error. Labels may be any text or numbers; only an empty cell means
"unlabeled". A table whose features would not fit in memory (an ID column
one-hot encoded, say) is refused before anything is allocated.

methods (--method):
{describe(STRATEGIES)}

models (--model; default gp-bagging, or logreg-bagging when a Gaussian process
would not fit in memory or would take minutes, as stderr then says):
{describe(MODELS)}

Without --interactive, the chosen rows are written to --out (default
to_label.csv; "-" for stdout), in the order chosen: row (1 = first data row
after the header, blank lines not counted), line (the line of DATA on which
the row starts), step, the score, then the row's cells. The score column is
gain_nats for batchbald (the step's gain in joint information; they add up to
the batch's I(y_batch; w)), bald_nats for bald, powerbald and random (each
row's own BALD score), entropy_nats for entropy. Text cells a spreadsheet
would run as formulas (starting with =, +, -, @, tab or CR, and not a number)
are written with a leading '. DATA is only read.

With --interactive, each chosen row is shown with its score and the model's
predicted class and probability, and its label asked for; every answer is
saved into DATA at once (u undoes the last one, saved the same way). The
session locks DATA (a .DATA.lock file next to it), so a second session is
refused. The first save copies DATA to DATA.bak (or DATA.bak.1, .2, ...:
backups are never overwritten) with DATA's permissions; each save writes a
temporary file next to DATA, fsyncs it and renames it over DATA, so Ctrl-C, a
crash or a power cut leaves DATA valid with every answer given so far. Only
the label cells change: other cells, quoting, column order, line endings and
permissions stay as they were. A symbolic link is written through to its
target. A read-only DATA and one with several hard links are refused (the
rename would break the link; work on a copy). If DATA changes on disk during
the session, the session stops rather than overwrite those changes; a full
disk stops it with DATA intact.

With no labels yet, or a single class, no model can rank the rows: the batch
is then a diverse one (k-means++ seeding over the standardised features, away
from the labeled rows), and the command says so.
"""

_EPILOG = """\
examples:
  batchbald query data.csv --label-column species --batch-size 10
  batchbald query data.csv -y species -b 10 --model rf --exclude id,notes
  batchbald query data.csv -y species -b 5 --interactive      # label in the terminal
  batchbald query data.csv -y label -b 20 --method powerbald --out - | less

interactive answers: a number picks a listed class (when no class is itself an
integer), any other text is a label (new labels are confirmed), "=TEXT" enters
TEXT literally (e.g. "=q"), Enter skips the row, u undoes the last answer, q
quits.

exit status: 0 ok (also when nothing is left to label), 2 bad arguments or
input (a full disk included; DATA is then unchanged), 130 interrupted (Ctrl-C;
every answer already given is saved)
"""


def _delimiter(text: str) -> str:
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"expected one character (or 'tab'), got {text!r}"
        )
    return text


#: The options of ``query`` (flags, keywords of ``add_argument``).
# fmt: off
_OPTIONS: list[tuple[tuple[str, ...], dict]] = [
    (("data",), dict(type=Path, metavar="DATA.csv",
     help="the table; rows with an empty label cell are unlabeled")),
    (("--label-column", "-y"), dict(required=True, metavar="COL",
     help="name of the label column")),
    (("--batch-size", "-b"), dict(type=positive_int, required=True, metavar="B",
     help="number of rows to choose")),
    (("--model",), dict(default=None, metavar="MODEL",
     help="ensemble fitted on the labeled rows: " + ", ".join(MODELS)
     + " (default: gp-bagging, or logreg-bagging on large tables)")),
    (("--features",), dict(default=None, metavar="COLS",
     help="comma-separated feature columns (default: all but the label column)")),
    (("--exclude",), dict(default=None, metavar="COLS",
     help="comma-separated columns to leave out of the features (IDs, notes)")),
    (("--no-one-hot",), dict(dest="one_hot", action="store_false",
     help="reject non-numeric feature columns instead of one-hot encoding them")),
    (("--out", "-o"), dict(default=None, metavar="FILE",
     help="where to write the chosen rows, - for stdout (default: to_label.csv; "
     "with --interactive only when given)")),
    (("--force",), dict(action="store_true", help="replace --out if it exists")),
    (("--interactive", "-i"), dict(action="store_true",
     help="ask for the chosen rows' labels and save them into DATA")),
    (("--seed",), dict(type=int, default=0,
     help="random seed of the model and the selection (default: 0)")),
    (("--delimiter",), dict(type=_delimiter, default=None, metavar="CHAR",
     help="field separator (default: tab for .tsv, else comma)")),
    (("--encoding",), dict(default="utf-8",
     help="text encoding of DATA (default: utf-8; a BOM is kept)")),
    (("--no-progress",), dict(dest="progress", action="store_false",
     help="hide the progress bar (drawn only when stderr is a terminal)")),
]
# fmt: on


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``query`` on the sub-parsers of the ``batchbald`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="choose the rows of a CSV file to label next, or label them",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flags, kwargs in _OPTIONS:
        p.add_argument(*flags, **kwargs)
    add_members(p, default=10)
    add_method(p)
    add_configurations(p, deprecated=("--samples",))
    add_beta(p)
    return p


def _note(message: str) -> None:
    print(f"batchbald query: {message}", file=sys.stderr)


def _out_path(args) -> Path | None:
    """Where the chosen rows go (``Path("-")`` = stdout), checked up front."""
    from .._files import check_new_file

    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {args.seed}.")
    if args.out is None and args.interactive:
        return None
    out = Path(args.out or "to_label.csv")
    if str(out) == "-":
        if args.interactive:
            raise ValueError(
                "--out - cannot be combined with --interactive, which talks on "
                "stdout; give a file name."
            )
        return out
    check_new_file(out, args.force, "output")
    if args.data.exists() and out.resolve() == args.data.resolve():
        raise ValueError(
            "--out must not be the data file; query never overwrites it "
            "(use --interactive to label in place)."
        )
    return out


def _choose(args, table):
    """The problem and the chosen rows; None when every row is labeled."""
    from .. import labeling

    pb = labeling.prepare(
        table,
        args.label_column,
        features=args.features,
        exclude=args.exclude,
        one_hot=args.one_hot,
        notify=_note,
    )
    if len(pb.unlabeled) == 0:
        _note(
            f"all {len(pb.y)} rows of {table.name} are labeled; nothing left to label."
        )
        return None
    if args.batch_size > len(pb.unlabeled):
        _note(f"only {len(pb.unlabeled)} unlabeled rows; choosing all of them.")
    total = min(args.batch_size, len(pb.unlabeled))
    with progress_bar(
        total, f"query ({args.method})", unit="row", enabled=args.progress
    ) as bar:
        choice = labeling.choose_batch(
            pb,
            args.batch_size,
            method=args.method,
            model=args.model,
            n_members=args.members,
            seed=args.seed,
            n_configurations=args.configurations,
            beta=args.beta,
            callback=lambda *_: bar.update(),
            notify=_note,
        )
    return pb, choice


def _write_out(out: Path, data: bytes, force: bool) -> str:
    """Write the chosen rows; returns where, for the summary."""
    from .._files import atomic_write

    if str(out) == "-":
        sys.stdout.flush()
        stream = getattr(sys.stdout, "buffer", None)
        try:
            if stream is None:
                sys.stdout.write(data.decode("utf-8", "replace"))
            else:
                stream.write(data)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. | head: the reader has what it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return "the rows to stdout"
    atomic_write(out, data, overwrite=force)
    return str(out)


def _summary(args, choice, n_unlabeled: int, t0: float, wrote) -> None:
    import numpy as np

    finite = choice.scores[np.isfinite(choice.scores)]
    text = f"chose {len(choice.rows)} of {n_unlabeled} unlabeled rows"
    if len(finite):
        score = SCORE_COLUMN[args.method]
        what = (
            "joint information I(batch; w)"
            if args.method == "batchbald"
            else f"sum of {score[:-5]} scores"
        )
        total = f"{float(finite.sum()):.4f}"
        if choice.selection is not None and args.method == "batchbald":
            from .select import total_text

            total = total_text(choice.selection)
        text += f"; {what} = {total} nats"
    text += f"; {time.perf_counter() - t0:.2f} s"
    if wrote is not None:
        text += f"; wrote {wrote}"
    _note(text)
    if choice.selection is not None and args.method == "batchbald":
        from ..saturation import selection_saturation_message

        message = selection_saturation_message(
            choice.selection, choice.n_members, completion="power"
        )
        if message is not None:
            _note(message)


def _label(args, labels, pb, choice) -> None:
    """The interactive session over the chosen rows."""
    from ._interactive import Session, shown_rows

    stray = sorted(labels.path.parent.glob(f".{labels.path.name}.*.tmp"))
    if stray:
        _note(
            f"found {len(stray)} leftover temporary file(s) of an interrupted "
            f"save (e.g. {stray[0]}); {labels.path} itself is intact and they "
            "can be deleted."
        )
    items = shown_rows(
        choice.rows, choice.scores, choice.mean_probs, pb.classes, choice.drawn_bald
    )
    session = Session(labels, pb.classes, sys.stdin, sys.stdout)
    try:
        session.run(items, SCORE_COLUMN[args.method])
    except KeyboardInterrupt:
        _note(f"{session.n_saved} answer(s) saved in {args.data}.")
        raise
    _note(
        f"{session.n_saved} answer(s) saved in {args.data}"
        + (f" (backup: {labels.backup})" if labels.backup else "")
        + ". Run the command again for the next batch."
    )


def run(args: argparse.Namespace) -> int:
    """Carry out ``batchbald query``; returns the exit status."""
    from .._files import is_disk_full

    t0 = time.perf_counter()
    try:
        return _run(args, t0)
    except IsADirectoryError as exc:
        raise ValueError(f"{exc.filename} is a directory.") from None
    except PermissionError as exc:
        raise ValueError(f"{exc.filename}: permission denied.") from None
    except OSError as exc:
        if is_disk_full(exc):
            raise ValueError(
                f"no space left on the device ({exc.filename or 'writing'}); "
                f"nothing was written and {args.data} is unchanged."
            ) from None
        raise


def _run(args, t0) -> int:
    from ..tables import CsvTable, LabelFile, chosen_rows_csv

    out = _out_path(args)
    with contextlib.ExitStack() as stack:
        labels = None
        if args.interactive:
            labels = LabelFile.open(
                args.data,
                args.label_column,
                delimiter=args.delimiter,
                encoding=args.encoding,
            )
            stack.enter_context(labels.locked(timeout=0.0))
            table = labels.table
        else:
            table, _ = CsvTable.read(args.data, args.delimiter, args.encoding)
        chosen = _choose(args, table)
        if chosen is None:
            return 0
        pb, choice = chosen
        wrote = None
        if out is not None:
            data = chosen_rows_csv(
                table,
                choice.rows,
                choice.scores,
                SCORE_COLUMN[args.method],
                args.encoding,
            )
            wrote = _write_out(out, data, args.force)
        _summary(args, choice, len(pb.unlabeled), t0, wrote)
        if labels is not None:
            _label(args, labels, pb, choice)
    return 0
