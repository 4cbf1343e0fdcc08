"""``batchbald query``: which rows of a CSV file to label next (and label them)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._args import positive_int

if TYPE_CHECKING:
    import numpy as np

    from ..classifier import SklearnClassifier

NAME = "query"
METHODS = ("batchbald", "bald", "powerbald", "entropy", "random")
MODELS = ("gp-bagging", "rf", "logreg-bagging", "mlp-bagging")

_DESCRIPTION = """\
Read a table (CSV, or TSV for .tsv files) in which the rows with an empty
--label-column are unlabeled, fit an ensemble on the labeled rows, and choose
the unlabeled rows whose labels would tell the model the most.

Features are the --features columns (default: every other column; leave out
ID columns). Numeric columns are used as they are, other columns are one-hot
encoded (listed on stderr; --no-one-hot rejects them instead); all features
are standardised. Empty feature cells are an error. Labels may be any text or
numbers; only an empty cell means "unlabeled".

Without --interactive, the chosen rows are written to --out (default
to_label.csv), in the order chosen: row (1 = first data row after the header,
blank lines not counted), line (the line of DATA on which the row starts),
step, the score, then the row's cells. The score column is gain_nats for
batchbald (the step's gain in joint information; they add up to the batch's
I(y_batch; w)), bald_nats for bald, powerbald and random (each row's own BALD
score), entropy_nats for entropy. DATA is only read.

With --interactive, each chosen row is shown and its label asked for; every
answer is saved into DATA at once. The first save copies DATA to DATA.bak
(or DATA.bak.1, .2, ... if that exists: backups are never overwritten); each
save writes a temporary file next to DATA, fsyncs it and renames it over DATA,
so Ctrl-C, a crash or a power cut leaves DATA valid with every answer given so
far. Only the label cells change: other cells, quoting, column order and line
endings stay as they were. If DATA changes on disk during the session, the
session stops rather than overwrite those changes.

With no labels yet, or a single class, no model can rank the rows: the batch
is then a diverse one (k-means++ seeding over the standardised features, away
from the labeled rows), and the command says so.
"""

_EPILOG = """\
examples:
  batchbald query data.csv --label-column species --batch-size 10
  batchbald query data.csv -y species -b 10 --model rf --features length,width
  batchbald query data.csv -y species -b 5 --interactive      # label in the terminal
  batchbald query data.csv -y label -b 20 --method powerbald --out next.csv --force

interactive answers: a number picks a listed class (when no class is itself an
integer), any other text is a label (new labels are confirmed), "=TEXT" enters
TEXT literally (e.g. "=q"), Enter skips the row, q quits.

