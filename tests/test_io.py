"""Tests for batchbald.io: atomic writes, saved predictions, CSV tables."""

import os

import numpy as np
import pytest

from batchbald.io import (
    CsvTable,
    atomic_write,
    backup_path,
    check_new_file,
    load_predictions,
    probability_hint,
    read_indices,
)


def _probs(K=4, N=30, C=3, seed=0):
    rng = np.random.RandomState(seed)
    p = rng.dirichlet(np.ones(C), size=(K, N))
    return p


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------
def test_atomic_write_creates_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write(path, b"a,b\n", overwrite=False)
    assert path.read_bytes() == b"a,b\n"
    assert _leftovers(tmp_path) == []


def test_atomic_write_refuses_existing_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"mine")
    with pytest.raises(ValueError, match="already exists"):
        atomic_write(path, b"new", overwrite=False)
    assert path.read_bytes() == b"mine"
    assert _leftovers(tmp_path) == []


def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write(path, b"new", overwrite=True)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_old_file(tmp_path, error):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")

    def write(tmp):
        tmp.write_bytes(b"half")
        raise error("boom")

    with pytest.raises(error):
        atomic_write(path, write, overwrite=True)
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_backup_path_never_reuses(tmp_path):
    data = tmp_path / "data.csv"
    assert backup_path(data).name == "data.csv.bak"
    (tmp_path / "data.csv.bak").write_text("x")
    assert backup_path(data).name == "data.csv.bak.1"
    (tmp_path / "data.csv.bak.1").write_text("x")
    assert backup_path(data).name == "data.csv.bak.2"


@pytest.mark.parametrize(
    "name, force, message",
    [
        ("exists.csv", False, "already exists; refusing to overwrite"),
        ("nodir/out.csv", False, "does not exist; create it first"),
        (".", True, "is a directory"),
    ],
)
def test_check_new_file_errors(tmp_path, name, force, message):
    (tmp_path / "exists.csv").write_text("x")
    with pytest.raises(ValueError, match=message):
        check_new_file(tmp_path / name, force)


def test_check_new_file_force(tmp_path):
    (tmp_path / "exists.csv").write_text("x")
    assert check_new_file(tmp_path / "exists.csv", True).name == "exists.csv"


# --------------------------------------------------------------------------
# saved predictions
# --------------------------------------------------------------------------
def test_npy_is_memory_mapped_view(tmp_path):
    p = _probs()
    np.save(tmp_path / "p.npy", p)
    probs, info = load_predictions(tmp_path / "p.npy")
    assert isinstance(probs, np.memmap) and info["memmap"] and not info["copied"]
    np.testing.assert_array_equal(probs, p)


def test_nkc_is_a_transposed_view(tmp_path):
    p = _probs()
    np.save(tmp_path / "p.npy", np.moveaxis(p, 0, 1).copy())
    probs, info = load_predictions(tmp_path / "p.npy", layout="NKC")
    assert info["shape"] == (30, 4, 3) and not info["copied"]
    assert isinstance(probs.base, np.memmap) or isinstance(probs, np.memmap)
    np.testing.assert_array_equal(probs, p)


@pytest.mark.parametrize("max_in_memory", [0, 2**30])  # temp memmap / memory
@pytest.mark.parametrize("layout", ["KNC", "NKC"])
def test_log_and_candidates_conversion(tmp_path, max_in_memory, layout):
    p = _probs()
    stored = np.log(p) if layout == "KNC" else np.moveaxis(np.log(p), 0, 1).copy()
    stored[0, 0, 0] = -np.inf if layout == "KNC" else stored[0, 0, 0]
    np.save(tmp_path / "lp.npy", stored)
    expected = np.exp(stored if layout == "KNC" else np.moveaxis(stored, 0, 1))
    cand = np.array([7, 2, 29, 0])
    probs, info = load_predictions(
        tmp_path / "lp.npy",
        layout=layout,
        log=True,
        candidates=cand,
        max_in_memory=max_in_memory,
        tmpdir=str(tmp_path),
    )
    assert info["copied"] and info["memmap"] == (max_in_memory == 0)
    np.testing.assert_allclose(probs, expected[:, cand, :])
    assert _leftovers(tmp_path) == []  # the temporary map is already unlinked


