"""Tests for ``batchbald select`` (batchbald.cli.select), run in-process."""

import csv
import json
import re

import numpy as np
import pytest

from batchbald.cli import main
from batchbald.cli import select as select_cli
from batchbald.pool import BatchBALD, GreedyBALD, PowerBALD

METHODS = ["batchbald", "bald", "powerbald", "random"]


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
    column = "gain_nats" if method == "batchbald" else "bald_nats"
    assert header == ["step", "index", column]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert len({int(r[1]) for r in rows}) == 5
    err = capsys.readouterr().err
    total = sum(float(r[2]) for r in rows)
    assert f"= {total:.4f} nats" in err and " s; wrote " in err
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(
        tmp_path.glob(".*.tmp")
    )


@pytest.mark.parametrize(
    "method, strategy",
    [
        # --method batchbald is plain greedy BatchBALD (the strategy's
        # saturation remedies switched off).
        (
            "batchbald",
            BatchBALD(random_state=3, member_votes=False, completion=None),
        ),
        ("bald", GreedyBALD(random_state=3)),
        ("powerbald", PowerBALD(random_state=3)),
    ],
)
def test_memmap_path_matches_the_strategies(tmp_path, pool, method, strategy):
    """The memory-mapped file gives the choices of the in-memory strategy."""
    assert (
        _run(tmp_path, "probs.npy", "-b", "6", "--method", method, "--seed", "3") == 0
    )
    expected = strategy.select(pool, 6)
    _, rows = _read_csv(tmp_path / "sel.csv")
    assert [int(r[1]) for r in rows] == expected.indices.tolist()
    np.testing.assert_allclose(
        [float(r[2]) for r in rows], expected.gains, rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("method", METHODS)
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


@pytest.mark.parametrize("method", METHODS)
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


@pytest.mark.parametrize("method", METHODS)
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

    monkeypatch.setattr(select_cli, "select", interrupted)
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
    assert select_cli.parse_size(text) == expected


def test_progress_bar_on_stderr(tmp_path, pool, capsys):
    assert (
        main(
            [
                "select",
                str(tmp_path / "probs.npy"),
                "-b",
                "3",
                "--out",
                str(tmp_path / "s.csv"),
            ]
        )
        == 0
    )
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize("method", METHODS)
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
