"""Tests for batchbald.demo (tiny runs: few samples, cycles and grid points)."""

import typing
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

import batchbald.demo  # noqa: E402
from batchbald.classifier import FallbackWarning  # noqa: E402
from batchbald.demo import (  # noqa: E402
    DEMO_CENTERS,
    draw_comparison,
    draw_demo,
    make_demo_data,
    run_demo,
    simulate_demo,
)

TINY = {"n_samples": 40, "res": 6}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "n_samples, test_size, n_pool",
    [(400, 0.25, 300), (40, 0.25, 30), (20, 0.5, 10)],
)
def test_make_demo_data(n_samples, test_size, n_pool):
    X_pool, X_test, y_pool, y_test = make_demo_data(
        n_samples, test_size, random_state=np.random.RandomState(0)
    )
    assert X_pool.shape == (n_pool, 2) and y_pool.shape == (n_pool,)
    assert X_test.shape == (n_samples - n_pool, 2)
    assert set(np.unique(np.concatenate([y_pool, y_test]))) <= {0, 1}
    again = make_demo_data(n_samples, test_size, random_state=0)
    np.testing.assert_array_equal(again[0], X_pool)
    assert len(DEMO_CENTERS) == 5


@pytest.mark.parametrize(
    "n_cycles, batch_size",
    [(2, 2), (1, 3)],
)
def test_simulate_demo_loop(n_cycles, batch_size):
    lines = []
    data, cycles = simulate_demo(
        seed=1, n_cycles=n_cycles, batch_size=batch_size, log=lines.append, **TINY
    )
    n_pool = len(data.X_pool)
    assert len(cycles) == len(lines) == n_cycles
    chosen = set()
    for c, (cyc, line) in enumerate(zip(cycles, lines, strict=True)):
        assert cyc.cycle == c + 1
        assert cyc.n_labels == c * batch_size == cyc.labeled.sum()
        assert cyc.utilities.shape == (batch_size, n_pool)
        assert cyc.grid_proba.shape == (TINY["res"] ** 2, 2)
        assert 0.0 <= cyc.accuracy <= 1.0
        picked = set(cyc.query_indices.tolist())
        assert len(picked) == batch_size and not picked & chosen
        assert not cyc.labeled[cyc.query_indices].any()
        chosen |= picked
        assert f"cycle {c + 1}/{n_cycles}" in line
        assert "test accuracy" in line and str(cyc.query_indices.tolist()) in line


def test_simulate_demo_is_reproducible():
    runs = [
        simulate_demo(seed=3, n_cycles=2, batch_size=2, log=None, **TINY)[1]
        for _ in range(2)
    ]
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.query_indices, b.query_indices)
        np.testing.assert_array_equal(a.utilities, b.utilities)


@pytest.mark.parametrize("batch_size, n_panels", [(1, 1), (3, 3), (5, 4)])
def test_draw_demo_frames(batch_size, n_panels):
    data, cycles = simulate_demo(
        seed=0, n_cycles=2, batch_size=batch_size, log=None, **TINY
    )
    fig, frames = draw_demo(data, cycles, dpi=30)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == n_panels
    assert len(frames) == 2
    title = frames[1][0]
    assert "cycle 2/2" in title.get_text()
    assert f"{cycles[1].n_labels} labels" in title.get_text()
    assert f"{cycles[1].accuracy:.3f}" in title.get_text()
    # every frame brings its own utility contour on every panel
    for frame in frames:
        for ax in panels:
            assert any(a in ax.collections for a in frame)


@pytest.mark.parametrize(
    "suffix", [".gif", pytest.param(".html", marks=pytest.mark.slow)]
)
def test_run_demo_writes_animation_and_frame(tmp_path, suffix):
    out = tmp_path / f"demo{suffix}"
    frame = tmp_path / "frame.png"
    result = run_demo(
        out, seed=0, n_cycles=2, batch_size=1, frame=frame, dpi=30, log=None, **TINY
    )
    assert result.out == out and result.frame == frame
    assert len(result.accuracies) == len(result.query_indices) == 2
    if suffix == ".gif":
        with Image.open(out) as im:
            assert im.format == "GIF" and im.n_frames == 2
    else:
        text = out.read_text(encoding="utf-8")
        assert text.count("data:image/png;base64") == 2
        assert "http://" not in text and "https://" not in text
    with Image.open(frame) as im:
        assert im.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, frame.name])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"out": "demo.mp4"}, ValueError, "out"),
        ({"out": "demo"}, ValueError, "out"),
        ({"out": "missing/demo.gif"}, FileNotFoundError, "out"),
        ({"out": 3}, TypeError, "out"),
        ({"frame": "frame.txt"}, ValueError, "frame"),
        ({"frame": "missing/frame.png"}, FileNotFoundError, "frame"),
        ({"frame": "f.png", "frame_index": 5}, ValueError, "frame_index"),
        ({"n_cycles": 0}, ValueError, "n_cycles"),
        ({"n_cycles": 2.0}, TypeError, "n_cycles"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"n_cycles": 10, "batch_size": 4}, ValueError, "pool"),
        ({"fps": 0}, ValueError, "fps"),
        ({"fps": float("nan")}, ValueError, "fps.*nan"),
        ({"fps": "2"}, TypeError, "fps.*str '2'"),
        ({"fps": None}, TypeError, "fps"),
        ({"overwrite": 1}, TypeError, "overwrite"),
        ({"log": "print"}, TypeError, "log"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "zero"}, TypeError, "seed"),
    ],
)
def test_run_demo_errors(tmp_path, monkeypatch, kwargs, exc, match):
    monkeypatch.chdir(tmp_path)
    args = {"out": "demo.gif", "n_cycles": 1, "log": None, **TINY, **kwargs}
    with pytest.raises(exc, match=match):
        run_demo(**args)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "test_size, exc, match",
    [
        ("0.25", TypeError, "test_size must be a real number.*str '0.25'"),
        (None, TypeError, "test_size.*NoneType None"),
        (True, TypeError, "test_size.*bool True"),
        (0, ValueError, r"test_size must be in \(0, 1\); got 0"),
        (1.0, ValueError, "got 1.0"),
        (-0.5, ValueError, "got -0.5"),
        (float("nan"), ValueError, "got nan"),
    ],
)
def test_make_demo_data_test_size_errors(test_size, exc, match):
    with pytest.raises(exc, match=match):
        make_demo_data(40, test_size, random_state=0)


