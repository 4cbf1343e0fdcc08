"""Tests for batchbald.tables: exact CSV round trips, safe cells, label saving."""

import csv
import errno
import io
import os
import threading

import pytest

from batchbald.tables import (
    CsvTable,
    LabelFile,
    LabelFileChanged,
    chosen_rows_csv,
    safe_cell,
)

TEXTS = [
    "a,b,label\n1,2,\n3,4,x\n",
    "a,b,label\r\n1,2,\r\n3,4,x\r\n",
    "a,b,label\r1,2,\r3,4,x\r",
    "\ufeffa,b,label\n1,2,\n3,4,x",  # BOM, no final newline
    'a,b,label\n"1","x, y",\n\n3,"multi\nline",x\n',  # quoting, blank line
    "a,b,label\n1,2\n3,4,x\n",  # a short row
]


@pytest.mark.parametrize("text", TEXTS)
def test_table_round_trip_is_exact(text):
    table = CsvTable(text)
    assert table.to_text() == text
    assert table.header == ["a", "b", "label"]
    assert len(table.rows) == 2 and all(len(r) == 3 for r in table.rows)


@pytest.mark.parametrize("text", TEXTS)
def test_set_cell_changes_only_that_cell(text):
    table = CsvTable(text)
    table.set_cell(0, "label", 'new, "quoted"')
    out = table.to_text()
    again = CsvTable(out)
    assert again.rows[0][2] == 'new, "quoted"'
    assert again.rows[0][:2] == table.rows[0][:2]
    assert again.rows[1] == CsvTable(text).rows[1]
    # everything but the first data record is byte-identical
    first = text.index("1")
    assert out[:first] == text[:first]
    tail = text[text.index("3") :]
    assert out.endswith(tail)


def test_set_cell_keeps_other_quoting():
    table = CsvTable('a,b,label\n"1", "sp",\n')
    table.set_cell(0, "label", "x")
    assert table.to_text() == 'a,b,label\n"1", "sp",x\n'


def test_row_lines_count_multiline_and_blank():
    table = CsvTable(TEXTS[4])
    assert table.row_lines == [2, 4]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("a,a\n1,2\n", "names column 'a' twice"),
        ("a,b\n1,2,3\n", "line 2 has 3 fields but the header has 2"),
        ('a,b\n"1,2\n', "malformed CSV"),
    ],
)
def test_table_errors(text, message):
    with pytest.raises(ValueError, match=message):
        CsvTable(text)


def test_unknown_column_lists_columns():
    with pytest.raises(ValueError, match="no column 'z'; its columns are 'a', 'b'"):
        CsvTable("a,b\n1,2\n").column("z")


def test_read_reports_encoding_problems(tmp_path):
    (tmp_path / "d.csv").write_bytes("a,b\ncafé,1\n".encode("cp1252"))
    with pytest.raises(ValueError, match="not valid utf-8 .* --encoding"):
        CsvTable.read(tmp_path / "d.csv")
    table, _ = CsvTable.read(tmp_path / "d.csv", encoding="cp1252")
    assert table.rows == [["café", "1"]]


def test_read_tsv_uses_tabs(tmp_path):
    (tmp_path / "d.tsv").write_text("a\tb\n1,5\t2\n")
    table, data = CsvTable.read(tmp_path / "d.tsv")
    assert table.rows == [["1,5", "2"]] and data == b"a\tb\n1,5\t2\n"


# --------------------------------------------------------------------------
# spreadsheet formulas
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),  # numbers stay numbers
        ("+3", "+3"),
        ("-2e-05", "-2e-05"),
        ("-inf", "-inf"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        ("'=already", "'=already"),
    ],
)
def test_safe_cell(text, expected):
    assert safe_cell(text) == expected


def test_chosen_rows_neutralise_text_cells_only():
    table = CsvTable(
        'id,x,note,label\n1,-1.5,"=HYPERLINK(""http://e"")",\n2,-3,@SUM(A1),\n'
    )
    data = chosen_rows_csv(table, [1, 0], [0.5, float("nan")], "gain_nats")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["row", "line", "step", "gain_nats", "id", "x", "note", "label"]
    assert rows[1] == ["2", "3", "1", "0.5", "2", "-3", "'@SUM(A1)", ""]
    assert rows[2] == ["1", "2", "2", "", "1", "-1.5", '\'=HYPERLINK("http://e")', ""]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "@", "+", "\t", "\r")), cell
            assert not cell.startswith("-") or float(cell) < 0


