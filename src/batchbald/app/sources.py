"""What the app labels: the rows of a table (here) or a folder of images.

A source holds the items' standardised features ``Z`` (N, D), their current
labels (``""`` = unlabeled), a JSON view of each item for the page, and
:meth:`set_label`, which saves one label into the user's file at once: a
table through :class:`batchbald.tables.LabelFile`, the images' labels CSV
through :class:`batchbald.app._backend.SafeFile`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["FileSource", "TableSource", "check_label"]

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


def _quiet(message: str) -> None:
    """The default ``notify``: drop the message."""


class FileSource:
    """What the sources share: the session lock of their file (``self.file``,
    with ``locked()``, ``path`` and ``backup``)."""

    file: Any
    _session: contextlib.ExitStack | None = None

    def lock(self) -> None:
        """Hold the file's lock for the session; ``ValueError`` if another
        session holds it."""
        stack = contextlib.ExitStack()
        stack.enter_context(self.file.locked(0.0))
        self._session = stack

    def close(self) -> None:
        """Release the session lock (if held)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def stray_temporary_files(self) -> list[Path]:
        """Leftovers of a save interrupted by ``kill -9`` (the file is intact)."""
        path: Path = self.file.path
        return sorted(path.parent.glob(f".{path.name}.*.tmp"))


class TableSource(FileSource):
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
    notify : callable, default=None
        Hears about one-hot encoded and ID-like columns (see
        :func:`batchbald.labeling.prepare`).

    The file is opened with :meth:`batchbald.tables.LabelFile.open` (which
    refuses read-only and hard-linked files and resolves symbolic links) and
    the features are those of :func:`batchbald.labeling.prepare`.
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
        notify: Callable[[str], None] = _quiet,
    ):
        from ..labeling import prepare
        from ..tables import LabelFile

        self.path = Path(path)
        self.label_column = label_column
        self.file = LabelFile.open(
            self.path, label_column, delimiter=delimiter, encoding=encoding
        )
        problem = prepare(
            self.file.table,
            label_column,
            features=features,
            one_hot=one_hot,
            notify=notify,
        )
        self.Z = problem.Z
        self.labels = self.file.labels()
        self.name = self.path.name

    @property
    def table(self):
        """The :class:`batchbald.tables.CsvTable` as saved so far."""
        return self.file.table

    @property
    def n_items(self) -> int:
        return len(self.labels)

    def columns(self) -> list[str]:
        """The header (every column, the label column included)."""
        return list(self.table.header)

    def item_view(self, i: int) -> dict:
        """The page's view of row ``i``: its number, line and cells."""
        j = self.table.column_index(self.label_column)
        return {
            "title": f"row {i + 1}",
            "detail": f"line {self.table.row_lines[i]}",
            "cells": [
                [col, value]
                for k, (col, value) in enumerate(
                    zip(self.table.header, self.table.rows[i], strict=True)
                )
                if k != j
            ],
        }

    def set_label(self, i: int, label: str) -> str:
        """Save ``label`` (``""`` clears it) as row ``i``'s label cell.

        Returns the text written (through :func:`batchbald.tables.safe_cell`).
        Raises :class:`batchbald.tables.LabelFileChanged` if the file changed
        on disk, ``ValueError`` if the label cannot be encoded or the disk is
        full; nothing is written then.
        """
        stored = self.file.save_label(i, label)
        self.labels[i] = stored.strip()
        return stored
