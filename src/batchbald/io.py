"""Files for the command line: safe writes, saved predictions, CSV tables.

Three concerns, each kept small and free of printing:

- **Atomic writes.** :func:`atomic_write` writes a file through a temporary
  file in the same directory, ``fsync`` s it and moves it into place with
  ``os.replace`` (or, when overwriting is not allowed, with a hard link that
  fails if the target appeared meanwhile). A reader, a crash or Ctrl-C at any
  moment sees either the old file or the new one, never a mix; on failure the
  temporary file is removed. Only ``SIGKILL`` or a power cut in the middle of
  a write can leave a stray ``.NAME.*.tmp`` file behind (the target is still
  intact).
- **Saved predictions** moved to :mod:`batchbald.predictions`;
  :func:`load_predictions`, :func:`probability_hint` and :func:`read_indices`
  are re-exported here.
- **CSV tables.** :class:`CsvTable` reads a delimited text file with the
  :mod:`csv` module and remembers every record's exact text, so that changing
  one cell rewrites only that cell: column order, the text of all other cells,
  quoting, blank lines, the byte-order mark and line endings stay as they were.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

# The predictions loader lives in batchbald.predictions; re-exported here for
# callers of the old location.
from .predictions import load_predictions, probability_hint, read_indices

__all__ = [
    "CsvTable",
    "atomic_write",
    "backup_path",
    "check_new_file",
    "load_predictions",
    "probability_hint",
    "read_indices",
]


# --------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------
def _new_file_mode(path: Path) -> int:
    """Permissions of the existing ``path``, else ``0o666`` less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_new_file(path, force: bool = False, what: str = "output") -> Path:
    """Check that ``path`` may be written before doing any work.

    Raises ``ValueError`` (a user error) when the file exists and ``force`` is
    False, when its directory does not exist, or when it is a directory.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; give a file name.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(
            f"{what} directory {str(parent)!r} does not exist; create it first."
        )
    if path.exists() and not force:
        raise ValueError(
            f"{what} file {str(path)!r} already exists; refusing to overwrite it. "
            "Choose another name with --out, or pass --force to replace it."
        )
    return path


def atomic_write(
    path,
    data: bytes | Callable[[Path], None],
    *,
    overwrite: bool,
    keep_suffix: bool = False,
) -> Path:
    """Write ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to create or replace.
    data : bytes or callable
        The new content, or a function ``write(tmp_path)`` that writes it.
    overwrite : bool
        Replace an existing file. If False and ``path`` exists (even if it
        appeared while writing), nothing is changed and ``ValueError`` is
        raised.
    keep_suffix : bool, default=False
        End the temporary file's name with ``path``'s suffix too (after
        ``.tmp``), for writers that pick the format from the file name, such
        as matplotlib's ``savefig``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The temporary file lives in the same directory (so the final rename is
    atomic), is flushed and ``fsync`` ed before the rename, takes the
    permissions of the file it replaces, and is removed on any failure or
    interruption (``KeyboardInterrupt`` included).
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=parent)
    tmp = Path(tmp_name)
    try:
        if callable(data):
            os.close(fd)
            fd = -1
            data(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        else:
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(path))
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        _fsync_dir(parent)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists (no race window)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValueError(
            f"file {str(path)!r} already exists; refusing to overwrite it "
            "(pass --force to replace it)."
        ) from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if path.exists():
            raise ValueError(
                f"file {str(path)!r} already exists; refusing to overwrite it "
                "(pass --force to replace it)."
            ) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def backup_path(path) -> Path:
    """The first free backup name for ``path``: ``NAME.bak``, then
    ``NAME.bak.1``, ``NAME.bak.2``, ... Existing backups are never reused."""
    path = Path(path)
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


# --------------------------------------------------------------------------
# CSV tables
# --------------------------------------------------------------------------
_BOM = "\ufeff"
_LINE_END = re.compile(r"(\r\n|\r|\n)$")