def test_library_is_silent_by_default(tmp_path, capsys):
    simulate_demo(seed=0, n_cycles=1, batch_size=1, **TINY)
    run_demo(tmp_path / "d.gif", n_cycles=1, batch_size=1, dpi=20, **TINY)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_fallback_warning_is_silenced_in_the_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        # the first cycle fits without any label: a fallback on purpose
        simulate_demo(seed=0, n_cycles=2, batch_size=1, **TINY)


def test_draw_demo_return_annotation():
    hints = typing.get_type_hints(
        draw_demo, globalns={**vars(batchbald.demo), **_matplotlib_types()}
    )
    assert typing.get_origin(hints["return"]) is tuple


def _matplotlib_types():
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

    return {"Artist": Artist, "Figure": Figure}


@pytest.mark.parametrize("existing", ["out", "frame"])
def test_run_demo_refuses_existing_files_before_the_run(
    tmp_path, monkeypatch, existing
):
    paths = {"out": tmp_path / "demo.gif", "frame": tmp_path / "frame.png"}
    paths[existing].write_bytes(b"mine")

    def not_run(**kwargs):
        raise AssertionError("the demo ran although an output exists")

    monkeypatch.setattr(batchbald.demo, "simulate_demo", not_run)
    match = f"{existing} '.*{paths[existing].name}' already exists"
    with pytest.raises(ValueError, match=match):
        run_demo(paths["out"], frame=paths["frame"], n_cycles=1, **TINY)
    assert paths[existing].read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == [paths[existing].name]


@pytest.mark.slow
def test_run_demo_overwrite_replaces_both_files(tmp_path):
    out, frame = tmp_path / "demo.gif", tmp_path / "frame.png"
    out.write_bytes(b"old")
    frame.write_bytes(b"old")
    run_demo(out, frame=frame, n_cycles=1, batch_size=1, dpi=20, overwrite=True, **TINY)
    with Image.open(out) as im:
        assert im.format == "GIF"
    with Image.open(frame) as im:
        assert im.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.gif", "frame.png"]


def test_cycles_record_top_k_bald_on_the_same_ensemble():
    data, cycles = simulate_demo(seed=0, n_cycles=3, batch_size=3, log=None, **TINY)
    for cyc in cycles:
        scores = cyc.bald_scores
        assert np.isnan(scores[cyc.labeled]).all()
        # top-k BALD's batch holds the highest BALD scores
        top = np.sort(np.nan_to_num(scores, nan=-np.inf))[-3:]
        np.testing.assert_allclose(np.sort(scores[cyc.bald_indices]), top)
        # BatchBALD's first pick is scored by BALD as well
        np.testing.assert_allclose(cyc.utilities[0], scores, atol=1e-9)
        # gains: row 0 is BALD, and each pick's gain is its utility's increase
        np.testing.assert_allclose(cyc.gains[0], cyc.utilities[0])
        picked = cyc.utilities[np.arange(3), cyc.query_indices]
        np.testing.assert_allclose(
            cyc.gains[np.arange(3), cyc.query_indices], np.diff(picked, prepend=0)
        )
        assert cyc.batch_information == pytest.approx(picked[-1])
        # joint information never exceeds the sum of the scores
        assert cyc.bald_batch_information <= scores[cyc.bald_indices].sum() + 1e-9


def test_draw_comparison_two_panels_on_one_scale():
    data, cycles = simulate_demo(seed=0, n_cycles=3, batch_size=2, log=None, **TINY)
    fig = draw_comparison(data, cycles[-1], dpi=30)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and "nats" in bars[0].get_ylabel()
    left, right = (ax.get_title() for ax in panels)
    assert "top-k BALD" in left and "BatchBALD" in right
    assert f"{cycles[-1].bald_batch_information:.3f} nats" in left
    assert f"{cycles[-1].batch_information:.3f} nats" in right
    # one colour scale: both utility contours use the same levels
    fills = [
        [c for c in ax.collections if getattr(c, "filled", False)] for ax in panels
    ]
    assert all(len(f) == 1 for f in fills)
    np.testing.assert_array_equal(fills[0][0].levels, fills[1][0].levels)
