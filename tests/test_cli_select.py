"""Tests for ``batchbald select`` (batchbald.cli.select), run in-process."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import batchbald.registry
from batchbald import registry
from batchbald._names import STRATEGIES
from batchbald.cli import _args, main

METHODS = list(STRATEGIES)
# Reading the file does not depend on the method: one of each kind of rule
# (joint greedy, top-k, sampled, random) is enough for the loading tests.
LOADING_METHODS = ["batchbald", "bald", "powerbald", "random"]
EPIG_METHODS = [m for m in METHODS if registry.is_targeted(m)]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _probs(K=6, N=80, C=4, seed=0):
    rng = np.random.RandomState(seed)
    logits = rng.randn(K, N, C) * 2 + rng.randn(1, N, C) * 2
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def _read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _indices(path):
    return [int(r[1]) for r in _read_csv(path)[1]]


def _run(tmp_path, npy, *extra, out="sel.csv"):
    return main(
        [
            "select",
            str(tmp_path / npy),
            "--no-progress",
            "--out",
            str(tmp_path / out),
            *extra,
        ]
    )


@pytest.fixture
def pool(tmp_path):
    p = _probs()
    np.save(tmp_path / "probs.npy", p)
    return p


def test_help_has_examples(capsys):
    assert main(["select", "--help"]) == 0
    out = capsys.readouterr().out
    for text in (
        "examples:",
        "--layout",
        "--log",
        "--candidates",
        "--max-memory",
        "--no-progress",
        "exit status",
        "bald_nats",
        "gain_nats",
    ):
        assert text in out


@pytest.mark.parametrize("method", METHODS)
def test_csv_output_and_summary(tmp_path, pool, capsys, method):
    assert _run(tmp_path, "probs.npy", "-b", "5", "--method", method) == 0
    header, rows = _read_csv(tmp_path / "sel.csv")
    column = {"batchbald": "gain_nats", "entropy": "entropy_nats"}
    column["batchepig"] = "gain_nats"
    if method not in column and method in EPIG_METHODS:
        column[method] = "epig_nats"
    assert header == ["step", "index", column.get(method, "bald_nats")]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert len({int(r[1]) for r in rows}) == 5
    err = capsys.readouterr().err
    total = sum(float(r[2]) for r in rows)
    assert f"= {total:.4f} nats" in err and " s; wrote " in err
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(
        tmp_path.glob(".*.tmp")
    )


@pytest.mark.parametrize("method", [m for m in METHODS if m != "random"])
def test_memmap_path_matches_the_strategies(tmp_path, pool, method):
    """The memory-mapped file gives the choices of the in-memory strategy."""
    assert (
        _run(tmp_path, "probs.npy", "-b", "6", "--method", method, "--seed", "3") == 0
    )
    strategy = registry.make_strategy(method, random_state=3)
    if method in EPIG_METHODS:  # without --targets the pool stands for them
        expected = strategy.select(pool, None, 6)
    else:
        expected = strategy.select(pool, 6)
    _, rows = _read_csv(tmp_path / "sel.csv")
    assert [int(r[1]) for r in rows] == expected.indices.tolist()
    np.testing.assert_allclose(
        [float(r[2]) for r in rows], expected.gains, rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("method", LOADING_METHODS)
def test_knc_and_nkc_agree(tmp_path, pool, method):
    np.save(tmp_path / "nkc.npy", np.moveaxis(pool, 0, 1).copy())
    assert _run(tmp_path, "probs.npy", "-b", "5", "--method", method) == 0
    assert (
        _run(
            tmp_path,
            "nkc.npy",
            "-b",
            "5",
            "--method",
            method,
            "--layout",
            "NKC",
            out="nkc.csv",
        )
        == 0
    )
    assert _indices(tmp_path / "sel.csv") == _indices(tmp_path / "nkc.csv")


@pytest.mark.parametrize("method", LOADING_METHODS)
@pytest.mark.parametrize("max_memory", ["1M", "1G"])  # temp memmap / memory
def test_log_equals_probabilities(tmp_path, pool, method, max_memory):
    np.save(tmp_path / "logp.npy", np.log(pool))
    assert _run(tmp_path, "probs.npy", "-b", "5", "--method", method) == 0
    assert (
        _run(
            tmp_path,
            "logp.npy",
            "-b",
            "5",
            "--method",
            method,
            "--log",
            "--max-memory",
            max_memory,
            out="log.csv",
        )
        == 0
    )
    a, b = _read_csv(tmp_path / "sel.csv")[1], _read_csv(tmp_path / "log.csv")[1]
    assert [r[1] for r in a] == [r[1] for r in b]
    np.testing.assert_allclose(
        [float(r[2]) for r in a], [float(r[2]) for r in b], atol=1e-9
    )


def test_npz_with_key(tmp_path, pool):
    np.savez(tmp_path / "p.npz", probs=pool, labels=np.zeros(3))
    assert _run(tmp_path, "probs.npy", "-b", "4") == 0
    assert _run(tmp_path, "p.npz", "-b", "4", "--key", "probs", out="z.csv") == 0
    assert _indices(tmp_path / "sel.csv") == _indices(tmp_path / "z.csv")


@pytest.mark.parametrize("method", LOADING_METHODS)
@pytest.mark.parametrize("kind", ["txt", "npy"])
def test_candidates_restrict_and_map_back(tmp_path, pool, method, kind):
    cand = np.array([50, 3, 17, 64, 8, 33, 71, 22])
    if kind == "txt":
        (tmp_path / "cand.txt").write_text("\n".join(map(str, cand)) + "\n")
    else:
        np.save(tmp_path / "cand.npy", cand)
    np.save(tmp_path / "sub.npy", pool[:, cand, :])
    assert (
        _run(
            tmp_path,
            "probs.npy",
            "-b",
            "3",
            "--method",
            method,
            "--candidates",
            str(tmp_path / f"cand.{kind}"),
        )
        == 0
    )
    assert _run(tmp_path, "sub.npy", "-b", "3", "--method", method, out="sub.csv") == 0
    chosen = _indices(tmp_path / "sel.csv")
    assert set(chosen) <= set(cand.tolist())
    assert chosen == cand[_indices(tmp_path / "sub.csv")].tolist()


def test_json_matches_csv(tmp_path, pool):
    assert _run(tmp_path, "probs.npy", "-b", "4") == 0
    assert _run(tmp_path, "probs.npy", "-b", "4", out="sel.json") == 0
    doc = json.loads((tmp_path / "sel.json").read_text())
    _, rows = _read_csv(tmp_path / "sel.csv")
    assert [s["index"] for s in doc["selection"]] == [int(r[1]) for r in rows]
    assert [s["step"] for s in doc["selection"]] == [1, 2, 3, 4]
    assert doc["gain_column"] == "gain_nats" and doc["method"] == "batchbald"
    assert doc["total_nats"] == pytest.approx(sum(float(r[2]) for r in rows))
    assert doc["pool_size"] == 80 and doc["shape"] == [6, 80, 4]


def test_stdout_output(tmp_path, pool, capsys):
    assert (
        main(
            [
                "select",
                str(tmp_path / "probs.npy"),
                "-b",
                "3",
                "--out",
                "-",
                "--no-progress",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "step,index,gain_nats"
    assert len(captured.out.splitlines()) == 4
    assert "wrote stdout" in captured.err


def test_refuses_to_overwrite(tmp_path, pool, capsys):
    (tmp_path / "sel.csv").write_text("precious\n")
    assert _run(tmp_path, "probs.npy", "-b", "3") == 2
    assert "already exists; refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "sel.csv").read_text() == "precious\n"
    assert _run(tmp_path, "probs.npy", "-b", "3", "--force") == 0
    assert _read_csv(tmp_path / "sel.csv")[0] == ["step", "index", "gain_nats"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_interrupt_writes_nothing(tmp_path, pool, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batchbald.registry, "select_from_probabilities", interrupted)
    assert _run(tmp_path, "probs.npy", "-b", "3") == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probs.npy"]


def test_batch_larger_than_pool_selects_all(tmp_path, capsys):
    np.save(tmp_path / "small.npy", _probs(N=4))
    assert _run(tmp_path, "small.npy", "-b", "10") == 0
    assert sorted(_indices(tmp_path / "sel.csv")) == [0, 1, 2, 3]
    assert "only 4 pool samples; selecting all" in capsys.readouterr().err


def _bad_sums(d):
    p = _probs()
    p[1, 5] *= 1.5
    np.save(d / "bad.npy", p)


def _save(array):
    return lambda d: np.save(d / "bad.npy", array)


_NAN = _probs()
_NAN[0, 2, 1] = np.nan
_NEG = _probs()
_NEG[0, 2, 1] = -0.2


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (
            _save(np.ones((5, 3)) / 3),
            [],
            r"2 dimension\(s\), shape \(5, 3\); expected 3 dimensions \(K members, "
            r"N samples, C classes\) for --layout KNC",
        ),
        (
            _save(np.ones((2, 5, 3, 1))),
            ["--layout", "NKC"],
            r"expected 3 dimensions \(N samples, K members, C classes\)",
        ),
        (_save(_NAN), [], "contains NaN or infinite values"),
        (_save(_NEG), [], "contains negative values"),
        (_bad_sums, [], "rows over the class axis that do not sum to 1"),
        (_save(np.log(_probs())), [], "did you mean --log?"),
        (_save(_probs()), ["--log"], "positive values .* Drop --log"),
        (_save(np.log(_probs()) + 1), ["--log"], "positive values|do not sum to 1"),
        (_save(np.log(_probs()) - 1), ["--log"], "apply log_softmax"),
        (_save(np.array(["a"])), [], "expected real numbers"),
        (lambda d: None, [], "predictions file .* does not exist"),
        (
            _save(_probs()),
            ["--candidates", "nope.txt"],
            "candidates file .* does not exist",
        ),
        (_save(_probs()), ["--out", "sel.txt"], "--out must end in .csv or .json"),
        (_save(_probs()), ["--key", "x"], "--key only applies to .npz"),
    ],
)
def test_malformed_input_exits_2(tmp_path, capsys, monkeypatch, make, extra, message):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    code = main(["select", "bad.npy", "-b", "2", "--no-progress", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("batchbald select: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "selection.csv").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-b", "0"], "expected an integer >= 1, got 0"),
        (["-b", "x"], "expected an integer, got 'x'"),
        (["-b", "2", "--layout", "CKN"], "invalid choice: 'CKN'"),
        (["-b", "2", "--method", "best"], "invalid choice: 'best'"),
        (["-b", "2", "--max-memory", "lots"], "expected a size such as 512M"),
        (["-b", "2", "--max-memory", "10k"], "expected at least 1M"),
        ([], "the following arguments are required: --batch-size"),
    ],
)
def test_bad_options_exit_2(tmp_path, pool, capsys, argv, message):
    assert main(["select", str(tmp_path / "probs.npy"), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1M", 2**20),
        ("512m", 512 * 2**20),
        ("2GiB", 2 * 2**30),
        ("1.5g", int(1.5 * 2**30)),
        ("3000000", 3000000),
    ],
)
def test_parse_size(text, expected):
    assert _args.parse_size(text) == expected


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal(tmp_path, pool, capsys, monkeypatch, terminal):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    argv = ["select", str(tmp_path / "probs.npy"), "-b", "3"]
    assert main([*argv, "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert ("3/3" in err) is terminal
    assert ("\r" in err) is terminal
    assert "chose 3 of 80 samples" in err  # the summary line either way


@pytest.mark.parametrize("method", [m for m in METHODS if m not in EPIG_METHODS])
def test_device_cpu_matches_numpy(tmp_path, pool, method):
    pytest.importorskip("torch")
    assert _run(tmp_path, "probs.npy", "-b", "4", "--method", method) == 0
    assert (
        _run(
            tmp_path,
            "probs.npy",
            "-b",
            "4",
            "--method",
            method,
            "--device",
            "cpu",
            out="sel_torch.csv",
        )
        == 0
    )
    assert _indices(tmp_path / "sel.csv") == _indices(tmp_path / "sel_torch.csv")


# --------------------------------------------------------------------------
# one naming scheme: --configurations/-M, the old --samples
# --------------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--configurations", "-M", "--samples"])
def test_configurations_option_and_its_deprecated_alias(tmp_path, pool, capsys, option):
    assert _run(tmp_path, "probs.npy", "-b", "4", option, "8", "--seed", "2") == 0
    err = capsys.readouterr().err
    assert ("--samples is deprecated" in err) is (option == "--samples")
    assert ("use --configurations instead" in err) is (option == "--samples")
    expected = registry.make_strategy("batchbald", n_MC_samples=8, random_state=2)
    _, rows = _read_csv(tmp_path / "sel.csv")
    np.testing.assert_allclose(
        [float(r[2]) for r in rows], expected.select(pool, 4).gains, rtol=1e-9
    )


@pytest.mark.parametrize("method", ["powerbald", "softmaxbald", "softrankbald"])
def test_beta_reaches_the_stochastic_strategies(tmp_path, pool, method):
    argv = ["-b", "6", "--method", method, "--beta", "3", "--seed", "4"]
    assert _run(tmp_path, "probs.npy", *argv) == 0
    expected = registry.make_strategy(method, beta=3.0, random_state=4)
    assert _indices(tmp_path / "sel.csv") == expected.select(pool, 6).indices.tolist()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "bald", "--beta", "2"], "--beta only applies to powerbald"),
        (["--method", "powerbald", "--beta", "-1"], "--beta must be a number >= 0"),
        (["--method", "bald", "-M", "20"], "--configurations only applies"),
        (["--method", "epig", "-M", "20"], "only applies to batchbald and batchepig"),
        (["--method", "epig", "--beta", "2"], "--beta only applies to powerbald"),
        (["--method", "bald", "--targets", "probs.npy"], "--targets only applies"),
        (["--method", "epig", "--device", "cpu"], "--device only applies"),
        (["--method", "epig", "--targets", "nope.npy"], "targets file"),
    ],
)
def test_parameters_of_other_strategies_exit_2(
    tmp_path, pool, capsys, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)  # relative file names in argv
    assert _run(tmp_path, "probs.npy", "-b", "2", *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald select: error: ") and message in err
    assert not (tmp_path / "sel.csv").exists()


# --------------------------------------------------------------------------
# faults found by new users (issue 14)
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "device, message",
    [
        ("cuda", "CUDA is not available on this machine"),
        ("cuda:0", "CUDA is not available on this machine"),
        ("bogus", "is not a torch device"),
        ("meta", "meta holds no data"),
    ],
)
def test_unusable_device_exits_2_with_a_message(
    tmp_path, pool, capsys, device, message
):
    torch = pytest.importorskip("torch")
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert _run(tmp_path, "probs.npy", "-b", "2", "--device", device) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald select: error: --device") and message in err
    assert "Traceback" not in err and not (tmp_path / "sel.csv").exists()


def test_device_without_torch_names_the_extra(tmp_path, pool, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails
    assert _run(tmp_path, "probs.npy", "-b", "2", "--device", "cpu") == 2
    assert "batchbald[torch]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "shape, layout, warned",
    [
        ((1797 // 20, 6, 4), None, True),  # an (N, K, C) file read as KNC
        ((8, 8, 4), None, True),  # square: ambiguous
        ((6, 80, 4), None, False),
        ((1797 // 20, 6, 4), "KNC", False),  # confirmed
        ((1797 // 20, 6, 4), "NKC", False),
    ],
)
def test_nkc_file_read_as_knc_warns_naming_layout(
    tmp_path, capsys, shape, layout, warned
):
    rng = np.random.RandomState(0)
    np.save(tmp_path / "p.npy", rng.dirichlet(np.ones(shape[2]), size=shape[:2]))
    extra = [] if layout is None else ["--layout", layout]
    assert _run(tmp_path, "p.npy", "-b", "2", *extra) == 0
    err = capsys.readouterr().err
    assert ("warning: shape" in err and "--layout NKC" in err) is warned


def test_missing_input_is_reported_before_an_existing_output(tmp_path, capsys):
    (tmp_path / "sel.csv").write_text("mine\n")
    assert _run(tmp_path, "nothing.npy", "-b", "2") == 2
    err = capsys.readouterr().err
    assert "nothing.npy' does not exist" in err and "already exists" not in err
    assert (tmp_path / "sel.csv").read_text() == "mine\n"


def test_zero_byte_npy_exits_2_with_a_message(tmp_path, capsys):
    (tmp_path / "empty.npy").write_bytes(b"")
    assert _run(tmp_path, "empty.npy", "-b", "2") == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald select: error: ") and "is empty (0 bytes)" in err
    assert "Traceback" not in err


def test_tab_separated_candidates_do_not_make_the_csv_tab_separated(
    tmp_path, pool, capsys
):
    (tmp_path / "cands.tsv").write_text("3\t7\t11\n20\t21\n")
    assert _run(tmp_path, "probs.npy", "-b", "3", "--candidates", "cands.tsv") == 2
    capsys.readouterr()
    path = str(tmp_path / "cands.tsv")
    assert _run(tmp_path, "probs.npy", "-b", "3", "--candidates", path) == 0
    text = (tmp_path / "sel.csv").read_text()
    assert "\t" not in text and text.splitlines()[0] == "step,index,gain_nats"
    assert set(_indices(tmp_path / "sel.csv")) <= {3, 7, 11, 20, 21}


@pytest.mark.slow  # a fresh interpreter imports numpy and scikit-learn
def test_broken_pipe_ends_quietly(tmp_path):
    """``batchbald select --out - | head -1``: no traceback once head is gone."""
    np.save(tmp_path / "big.npy", _probs(K=2, N=3000, C=2))
    env = dict(os.environ, PYTHONPATH=SRC)
    argv = [sys.executable, "-m", "batchbald", "select", str(tmp_path / "big.npy")]
    argv += ["-b", "3000", "--method", "bald", "--out", "-", "--no-progress"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    proc.stdout.close()  # the reader is gone before the rows are written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_in_process_returns_141(tmp_path, pool, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["select", str(tmp_path / "probs.npy"), "-b", "3", "--out", "-"]) == 141
    assert "Traceback" not in capsys.readouterr().err


# --------------------------------------------------------------------------
# EPIG: --targets
# --------------------------------------------------------------------------
def _targets(layout="KNC", K=6, T=15, C=4, log=False):
    target = _probs(K=K, N=T, C=C, seed=9)
    if log:
        target = np.log(target)
    return np.swapaxes(target, 0, 1) if layout == "NKC" else target


@pytest.mark.parametrize("method", EPIG_METHODS)
def test_targets_reach_the_epig_strategies(tmp_path, pool, capsys, method):
    target = _targets()
    np.save(tmp_path / "targets.npy", target)
    targets = str(tmp_path / "targets.npy")
    argv = ["-b", "5", "--method", method, "--targets", targets, "--seed", "2"]
    assert _run(tmp_path, "probs.npy", *argv) == 0
    expected = registry.make_strategy(method, random_state=2).select(pool, target, 5)
    header, rows = _read_csv(tmp_path / "sel.csv")
    assert [int(r[1]) for r in rows] == expected.indices.tolist()
    np.testing.assert_allclose([float(r[2]) for r in rows], expected.gains, rtol=1e-9)
    assert f"{method} chose 5 of 80 samples" in capsys.readouterr().err


def test_targets_change_the_choice_and_are_reported_in_json(tmp_path, pool):
    np.save(tmp_path / "targets.npy", _targets())
    assert _run(tmp_path, "probs.npy", "-b", "5", "--method", "epig") == 0
    argv = ["-b", "5", "--method", "epig", "--targets", str(tmp_path / "targets.npy")]
    assert _run(tmp_path, "probs.npy", *argv, out="t.json") == 0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["targets"] == str(tmp_path / "targets.npy")
    assert doc["targets_shape"] == [6, 15, 4] and doc["gain_column"] == "epig_nats"
    assert [r["index"] for r in doc["selection"]] != _indices(tmp_path / "sel.csv")
    argv = ["-b", "5", "--method", "epig"]
    assert _run(tmp_path, "probs.npy", *argv, out="pool.json") == 0
    assert json.loads((tmp_path / "pool.json").read_text())["targets"] is None


@pytest.mark.parametrize(
    "extra, layout, log",
    [([], "KNC", False), (["--layout", "NKC"], "NKC", False), (["--log"], "KNC", True)],
)
def test_targets_are_read_with_the_pools_layout_and_log(
    tmp_path, pool, extra, layout, log
):
    np.save(tmp_path / "targets.npy", _targets(layout=layout, log=log))
    probs = np.log(pool) if log else pool
    np.save(tmp_path / "p.npy", np.swapaxes(probs, 0, 1) if layout == "NKC" else probs)
    targets = str(tmp_path / "targets.npy")
    argv = ["-b", "4", "--method", "batchepig", "--targets", targets, *extra]
    assert _run(tmp_path, "p.npy", *argv) == 0
    expected = registry.make_strategy("batchepig", random_state=0).select(
        pool, _targets(), 4
    )
    assert _indices(tmp_path / "sel.csv") == expected.indices.tolist()


def test_targets_with_candidates_map_back(tmp_path, pool):
    np.save(tmp_path / "targets.npy", _targets())
    cand = np.arange(10, 50, 2)
    np.save(tmp_path / "cand.npy", cand)
    argv = ["-b", "3", "--method", "epig"]
    argv += ["--targets", str(tmp_path / "targets.npy")]
    argv += ["--candidates", str(tmp_path / "cand.npy")]
    assert _run(tmp_path, "probs.npy", *argv) == 0
    expected = registry.make_strategy("epig", random_state=0).select(
        pool[:, cand], _targets(), 3
    )
    assert _indices(tmp_path / "sel.csv") == cand[expected.indices].tolist()


@pytest.mark.parametrize(
    "target, message",
    [
        (_targets(K=5), "holds 5 members and 4 classes"),
        (_targets(C=3), "holds 6 members and 3 classes"),
        (np.full((6, 15, 4), 0.5), "sum to 1"),
    ],
)
def test_bad_targets_exit_2(tmp_path, pool, capsys, target, message):
    np.save(tmp_path / "targets.npy", target)
    argv = ["-b", "2", "--method", "epig", "--targets", str(tmp_path / "targets.npy")]
    assert _run(tmp_path, "probs.npy", *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald select: error: ") and message in err
    assert "Traceback" not in err and not (tmp_path / "sel.csv").exists()


def test_out_must_not_be_the_targets(tmp_path, pool, capsys):
    (tmp_path / "t.csv").write_bytes(b"precious")
    target = str(tmp_path / "t.csv")
    argv = ["-b", "2", "--method", "epig", "--targets", target, "--force"]
    assert _run(tmp_path, "probs.npy", *argv, out="t.csv") == 2
    assert "--out must not be the input file" in capsys.readouterr().err
    assert (tmp_path / "t.csv").read_bytes() == b"precious"


@pytest.mark.parametrize(
    "method, option, params",
    [
        ("batchepig", ["-M", "5"], {"n_MC_samples": 5}),
        ("softmaxepig", ["--beta", "3"], {"beta": 3.0}),
    ],
)
def test_options_reach_the_epig_strategies(tmp_path, pool, method, option, params):
    np.save(tmp_path / "targets.npy", _targets())
    argv = ["-b", "4", "--method", method, *option, "--seed", "1"]
    argv += ["--targets", str(tmp_path / "targets.npy")]
    assert _run(tmp_path, "probs.npy", *argv) == 0
    strategy = registry.make_strategy(method, random_state=1, **params)
    expected = strategy.select(pool, _targets(), 4)
    assert _indices(tmp_path / "sel.csv") == expected.indices.tolist()
    _, rows = _read_csv(tmp_path / "sel.csv")
    np.testing.assert_allclose([float(r[2]) for r in rows], expected.gains, rtol=1e-9)
    if method == "batchepig":  # M=5 samples configurations where 100 enumerate
        default = registry.make_strategy(method, random_state=1)
        gains = default.select(pool, _targets(), 4).gains
        assert not np.allclose([float(r[2]) for r in rows], gains)
