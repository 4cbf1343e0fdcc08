"""Tests for the batchbald command line (batchbald.cli)."""

import importlib
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import batchbald  # noqa: E402
from batchbald._names import STRATEGIES  # noqa: E402
from batchbald.cli import COMMANDS, main  # noqa: E402

TINY = ["--pool-size", "40", "--res", "6", "--cycles", "2", "--dpi", "30"]


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
        "--force",
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
        (["--out", "missing/demo.gif"], "batchbald demo: error: --out directory"),
        (["--frame", "missing/f.png"], "batchbald demo: error: --frame directory"),
        (["--fps", "nan"], "batchbald demo: error: fps must be"),
        (["--frame", "frame.txt"], "batchbald demo: error: frame must end"),
    ],
)
def test_user_errors_exit_2_with_message(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--no-progress", "--pool-size", "40", "--res", "6", *extra]
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


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
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


@pytest.mark.slow
def test_demo_writes_html_with_progress_bar(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
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


@pytest.mark.parametrize(
    "existing, argv",
    [
        ("batchbald_demo.gif", []),
        ("d.html", ["--out", "d.html"]),
        ("f.png", ["--frame", "f.png"]),
    ],
)
def test_demo_refuses_existing_outputs_before_the_run(
    tmp_path, monkeypatch, capsys, existing, argv
):
    import batchbald.demo

    monkeypatch.chdir(tmp_path)
    (tmp_path / existing).write_bytes(b"mine")

    def not_run(**kwargs):
        raise AssertionError("the demo ran although an output exists")

    monkeypatch.setattr(batchbald.demo, "run_demo", not_run)
    assert main(["demo", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald demo: error: ")
    assert repr(existing) in err and "already exists" in err and "--force" in err
    assert (tmp_path / existing).read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == [existing]


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_demo_default_command_on_a_fresh_directory_then_force(
    tmp_path, monkeypatch, capsys
):
    # the README's `batchbald demo`: no file yet, so no --force needed
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--no-progress", *TINY, "--batch-size", "1"]
    assert main(argv) == 0
    out = tmp_path / "batchbald_demo.gif"
    first = out.read_bytes()
    assert first[:3] == b"GIF"
    assert main(argv) == 2  # a second run keeps the first animation
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == first
    assert main([*argv, "--seed", "1", "--force"]) == 0
    assert out.read_bytes() != first
    assert [p.name for p in tmp_path.iterdir()] == ["batchbald_demo.gif"]


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_demo_docs_regeneration_command_with_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "demo.gif").write_bytes(b"old")
    (tmp_path / "docs" / "demo_frame.png").write_bytes(b"old")
    argv = ["demo", "--out", "docs/demo.gif", "--frame", "docs/demo_frame.png"]
    argv += ["--no-progress", "--force", *TINY, "--batch-size", "1"]
    assert main(argv) == 0
    with Image.open(tmp_path / "docs" / "demo.gif") as im:
        assert im.n_frames == 2
    with Image.open(tmp_path / "docs" / "demo_frame.png") as im:
        assert im.format == "PNG"


@pytest.mark.slow
def test_demo_progress_bar_not_drawn_into_a_log_file(tmp_path, capsys):
    out = tmp_path / "demo.gif"
    assert main(["demo", "--out", str(out), *TINY, "--batch-size", "1"]) == 0
    captured = capsys.readouterr()  # stderr is not a terminal here
    assert "BatchBALD cycles" not in captured.err and "\r" not in captured.err
    assert "cycle 2/2" in captured.out


def test_demo_samples_is_a_deprecated_alias_of_pool_size(capsys):
    from batchbald.cli import build_parser

    args = build_parser().parse_args(["demo", "--samples", "60"])
    assert args.pool_size == 60
    assert "--samples is deprecated" in capsys.readouterr().err
    assert build_parser().parse_args(["demo", "--pool-size", "60"]).pool_size == 60
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------
# one registry: every sub-command offers the registry's strategies
# --------------------------------------------------------------------------
_STRATEGY_ARGV = {
    "select": ["select", "p.npy", "-b", "1", "--method"],
    "experiment": ["experiment", "--strategies"],
    "query": ["query", "d.csv", "-y", "label", "-b", "1", "--method"],
    "label": ["label", "d.csv", "--method"],
}


def _accepts(command, name):
    from batchbald.cli import build_parser

    try:
        build_parser().parse_args([*_STRATEGY_ARGV[command], name])
    except SystemExit:
        return False
    return True


@pytest.mark.parametrize(
    "command",
    [
        "select",
        "experiment",
        "query",
        "label",
    ],
)
def test_every_command_offers_exactly_the_registry(command, capsys):
    from batchbald.registry import STRATEGY_NAMES

    accepted = [n for n in STRATEGY_NAMES if _accepts(command, n)]
    capsys.readouterr()
    assert accepted == list(STRATEGY_NAMES)
    assert not _accepts(command, "qbc")
    assert main([command, "--help"]) == 0
    help_text = capsys.readouterr().out
    for name, (_, description) in STRATEGIES.items():
        assert name in help_text and description[:30] in " ".join(help_text.split())


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from batchbald.cli import main; "
        "rc = main(['--help']); "
        "[main([c, '--help']) for c in ('select', 'experiment', 'demo')]; "
        "print(sorted(m for m in ('numpy', 'sklearn', 'torch', 'matplotlib') "
        "if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


@pytest.mark.parametrize(
    "error, message",
    [
        (OSError(28, "No space left on device", "out.csv"), "no space left"),
        (PermissionError(13, "Permission denied", "out.csv"), "Permission denied"),
        (IsADirectoryError(21, "Is a directory", "out.csv"), "Is a directory"),
        (TypeError("batch_size must be an integer"), "batch_size must be"),
    ],
)
def test_os_and_library_errors_exit_2_with_a_message(
    monkeypatch, capsys, error, message
):
    import batchbald.cli.select

    def failing(args):
        raise error

    monkeypatch.setattr(batchbald.cli.select, "run", failing)
    assert main(["select", "p.npy", "-b", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald select: error: ") and message in err


def test_other_os_errors_are_not_hidden(monkeypatch):
    import batchbald.cli.select

    def failing(args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(batchbald.cli.select, "run", failing)
    with pytest.raises(OSError, match="Input/output"):
        main(["select", "p.npy", "-b", "1"])