class CsvTable:
    """A delimited text file whose cells can be changed one at a time.

    Every record's exact text is kept; :meth:`set_cell` rewrites only the
    changed cell of one record (the other cells keep their quoting), and
    :meth:`to_text` returns the file with just those changes.

    Parameters
    ----------
    text : str
        The file's content (a leading byte-order mark is kept).
    delimiter : str, default=","
        The field separator.
    name : str, default="table"
        Used in error messages.

    Attributes
    ----------
    header : list of str
        The column names (the first non-blank record).
    rows : list of list of str
        The data records' cells, padded with ``""`` to the header's width.
    row_lines : list of int
        The line of the file (1-based, the header's line counted) on which
        each data record starts.
    newline : str
        The header's line ending (``"\\n"`` when it has none).
    """

    def __init__(self, text: str, delimiter: str = ",", name: str = "table"):
        self.name = name
        self.delimiter = delimiter
        self.bom = text.startswith(_BOM)
        if self.bom:
            text = text[1:]
        self._pieces: list[str] = []  # raw text of every record, blank or not
        self._piece_of_row: list[int] = []
        self._raw_width: list[int] = []
        self.header: list[str] | None = None
        self.rows: list[list[str]] = []
        self.row_lines: list[int] = []

        consumed: list[str] = []

        def lines():
            for line in io.StringIO(text, newline=""):
                consumed.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=delimiter, strict=True)
        line_no = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ValueError(
                    f"{name}: malformed CSV near line {reader.line_num} ({exc})."
                ) from None
            start_line = line_no + 1
            line_no = reader.line_num
            raw = "".join(consumed)
            consumed.clear()
            self._pieces.append(raw)
            if not fields or all(not f.strip() for f in fields):
                continue  # a blank line: kept as it is, not a record
            if self.header is None:
                self.header = fields
                self.header_line = start_line
                ending = _LINE_END.search(raw)
                self.newline = ending.group(1) if ending else "\n"
                continue
            width = len(self.header)
            if len(fields) > width:
                raise ValueError(
                    f"{name}: line {start_line} has {len(fields)} fields but the "
                    f"header has {width} columns."
                )
            self._piece_of_row.append(len(self._pieces) - 1)
            self._raw_width.append(len(fields))
            self.rows.append(fields + [""] * (width - len(fields)))
            self.row_lines.append(start_line)
        if consumed:  # text after the last record (cannot happen, but keep it)
            self._pieces.append("".join(consumed))
        if self.header is None:
            raise ValueError(
                f"{name} is empty; expected a header line with column names."
            )
        seen = set()
        for col in self.header:
            if col in seen:
                raise ValueError(
                    f"{name}: the header names column {col!r} twice; column names "
                    "must be unique."
                )
            seen.add(col)

    # -- reading -----------------------------------------------------------
    @classmethod
    def read(
        cls, path, delimiter: str | None = None, encoding: str = "utf-8"
    ) -> tuple[CsvTable, bytes]:
        """Read ``path``; returns the table and the file's bytes.

        ``delimiter`` None means a tab for ``.tsv``/``.tab`` files and a comma
        otherwise.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"data file {str(path)!r} does not exist.")
        if path.is_dir():
            raise ValueError(f"data {str(path)!r} is a directory, not a CSV file.")
        data = path.read_bytes()
        text = decode_text(data, encoding, path.name)
        if delimiter is None:
            delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        return cls(text, delimiter=delimiter, name=path.name), data

    def column_index(self, column: str) -> int:
        """Position of ``column``; ``ValueError`` naming the columns if absent."""
        try:
            return self.header.index(column)
        except ValueError:
            raise ValueError(
                f"{self.name} has no column {column!r}; its columns are "
                f"{', '.join(repr(c) for c in self.header)}."
            ) from None

    def column(self, column: str) -> list[str]:
        j = self.column_index(column)
        return [row[j] for row in self.rows]

    # -- writing -----------------------------------------------------------
    def set_cell(self, row: int, column: str, value: str) -> None:
        """Set one cell of data record ``row`` (0-based) to ``value``."""
        if "\n" in value or "\r" in value:
            raise ValueError("a cell value must not contain line breaks.")
        j = self.column_index(column)
        p = self._piece_of_row[row]
        raw = self._pieces[p]
        ending = _LINE_END.search(raw)
        ending = ending.group(1) if ending else ""
        body = raw[: len(raw) - len(ending)]
        old = self.rows[row]
        fields = _split_raw(body, self.delimiter)
        if (
            fields is None
            or len(fields) != self._raw_width[row]
            or not _same_cells(fields, old[: self._raw_width[row]], self.delimiter)
        ):
            # Fall back to re-writing the whole record (values unchanged).
            fields = [_quote(v, self.delimiter) for v in old[: self._raw_width[row]]]
        fields = fields + [""] * (len(self.header) - len(fields))
        fields[j] = _quote(value, self.delimiter)
        self._pieces[p] = self.delimiter.join(fields) + ending
        self._raw_width[row] = len(fields)
        old[j] = value

    def to_text(self) -> str:
        return (_BOM if self.bom else "") + "".join(self._pieces)


def decode_text(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}.") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{name} is not valid {encoding} text (byte {data[exc.start]:#04x} at "
            f"offset {exc.start}); pass its encoding with --encoding, e.g. "
            "--encoding cp1252 or --encoding latin-1."
        ) from None


def _quote(value: str, delimiter: str) -> str:
    """``value`` as one CSV field, quoted only when needed."""
    if value == "":
        return ""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow([value])
    return buf.getvalue()


def _split_raw(body: str, delimiter: str, quote: str = '"') -> list[str] | None:
    """Split one record's text into its fields' raw text (quotes kept)."""
    fields = []
    i, n = 0, len(body)
    while True:
        if i < n and body[i] == quote:
            j = i + 1
            while True:
                k = body.find(quote, j)
                if k < 0:
                    return None
                if k + 1 < n and body[k + 1] == quote:
                    j = k + 2
                    continue
                break
            end = body.find(delimiter, k + 1)
        else:
            end = body.find(delimiter, i)
        if end < 0:
            fields.append(body[i:])
            return fields
        fields.append(body[i:end])
        i = end + len(delimiter)


def _same_cells(raw_fields: list[str], cells: list[str], delimiter: str) -> bool:
    """Whether the raw fields parse to ``cells`` (guards :func:`_split_raw`)."""
    try:
        parsed = next(csv.reader([delimiter.join(raw_fields)], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return False
    return parsed == cells
