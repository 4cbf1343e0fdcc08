"""Features from the columns of a :class:`~batchbald.tables.CsvTable`.

Numeric columns are used as they are; other columns are one-hot encoded
(unless ``one_hot=False``). Empty cells are an error (missing values are not
supported). The size of the result is checked before it is allocated, so that
an ID column with 200,000 distinct values is refused with advice instead of
asking for hundreds of GiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tables import CsvTable

__all__ = ["Features", "encode_features", "feature_columns", "id_like_columns"]

#: Copies of the feature matrix alive at once in ``batchbald query`` (the
#: encoded matrix, the standardised one, a member's bootstrap sample).
FEATURE_COPIES = 3


@dataclass
class Features:
    """The result of :func:`encode_features`.

    Attributes
    ----------
    X : numpy.ndarray of shape (n_rows, n_features)
        float64 features.
    names : list of str
        One per column of ``X``: the column name, or ``column=category``.
    encoded : dict
        ``{column: categories}`` of the one-hot encoded columns.
    """

    X: np.ndarray
    names: list[str]
    encoded: dict[str, list[str]] = field(default_factory=dict)


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def feature_columns(
    table: CsvTable,
    label_column: str,
    features: str | None = None,
    exclude: str | None = None,
) -> list[str]:
    """The feature columns: ``features`` (comma-separated names), by default
    every column but the label column, less the ``exclude`` ones.

    Raises ``ValueError`` naming the option (``--features``, ``--exclude``)
    for unknown or repeated names, the label column, or no column left.
    """
    table.column_index(label_column)
    dropped = _names(table, exclude, "--exclude") if exclude is not None else []
    if features is None:
        cols = [c for c in table.header if c != label_column and c not in dropped]
        if not cols:
            raise ValueError(
                f"{table.name} has no column besides the label column "
                f"{label_column!r}"
                + (" and the --exclude columns" if dropped else "")
                + ", so there are no features."
            )
        return cols
    cols = _names(table, features, "--features")
    if label_column in cols:
        raise ValueError(
            f"--features names the label column {label_column!r}; a label "
            "cannot be a feature."
        )
    cols = [c for c in cols if c not in dropped]
    if not cols:
        raise ValueError("--exclude leaves none of the --features columns.")
    return cols


def _names(table: CsvTable, text: str, option: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise ValueError(f"{option} is empty; give comma-separated column names.")
    for c in cols:
        table.column_index(c)
    if len(set(cols)) != len(cols):
        raise ValueError(f"{option} names a column twice.")
    return cols


def _column_kind(table: CsvTable, col: str, values: list[str], one_hot: bool):
    """``("numeric", array)`` or ``("categories", sorted categories)``."""
    for i, v in enumerate(values):
        if v == "":
            raise ValueError(
                f"feature column {col!r} is empty in {table.where(i)}; fill it in, "
                "or leave the column out with --exclude (missing feature values "
                "are not supported)."
            )
    numbers = [_as_float(v) for v in values]
    n_numeric = sum(x is not None for x in numbers)
    if n_numeric == len(values):
        arr = np.asarray(numbers, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            raise ValueError(
                f"feature column {col!r} holds {values[bad[0]]!r} in "
                f"{table.where(int(bad[0]))}; features must be finite numbers or "
                "categories (missing values are not supported)."
            )
        return "numeric", arr
    if n_numeric >= max(1, len(values) // 2):
        i = next(k for k, x in enumerate(numbers) if x is None)
        raise ValueError(
            f"feature column {col!r} is numeric except for {values[i]!r} in "
            f"{table.where(i)}; fix such cells or leave the column out with "
            "--exclude (missing values are not supported)."
        )
    if not one_hot:
        raise ValueError(
            f"feature column {col!r} is not numeric (e.g. {values[0]!r} in "
            f"{table.where(0)}) and --no-one-hot is set; leave it out with "
            "--exclude or drop --no-one-hot to one-hot encode it."
        )
    return "categories", sorted(set(values))


def id_like_columns(encoded: dict[str, list[str]], n_rows: int) -> list[str]:
    """The one-hot encoded columns with so many values that they look like IDs
    (more than ``max(10, n_rows // 2)``)."""
    return [c for c, v in encoded.items() if len(v) > max(10, n_rows // 2)]


def _check_size(n_rows: int, widths: dict[str, int], max_memory: int | None):
    if max_memory is None:
        from .models import default_max_memory

        max_memory = default_max_memory()
    n_cols = sum(widths.values())
    need = FEATURE_COPIES * n_rows * n_cols * 8
    if need <= max_memory:
        return
    big = sorted(((w, c) for c, w in widths.items() if w > 1), reverse=True)[:3]
    advice = (
        "; the widest one-hot encodings are "
        + ", ".join(f"{c!r} ({w} values)" for w, c in big)
        + ": leave such columns (IDs, free text) out with --exclude "
        + ",".join(c for _, c in big)
        if big
        else "; choose fewer columns with --features or --exclude"
    )
    raise ValueError(
        f"the features would be {n_rows} rows x {n_cols} columns, about "
        f"{need / 2**30:.1f} GiB of memory (budget {max_memory / 2**30:.1f} GiB)"
        + advice
        + "."
    )


def encode_features(
    table: CsvTable,
    columns: list[str],
    one_hot: bool = True,
    max_memory: int | None = None,
) -> Features:
    """Numeric feature matrix from ``columns`` of ``table``.

    Parameters
    ----------
    table : CsvTable
        The table.
    columns : list of str
        Feature columns (see :func:`feature_columns`).
    one_hot : bool, default=True
        One-hot encode non-numeric columns; False rejects them.
    max_memory : int, default=None
        Bytes the features may take, counting :data:`FEATURE_COPIES` copies;
        None: :func:`batchbald.models.default_max_memory`. Checked before
        anything is allocated; ``ValueError`` naming the widest encodings when
        exceeded.

    Returns
    -------
    Features
    """
    if not columns:
        raise ValueError("no feature columns; name some with --features.")
    kinds = {}
    for col in columns:
        values = [v.strip() for v in table.column(col)]
        kinds[col] = (values, *_column_kind(table, col, values, one_hot))
    widths = {
        c: 1 if kind == "numeric" else len(info) for c, (_, kind, info) in kinds.items()
    }
    n_rows = len(table.rows)
    _check_size(n_rows, widths, max_memory)
    X = np.zeros((n_rows, sum(widths.values())))
    names: list[str] = []
    encoded: dict[str, list[str]] = {}
    start = 0
    for col, (values, kind, info) in kinds.items():
        if kind == "numeric":
            X[:, start] = info
            names.append(col)
        else:
            index = {c: k for k, c in enumerate(info)}
            X[np.arange(n_rows), start + np.array([index[v] for v in values])] = 1.0
            names.extend(f"{col}={c}" for c in info)
            encoded[col] = list(info)
        start += widths[col]
    return Features(X, names, encoded)
