"""Tests for ``batchbald query`` (batchbald.cli.query).

Most run in-process through ``batchbald.cli.main``; the kill tests run the
command in a subprocess, answer a few labels on its stdin and then kill it.
"""

import csv
import io
import os
import queue
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


def test_interactive_shows_why_a_drawn_row_was_chosen(
    tmp_path, data, monkeypatch, capsys
):
    # three voting trees are identified after a pick or two; the rest of the
    # batch is drawn PowerBALD-style, and each drawn row shows its BALD score
    answers = [""] * 6 + ["q"]
    extra = ["--model", "rf", "--members", "3"]
    assert _session(monkeypatch, answers, *extra, batch="6") == 0
    shown = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[")]
    assert len(shown) == 6
    drawn = ["drawn PowerBALD-style after the batch saturated" in ln for ln in shown]
    assert not drawn[0] and drawn[-1]
    first = drawn.index(True)
    assert all(drawn[first:])
    assert all("gain_nats" in ln and "BALD score" in ln for ln in shown[first:])


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
#: How long any one wait on the child may take before the test fails. The
#: waits end as soon as their condition holds, so this only bounds a hang: a
#: slow machine makes the test slower, never failing.
PATIENCE = 600


class _Child:
    """``batchbald query -i`` in a subprocess, its stdout read by a thread so
    that every wait has a deadline and none depends on the machine's speed."""

    def __init__(self, tmp_path, n_batch="6"):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.stderr = open(tmp_path / "stderr.txt", "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchbald.cli",
                "query",
                "data.csv",
                "-y",
                "species",
                "-b",
                n_batch,
                "-i",
                *FAST,
            ],
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait_for(self, pattern):
        """The next line matching ``pattern`` (earlier lines are kept in
        ``seen``); fails if the output ends or nothing comes for PATIENCE s."""
        while True:
            try:
                line = self.lines.get(timeout=PATIENCE)
            except queue.Empty:
                pytest.fail(f"no output matching {pattern!r} for {PATIENCE} s")
            assert line is not None, "the process ended early"
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def rest(self):
        """Every line after the process ended."""
        out = []
        while (line := self.lines.get(timeout=PATIENCE)) is not None:
            out.append(line)
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=PATIENCE)
        self.proc.stdin.close()
        self.stderr.close()


def _answer(child, answers):
    """Send answers one by one, waiting for each to be saved; returns
    {row: label} as reported by the process."""
    saved = {}
    for answer in answers:
        child.send(answer + "\n")
        line = child.wait_for("saved: row ")
        row, label = line.split("saved: row ")[1].strip().split(" = ")
        saved[int(row)] = label
    return saved


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_session_keeps_every_answer(tmp_path, sig):
    data = make_csv(tmp_path / "data.csv")
    child = _Child(tmp_path)
    try:
        saved = _answer(child, ["1", "versicolor", "3"])
        child.wait_for(r"^\[4/6\] row ")  # showing the next row: mid-session
        child.proc.send_signal(sig)
        code = child.proc.wait(timeout=PATIENCE)
    finally:
        child.close()
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


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_kill_during_writes_leaves_a_valid_prefix(tmp_path):
    """Answers arrive faster than they are saved; SIGKILL lands mid-session,
    probably mid-write. The file must hold the first n answers, nothing else."""
    data = make_csv(tmp_path / "data.csv", n=400)
    child = _Child(tmp_path)
    try:
        child.send("1\n2\n3\n1\n2\n3\n")
        child.wait_for("saved: row ")
        child.proc.kill()
        child.proc.wait(timeout=PATIENCE)
        lines = child.seen + child.rest()
    finally:
        child.close()
    shown = re.findall(r"\[\d/6\] row (\d+) ", "".join(lines))
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


