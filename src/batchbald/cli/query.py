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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._names import MODELS, describe
from ._args import positive_int

if TYPE_CHECKING:
    pass

NAME = "query"
METHODS = ("batchbald", "bald", "powerbald", "entropy", "random")

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

_SCORE_COLUMN = {
    "batchbald": "gain_nats",
    "bald": "bald_nats",
    "powerbald": "bald_nats",
    "random": "bald_nats",
    "entropy": "entropy_nats",
}


def _delimiter(text: str) -> str:
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"expected one character (or 'tab'), got {text!r}"
        )
    return text


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``query`` on the sub-parsers of the ``batchbald`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="choose the rows of a CSV file to label next, or label them",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data",
        type=Path,
        metavar="DATA.csv",
        help="the table; rows with an empty label cell are unlabeled",
    )
    p.add_argument(
        "--label-column",
        "-y",
        required=True,
        metavar="COL",
        help="name of the label column",
    )
    p.add_argument(
        "--batch-size",
        "-b",
        type=positive_int,
        required=True,
        metavar="B",
        help="number of rows to choose",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="MODEL",
        help="ensemble fitted on the labeled rows: "
        + ", ".join(MODELS)
        + " (default: gp-bagging, or logreg-bagging on large tables)",
    )
    p.add_argument(
        "--members",
        type=positive_int,
        default=10,
        metavar="K",
        help="ensemble members (bags, trees or MC-dropout samples) (default: 10)",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="batchbald",
        help="selection rule (default: batchbald)",
    )
    p.add_argument(
        "--features",
        default=None,
        metavar="COLS",
        help="comma-separated feature columns (default: all but the label column)",
    )
    p.add_argument(
        "--exclude",
        default=None,
        metavar="COLS",
        help="comma-separated columns to leave out of the features (IDs, notes)",
    )
    p.add_argument(
        "--no-one-hot",
        dest="one_hot",
        action="store_false",
        help="reject non-numeric feature columns instead of one-hot encoding them",
    )
    p.add_argument(
        "--out",
        "-o",
        default=None,
        metavar="FILE",
        help="where to write the chosen rows, - for stdout (default: "
        "to_label.csv; with --interactive only when given)",
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--interactive",
        "-i",
        action="store_true",
        help="ask for the chosen rows' labels and save them into DATA",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed of the model and the selection (default: 0)",
    )
    p.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        metavar="M",
        help="batchbald: joint labellings M (default: 1000)",
    )
    p.add_argument(
        "--delimiter",
        type=_delimiter,
        default=None,
        metavar="CHAR",
        help="field separator (default: tab for .tsv, else comma)",
    )
    p.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of DATA (default: utf-8; a BOM is kept)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (drawn only when stderr is a terminal)",
    )
    return p


def _note(message: str) -> None:
    print(f"batchbald query: {message}", file=sys.stderr)


@dataclass
class _Problem:
    """The table turned into what the selection needs."""

    Z: Any  # standardised features, (n_rows, n_features)
    y: Any  # class codes, NaN = unlabeled, (n_rows,)
    classes: list[str]
    unlabeled: Any  # row indices
    batch_size: int


@dataclass
class _Choice:
    rows: Any
    scores: Any
    mean_probs: Any = None  # (len(rows), C) mean member prediction, or None


def _sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


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


def _prepare(args, table) -> _Problem | None:
    """Features, labels and the unlabeled rows; None when all are labeled."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from ..features import encode_features, feature_columns, id_like_columns

    labels = [v.strip() for v in table.column(args.label_column)]
    cols = feature_columns(table, args.label_column, args.features, args.exclude)
    if not table.rows:
        raise ValueError(f"{table.name} has a header but no data rows.")
    feats = encode_features(table, cols, args.one_hot)
    if feats.encoded:
        _note(
            "one-hot encoding non-numeric column(s): "
            + ", ".join(f"{c} ({len(v)} values)" for c, v in feats.encoded.items())
        )
    for c in id_like_columns(feats.encoded, len(table.rows)):
        _note(
            f"warning: column {c!r} has {len(feats.encoded[c])} distinct values, "
            f"like an ID; leave it out with --exclude {c}."
        )
    unlabeled = np.flatnonzero([v == "" for v in labels])
    if len(unlabeled) == 0:
        _note(
            f"all {len(labels)} rows of {table.name} are labeled; nothing "
            "left to label."
        )
        return None
    classes = sorted({v for v in labels if v}, key=_sort_key)
    codes = {c: k for k, c in enumerate(classes)}
    y = np.array([codes[v] if v else np.nan for v in labels], dtype=np.float64)
    batch_size = args.batch_size
    if batch_size > len(unlabeled):
        _note(f"only {len(unlabeled)} unlabeled rows; choosing all of them.")
        batch_size = len(unlabeled)
    Z = StandardScaler().fit_transform(feats.X)
    return _Problem(Z, y, classes, unlabeled, batch_size)


def _cold_start(args, pb: _Problem) -> _Choice:
    """The batch when fewer than two classes are labeled."""
    import numpy as np

    from ..coldstart import diverse_batch
    from ..utils import check_random_state

    labeled = np.flatnonzero(~np.isnan(pb.y))
    rng = check_random_state(args.seed)
    if args.method == "random":  # random needs no model
        rows = pb.unlabeled[rng.permutation(len(pb.unlabeled))[: pb.batch_size]]
        return _Choice(rows, np.full(len(rows), np.nan))
    why = (
        "no row is labeled yet"
        if not pb.classes
        else f"only one class ({pb.classes[0]!r}) is labeled so far"
    )
    _note(
        f"{why}, so no model can rank the rows: choosing a diverse batch "
        "instead (k-means++ seeding over the standardised features"
        + (", away from the labeled rows" if pb.classes else "")
        + f"), not {args.method}. Label it and run again."
    )
    rows = diverse_batch(pb.Z, pb.unlabeled, labeled, pb.batch_size, rng)
    return _Choice(rows, np.full(len(rows), np.nan))


def _model_name(args, pb: _Problem, n_labeled: int) -> str:
    """The model to fit: --model, or the default that fits; cost checked."""
    from .. import models

    sizes = dict(
        n_samples=n_labeled,
        n_features=pb.Z.shape[1],
        n_classes=len(pb.classes),
        n_members=args.members,
    )
    if args.model is None:
        name, why = models.choose_model(models.DEFAULT_MODEL, **sizes)
        if why:
            _note(why + ".")
    else:
        name = models.resolve_model_name(args.model)
    cost = models.check_model_cost(name, **sizes)
    if cost.seconds is not None and cost.seconds > models.MAX_DEFAULT_SECONDS:
        _note(
            f"warning: fitting {name} is estimated to take about "
            f"{cost.seconds / 60:.0f} min; --model logreg-bagging or rf is faster."
        )
    return name


def _fit_probs(args, pb: _Problem, name: str, n_labeled: int):
    """Member probabilities of the unlabeled rows, (K, n_unlabeled, C)."""
    import warnings

    from .. import models
    from ..ensembles import ensemble_probas

    spec = models.make_model(
        name,
        n_features=pb.Z.shape[1],
        n_classes=len(pb.classes),
        n_members=args.members,
        random_state=args.seed,
    )
    _note(f"fitting {name} ({args.members} members) on {n_labeled} labeled rows ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probs, _ = ensemble_probas(
            spec.estimator,
            pb.Z[pb.unlabeled],
            X=pb.Z,
            y=pb.y,
            fit=True,
            **spec.predict_kwargs,
        )
    kinds = sorted({w.category.__name__ for w in caught})
    if kinds:
        _note(
            f"the model issued {len(caught)} warning(s) while fitting "
            f"({', '.join(kinds)}); with few labels that is common."
        )
    return probs


def _select(args, probs, batch_size: int):
    from ..pool import EntropySampling
    from .select import select

    if args.method == "entropy":
        return EntropySampling(random_state=args.seed).select(probs, batch_size)
    bar = None
    if args.progress and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(
            total=batch_size, desc=f"query ({args.method})", unit="row", file=sys.stderr
        )
    try:
        return select(
            probs,
            args.method,
            batch_size,
            seed=args.seed,
            n_samples=args.samples,
            callback=None if bar is None else (lambda *_: bar.update()),
        )
    finally:
        if bar is not None:
            bar.close()


def _choose(args, pb: _Problem) -> _Choice:
    """The chosen rows, their scores and the model's mean predictions."""
    import numpy as np

    if len(pb.classes) < 2:
        return _cold_start(args, pb)
    if args.members < 2 and args.method in ("batchbald", "bald", "powerbald"):
        _note(
            f"warning: with --members {args.members} every BALD score is 0, so "
            f"--method {args.method} chooses arbitrarily; use --members 2 or more."
        )
    n_labeled = int(np.sum(~np.isnan(pb.y)))
    name = _model_name(args, pb, n_labeled)
    probs = _fit_probs(args, pb, name, n_labeled)
    sel = _select(args, probs, pb.batch_size)
    mean = np.asarray(probs[:, sel.indices, :]).mean(axis=0)
    return _Choice(pb.unlabeled[sel.indices], sel.gains, mean)


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


def _summary(args, choice: _Choice, n_unlabeled: int, t0: float, wrote) -> None:
    import numpy as np

    finite = choice.scores[np.isfinite(choice.scores)]
    text = f"chose {len(choice.rows)} of {n_unlabeled} unlabeled rows"
    if len(finite):
        score = _SCORE_COLUMN[args.method]
        what = (
            "joint information I(batch; w)"
            if args.method == "batchbald"
            else f"sum of {score[:-5]} scores"
        )
        text += f"; {what} = {float(finite.sum()):.4f} nats"
    text += f"; {time.perf_counter() - t0:.2f} s"
    if wrote is not None:
        text += f"; wrote {wrote}"
    _note(text)


def _label(args, labels, pb: _Problem, choice: _Choice) -> None:
    """The interactive session over the chosen rows."""
    import math

    from ._interactive import Session, Shown

    stray = sorted(labels.path.parent.glob(f".{labels.path.name}.*.tmp"))
    if stray:
        _note(
            f"found {len(stray)} leftover temporary file(s) of an interrupted "
            f"save (e.g. {stray[0]}); {labels.path} itself is intact and they "
            "can be deleted."
        )
    items = []
    for k, (r, s) in enumerate(zip(choice.rows, choice.scores, strict=True)):
        item = Shown(int(r), None if math.isnan(s) else float(s))
        if choice.mean_probs is not None:
            c = int(choice.mean_probs[k].argmax())
            item.predicted = pb.classes[c]
            item.probability = float(choice.mean_probs[k, c])
        items.append(item)
    session = Session(labels, pb.classes, sys.stdin, sys.stdout)
    try:
        session.run(items, _SCORE_COLUMN[args.method])
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
        pb = _prepare(args, table)
        if pb is None:
            return 0
        choice = _choose(args, pb)
        wrote = None
        if out is not None:
            data = chosen_rows_csv(
                table,
                choice.rows,
                choice.scores,
                _SCORE_COLUMN[args.method],
                args.encoding,
            )
            wrote = _write_out(out, data, args.force)
        _summary(args, choice, len(pb.unlabeled), t0, wrote)
        if labels is not None:
            _label(args, labels, pb, choice)
    return 0
