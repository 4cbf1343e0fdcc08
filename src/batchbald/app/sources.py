"""What the app labels: the rows of a table (here) or a folder of images.

A source holds the items' standardised features ``Z`` (N, D), their current
labels (``""`` = unlabeled), a JSON view of each item for the page, and
:meth:`set_label`, which saves one label into the user's file at once with
the guarantees of :class:`batchbald.app._backend.SafeFile`.
"""

from __future__ import annotations

from pathlib import Path

from . import _backend

__all__ = ["TableSource", "check_label"]

#: Longest label the page may send.
MAX_LABEL_LENGTH = 200


def check_label(label) -> str:
    """The stripped label; ``ValueError`` if it is empty, too long or multi-line."""
    if not isinstance(label, str):
        raise TypeError(f"label must be a string; got {type(label).__name__}.")
    label = label.strip()
    if not label:
        raise ValueError("label must not be empty (use skip to leave an item).")
    if "\n" in label or "\r" in label:
        raise ValueError("label must not contain line breaks.")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(
            f"label must be at most {MAX_LABEL_LENGTH} characters; got {len(label)}."
        )
    return label


class TableSource:
    """The rows of a CSV/TSV file with a label column.

    Parameters
    ----------
    path : pathlib.Path
        The table; rows with an empty label cell are unlabeled.
    label_column : str
        Name of the label column.
    features : str or None
        Comma-separated feature columns (None: every other column).
    one_hot : bool
        One-hot encode non-numeric feature columns (else reject them).
    delimiter : str or None
        Field separator (None: tab for ``.tsv``, else comma).
    encoding : str
        Text encoding of the file.
    """

    kind = "table"

    def __init__(
        self,
        path,
        label_column: str,
        features: str | None = None,
        one_hot: bool = True,
        delimiter: str | None = None,
        encoding: str = "utf-8",
    ):
        self.path = Path(path)
        self.label_column = label_column
        self.encoding = encoding
        table, data = _backend.read_table(self.path, delimiter, encoding)
        if table.to_text().encode(encoding) != data:
            raise ValueError(
                f"{table.name} cannot be rewritten byte for byte with --encoding "
                f"{encoding}; not labeling it in place."
            )
        self.table = table
        self.label_index = table.column_index(label_column)
        if not table.rows:
            raise ValueError(f"{table.name} has a header but no data rows.")
        columns = _backend.feature_columns(table, label_column, features)
        X, _, _ = _backend.encode_features(table, columns, one_hot)
        self.Z = _backend.standardise(X)
        self.labels = [v.strip() for v in table.column(label_column)]
        self.file = _backend.SafeFile(self.path, data)
        self.name = self.path.name

    @property
    def n_items(self) -> int:
        return len(self.labels)

    def columns(self) -> list[str]:
        """The header (every column, the label column included)."""
        return list(self.table.header)

    def item_view(self, i: int) -> dict:
        """The page's view of row ``i``: its number, line and cells."""
        return {
            "title": f"row {i + 1}",
            "detail": f"line {self.table.row_lines[i]}",
            "cells": [
                [col, value]
                for j, (col, value) in enumerate(
                    zip(self.table.header, self.table.rows[i], strict=True)
                )
                if j != self.label_index
            ],
        }

    def set_label(self, i: int, label: str) -> str:
        """Save ``label`` (``""`` clears it) as row ``i``'s label cell.

        Returns the text written (neutralised for spreadsheets). Raises
        ``ValueError`` (nothing written) if the file changed on disk or the
        label cannot be encoded.
        """
        stored = _backend.neutralise(label)
        old = self.table.rows[i][self.label_index]
        self.table.set_cell(i, self.label_column, stored)
        try:
            new = self.table.to_text().encode(self.encoding)
            self.file.write(new)
        except UnicodeEncodeError:
            self.table.set_cell(i, self.label_column, old)
            raise ValueError(
                f"the label {label!r} cannot be written in {self.encoding}."
            ) from None
        except BaseException:
            self.table.set_cell(i, self.label_column, old)
            raise
        self.labels[i] = stored
        return stored

    def lock(self) -> None:
        self.file.lock()

    def close(self) -> None:
        self.file.unlock()

    def stray_temporary_files(self) -> list[Path]:
        """Leftovers of a save interrupted by ``kill -9`` (the file is intact)."""
        return sorted(self.path.parent.glob(f".{self.path.name}.*.tmp"))