# --------------------------------------------------------------------------
# issue 14: output, columns, progress
# --------------------------------------------------------------------------
def test_out_dash_writes_to_stdout(tmp_path, data, capsys):
    argv = ["query", "data.csv", "-y", "species", "-b", "3", "--out", "-", *FAST]
    assert main(argv) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0][:4] == ["row", "line", "step", "gain_nats"] and len(rows) == 4
    assert "wrote the rows to stdout" in captured.err
    assert not (tmp_path / "-").exists() and not (tmp_path / "to_label.csv").exists()
    assert main(argv) == 0  # nothing on disk blocks the next run


def test_out_dash_with_interactive_is_refused(tmp_path, data, capsys):
    argv = ["query", "data.csv", "-y", "species", "-b", "3", "-o", "-", "-i", *FAST]
    assert main(argv) == 2
    assert "--out - cannot be combined with --interactive" in capsys.readouterr().err


def test_exclude_drops_columns(tmp_path, data, capsys):
    argv = ["query", "data.csv", "-y", "species", "-b", "3", *FAST]
    assert main([*argv, "--exclude", "note,color"]) == 0
    assert "one-hot" not in capsys.readouterr().err
    header, rows = _read(tmp_path / "to_label.csv")
    assert header[4:] == ["x1", "color", "x2", "note", "species"]  # all cells kept
    assert main([*argv, "--exclude", "nope", "--force"]) == 2
    assert "has no column 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("tty", [False, True])
def test_progress_bar_only_on_a_terminal(tmp_path, data, capsys, monkeypatch, tty):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    argv = ["query", "data.csv", "-y", "species", "-b", "3"]
    assert main([*argv, "--model", "logreg-bagging", "--members", "4"]) == 0
    assert ("query (batchbald)" in capsys.readouterr().err) is tty


def test_formulas_in_cells_are_neutralised_in_the_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = ["x,note,species"]
    for i in range(12):
        note = ["=1+1", "@SUM(A1)", "+cmd", "-2+3", "\tx", "ok"][i % 6]
        label = ["a", "b", ""][i % 3]
        lines.append(f'{-i - 0.5},"{note}",{label}')
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    argv = ["query", "data.csv", "-y", "species", "-b", "4", "--exclude", "note"]
    assert main([*argv, *FAST]) == 0
    _, rows = _read(tmp_path / "to_label.csv")
    for r in rows:
        assert float(r[4]) < 0  # negative numbers untouched
        assert r[5] == "ok" or r[5].startswith("'"), r[5]


# --------------------------------------------------------------------------
# issue 14: costs checked before fitting
# --------------------------------------------------------------------------
def _big_csv(path, n_labeled, n_unlabeled=5, id_column=False):
    rng = np.random.RandomState(0)
    x = rng.randn(n_labeled + n_unlabeled, 2)
    head = "id,x1,x2,y\n" if id_column else "x1,x2,y\n"
    rows = []
    for i, (a, b) in enumerate(x):
        label = ("a", "b")[int(a > 0)] if i < n_labeled else ""
        rows.append((f"u{i}," if id_column else "") + f"{a:.3f},{b:.3f},{label}\n")
    path.write_text(head + "".join(rows))