exit status: 0 ok (also when nothing is left to label), 2 bad arguments or
input, 130 interrupted (Ctrl-C; every answer already given is saved)
"""


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
        choices=MODELS,
        default="gp-bagging",
        help="ensemble fitted on the labeled rows (default: gp-bagging; "
        "rf or logreg-bagging are faster on large tables)",
    )
    p.add_argument(
        "--members",
        type=positive_int,
        default=10,
        metavar="K",
        help="ensemble members (bags or trees) (default: 10)",
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
        help="where to write the chosen rows (default: to_label.csv; "
        "with --interactive only when given)",
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
        help="hide the progress bar",
    )
    return p


def _note(message: str) -> None:
    print(f"batchbald query: {message}", file=sys.stderr)


# --------------------------------------------------------------------------
# table -> features and labels
# --------------------------------------------------------------------------
def _as_float(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _where(table, i: int) -> str:
    return f"row {i + 1} (line {table.row_lines[i]})"


def encode_features(
    table, columns, one_hot: bool = True
) -> tuple[np.ndarray, list[str], dict]:
    """Numeric feature matrix from ``columns`` of ``table``.

    Returns ``(X, names, encoded)``: the (n_rows, n_features) float array,
    the feature names and ``{column: categories}`` of the one-hot encoded
    columns.
    """
    import numpy as np

    blocks, names, encoded = [], [], {}
    for col in columns:
        values = [v.strip() for v in table.column(col)]
        for i, v in enumerate(values):
            if v == "":
                raise ValueError(
                    f"feature column {col!r} is empty in {_where(table, i)}; fill "
                    "it in, or leave the column out with --features (missing "
                    "feature values are not supported)."
                )
        numbers = [_as_float(v) for v in values]
        n_numeric = sum(x is not None for x in numbers)
        if n_numeric == len(values):
            arr = np.asarray(numbers, dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(arr))
            if len(bad):
                raise ValueError(
                    f"feature column {col!r} holds {values[bad[0]]!r} in "
                    f"{_where(table, int(bad[0]))}; features must be finite "
                    "numbers or categories (missing values are not supported)."
                )
            blocks.append(arr[:, None])
            names.append(col)
            continue
        if n_numeric >= max(1, len(values) // 2):
            i = next(k for k, x in enumerate(numbers) if x is None)
            raise ValueError(
                f"feature column {col!r} is numeric except for {values[i]!r} in "
                f"{_where(table, i)}; fix such cells or leave the column out with "
                "--features (missing values are not supported)."
            )
        if not one_hot:
            raise ValueError(
                f"feature column {col!r} is not numeric (e.g. {values[0]!r} in "
                f"{_where(table, 0)}) and --no-one-hot is set; leave it out with "
                "--features or drop --no-one-hot to one-hot encode it."
            )
        cats = sorted(set(values))
        index = {c: k for k, c in enumerate(cats)}
        onehot = np.zeros((len(values), len(cats)))
        onehot[np.arange(len(values)), [index[v] for v in values]] = 1.0
        blocks.append(onehot)
        names.extend(f"{col}={c}" for c in cats)
        encoded[col] = cats
    if not blocks:
        raise ValueError("no feature columns; name some with --features.")
    return np.hstack(blocks), names, encoded


def _sort_key(label: str):
    x = _as_float(label)
    return (0, x, label) if x is not None else (1, 0.0, label)


def _feature_columns(table, label_column: str, features: str | None) -> list[str]:
    if features is None:
        cols = [c for c in table.header if c != label_column]
        if not cols:
            raise ValueError(
                f"{table.name} has no column besides the label column "
                f"{label_column!r}, so there are no features."
            )
        return cols
    cols = [c.strip() for c in features.split(",") if c.strip()]
    if not cols:
        raise ValueError("--features is empty; give comma-separated column names.")
    for c in cols:
        table.column_index(c)
        if c == label_column:
            raise ValueError(
                f"--features names the label column {label_column!r}; a label "
                "cannot be a feature."
            )
    if len(set(cols)) != len(cols):
        raise ValueError("--features names a column twice.")
    return cols


# --------------------------------------------------------------------------
# models and selection
# --------------------------------------------------------------------------
def make_model(
    name: str, n_classes: int, n_members: int, seed: int
) -> SklearnClassifier:
    """The ensemble called ``name`` for classes ``0 .. n_classes - 1``."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from ..classifier import SklearnClassifier
    from ..ensembles import bagging_ensemble

    classes = np.arange(n_classes)
    rng = np.random.RandomState(seed)
    if name == "rf":
        forest = RandomForestClassifier(n_estimators=n_members, random_state=seed)
        return SklearnClassifier(forest, classes=classes, random_state=seed)
    if name == "gp-bagging":
        from sklearn.gaussian_process import GaussianProcessClassifier

        base = GaussianProcessClassifier()
    elif name == "logreg-bagging":
        from sklearn.linear_model import LogisticRegression

        base = LogisticRegression(max_iter=1000)
    elif name == "mlp-bagging":
        from sklearn.neural_network import MLPClassifier

        base = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000)
    else:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}; got {name!r}.")
    return bagging_ensemble(base, n_members, classes=classes, random_state=rng)


