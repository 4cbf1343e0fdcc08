"""The scripts in examples/ run (smoke tests with small settings).

They run in this process (``runpy``), so the libraries they import are
imported once for the whole suite; global state they change (warning filters,
torch's thread count) is restored afterwards.
"""

import runpy
import sys
import warnings
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def run_example(monkeypatch, capsys, tmp_path):
    def run(name, *args):
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "argv", [name, *map(str, args)])
        torch = sys.modules.get("torch")
        n_threads = torch.get_num_threads() if torch is not None else None
        try:
            with warnings.catch_warnings():
                runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        finally:
            if n_threads is not None:
                torch.set_num_threads(n_threads)
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
        return capsys.readouterr().out

    return run


@pytest.mark.slow
def test_plot_batchbald_writes_a_gif(run_example, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path / "example.gif"
    stdout = run_example("plot_batchbald.py", out, 2)
    assert out.stat().st_size > 0
    assert stdout.count("accuracy") == 2


def test_mc_dropout_digits_compares_batchbald_and_bald(run_example):
    pytest.importorskip("torch")
    lines = run_example("mc_dropout_digits.py", 1, "--quick").strip().splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["BatchBALD", "GreedyBALD"]
    assert all("labels spent on copies" in line for line in lines)


@pytest.mark.slow
def test_mc_dropout_digits_default_scale(run_example):
    pytest.importorskip("torch")
    stdout = run_example("mc_dropout_digits.py", 1)
    assert stdout.count("labels spent on copies") == 2


def test_epig_off_target_compares_four_strategies(run_example):
    lines = run_example("epig_off_target.py", 2, "--seeds", 1).strip().splitlines()
    assert lines[0].startswith("mean test accuracy on the digits 0-4")
    names = [line.split(":")[0].strip() for line in lines[1:]]
    assert names == ["random", "BALD", "EPIG", "PowerEPIG"]
    for line in lines[1:]:
        curve = line.split(":")[1].split(";")[0].split()
        assert len(curve) == 2 and all(0 <= float(a) <= 1 for a in curve)
        assert "off target" in line
