"""Tests for ``batchbald query`` (batchbald.cli.query).

Most run in-process through ``batchbald.cli.main``; the kill tests run the
command in a subprocess, answer a few labels on its stdin and then kill it.
"""

import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from batchbald.cli import main
from batchbald.io import CsvTable

SPECIES = ["setosa", "versicolor", "virginica"]
FAST = ["--model", "logreg-bagging", "--members", "4", "--no-progress"]


def make_csv(path, n=40, labeled_every=4, seed=0, newline="\r\n", labels=SPECIES):
    """A table with a numeric, a categorical, a quoted text column and labels."""
    rng = np.random.RandomState(seed)
    lines = ["x1,color,x2,note,species"]
    for i in range(n):
        c = i % len(labels)
        color = ["red", "green", "blue"][c] if rng.rand() < 0.7 else "red"
        label = labels[c] if labeled_every and i % labeled_every == 0 else ""
        lines.append(
            f"{rng.randn() + 2 * c:.3f},{color},{rng.randn() - c:.3f},"
            f'"group {i % 3}, ok",{label}'
        )
    data = (newline.join(lines) + newline).encode()
    path.write_bytes(data)
    return data


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return make_csv(tmp_path / "data.csv")


def test_help_has_examples(capsys):
    assert main(["query", "--help"]) == 0
    out = capsys.readouterr().out
    for text in (
        "examples:",
        "--label-column",
        "--interactive",
        "--no-one-hot",
        "DATA.bak",
        "exit status",
        "gain_nats",
    ):
        assert text in out


@pytest.mark.parametrize(
    "model, method",
    [
        ("logreg-bagging", "batchbald"),
        ("rf", "bald"),
        ("gp-bagging", "powerbald"),
        ("logreg-bagging", "entropy"),
        ("logreg-bagging", "random"),
    ],
)
def test_writes_rows_to_label_and_leaves_data_alone(
    tmp_path, data, capsys, model, method
):
    code = main(
        [
            "query",
            "data.csv",
            "-y",
            "species",
            "-b",
            "4",
            "--model",
            model,
            "--members",
            "4",
            "--method",
            method,
            "--no-progress",
        ]
    )
    assert code == 0
    assert (tmp_path / "data.csv").read_bytes() == data
    header, rows = _read(tmp_path / "to_label.csv")
    score = {"batchbald": "gain_nats", "entropy": "entropy_nats"}.get(
        method, "bald_nats"
    )
    assert header == [
        "row",
        "line",
        "step",
        score,
        "x1",
        "color",
        "x2",
        "note",
        "species",
    ]
    table = CsvTable(data.decode())
    for step, r in enumerate(rows, 1):
        row = int(r[0])
        assert int(r[2]) == step and float(r[3]) >= -1e-9
        assert int(r[1]) == table.row_lines[row - 1] == row + 1
        assert r[4:] == table.rows[row - 1] and r[-1] == ""
    assert len({r[0] for r in rows}) == 4
    err = capsys.readouterr().err
    assert "one-hot encoding non-numeric column(s): color (3 values), note" in err
    assert "chose 4 of 30 unlabeled rows" in err and "wrote to_label.csv" in err
    assert not list(tmp_path.glob(".*.tmp"))


def test_same_seed_same_rows(tmp_path, data):
    for out in ("a.csv", "b.csv"):
        assert (
            main(["query", "data.csv", "-y", "species", "-b", "5", "--out", out, *FAST])
            == 0
        )
    assert _read(tmp_path / "a.csv") == _read(tmp_path / "b.csv")


def test_features_and_no_one_hot(tmp_path, data, capsys):
    assert (
        main(
            [
                "query",
                "data.csv",
                "-y",
                "species",
                "-b",
                "3",
                "--features",
                "x1,x2",
                "--no-one-hot",
                *FAST,
            ]
        )
        == 0
    )
    assert "one-hot" not in capsys.readouterr().err