def diverse_batch(Z, candidates, labeled, batch_size: int, rng) -> np.ndarray:
    """k-means++ seeding: ``batch_size`` of ``candidates`` (row indices of
    ``Z``), each drawn with probability proportional to its squared distance
    to the nearest labeled or already chosen row."""
    import numpy as np

    C = Z[candidates]
    d2 = None
    for i in labeled:
        d = np.sum((C - Z[i]) ** 2, axis=1)
        d2 = d if d2 is None else np.minimum(d2, d)
    chosen: list[int] = []
    free = np.ones(len(candidates), dtype=bool)
    for _ in range(min(batch_size, len(candidates))):
        if d2 is None or d2[free].sum() <= 0:
            pick = int(rng.choice(np.flatnonzero(free)))
        else:
            p = np.where(free, d2, 0.0)
            pick = int(rng.choice(len(p), p=p / p.sum()))
        chosen.append(pick)
        free[pick] = False
        d = np.sum((C - C[pick]) ** 2, axis=1)
        d2 = d if d2 is None else np.minimum(d2, d)
    return np.asarray(candidates)[chosen]


_SCORE_COLUMN = {
    "batchbald": "gain_nats",
    "bald": "bald_nats",
    "powerbald": "bald_nats",
    "random": "bald_nats",
    "entropy": "entropy_nats",
}


def _choose(args, Z, y_codes, unlabeled, n_classes, batch_size):
    """(rows, scores) chosen by the model and method."""
    import warnings

    import numpy as np

    from ..ensembles import ensemble_probas
    from ..pool import EntropySampling
    from .select import select

    model = make_model(args.model, n_classes, args.members, args.seed)
    if args.members < 2 and args.method in ("batchbald", "bald", "powerbald"):
        _note(
            f"warning: with --members {args.members} every BALD score is 0, so "
            f"--method {args.method} chooses arbitrarily; use --members 2 or more."
        )
    _note(
        f"fitting {args.model} ({args.members} members) on "
        f"{int(np.sum(~np.isnan(y_codes)))} labeled rows ..."
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probs, _ = ensemble_probas(model, Z[unlabeled], X=Z, y=y_codes, fit=True)
    kinds = sorted({w.category.__name__ for w in caught})
    if kinds:
        _note(
            f"the model issued {len(caught)} warning(s) while fitting "
            f"({', '.join(kinds)}); with few labels that is common."
        )
    if args.method == "entropy":
        sel = EntropySampling(random_state=args.seed).select(probs, batch_size)
        return unlabeled[sel.indices], sel.gains
    bar = None
    if args.progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=batch_size, desc=f"query ({args.method})", unit="row", file=sys.stderr
        )
    try:
        sel = select(
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
    return unlabeled[sel.indices], sel.gains


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def _output_bytes(table, rows, scores, score_column, encoding) -> bytes:
    import csv
    import io
    import math

    ours = ["row", "line", "step", score_column]
    header = [("batchbald_" + c if c in table.header else c) for c in ours]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=table.delimiter, lineterminator=table.newline)
    writer.writerow(header + table.header)
    for step, (r, s) in enumerate(zip(rows, scores, strict=True), 1):
        s = "" if s is None or math.isnan(s) else repr(float(s))
        writer.writerow([r + 1, table.row_lines[r], step, s] + table.rows[r])
    text = ("\ufeff" if table.bom else "") + buf.getvalue()
    return text.encode(encoding)