def test_chosen_rows_rename_clashing_columns_and_keep_format():
    table = CsvTable("\ufeffrow;step\r\n1;2\r\n", delimiter=";")
    data = chosen_rows_csv(table, [0], [0.1], "bald_nats").decode()
    assert data.startswith("\ufeffbatchbald_row;line;batchbald_step;bald_nats;row;step")
    assert data.endswith("\r\n")


# --------------------------------------------------------------------------
# LabelFile
# --------------------------------------------------------------------------
DATA = b"x,label\r\n1,\r\n2,a\r\n3,\r\n"


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "data.csv"
    p.write_bytes(DATA)
    return p


def _labels(p):
    return CsvTable(p.read_bytes().decode()).column("label")


def test_save_changes_only_the_label_and_backs_up(path):
    lf = LabelFile.open(path, "label")
    assert lf.labels() == ["", "a", ""]
    assert lf.save_label(0, "b") == "b"
    assert path.read_bytes() == b"x,label\r\n1,b\r\n2,a\r\n3,\r\n"
    assert lf.backup == path.with_name("data.csv.bak")
    assert lf.backup.read_bytes() == DATA
    lf.save_label(2, "a")
    assert _labels(path) == ["b", "a", "a"]
    assert lf.backup.read_bytes() == DATA  # one backup per LabelFile
    assert not list(path.parent.glob(".*.tmp"))


def test_formula_label_is_neutralised(path):
    lf = LabelFile.open(path, "label")
    assert lf.save_label(0, '=HYPERLINK("http://evil","x")') == (
        '\'=HYPERLINK("http://evil","x")'
    )
    assert lf.save_label(2, "-1") == "-1"
    assert _labels(path) == ['\'=HYPERLINK("http://evil","x")', "a", "-1"]
    lf.save_label(0, "=raw", neutralise=False)
    assert _labels(path)[0] == "=raw"


def test_undo_restores_the_cell_with_the_same_guarantees(path):
    lf = LabelFile.open(path, "label")
    lf.save_label(0, "b")
    lf.save_label(1, "c")  # relabel a labeled row
    assert lf.undo() == (1, "a")
    assert _labels(path) == ["b", "a", ""]
    assert lf.undo() == (0, "")
    assert path.read_bytes() == DATA
    assert lf.undo() is None


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_permissions_are_kept_for_file_and_backup(path, mode):
    os.chmod(path, mode)
    lf = LabelFile.open(path, "label")
    lf.save_label(0, "b")
    assert path.stat().st_mode & 0o777 == mode
    assert lf.backup.stat().st_mode & 0o777 == mode


def test_symlink_is_written_through(path, tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    lf = LabelFile.open(link, "label")
    lf.save_label(0, "b")
    assert link.is_symlink() and _labels(path)[0] == "b"
    assert lf.path == path and lf.backup == tmp_path / "data.csv.bak"


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: os.chmod(p, 0o444), "read-only"),
        (lambda p: os.link(p, p.with_name("other.csv")), "hard links"),
    ],
)
def test_unsafe_files_are_refused_at_open(path, setup, message):
    setup(path)
    with pytest.raises(ValueError, match=message):
        LabelFile.open(path, "label")
    assert path.read_bytes() == DATA


def test_file_made_read_only_during_a_session_is_refused(path):
    lf = LabelFile.open(path, "label")
    os.chmod(path, 0o444)
    with pytest.raises(ValueError, match="read-only"):
        lf.save_label(0, "b")
    assert path.read_bytes() == DATA and lf.table.column("label")[0] == ""


def test_change_by_another_program_is_detected(path):
    lf = LabelFile.open(path, "label")
    path.write_bytes(DATA.replace(b"3,", b"3,z"))
    with pytest.raises(LabelFileChanged, match="changed on disk"):
        lf.save_label(0, "b")
    assert _labels(path) == ["", "a", "z"]
    assert lf.table.column("label")[0] == ""  # the table is as before


def test_reload_after_a_change_continues(path):
    lf = LabelFile.open(path, "label")
    lf.save_label(0, "b")
    path.write_bytes(path.read_bytes().replace(b"3,", b"3,z"))
    with pytest.raises(LabelFileChanged):
        lf.save_label(0, "c")
    lf.reload()
    assert lf.labels() == ["b", "a", "z"] and lf.history == []
    lf.save_label(0, "c")
    assert _labels(path) == ["c", "a", "z"]
    assert lf.backup.read_bytes() == DATA  # still the first backup