def test_npz_single_and_keyed(tmp_path):
    p = _probs()
    np.savez(tmp_path / "one.npz", p)
    np.testing.assert_array_equal(load_predictions(tmp_path / "one.npz")[0], p)
    np.savez(tmp_path / "two.npz", probs=p, other=p[:1])
    np.testing.assert_array_equal(
        load_predictions(tmp_path / "two.npz", key="probs")[0], p
    )


@pytest.mark.parametrize(
    "make, kwargs, error, message",
    [
        (lambda d: None, {}, FileNotFoundError, "does not exist"),
        (
            lambda d: np.save(d / "p.npy", np.ones((3, 4))),
            {},
            ValueError,
            r"2 dimension\(s\), shape \(3, 4\); expected 3 dimensions",
        ),
        (
            lambda d: np.savez(d / "p.npz", a=np.ones(1), b=np.ones(1)),
            {},
            ValueError,
            "holds 2 arrays",
        ),
        (
            lambda d: np.savez(d / "p.npz", a=_probs()),
            {"key": "zzz"},
            ValueError,
            "has no array 'zzz'",
        ),
        (
            lambda d: np.save(d / "p.npy", _probs()),
            {"key": "a"},
            ValueError,
            "--key only applies",
        ),
        (
            lambda d: np.save(d / "p.npy", _probs()),
            {"layout": "CNK"},
            ValueError,
            "layout must be one of",
        ),
        (
            lambda d: np.save(d / "p.npy", _probs()),
            {"log": True},
            ValueError,
            "positive values .* Drop --log",
        ),
        (
            lambda d: np.save(d / "p.npy", np.full((2, 3, 2), np.nan)),
            {"log": True},
            ValueError,
            "contains NaN",
        ),
        (
            lambda d: (d / "p.txt").write_text("1"),
            {},
            ValueError,
            "must be a .npy or .npz",
        ),
        (
            lambda d: np.save(d / "p.npy", _probs()),
            {"candidates": [0, 30]},
            ValueError,
            r"outside \[0, 30\)",
        ),
    ],
)
def test_load_predictions_errors(tmp_path, make, kwargs, error, message):
    make(tmp_path)
    name = next((p.name for p in tmp_path.iterdir()), "p.npy")
    with pytest.raises(error, match=message):
        load_predictions(tmp_path / name, **kwargs)


def test_probability_hint_detects_log_probs():
    p = _probs()
    assert "did you mean --log" in probability_hint(np.log(p), log=False)
    assert probability_hint(p * 2, log=False) == ""
    assert "log_softmax" in probability_hint(p, log=True)


@pytest.mark.parametrize(
    "content, expected",
    [
        ("3\n1\n4 # a comment\n", [3, 1, 4]),
        ("5, 9,2\n\n", [5, 9, 2]),
    ],
)
def test_read_indices_text(tmp_path, content, expected):
    (tmp_path / "c.txt").write_text(content)
    assert read_indices(tmp_path / "c.txt").tolist() == expected


def test_read_indices_npy(tmp_path):
    np.save(tmp_path / "c.npy", np.array([4.0, 2.0]))
    assert read_indices(tmp_path / "c.npy").tolist() == [4, 2]


@pytest.mark.parametrize(
    "content, message",
    [
        ("1\nx\n", "line 2: expected integer pool indices, got 'x'"),
        ("1\n-2\n", "negative indices"),
        ("1\n1\n", "repeats indices"),
        ("# nothing\n", "holds no indices"),
    ],
)
def test_read_indices_errors(tmp_path, content, message):
    (tmp_path / "c.txt").write_text(content)
    with pytest.raises(ValueError, match=message):
        read_indices(tmp_path / "c.txt")


# --------------------------------------------------------------------------
# CSV tables
# --------------------------------------------------------------------------
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
