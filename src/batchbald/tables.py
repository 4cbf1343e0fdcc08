"""CSV tables: exact round trips, safe cells and safe label saving.

- :class:`CsvTable` reads a delimited text file with the :mod:`csv` module and
  remembers every record's exact text, so that changing one cell rewrites only
  that cell: column order, the text of all other cells, quoting, blank lines,
  the byte-order mark and line endings stay as they were.
- :func:`safe_cell` neutralises spreadsheet formulas in what we write (the
  rule is in its docstring); :func:`chosen_rows_csv` writes the rows chosen
  for labeling with it.
- :class:`LabelFile` saves one label at a time into the user's file, with the
  guarantees listed in its docstring (lock, change detection, backup,
  atomic replacement, permissions, links, full disk).

The features of a table (numeric columns, one-hot encoded categories, with a
memory check) are made by :mod:`batchbald.features`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from ._csv import _BOM, CsvTable, decode_text

__all__ = [
    "CsvTable",
    "LabelFile",
    "LabelFileChanged",
    "chosen_rows_csv",
    "decode_text",
    "safe_cell",
]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_cell(text: str) -> str:
    """``text`` made safe to open in a spreadsheet.

    A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return is prefixed with ``'`` (which spreadsheets show as text
    and hide); every other cell is returned unchanged. A cell that is a number
    as Python's ``float`` reads it (``-1.5``, ``+3``, ``-2e-05``, ``-inf``) is
    never changed, so negative numbers in numeric columns keep working.
    """
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def chosen_rows_csv(
    table: CsvTable,
    rows: Sequence[int],
    scores: Sequence[float],
    score_column: str,
    encoding: str = "utf-8",
) -> bytes:
    """The rows chosen for labeling as CSV bytes, in the order chosen.

    Columns: ``row`` (1 = first data row), ``line`` (the line of the data file
    on which the row starts), ``step``, ``score_column`` (empty for a NaN
    score), then the row's cells. A column of ours whose name the table also
    uses gets the prefix ``batchbald_``. The table's delimiter, line ending
    and byte-order mark are kept; every text cell (the header included) goes
    through :func:`safe_cell`.
    """
    ours = ["row", "line", "step", score_column]
    header = [("batchbald_" + c if c in table.header else c) for c in ours]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=table.delimiter, lineterminator=table.newline)
    writer.writerow(header + [safe_cell(c) for c in table.header])
    for step, (r, s) in enumerate(zip(rows, scores, strict=True), 1):
        score = "" if s is None or math.isnan(s) else repr(float(s))
        cells = [safe_cell(v) for v in table.rows[r]]
        writer.writerow([r + 1, table.row_lines[r], step, score] + cells)
    text = (_BOM if table.bom else "") + buf.getvalue()
    return text.encode(encoding)


# --------------------------------------------------------------------------
# saving labels into the user's file
# --------------------------------------------------------------------------
class LabelFileChanged(ValueError):
    """The labeling file changed on disk since this process last read or wrote
    it (another program wrote it); nothing was saved."""


class LabelFile:
    """A CSV file on disk into which labels are saved one answer at a time.

    Open it with :meth:`open`. Every :meth:`save_label` (and :meth:`undo`)
    keeps these guarantees:

    - **One writer.** The exclusive lock of :func:`batchbald._files.exclusive_lock`
      (a sidecar ``.NAME.lock``) is held while the file is checked and
      replaced; :meth:`locked` holds it for a whole session, so that a second
      session (another terminal, a web app) is refused at its start. Within a
      process the object is thread-safe.
    - **No lost answers.** Before every save the file's bytes are compared
      with what this object last read or wrote; if another program changed
      it, :class:`LabelFileChanged` is raised and nothing is written.
    - **Only the label cell changes** (see :class:`CsvTable`); the label is
      passed through :func:`safe_cell` unless ``neutralise=False``.
    - **A backup first.** The first save of this object copies the file as it
      was to the first free ``NAME.bak``, ``NAME.bak.1``, ... (never
      overwriting a backup), with the file's permission bits.
    - **Atomic replacement** by :func:`batchbald._files.atomic_write`: the new
      file is written next to it, ``fsync`` ed and renamed over it, keeping
      its permission bits (0600 stays 0600). Ctrl-C, a crash or a power cut
      leaves the old or the new file, never a mix.
    - **Links.** A symbolic link is resolved when opening: the file it points
      to is written and the link stays. A file with several hard links, a
      read-only file (no ``u+w``) and one this user cannot write are refused
      by :meth:`open` (and again at every save) with ``ValueError``: replacing
      a hard-linked file would detach its other names, writing it in place is
      not crash-safe.
    - **Full disk.** ``ENOSPC``/``EDQUOT`` becomes a one-line ``ValueError``;
      the file and the in-memory table are left as they were.

    Attributes
    ----------
    path : pathlib.Path
        The file written (symbolic links resolved).
    table : CsvTable
        The table as saved so far.
    label_column : str
        The column labels go into.
    backup : pathlib.Path or None
        The backup made by the first save, if any.
    history : list of (int, str, str)
        ``(row, previous cell, stored cell)`` of every save not undone.
    """

    def __init__(
        self,
        path,
        table: CsvTable,
        data: bytes,
        label_column: str,
        encoding: str = "utf-8",
        lock_timeout: float = 10.0,
    ):
        import threading

        self.path = Path(path)
        self.table = table
        self.label_column = label_column
        self.encoding = encoding
        self.lock_timeout = lock_timeout
        self.backup: Path | None = None
        self.history: list[tuple[int, str, str]] = []
        self._expected = data
        self._mutex = threading.RLock()
        self._held = 0
        self._release: contextlib.ExitStack | None = None

    @classmethod
    def open(
        cls,
        path,
        label_column: str,
        *,
        delimiter: str | None = None,
        encoding: str = "utf-8",
        lock_timeout: float = 10.0,
    ) -> LabelFile:
        """Read ``path`` for labeling; refuses what cannot be saved safely.

        Raises ``ValueError`` when the label column is missing, when the file
        cannot be rewritten byte for byte in ``encoding``, or when
        :func:`batchbald._files.check_replaceable` refuses it (read-only,
        hard-linked, not a regular file); ``FileNotFoundError`` when it does
        not exist. ``lock_timeout`` is how long a save waits for another
        holder of the lock.
        """
        from ._files import check_replaceable, real_path

        real = real_path(path)
        table, data = CsvTable.read(real, delimiter, encoding)
        table.column_index(label_column)
        if table.to_text().encode(encoding) != data:
            raise ValueError(
                f"{table.name} cannot be rewritten byte for byte with --encoding "
                f"{encoding}; not labeling in place."
            )
        check_replaceable(real, "data file")
        return cls(real, table, data, label_column, encoding, lock_timeout)

    def reload(self, delimiter: str | None = None) -> None:
        """Read the file again (e.g. after :class:`LabelFileChanged`), under
        the lock: the table becomes what is on disk now and the undo history
        is cleared; the backup, if any, stays the one made first."""
        with self._mutex, self.locked(self.lock_timeout):
            table, data = CsvTable.read(
                self.path, delimiter or self.table.delimiter, self.encoding
            )
            table.column_index(self.label_column)
            self.table, self._expected = table, data
            self.history.clear()

    def labels(self) -> list[str]:
        """The label cells, stripped (``""`` = unlabeled)."""
        return [v.strip() for v in self.table.column(self.label_column)]

    def locked(self, timeout: float = 0.0):
        """Context manager holding the file's lock (e.g. for a whole session);
        ``ValueError`` if another writer holds it after ``timeout`` seconds.

        The lock is held while any holder is inside, whichever thread entered
        first: a session may take it in one thread and save from others (a
        web server's workers) without waiting for itself."""

        @contextlib.contextmanager
        def hold():
            self._enter(timeout)
            try:
                yield self.path
            finally:
                self._leave()

        return hold()

    def _enter(self, timeout: float) -> None:
        from ._files import exclusive_lock

        with self._mutex:
            if not self._held:
                stack = contextlib.ExitStack()
                stack.enter_context(exclusive_lock(self.path, timeout, "data file"))
                self._release = stack
            self._held += 1

    def _leave(self) -> None:
        with self._mutex:
            self._held -= 1
            if not self._held and self._release is not None:
                self._release.close()
                self._release = None

    def save_label(self, row: int, label: str, *, neutralise: bool = True) -> str:
        """Save ``label`` as data row ``row``'s label (0-based) on disk now.

        Returns the text stored (``label`` through :func:`safe_cell` when
        ``neutralise``). Raises :class:`LabelFileChanged` when another program
        changed the file, ``ValueError`` for a label with a line break or
        characters ``encoding`` cannot write, for a file that became
        read-only or hard-linked, another writer holding the lock longer than
        ``lock_timeout``, or a full disk. On any error nothing is saved.
        """
        if not 0 <= row < len(self.table.rows):
            raise ValueError(
                f"row must be in [0, {len(self.table.rows)}); got {row!r}."
            )
        if not isinstance(label, str) or "\n" in label or "\r" in label:
            raise ValueError(f"a label must be text on one line; got {label!r}.")
        stored = safe_cell(label) if neutralise else label
        with self._mutex:
            previous = self._write_cell(row, stored)
            self.history.append((row, previous, stored))
        return stored

    def undo(self) -> tuple[int, str] | None:
        """Undo the last save not undone yet: its row's cell gets back the text
        it had before, saved with the same guarantees. Returns ``(row,
        restored text)``, or None when there is nothing to undo."""
        with self._mutex:
            if not self.history:
                return None
            row, previous, _ = self.history[-1]
            self._write_cell(row, previous)
            self.history.pop()
        return row, previous

    def _write_cell(self, row: int, text: str) -> str:
        from ._files import atomic_write, backup_path, check_replaceable

        with self.locked(self.lock_timeout):
            current = self.path.read_bytes()
            if current != self._expected:
                raise LabelFileChanged(
                    f"{self.path} changed on disk since it was read (edited by "
                    f"another program?); not saving row {row + 1}. "
                    f"{len(self.history)} answer(s) of this session were saved "
                    "before. Run the command again to continue."
                )
            st = check_replaceable(self.path, "data file")
            j = self.table.column_index(self.label_column)
            old = self.table.rows[row][j]
            self.table.set_cell(row, self.label_column, text)
            try:
                new = self.table.to_text().encode(self.encoding)
                if self.backup is None:
                    self.backup = atomic_write(
                        backup_path(self.path),
                        current,
                        overwrite=False,
                        mode=st.st_mode & 0o7777,
                    )
                atomic_write(self.path, new, overwrite=True)
            except BaseException as exc:
                self.table.set_cell(row, self.label_column, old)
                _reraise_in_our_words(exc, self.path, self.encoding, text)
                raise
            self._expected = new
        return old


def _reraise_in_our_words(
    exc: BaseException, path: Path, encoding: str, text: str
) -> None:
    """Raise ``ValueError`` for the failures a user can act on."""
    from ._files import is_disk_full

    if isinstance(exc, UnicodeEncodeError):
        raise ValueError(
            f"the label {text!r} cannot be written in {encoding}."
        ) from None
    if is_disk_full(exc):
        raise ValueError(
            f"no space left on the device of {path} (the file is unchanged and "
            "this answer was not saved); free some space and run again."
        ) from None
    if isinstance(exc, PermissionError):
        raise ValueError(
            f"cannot write next to {path} (permission denied): labeling in place "
            "needs a writable directory; the file is unchanged."
        ) from None