def test_two_writers_never_lose_a_saved_answer(path):
    """Two sessions on one file: every answer either is in the file at the end
    or was refused; none is reported saved and then lost."""
    files = [LabelFile.open(path, "label", lock_timeout=60) for _ in range(2)]
    start = threading.Barrier(2)
    saved, refused = [], []

    def label(lf, row, value):
        start.wait()
        try:
            lf.save_label(row, value)
            saved.append((row, value))
        except LabelFileChanged:
            refused.append((row, value))

    threads = [
        threading.Thread(target=label, args=(files[0], 0, "p")),
        threading.Thread(target=label, args=(files[1], 2, "q")),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(saved) == 1 and len(refused) == 1
    labels = _labels(path)
    assert all(labels[row] == value for row, value in saved)
    assert all(labels[row] != value for row, value in refused)


def test_session_lock_refuses_a_second_session(path):
    first = LabelFile.open(path, "label")
    second = LabelFile.open(path, "label", lock_timeout=0)
    with first.locked():
        first.save_label(0, "b")  # re-entrant for its holder
        with pytest.raises(ValueError, match="another program"):
            second.save_label(2, "c")
    assert _labels(path) == ["b", "a", ""]


def test_threads_share_one_label_file(path):
    lf = LabelFile.open(path, "label")
    threads = [
        threading.Thread(target=lf.save_label, args=(row, f"v{row}")) for row in (0, 2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert _labels(path) == ["v0", "a", "v2"] and len(lf.history) == 2


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_full_disk_is_one_line_and_keeps_the_data(path, monkeypatch, where):
    lf = LabelFile.open(path, "label")
    lf.save_label(0, "b")
    before = path.read_bytes()

    def no_space(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, where, no_space)
    with pytest.raises(ValueError, match="no space left on the device") as info:
        lf.save_label(2, "c")
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == before and lf.table.column("label")[2] == ""
    assert not list(path.parent.glob(".*.tmp"))
    lf.save_label(2, "c")  # works again once there is space
    assert _labels(path) == ["b", "a", "c"]


@pytest.mark.parametrize(
    "row, label, message",
    [
        (3, "x", r"row must be in \[0, 3\)"),
        (-1, "x", "row must be"),
        (0, "a\nb", "text on one line"),
        (0, 5, "text on one line"),
    ],
)
def test_save_label_rejects(path, row, label, message):
    lf = LabelFile.open(path, "label")
    with pytest.raises(ValueError, match=message):
        lf.save_label(row, label)
    assert path.read_bytes() == DATA


def test_unencodable_label_is_refused(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"x,label\n1,\n")
    lf = LabelFile.open(p, "label", encoding="ascii")
    with pytest.raises(ValueError, match="cannot be written in ascii"):
        lf.save_label(0, "café")
    assert p.read_bytes() == b"x,label\n1,\n" and lf.labels() == [""]


def test_open_refuses_missing_column_and_lossy_encoding(path, tmp_path):
    with pytest.raises(ValueError, match="no column 'y'"):
        LabelFile.open(path, "y")
    p = tmp_path / "be.csv"  # big-endian UTF-16 would come back little-endian
    p.write_bytes(b"\xfe\xff" + "x,label\n1,\n".encode("utf-16-be"))
    with pytest.raises(ValueError, match="cannot be rewritten byte for byte"):
        LabelFile.open(p, "label", encoding="utf-16")


def test_a_session_lock_taken_in_one_thread_admits_saves_from_others(path):
    """A web app takes the lock in its main thread and saves from workers."""
    lf = LabelFile.open(path, "label")
    other = LabelFile.open(path, "label", lock_timeout=0)
    with lf.locked():
        worker = threading.Thread(target=lf.save_label, args=(0, "w"))
        worker.start()
        worker.join(10)
        assert not worker.is_alive()
        with pytest.raises(ValueError, match="another program"):
            other.save_label(2, "c")
    assert _labels(path) == ["w", "a", ""]
    other.reload()
    other.save_label(2, "c")  # the lock is free again
    assert _labels(path) == ["w", "a", "c"]