def test_refuses_to_overwrite_output(tmp_path, data, capsys):
    (tmp_path / "to_label.csv").write_text("precious")
    assert main(["query", "data.csv", "-y", "species", "-b", "3", *FAST]) == 2
    assert "already exists; refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "to_label.csv").read_text() == "precious"
    assert (
        main(["query", "data.csv", "-y", "species", "-b", "3", "--force", *FAST]) == 0
    )
    assert _read(tmp_path / "to_label.csv")[0][0] == "row"


@pytest.mark.parametrize(
    "labeled_every, labels, message",
    [
        (0, SPECIES, "no row is labeled yet"),
        (3, ["only"], "only one class ('only') is labeled so far"),
    ],
)
def test_fallback_to_a_diverse_batch(
    tmp_path, monkeypatch, capsys, labeled_every, labels, message
):
    monkeypatch.chdir(tmp_path)
    make_csv(tmp_path / "data.csv", labeled_every=labeled_every, labels=labels)
    assert main(["query", "data.csv", "-y", "species", "-b", "5", *FAST]) == 0
    err = capsys.readouterr().err
    assert message in err and "k-means++" in err and "not batchbald" in err
    _, rows = _read(tmp_path / "to_label.csv")
    assert len({r[0] for r in rows}) == 5
    assert all(r[3] == "" and r[-1] == "" for r in rows)


def test_all_labeled_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_csv(tmp_path / "data.csv", labeled_every=1)
    assert main(["query", "data.csv", "-y", "species", "-b", "5", *FAST]) == 0
    assert "nothing left to label" in capsys.readouterr().err
    assert not (tmp_path / "to_label.csv").exists()