@pytest.mark.slow
def test_gp_on_100k_labeled_rows_is_refused_before_fitting(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    _big_csv(tmp_path / "data.csv", 100_000)
    argv = ["query", "data.csv", "-y", "y", "-b", "3", "--model", "gp-bagging"]
    assert main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'gp-bagging' on 100000 labeled rows" in err
    assert "logreg-bagging or rf" in err and "fitting" not in err
    assert not (tmp_path / "to_label.csv").exists()


def test_default_model_scales_on_large_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _big_csv(tmp_path / "data.csv", 3000)
    argv = ["query", "data.csv", "-y", "y", "-b", "3", "--members", "3"]
    assert main([*argv, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "gp-bagging on 3000 labeled rows would need about" in err
    assert "using logreg-bagging instead" in err
    assert "fitting logreg-bagging (3 members) on 3000 labeled rows" in err


def test_id_column_too_wide_is_refused(tmp_path, monkeypatch, capsys):
    from batchbald import models

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "default_max_memory", lambda: 2**30)
    _big_csv(tmp_path / "data.csv", 19_995, id_column=True)
    argv = ["query", "data.csv", "-y", "y", "-b", "3", *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "'id' (20000 values)" in err and "--exclude id" in err
    assert main([*argv, "--exclude", "id"]) == 0


def test_model_alias_warns(tmp_path, data, capsys):
    argv = ["query", "data.csv", "-y", "species", "-b", "2", "--members", "3"]
    with pytest.warns(FutureWarning, match="'bagging-logreg' is deprecated"):
        assert main([*argv, "--model", "bagging-logreg", "--no-progress"]) == 0
    assert main([*argv, "--model", "svm", "--force"]) == 2
    assert "model must be one of gp-bagging" in capsys.readouterr().err


# --------------------------------------------------------------------------
# issue 14: the labeling file
# --------------------------------------------------------------------------
def test_read_only_data_is_refused(tmp_path, data, monkeypatch, capsys):
    os.chmod(tmp_path / "data.csv", 0o444)
    assert _session(monkeypatch, ["1", "q"]) == 2
    assert "read-only (mode 0444)" in capsys.readouterr().err
    assert (tmp_path / "data.csv").read_bytes() == data
    assert not (tmp_path / "data.csv.bak").exists()


def test_owner_permissions_are_kept(tmp_path, data, monkeypatch):
    os.chmod(tmp_path / "data.csv", 0o600)
    assert _session(monkeypatch, ["1", "q"]) == 0
    assert (tmp_path / "data.csv").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data.csv.bak").stat().st_mode & 0o777 == 0o600


def test_symlinked_data_is_written_through(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    data = make_csv(tmp_path / "real" / "data.csv")
    (tmp_path / "data.csv").symlink_to(tmp_path / "real" / "data.csv")
    assert _session(monkeypatch, ["1", "q"]) == 0
    assert (tmp_path / "data.csv").is_symlink()
    changed = _changed_rows(data, (tmp_path / "real" / "data.csv").read_bytes())
    assert list(changed.values()) == ["setosa"]
    assert (tmp_path / "real" / "data.csv.bak").read_bytes() == data


def test_hard_linked_data_is_refused(tmp_path, data, monkeypatch, capsys):
    os.link(tmp_path / "data.csv", tmp_path / "other.csv")
    assert _session(monkeypatch, ["1", "q"]) == 2
    err = capsys.readouterr().err
    assert "has 2 hard links" in err and "Work on a copy" in err
    assert (tmp_path / "other.csv").read_bytes() == data
    assert os.stat(tmp_path / "data.csv").st_nlink == 2


def test_full_disk_is_one_line_exit_2(tmp_path, data, monkeypatch, capsys):
    def no_space(*args):
        raise OSError(28, "No space left on device")

    class FillsTheDisk(io.StringIO):
        def readline(self, *args):
            monkeypatch.setattr(os, "fsync", no_space)
            return super().readline(*args)

    monkeypatch.setattr(sys, "stdin", FillsTheDisk("1\n"))
    argv = ["query", "data.csv", "-y", "species", "-b", "2", "-i", *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("batchbald query: error: no space left on the device")
    assert "Traceback" not in "".join(err)
    assert (tmp_path / "data.csv").read_bytes() == data
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_second_session_is_refused(tmp_path, data, monkeypatch, capsys):
    from batchbald.tables import LabelFile

    first = LabelFile.open(tmp_path / "data.csv", "species")
    with first.locked():
        assert _session(monkeypatch, ["1", "q"]) == 2
        assert "being written by another program" in capsys.readouterr().err
    assert (tmp_path / "data.csv").read_bytes() == data
    assert _session(monkeypatch, ["1", "q"]) == 0  # free again


@pytest.mark.parametrize(
    "answer, stored",
    [
        ('==HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("@cmd", "'@cmd"),
        ("=HYPERLINK(x)", "HYPERLINK(x)"),  # '=' enters the rest literally
        ("-5", "-5"),
    ],
)
def test_formula_answers_are_stored_safely(
    tmp_path, data, monkeypatch, capsys, answer, stored
):
    assert _session(monkeypatch, [answer, "y", "q"]) == 0
    after = (tmp_path / "data.csv").read_bytes()
    assert list(_changed_rows(data, after).values()) == [stored]
    out = capsys.readouterr().out
    assert f"= {stored}" in out
    assert ("so that spreadsheets show it as text" in out) is stored.startswith("'")


# --------------------------------------------------------------------------
# issue 9 item 6: gains, predictions, undo
# --------------------------------------------------------------------------
def test_session_shows_gain_and_prediction(tmp_path, data, monkeypatch, capsys):
    assert _session(monkeypatch, ["q"]) == 0
    out = capsys.readouterr().out
    m = re.search(
        r"\[1/4\] row \d+ \(line \d+\), gain_nats (\d\.\d{4}), model predicts "
        r"(setosa|versicolor|virginica) \(p = (\d\.\d\d)\)",
        out,
    )
    assert m, out
    assert float(m.group(1)) >= 0 and 1 / 3 - 0.01 <= float(m.group(3)) <= 1


def test_cold_start_shows_no_prediction(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_csv(tmp_path / "data.csv", labeled_every=0)
    assert _session(monkeypatch, ["q"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\[1/4\] row \d+ \(line \d+\)\n", out)
    assert "model predicts" not in out


def test_undo_the_last_answer(tmp_path, data, monkeypatch, capsys):
    assert _session(monkeypatch, ["u", "1", "2", "u", "3", "q"]) == 0
    out = capsys.readouterr().out
    assert "nothing to undo in this session" in out
    first = int(re.findall(r"saved: row (\d+) = setosa", out)[0])
    second = int(re.findall(r"saved: row (\d+) = versicolor", out)[0])
    assert f"undone: row {second} is unlabeled again" in out
    # the undone row is asked again, and answered 3
    assert f"saved: row {second} = virginica" in out
    changed = _changed_rows(data, (tmp_path / "data.csv").read_bytes())
    assert changed == {first: "setosa", second: "virginica"}
    assert (tmp_path / "data.csv.bak").read_bytes() == data


def test_undo_everything_restores_the_file(tmp_path, data, monkeypatch, capsys):
    assert _session(monkeypatch, ["1", "u", "q"]) == 0
    assert (tmp_path / "data.csv").read_bytes() == data
    assert "0 answer(s) saved" in capsys.readouterr().err


def test_literal_u_is_a_label(tmp_path, data, monkeypatch):
    assert _session(monkeypatch, ["=u", "y", "q"]) == 0
    after = (tmp_path / "data.csv").read_bytes()
    assert list(_changed_rows(data, after).values()) == ["u"]


@pytest.mark.slow  # a real second process (the in-process lock test is fast)
def test_two_sessions_on_one_file(tmp_path, monkeypatch, capsys):
    """The way issue 14 hit it: a session runs in another terminal; a second
    one on the same file is refused at once, and the first saves as usual."""
    monkeypatch.chdir(tmp_path)
    data = make_csv(tmp_path / "data.csv")
    child = _Child(tmp_path)
    try:
        child.wait_for(r"^\[1/6\] row ")
        assert _session(monkeypatch, ["1", "q"]) == 2
        assert "being written by another program" in capsys.readouterr().err
        saved = _answer(child, ["2"])
        child.send("q\n")
        assert child.proc.wait(timeout=PATIENCE) == 0
    finally:
        child.close()
    assert _changed_rows(data, (tmp_path / "data.csv").read_bytes()) == saved