# --------------------------------------------------------------------------
# the interactive session
# --------------------------------------------------------------------------
class _Session:
    """Ask for labels and save each answer into the data file at once."""

    def __init__(
        self,
        table,
        path: Path,
        data: bytes,
        label_column: str,
        classes: list[str],
        encoding: str,
        stdin,
        stdout,
    ):
        self.table, self.path, self.expected = table, path, data
        self.label_column, self.encoding = label_column, encoding
        self.classes = list(classes)
        self.stdin, self.stdout = stdin, stdout
        self.backup: Path | None = None
        self.saved: list[tuple[int, str]] = []

    def say(self, text: str = "", end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()

    def ask(self, prompt: str) -> str | None:
        self.say(prompt, end="")
        line = self.stdin.readline()
        if line == "":
            return None  # end of input
        return line.rstrip("\r\n")

    def shortcuts(self) -> bool:
        return not any(
            _as_float(c) is not None and float(c).is_integer() for c in self.classes
        )

    def menu(self) -> str:
        if not self.classes:
            return "  (no classes yet: type a label)"
        if self.shortcuts():
            return "  " + "   ".join(f"{k}) {c}" for k, c in enumerate(self.classes, 1))
        return "  classes: " + ", ".join(self.classes)

    def answer(self, text: str) -> str | None:
        """The label meant by ``text``; None to ask again. Raises StopIteration
        to quit."""
        text = text.strip()
        if text.lower() in ("q", "quit"):
            raise StopIteration
        if text.startswith("="):
            text = text[1:].strip()
            if not text:
                self.say("  '=' needs a label after it, e.g. =q")
                return None
        elif self.shortcuts() and text.isdigit():
            k = int(text)
            if 1 <= k <= len(self.classes):
                return self.classes[k - 1]
            self.say(
                f"  no class number {k}; choose 1..{len(self.classes)}, or "
                f"type =<label> to use the label {text!r}"
            )
            return None
        if text in self.classes:
            return text
        known = ", ".join(self.classes) or "none yet"
        confirm = self.ask(
            f"  {text!r} is a new class (known: {known}). Add it? [y/N] "
        )
        if confirm is None:
            self.say()
            self.say("end of input: stopping.")
            raise StopIteration
        if confirm.strip().lower() in ("y", "yes"):
            return text
        return None

    def save(self, row: int, label: str) -> None:
        from ..io import atomic_write, backup_path

        current = self.path.read_bytes()
        if current != self.expected:
            raise ValueError(
                f"{self.path} changed on disk since it was read (edited by another "
                f"program?); stopping without saving the label {label!r} for row "
                f"{row + 1}. {len(self.saved)} answer(s) of this session were "
                "saved before. Run the command again to continue."
            )
        old = self.table.rows[row][self.table.column_index(self.label_column)]
        self.table.set_cell(row, self.label_column, label)
        try:
            new = self.table.to_text().encode(self.encoding)
        except UnicodeEncodeError:
            self.table.set_cell(row, self.label_column, old)
            raise ValueError(
                f"the label {label!r} cannot be written in {self.encoding}."
            ) from None
        if self.backup is None:
            self.backup = atomic_write(backup_path(self.path), current, overwrite=False)
            self.say(f"  (the file as it was is kept in {self.backup})")
        atomic_write(self.path, new, overwrite=True)
        self.expected = new
        self.saved.append((row, label))
        if label not in self.classes:
            self.classes.append(label)
        self.say(f"saved: row {row + 1} = {label}")

    def run(self, rows, scores, score_column) -> None:
        import math

        table = self.table
        n = len(rows)
        for k, (r, s) in enumerate(zip(rows, scores, strict=True), 1):
            score = "" if s is None or math.isnan(s) else f", {score_column} {s:.4f}"
            self.say()
            self.say(f"[{k}/{n}] row {r + 1} (line {table.row_lines[r]}){score}")
            width = max(len(c) for c in table.header)
            for col, value in zip(table.header, table.rows[r], strict=True):
                if col != self.label_column:
                    self.say(f"  {col.rjust(width)}: {value}")
            while True:
                self.say(self.menu())
                text = self.ask(f"label for row {r + 1} (Enter = skip, q = quit)> ")
                if text is None:
                    self.say()
                    self.say("end of input: stopping.")
                    return
                if text.strip() == "":
                    self.say(f"skipped row {r + 1}")
                    break
                try:
                    label = self.answer(text)
                except StopIteration:
                    return
                if label is not None:
                    self.save(r, label)
                    break


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Carry out ``batchbald query``; returns the exit status."""
    t0 = time.perf_counter()
    try:
        return _run(args, t0)
    except IsADirectoryError as exc:
        raise ValueError(f"{exc.filename} is a directory.") from None
    except PermissionError as exc:
        raise ValueError(f"{exc.filename}: permission denied.") from None


def _run(args, t0) -> int:
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from ..io import CsvTable, check_new_file
    from ..utils import check_random_state

    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {args.seed}.")
    out = None
    if args.out is not None or not args.interactive:
        out = Path(args.out or "to_label.csv")
        check_new_file(out, args.force, "output")
        if args.data.exists() and out.resolve() == args.data.resolve():
            raise ValueError(
                "--out must not be the data file; query never overwrites it "
                "(use --interactive to label in place)."
            )
    table, data = CsvTable.read(args.data, args.delimiter, args.encoding)
    if args.interactive and table.to_text().encode(args.encoding) != data:
        raise ValueError(
            f"{table.name} cannot be rewritten byte for byte with --encoding "
            f"{args.encoding}; not labeling in place (run without --interactive)."
        )
    labels = [v.strip() for v in table.column(args.label_column)]
    feature_cols = _feature_columns(table, args.label_column, args.features)
    if not table.rows:
        raise ValueError(f"{table.name} has a header but no data rows.")
    X, names, encoded = encode_features(table, feature_cols, args.one_hot)
    if encoded:
        _note(
            "one-hot encoding non-numeric column(s): "
            + ", ".join(f"{c} ({len(v)} values)" for c, v in encoded.items())
        )
        for c, v in encoded.items():
            if len(v) > max(10, len(table.rows) // 2):
                _note(
                    f"warning: column {c!r} has {len(v)} distinct values, "
                    "like an ID; leave it out with --features."
                )

    unlabeled = np.flatnonzero([v == "" for v in labels])
    if len(unlabeled) == 0:
        _note(
            f"all {len(labels)} rows of {table.name} are labeled; nothing left "
            "to label."
        )
        return 0
    classes = sorted({v for v in labels if v}, key=_sort_key)
    codes = {c: k for k, c in enumerate(classes)}
    y = np.array([codes[v] if v else np.nan for v in labels], dtype=np.float64)
    batch_size = args.batch_size
    if batch_size > len(unlabeled):
        _note(f"only {len(unlabeled)} unlabeled rows; choosing all of them.")
        batch_size = len(unlabeled)

    Z = StandardScaler().fit_transform(X)
    score_column = _SCORE_COLUMN[args.method]
    if len(classes) < 2 and args.method != "random":
        why = (
            "no row is labeled yet"
            if not classes
            else f"only one class ({classes[0]!r}) is labeled so far"
        )
        _note(
            f"{why}, so no model can rank the rows: choosing a diverse batch "
            "instead (k-means++ seeding over the standardised features"
            + (", away from the labeled rows" if classes else "")
            + f"), not {args.method}. Label it and run again."
        )
        rng = check_random_state(args.seed)
        rows = diverse_batch(
            Z, unlabeled, np.flatnonzero(~np.isnan(y)), batch_size, rng
        )
        scores = np.full(len(rows), np.nan)
    elif len(classes) < 2:  # random needs no model
        rng = check_random_state(args.seed)
        rows = unlabeled[rng.permutation(len(unlabeled))[:batch_size]]
        scores = np.full(len(rows), np.nan)
    else:
        rows, scores = _choose(args, Z, y, unlabeled, len(classes), batch_size)

    finite = scores[np.isfinite(scores)]
    total = float(finite.sum()) if len(finite) else float("nan")
    if out is not None:
        from ..io import atomic_write

        atomic_write(
            out,
            _output_bytes(table, rows, scores, score_column, args.encoding),
            overwrite=args.force,
        )
    elapsed = time.perf_counter() - t0
    summary = f"chose {len(rows)} of {len(unlabeled)} unlabeled rows"
    if np.isfinite(total):
        what = (
            "joint information I(batch; w)"
            if args.method == "batchbald"
            else f"sum of {score_column[:-5]} scores"
        )
        summary += f"; {what} = {total:.4f} nats"
    summary += f"; {elapsed:.2f} s"
    if out is not None:
        summary += f"; wrote {out}"
    _note(summary)
    if args.interactive:
        stray = sorted(args.data.parent.glob(f".{args.data.name}.*.tmp"))
        if stray:
            _note(
                f"found {len(stray)} leftover temporary file(s) of an interrupted "
                f"save (e.g. {stray[0]}); {args.data} itself is intact and they "
                "can be deleted."
            )
        session = _Session(
            table,
            args.data,
            data,
            args.label_column,
            classes,
            args.encoding,
            sys.stdin,
            sys.stdout,
        )
        try:
            session.run(rows, scores, score_column)
        except KeyboardInterrupt:
            _note(f"{len(session.saved)} answer(s) saved in {args.data}.")
            raise
        _note(
            f"{len(session.saved)} answer(s) saved in {args.data}"
            + (f" (backup: {session.backup})" if session.backup else "")
            + ". Run the command again for the next batch."
        )
    return 0