def test_batch_larger_than_unlabeled(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_csv(tmp_path / "data.csv", n=12, labeled_every=1)
    text = (tmp_path / "data.csv").read_text()
    (tmp_path / "data.csv").write_text(text.replace(",setosa\n", ",\n", 2))
    assert main(["query", "data.csv", "-y", "species", "-b", "9", *FAST]) == 0
    assert "choosing all of them" in capsys.readouterr().err
    assert len(_read(tmp_path / "to_label.csv")[1]) >= 1


def _edit(old, new, count=1):
    def make(path):
        text = path.read_bytes().decode()
        assert old in text
        path.write_bytes(text.replace(old, new, count).encode())

    return make


@pytest.mark.parametrize(
    "edit, argv, message",
    [
        (None, ["-y", "label"], "has no column 'label'; its columns are 'x1'"),
        (
            _edit(",red,", ",,"),
            [],
            r"feature column 'color' is empty in row \d+ "
            r"\(line \d+\)",
        ),
        (
            None,
            ["--no-one-hot"],
            "feature column 'color' is not numeric .* --no-one-hot",
        ),
        (None, ["--features", "x1,zz"], "has no column 'zz'"),
        (None, ["--features", "x1,species"], "--features names the label column"),
        (None, ["--features", "x1,x2", "--delimiter", ";"], "has no column 'species'"),
        (None, ["--out", "data.csv"], "already exists|must not be the data file"),
        (None, ["--seed", "-1"], r"--seed must be in \[0, 2\*\*32\)"),
    ],
)
def test_bad_input_exits_2(tmp_path, data, capsys, edit, argv, message):
    if edit is not None:
        edit(tmp_path / "data.csv")
    argv = ["-y", "species", *argv] if "-y" not in argv else argv
    code = main(["query", "data.csv", "-b", "3", *FAST, *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("batchbald query: error: ")
    assert re.search(message, err), err


def test_numeric_column_with_a_text_cell(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_csv(tmp_path / "data.csv")
    text = (tmp_path / "data.csv").read_text()
    first = text.splitlines()[3].split(",")[0]
    (tmp_path / "data.csv").write_text(text.replace(first, "NA", 1))
    assert main(["query", "data.csv", "-y", "species", "-b", "3", *FAST]) == 2
    assert (
        "feature column 'x1' is numeric except for 'NA' in row 3 (line 4)"
        in capsys.readouterr().err
    )


def test_missing_data_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["query", "nope.csv", "-y", "y", "-b", "3"]) == 2
    assert "data file 'nope.csv' does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------
# interactive sessions (in-process, answers on a fake stdin)
# --------------------------------------------------------------------------
def _session(monkeypatch, answers, *extra, batch="4"):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(a + "\n" for a in answers)))
    return main(
        ["query", "data.csv", "-y", "species", "-b", batch, "-i", *FAST, *extra]
    )


def _changed_rows(before: bytes, after: bytes):
    old, new = CsvTable(before.decode()), CsvTable(after.decode())
    assert old.header == new.header and len(old.rows) == len(new.rows)
    changed = {}
    for i, (a, b) in enumerate(zip(old.rows, new.rows, strict=True)):
        assert a[:-1] == b[:-1]  # only the label cell may change
        if a != b:
            changed[i + 1] = b[-1]
    return changed


def test_interactive_session(tmp_path, data, monkeypatch, capsys):
    answers = ["2", "", "virginica", "Dogs", "y", "q"]
    assert _session(monkeypatch, answers, batch="6") == 0
    out = capsys.readouterr().out
    saved = [
        line.split("saved: row ")[1]
        for line in out.splitlines()
        if "saved: row " in line
    ]
    assert len(saved) == 3 and "skipped row" in out
    expected = {int(s.split(" = ")[0]): s.split(" = ")[1] for s in saved}
    after = (tmp_path / "data.csv").read_bytes()
    assert _changed_rows(data, after) == expected
    assert sorted(expected.values()) == ["Dogs", "versicolor", "virginica"]
    assert "1) setosa   2) versicolor   3) virginica" in out
    # Only the changed lines differ; CRLF line endings and quoting are kept.
    old_lines, new_lines = data.split(b"\r\n"), after.split(b"\r\n")
    assert sum(a != b for a, b in zip(old_lines, new_lines, strict=True)) == 3
    assert (tmp_path / "data.csv.bak").read_bytes() == data
    assert not (tmp_path / "to_label.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_new_label_needs_confirmation_and_eof_stops(
    tmp_path, data, monkeypatch, capsys
):
    assert _session(monkeypatch, ["typo", "n", "=q", "y"]) == 0
    out = capsys.readouterr().out
    assert "'typo' is a new class" in out and "'q' is a new class" in out
    assert "end of input: stopping." in out
    assert list(_changed_rows(data, (tmp_path / "data.csv").read_bytes()).values()) == [
        "q"
    ]


def test_second_session_keeps_first_backup(tmp_path, data, monkeypatch, capsys):
    assert _session(monkeypatch, ["1", "q"]) == 0
    first = (tmp_path / "data.csv").read_bytes()
    assert _session(monkeypatch, ["2", "q"]) == 0
    assert (tmp_path / "data.csv.bak").read_bytes() == data
    assert (tmp_path / "data.csv.bak.1").read_bytes() == first


def test_numeric_labels_disable_shortcuts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = make_csv(tmp_path / "data.csv", labels=["0", "1", "2"], newline="\n")
    assert _session(monkeypatch, ["2", "q"]) == 0
    out = capsys.readouterr().out
    assert "classes: 0, 1, 2" in out
    assert list(_changed_rows(data, (tmp_path / "data.csv").read_bytes()).values()) == [
        "2"
    ]


def test_session_stops_if_file_changes_on_disk(tmp_path, data, monkeypatch, capsys):
    class Meddling(io.StringIO):
        def readline(self, *args):
            (tmp_path / "data.csv").write_bytes(data + b"1,red,2,x,\r\n")
            return super().readline(*args)

    monkeypatch.setattr(sys, "stdin", Meddling("1\n"))
    code = main(["query", "data.csv", "-y", "species", "-b", "2", "-i", *FAST])
    assert code == 2
    assert "changed on disk since it was read" in capsys.readouterr().err
    assert (tmp_path / "data.csv").read_bytes() == data + b"1,red,2,x,\r\n"


def test_interrupt_in_process_keeps_answers(tmp_path, data, monkeypatch, capsys):
    class Interrupting(io.StringIO):
        def readline(self, *args):
            line = super().readline(*args)
            if not line:
                raise KeyboardInterrupt
            return line

    monkeypatch.setattr(sys, "stdin", Interrupting("3\n"))
    code = main(["query", "data.csv", "-y", "species", "-b", "3", "-i", *FAST])
    assert code == 130
    assert "1 answer(s) saved" in capsys.readouterr().err
    assert list(_changed_rows(data, (tmp_path / "data.csv").read_bytes()).values()) == [
        "virginica"
    ]


# --------------------------------------------------------------------------
# kill tests: a real process, answers on a pipe
# --------------------------------------------------------------------------
def _start(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchbald.cli",
            "query",
            "data.csv",
            "-y",
            "species",
            "-b",
            "6",
            "-i",
            *FAST,
        ],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "stderr.txt", "w"),
        text=True,
        env=env,
    )


