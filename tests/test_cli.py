"""Tests for the batchbald command line (batchbald.cli)."""

import importlib
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import batchbald  # noqa: E402
from batchbald.cli import COMMANDS, main  # noqa: E402

TINY = ["--samples", "40", "--res", "6", "--cycles", "2", "--dpi", "30"]


def test_help_lists_commands_and_examples(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: batchbald" in out
    assert "examples:" in out
    for name in COMMANDS:
        assert name in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"batchbald {batchbald.__version__}"


def test_demo_help(capsys):
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--out",
        "--seed",
        "--cycles",
        "--batch-size",
        "--no-progress",
        "--frame",
        "examples:",
    ):
        assert option in out


@pytest.mark.parametrize("name", COMMANDS)
def test_command_modules_follow_the_protocol(name):
    module = importlib.import_module(f"batchbald.cli.{name}")
    assert callable(module.add_parser) and callable(module.run)


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required"),
        (["no-such-command"], "invalid choice"),
        (["demo", "--out", "demo.mp4"], "batchbald demo: error: argument --out"),
        (["demo", "--out", "demo"], ".gif or .html"),
        (["demo", "--cycles", "0"], "argument --cycles"),
        (["demo", "--batch-size", "two"], "argument --batch-size"),
        (["demo", "--seed", "x"], "argument --seed"),
        (["demo", "--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seed", "-1"], "batchbald demo: error: seed must be"),
        (["--fps", "0"], "batchbald demo: error: fps must be"),
        (["--cycles", "40"], "batchbald demo: error: n_cycles * batch_size"),
        (["--out", "missing/demo.gif"], "batchbald demo: error: out: directory"),
        (["--frame", "frame.txt"], "batchbald demo: error: frame must end"),
    ],
)
def test_user_errors_exit_2_with_message(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--no-progress", "--samples", "40", "--res", "6", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "Traceback" not in err


def test_keyboard_interrupt_exits_130(monkeypatch, capsys, tmp_path):
    import batchbald.demo

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batchbald.demo, "run_demo", interrupted)
    assert main(["demo", "--out", str(tmp_path / "d.gif")]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_demo_writes_gif_and_frame(tmp_path, capsys):
    out, frame = tmp_path / "demo.gif", tmp_path / "frame.png"
    argv = ["demo", "--out", str(out), "--frame", str(frame), "--no-progress"]
    argv += [*TINY, "--batch-size", "2"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "cycle 1/2" in stdout and "cycle 2/2" in stdout
    assert f"wrote {out}" in stdout
    with Image.open(out) as im:
        assert im.n_frames == 2
    with Image.open(frame) as im:
        assert im.format == "PNG"


def test_demo_writes_html_with_progress_bar(tmp_path, capsys):
    out = tmp_path / "demo.html"
    assert main(["demo", "--out", str(out), *TINY, "--batch-size", "1"]) == 0
    captured = capsys.readouterr()
    assert "BatchBALD cycles" in captured.err  # the tqdm bar
    assert "cycle 2/2" in captured.out
    assert out.read_text(encoding="utf-8").count("data:image/png;base64") == 2


def test_python_dash_m():
    proc = subprocess.run(
        [sys.executable, "-m", "batchbald.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "usage: batchbald" in proc.stdout
