"""The scripts in examples/ run (smoke tests with small settings)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plot_batchbald_writes_a_gif(tmp_path):
    out = tmp_path / "example.gif"
    proc = run_example("plot_batchbald.py", out, 2, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size > 0
    assert "accuracy" in proc.stdout


def test_mc_dropout_digits_compares_batchbald_and_bald(tmp_path):
    pytest.importorskip("torch")
    proc = run_example("mc_dropout_digits.py", 1, "--quick", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["BatchBALD", "GreedyBALD"]
    assert all("labels spent on copies" in line for line in lines)


@pytest.mark.slow
def test_mc_dropout_digits_default_scale(tmp_path):
    pytest.importorskip("torch")
    proc = run_example("mc_dropout_digits.py", 1, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "labels spent on copies" in proc.stdout