def _answer(proc, answers):
    """Send answers one by one, waiting for each to be saved; returns
    {row: label} as reported by the process."""
    saved = {}
    for answer in answers:
        proc.stdin.write(answer + "\n")
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            assert line, "the process ended early"
            if "saved: row " in line:
                row, label = line.split("saved: row ")[1].strip().split(" = ")
                saved[int(row)] = label
                break
    return saved


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_session_keeps_every_answer(tmp_path, sig):
    data = make_csv(tmp_path / "data.csv")
    proc = _start(tmp_path)
    watchdog = threading.Timer(60, proc.kill)  # a hang becomes a failure
    watchdog.start()
    try:
        saved = _answer(proc, ["1", "versicolor", "3"])
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stdin.close()
    after = (tmp_path / "data.csv").read_bytes()
    assert _changed_rows(data, after) == saved
    assert sorted(saved.values()) == ["setosa", "versicolor", "virginica"]
    assert (tmp_path / "data.csv.bak").read_bytes() == data
    if sig == signal.SIGINT:
        assert code == 130
        err = (tmp_path / "stderr.txt").read_text()
        assert "3 answer(s) saved" in err and "interrupted" in err
        assert not list(tmp_path.glob(".*.tmp"))
    else:
        assert code == -signal.SIGKILL


def test_kill_during_writes_leaves_a_valid_prefix(tmp_path):
    """Answers arrive faster than they are saved; SIGKILL lands mid-session,
    probably mid-write. The file must hold the first n answers, nothing else."""
    data = make_csv(tmp_path / "data.csv", n=400)
    proc = _start(tmp_path)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        proc.stdin.write("1\n2\n3\n1\n2\n3\n")
        proc.stdin.flush()
        shown = []
        while True:
            line = proc.stdout.readline()
            assert line, "the process ended early"
            shown += re.findall(r"\[\d/6\] row (\d+) ", line)
            if "saved: row " in line:
                break
        proc.kill()
        proc.wait(timeout=30)
        shown += re.findall(r"\[\d/6\] row (\d+) ", proc.stdout.read())
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stdin.close()
    changed = _changed_rows(data, (tmp_path / "data.csv").read_bytes())
    n = len(changed)
    assert n >= 1
    answers = ["setosa", "versicolor", "virginica"] * 2
    assert changed == {int(r): a for r, a in zip(shown[:n], answers, strict=False)}


@pytest.mark.parametrize(("members", "warned"), [(1, True), (2, False)])
def test_single_member_ensemble_is_flagged(tmp_path, data, capsys, members, warned):
    args = ["query", "data.csv", "-y", "species", "-b", "2", "--no-progress"]
    args += ["--model", "logreg-bagging", "--members", str(members)]
    assert main(args) == 0
    assert ("every BALD score is 0" in capsys.readouterr().err) is warned
