"""Tests for batchbald.predictions: saved member predictions as probs_K_N_C."""

import numpy as np
import pytest

import batchbald.io
from batchbald.predictions import (
    layout_warning,
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


def test_io_re_exports_the_loader():
    assert batchbald.io.load_predictions is load_predictions
    assert batchbald.io.read_indices is read_indices
    assert batchbald.io.probability_hint is probability_hint


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


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
        (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00v\x00{"), "cannot read .* .npy"),
        (
            lambda p: (
                np.save(p, np.ones((3, 4, 2))),
                p.write_bytes(p.read_bytes()[:-20]),
            ),
            "cannot read .* .npy",
        ),
    ],
)
def test_empty_or_truncated_npy_is_a_value_error(tmp_path, write, message):
    path = tmp_path / "p.npy"
    write(path)
    with pytest.raises(ValueError, match=message):
        load_predictions(path)


def test_empty_npz_is_a_value_error(tmp_path):
    (tmp_path / "p.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        load_predictions(tmp_path / "p.npz")


def test_empty_npy_candidates_is_a_value_error(tmp_path):
    (tmp_path / "c.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read candidates file"):
        read_indices(tmp_path / "c.npy")


@pytest.mark.parametrize(
    "shape, layout, expected",
    [
        ((10, 1797, 10), "KNC", None),
        ((1797, 10, 10), "NKC", None),
        ((1797, 30, 10), "KNC", "K=1797 members and N=30 pool samples"),
        ((30, 1797, 10), "NKC", "K=1797 members and N=30 pool samples"),
        ((20, 20, 3), "KNC", "as many members as pool samples"),
        ((3, 4), "KNC", None),
    ],
)
def test_layout_warning(shape, layout, expected):
    text = layout_warning(shape, layout)
    if expected is None:
        assert text is None
    else:
        assert expected in text
        other = "NKC" if layout == "KNC" else "KNC"
        assert f"--layout {other}" in text
