"""The exact-round-trip CSV table behind :mod:`batchbald.tables` (import it
from there: ``from batchbald.tables import CsvTable``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

__all__ = ["CsvTable", "decode_text"]

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

    header: list[str]

    def __init__(self, text: str, delimiter: str = ",", name: str = "table"):
        self.name = name
        self.delimiter = delimiter
        self.bom = text.startswith(_BOM)
        if self.bom:
            text = text[1:]
        self._pieces: list[str] = []  # raw text of every record, blank or not
        self._piece_of_row: list[int] = []
        self._raw_width: list[int] = []
        self.rows: list[list[str]] = []
        self.row_lines: list[int] = []
        self.newline = "\n"
        self._parse(text)
        seen = set()
        for col in self.header:
            if col in seen:
                raise ValueError(
                    f"{name}: the header names column {col!r} twice; column names "
                    "must be unique."
                )
            seen.add(col)

    def _parse(self, text: str) -> None:
        consumed: list[str] = []

        def lines():
            for line in io.StringIO(text, newline=""):
                consumed.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=self.delimiter, strict=True)
        header: list[str] | None = None
        line_no = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise ValueError(
                    f"{self.name}: malformed CSV near line {reader.line_num} ({exc})."
                ) from None
            start_line, line_no = line_no + 1, reader.line_num
            raw = "".join(consumed)
            consumed.clear()
            self._pieces.append(raw)
            if not fields or all(not f.strip() for f in fields):
                continue  # a blank line: kept as it is, not a record
            if header is None:
                header = fields
                self.header_line = start_line
                ending = _LINE_END.search(raw)
                self.newline = ending.group(1) if ending else "\n"
                continue
            if len(fields) > len(header):
                raise ValueError(
                    f"{self.name}: line {start_line} has {len(fields)} fields but "
                    f"the header has {len(header)} columns."
                )
            self._piece_of_row.append(len(self._pieces) - 1)
            self._raw_width.append(len(fields))
            self.rows.append(fields + [""] * (len(header) - len(fields)))
            self.row_lines.append(start_line)
        if consumed:  # text after the last record (cannot happen, but keep it)
            self._pieces.append("".join(consumed))
        if header is None:
            raise ValueError(
                f"{self.name} is empty; expected a header line with column names."
            )
        self.header = header

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
        """The cells of ``column``, one per data row."""
        j = self.column_index(column)
        return [row[j] for row in self.rows]

    def where(self, row: int) -> str:
        """``"row R (line L)"`` for data row ``row`` (0-based), for messages."""
        return f"row {row + 1} (line {self.row_lines[row]})"

    # -- writing -----------------------------------------------------------
    def set_cell(self, row: int, column: str, value: str) -> None:
        """Set one cell of data record ``row`` (0-based) to ``value``."""
        if "\n" in value or "\r" in value:
            raise ValueError("a cell value must not contain line breaks.")
        j = self.column_index(column)
        p = self._piece_of_row[row]
        raw = self._pieces[p]
        match = _LINE_END.search(raw)
        ending = match.group(1) if match else ""
        body = raw[: len(raw) - len(ending)]
        old = self.rows[row]
        width = self._raw_width[row]
        fields = _split_raw(body, self.delimiter)
        if (
            fields is None
            or len(fields) != width
            or not _same_cells(fields, old[:width], self.delimiter)
        ):
            # Fall back to re-writing the whole record (values unchanged).
            fields = [_quote(v, self.delimiter) for v in old[:width]]
        fields = fields + [""] * (len(self.header) - len(fields))
        fields[j] = _quote(value, self.delimiter)
        self._pieces[p] = self.delimiter.join(fields) + ending
        self._raw_width[row] = len(fields)
        old[j] = value

    def to_text(self) -> str:
        """The file's text with the changes made by :meth:`set_cell`."""
        return (_BOM if self.bom else "") + "".join(self._pieces)


def decode_text(data: bytes, encoding: str, name: str) -> str:
    """``data`` decoded, or ``ValueError`` suggesting ``--encoding``."""
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
