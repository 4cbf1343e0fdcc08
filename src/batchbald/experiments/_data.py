"""A user's own labelled data as an experiment's :class:`~batchbald.datasets.Dataset`.

:func:`load_user_data` reads a delimited text table (``.csv``, ``.tsv``, ...)
with a label column, a ``.npy`` of samples with a ``.npy`` of labels, or an
``.npz`` holding both, and hands the arrays to
:func:`batchbald.datasets.from_arrays`. An experiment simulates the oracle, so
every row needs its true label; features must be numbers (choose the columns
with ``features`` or leave some out with ``drop``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..datasets import Dataset, from_arrays

__all__ = ["load_user_data", "read_table"]

_TAB_SUFFIXES = (".tsv", ".tab")


def _delimiter(path: Path, sample: str) -> str:
    """Tab for ``.tsv``/``.tab``; else what :class:`csv.Sniffer` finds among
    ``,``, ``;`` and tab, with ``,`` as the fallback."""
    if path.suffix.lower() in _TAB_SUFFIXES:
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{str(path)!r} is not UTF-8 text ({exc}).") from None
    reader = csv.reader(text.splitlines(), delimiter=_delimiter(path, text[:65536]))
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValueError(f"{str(path)!r} needs a header row and at least one row.")
    header = [h.strip() for h in rows[0]]
    for lineno, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ValueError(
                f"{str(path)!r}, data row {lineno - 1}: {len(row)} fields, but the "
                f"header has {len(header)}."
            )
    return header, rows[1:]


def _feature_columns(header, label_column, features, drop, path) -> list[str]:
    names = set(header)
    for option, wanted in (
        ("label_column", [label_column]),
        ("features", features or []),
        ("drop", drop or []),
    ):
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ValueError(
                f"{option}: no column {', '.join(map(repr, missing))} in "
                f"{str(path)!r}; its columns are {', '.join(header)}."
            )
    if features:
        columns = [c for c in features if c != label_column]
    else:
        columns = [c for c in header if c != label_column and c not in (drop or [])]
    if not columns:
        raise ValueError(f"{str(path)!r} has no feature column left.")
    return columns


def _numeric_column(values: list[str], column: str, path: Path) -> np.ndarray:
    out = np.empty(len(values))
    for row, cell in enumerate(values, 1):
        try:
            out[row - 1] = float(cell)
        except ValueError:
            what = "is empty" if not cell.strip() else f"holds {cell!r}"
            raise ValueError(
                f"feature column {column!r} of {str(path)!r}, data row {row}, "
                f"{what}; features must be numbers. Leave the column out (drop, "
                "--drop-columns) or choose the features (features, --features)."
            ) from None
    return out


def read_table(
    path,
    label_column: str,
    *,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Samples, labels and feature names from a delimited text table.

    Parameters
    ----------
    path : str or pathlib.Path
        A table with a header row. The delimiter is a tab for ``.tsv`` and
        ``.tab`` files and otherwise detected (``,``, ``;`` or tab).
    label_column : str
        The column of the labels (any text; every row needs one).
    features : sequence of str, default=None
        The feature columns; None: every column but the label and ``drop``.
    drop : sequence of str, default=None
        Columns to leave out (an ID, free-text notes).

    Returns
    -------
    X : numpy.ndarray of shape (n_rows, n_features)
    y : numpy.ndarray of str, shape (n_rows,)
    columns : list of str
        The feature names, in the order of ``X``'s columns.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist.")
    header, rows = _read_rows(path)
    columns = _feature_columns(header, label_column, features, drop, path)
    y = np.array([row[header.index(label_column)].strip() for row in rows])
    empty = np.flatnonzero(y == "")
    if len(empty):
        raise ValueError(
            f"label column {label_column!r} of {str(path)!r} is empty in "
            f"{len(empty)} row(s) (first: data row {empty[0] + 1}); an experiment "
            "needs every true label. To choose what to label next in partly "
            "labelled data, use batchbald query."
        )
    X = np.column_stack(
        [
            _numeric_column([row[header.index(c)] for row in rows], c, path)
            for c in columns
        ]
    )
    return X, y, columns


def _read_arrays(path: Path, labels) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix.lower() == ".npz":
        if labels is not None:
            raise ValueError("--labels only applies to a .npy of samples.")
        with np.load(path, allow_pickle=False) as archive:
            if not {"X", "y"} <= set(archive.files):
                raise ValueError(
                    f"{str(path)!r} must hold arrays named X and y; it holds "
                    f"{', '.join(archive.files) or 'none'}."
                )
            return archive["X"], archive["y"]
    if labels is None:
        raise ValueError(
            f"{str(path)!r} holds samples only; give their labels as a .npy too "
            "(--labels y.npy), or save both with numpy.savez('data.npz', X=X, y=y)."
        )
    labels = Path(labels)
    if not labels.is_file():
        raise FileNotFoundError(f"labels file {str(labels)!r} does not exist.")
    return np.load(path, allow_pickle=False), np.load(labels, allow_pickle=False)


def load_user_data(
    path,
    *,
    label_column: str | None = None,
    labels=None,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    test_size: float | int = 0.25,
    scaling: str = "standard",
    random_state=None,
    name: str | None = None,
) -> Dataset:
    """A :class:`~batchbald.datasets.Dataset` from a user's file.

    Parameters
    ----------
    path : str or pathlib.Path
        A delimited text table (see :func:`read_table`; needs
        ``label_column``), a ``.npy`` of samples (needs ``labels``) or an
        ``.npz`` with arrays ``X`` and ``y``.
    label_column : str, default=None
        Tables only: the column of the labels.
    labels : str or pathlib.Path, default=None
        ``.npy`` only: the file of the labels.
    features, drop : sequence of str, default=None
        Tables only: see :func:`read_table`.
    test_size, scaling, random_state
        See :func:`batchbald.datasets.from_arrays` (``scaling`` defaults to
        ``"standard"`` here: a user's features are rarely on one scale).
    name : str, default=None
        The data set's name in file names and plots (None: the file's stem).

    Returns
    -------
    Dataset
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist.")
    if path.suffix.lower() in (".npy", ".npz"):
        if label_column is not None or features or drop:
            raise ValueError(
                "label_column, features and drop apply to tables, not to "
                f"{path.suffix} files."
            )
        X, y = _read_arrays(path, labels)
        X = np.asarray(X)
        if X.ndim > 2:  # images: one row of pixels per sample
            X = X.reshape(len(X), -1)
    else:
        if label_column is None:
            raise ValueError(
                f"{str(path)!r} is a table: name its label column "
                "(--label-column NAME)."
            )
        if labels is not None:
            raise ValueError("--labels only applies to a .npy of samples.")
        X, y, _ = read_table(path, label_column, features=features, drop=drop)
    return from_arrays(
        X,
        y,
        test_size=test_size,
        scaling=scaling,
        name=name or path.stem,
        random_state=random_state,
    )
