"""Tests for batchbald.visualization."""

import functools
import os
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.animation import ArtistAnimation  # noqa: E402
from matplotlib.colorbar import Colorbar  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from batchbald.visualization import (  # noqa: E402
    add_utility_colorbar,
    new_collections,
    plot_contour_for_samples,
    plot_decision_boundary,
    plot_utilities,
    save_animation,
    save_animation_frame,
    save_frames,
    utility_levels,
)

BOUND = [[-4.0, -4.0], [4.0, 4.0]]
# Tests that reject an animation before rendering it make matplotlib warn.
_UNRENDERED = pytest.mark.filterwarnings("ignore:Animation was deleted")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@functools.cache
def _fitted(n_classes, seed=0):
    rng = np.random.RandomState(seed)
    centers = [[-2, -2], [2, 2], [2, -2]][:n_classes]
    X, y = make_blobs(60, centers=centers, cluster_std=0.8, random_state=rng)
    return LogisticRegression().fit(X, y), X, y


class _Uniform:
    """A classifier that has learnt nothing: equal probabilities everywhere."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


class _PredictOnly:
    classes_ = np.array([0, 1])

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


def _spy_contourf(monkeypatch, ax):
    """Record the grids passed to ax.contourf (and still draw them)."""
    calls = []
    original = ax.contourf

    def spy(xx, yy, zz, **kwargs):
        calls.append((xx, yy, zz, kwargs))
        return original(xx, yy, zz, **kwargs)

    monkeypatch.setattr(ax, "contourf", spy)
    return calls


def _brute_force_nearest(X, values, xx, yy):
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    d = ((grid[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    return values[d.argmin(axis=1)].reshape(xx.shape)


# ------------------------------------------------------------------ boundary
@pytest.mark.parametrize(
    "n_classes, confidence, n_contours",
    [
        (2, 0.75, 3),  # boundary + one dashed line per class
        (2, None, 1),
        (3, 0.75, 6),  # per class: boundary + dashed line
        (3, 0.9, 6),
        (3, None, 3),
    ],
)
def test_decision_boundary_draws_contours(n_classes, confidence, n_contours):
    clf, _, _ = _fitted(n_classes)
    fig, ax = plt.subplots()
    before = list(ax.collections)
    out = plot_decision_boundary(clf, BOUND, ax=ax, res=15, confidence=confidence)
    assert out is ax
    new = new_collections(ax, before)
    assert len(new) == n_contours
    assert all(isinstance(c, ContourSet) and not c.filled for c in new)


def test_decision_boundary_repeated_calls_accumulate():
    clf, _, _ = _fitted(2)
    fig, ax = plt.subplots()
    for k in range(1, 4):
        plot_decision_boundary(clf, BOUND, ax=ax, res=10)
        assert len(ax.collections) == 3 * k


def test_decision_boundary_defaults_to_current_axes():
    clf, _, _ = _fitted(2)
    fig, ax = plt.subplots()
    assert plot_decision_boundary(clf, BOUND, res=8) is ax


def test_decision_boundary_flat_classifier_draws_nothing_and_warns_nothing():
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_decision_boundary(_Uniform(), BOUND, ax=ax, res=8)
    assert len(ax.collections) == 0


def test_decision_boundary_predict_only_classifier():
    fig, ax = plt.subplots()
    plot_decision_boundary(_PredictOnly(), BOUND, ax=ax, res=9, confidence=None)
    assert len(ax.collections) == 1
    with pytest.raises(TypeError, match="predict_proba"):
        plot_decision_boundary(_PredictOnly(), BOUND, ax=ax, res=9)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"res": 1}, ValueError, "res"),
        ({"res": 2.5}, TypeError, "res"),
        ({"res": True}, TypeError, "res"),
        ({"feature_bound": [0, 1]}, ValueError, "feature_bound"),
        ({"feature_bound": [[1, 0], [0, 1]]}, ValueError, "feature_bound"),
        ({"feature_bound": [[0, 0], [1, np.inf]]}, ValueError, "feature_bound"),
        ({"confidence": 0.5}, ValueError, "confidence"),
        ({"confidence": 1.2}, ValueError, "confidence"),
        ({"confidence": "high"}, TypeError, "confidence"),
        ({"ax": "axes"}, TypeError, "ax"),
        ({"boundary_dict": ["k"]}, TypeError, "boundary_dict"),
        ({"confidence_dict": {"colors": "r"}}, ValueError, "confidence_dict"),
        ({"confidence_dict": 3}, TypeError, "confidence_dict"),
        ({"cmap": "no-such-map"}, ValueError, "cmap"),
        ({"cmap": 3}, TypeError, "cmap"),
    ],
)
def test_decision_boundary_errors(kwargs, exc, match):
    clf, _, _ = _fitted(2)
    fig, ax = plt.subplots()
    args = {"feature_bound": BOUND, "ax": ax, "res": 5, **kwargs}
    with pytest.raises(exc, match=match):
        plot_decision_boundary(clf, **args)


# ------------------------------------------------------------------ contours
@pytest.mark.parametrize(
    "replace_nan, expected_values",
    [
        (0.0, [1.0, 0.0, 3.0, 0.0]),
        (5.0, [1.0, 5.0, 3.0, 5.0]),
        (-1.5, [1.0, -1.5, 3.0, -1.5]),
        (None, None),  # NaN samples are left out
    ],
)
def test_contour_for_samples_nearest_neighbour_grid(
    monkeypatch, replace_nan, expected_values
):
    X = np.array([[-2.0, -2.0], [2.0, 2.0], [-2.0, 2.0], [2.0, -2.0]])
    values = np.array([1.0, np.nan, 3.0, np.inf])
    values_before = values.copy()
    fig, ax = plt.subplots()
    calls = _spy_contourf(monkeypatch, ax)
    out = plot_contour_for_samples(
        X, values, replace_nan=replace_nan, feature_bound=BOUND, ax=ax, res=9
    )
    assert out is ax
    np.testing.assert_array_equal(values, values_before)  # caller's array intact
    ((xx, yy, zz, kwargs),) = calls
    assert xx.shape == yy.shape == zz.shape == (9, 9)
    if expected_values is None:
        expected = _brute_force_nearest(X[[0, 2]], np.array([1.0, 3.0]), xx, yy)
    else:
        expected = _brute_force_nearest(X, np.array(expected_values), xx, yy)
    np.testing.assert_array_equal(zz, expected)
    assert kwargs["cmap"] == "Greens"
    (cs,) = ax.collections
    assert isinstance(cs, ContourSet) and cs.filled


def test_contour_for_samples_bound_defaults_to_data(monkeypatch):
    rng = np.random.RandomState(1)
    X = rng.uniform(-3, 5, size=(30, 2))
    fig, ax = plt.subplots()
    calls = _spy_contourf(monkeypatch, ax)
    plot_contour_for_samples(X, rng.rand(30), ax=ax, res=6)
    xx, yy, _, _ = calls[0]
    assert xx.min() == X[:, 0].min() and xx.max() == X[:, 0].max()
    assert yy.min() == X[:, 1].min() and yy.max() == X[:, 1].max()


def test_contour_for_samples_contour_dict_and_repeat():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(25, 2))
    fig, ax = plt.subplots()
    levels = np.linspace(0, 1, 6)
    for k in range(1, 4):
        plot_contour_for_samples(
            X, rng.rand(25), ax=ax, res=7, contour_dict={"levels": levels}
        )
        assert len(ax.collections) == k
        np.testing.assert_allclose(ax.collections[-1].levels, levels)


@pytest.mark.parametrize(
    "X, values, kwargs, exc, match",
    [
        (np.zeros((3, 3)), np.zeros(3), {}, ValueError, "X"),
        (np.zeros((3, 2)), np.zeros(4), {}, ValueError, "values"),
        (np.zeros((3, 2)), np.zeros((3, 1)), {}, ValueError, "values"),
        (np.eye(2), [np.nan, np.nan], {"replace_nan": None}, ValueError, "replace_nan"),
        (np.eye(2), [1, 2], {"replace_nan": "zero"}, TypeError, "replace_nan"),
        (np.eye(2), [1, 2], {"replace_nan": np.nan}, ValueError, "replace_nan"),
        (np.eye(2), [1, 2], {"res": 0}, ValueError, "res"),
        (np.eye(2), [1, 2], {"contour_dict": "Greens"}, TypeError, "contour_dict"),
        (np.eye(2), [1, 2], {"feature_bound": [[0, 0]]}, ValueError, "feature_bound"),
    ],
)
def test_contour_for_samples_errors(X, values, kwargs, exc, match):
    fig, ax = plt.subplots()
    with pytest.raises(exc, match=match):
        plot_contour_for_samples(X, values, ax=ax, **kwargs)


# ----------------------------------------------------------------- utilities
class _FixedUtilities:
    """A query strategy returning preset utilities and recording its calls."""

    def __init__(self, utilities):
        self.utilities = np.asarray(utilities, dtype=float)
        self.calls = []

    def query(self, X, y, candidates=None, return_utilities=False, **kwargs):
        self.calls.append(
            {"candidates": candidates, "return_utilities": return_utilities, **kwargs}
        )
        return np.array([0]), self.utilities


def test_plot_utilities_plots_first_row(monkeypatch):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(12, 2))
    y = np.full(12, np.nan)
    utilities = rng.rand(2, 12)
    qs = _FixedUtilities(utilities)
    fig, ax = plt.subplots()
    calls = _spy_contourf(monkeypatch, ax)
    out = plot_utilities(
        qs, X, y, ax=ax, res=5, feature_bound=BOUND, batch_size=2, ensemble="clf"
    )
    assert out is ax
    assert qs.calls == [
        {
            "candidates": None,
            "return_utilities": True,
            "batch_size": 2,
            "ensemble": "clf",
        }
    ]
    xx, yy, zz, _ = calls[0]
    np.testing.assert_array_equal(zz, _brute_force_nearest(X, utilities[0], xx, yy))


def test_plot_utilities_over_candidate_samples(monkeypatch):
    rng = np.random.RandomState(4)
    X = rng.normal(size=(10, 2))
    cand = rng.normal(size=(6, 2))
    utilities = rng.rand(1, 6)
    fig, ax = plt.subplots()
    calls = _spy_contourf(monkeypatch, ax)
    plot_utilities(
        _FixedUtilities(utilities), X, np.zeros(10), candidates=cand, ax=ax, res=4
    )
    xx, yy, zz, _ = calls[0]
    np.testing.assert_array_equal(zz, _brute_force_nearest(cand, utilities[0], xx, yy))


@pytest.mark.parametrize(
    "qs, kwargs, exc, match",
    [
        (object(), {}, TypeError, "qs"),
        (
            _FixedUtilities(np.zeros((1, 5))),
            {"return_utilities": True},
            TypeError,
            "return_utilities",
        ),
        (_FixedUtilities(np.zeros((1, 4))), {}, ValueError, "utilities"),
    ],
)
def test_plot_utilities_errors(qs, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        plot_utilities(qs, np.zeros((5, 2)), np.zeros(5), **kwargs)


def test_plot_utilities_with_batchbald():
    from sklearn.ensemble import BaggingClassifier
    from sklearn.linear_model import LogisticRegression

    from batchbald.classifier import SklearnClassifier
    from batchbald.pool import BatchBALD

    rng = np.random.RandomState(5)
    X, y_true = make_blobs(40, centers=[[-1, 0], [1, 0]], random_state=rng)
    y = np.full(40, np.nan)
    y[[0, 1, 2, 3]] = y_true[[0, 1, 2, 3]]
    clf = SklearnClassifier(
        BaggingClassifier(LogisticRegression(), n_estimators=4, random_state=rng),
        classes=[0, 1],
        random_state=rng,
    ).fit(X, y)
    fig, ax = plt.subplots()
    out = plot_utilities(
        BatchBALD(random_state=rng), X, y, ensemble=clf, batch_size=2, ax=ax, res=6
    )
    assert out is ax
    assert len(ax.collections) == 1 and ax.collections[0].filled


# ------------------------------------------------------------ colour scales
@pytest.mark.parametrize(
    "utilities, n_levels, first, last",
    [
        ([0.0, 0.5, np.nan], 11, 0.0, 0.5),
        ([0.2, 0.4], 3, 0.0, 0.4),
        ([-0.1, 0.3, np.inf], 5, -0.1, 0.3),
        ([np.nan, np.nan], 4, 0.0, 1.0),
        ([0.0, 0.0], 2, 0.0, 1.0),
    ],
)
def test_utility_levels(utilities, n_levels, first, last):
    levels = utility_levels(utilities, n_levels)
    assert levels.shape == (n_levels,)
    assert np.all(np.diff(levels) > 0)
    assert levels[0] == pytest.approx(first) and levels[-1] == pytest.approx(last)


@pytest.mark.parametrize(
    "n_levels, exc", [(1, ValueError), (2.0, TypeError), (True, TypeError)]
)
def test_utility_levels_errors(n_levels, exc):
    with pytest.raises(exc, match="n_levels"):
        utility_levels([0, 1], n_levels)


def test_add_utility_colorbar():
    fig, axs = plt.subplots(1, 2)
    cbar = add_utility_colorbar(fig, np.linspace(0, 0.5, 6), label="BALD")
    assert isinstance(cbar, Colorbar)
    assert cbar.ax.get_ylabel() == "BALD"
    assert cbar.vmin == pytest.approx(0.0) and cbar.vmax == pytest.approx(0.5)
    assert isinstance(add_utility_colorbar(axs[0]), Colorbar)
    with pytest.raises(ValueError, match="levels"):
        add_utility_colorbar(fig, [1.0, 0.0])
    with pytest.raises(TypeError, match="fig_or_ax"):
        add_utility_colorbar("figure")


# ---------------------------------------------------------------- animation
class _NeverRendered(ArtistAnimation):
    """An animation the input-error tests refuse before drawing a frame;
    it does not warn when deleted unrendered (no garbage collection needed)."""

    def __del__(self):
        pass


def _blank_animation():
    fig = plt.figure(figsize=(1, 1), dpi=20)
    return _NeverRendered(fig, [[fig.text(0, 0, "x")]], blit=False)


def _animation(n_frames=3, seed=0, blit=False):
    """An artist animation built the way the seed example builds one."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(20, 2))
    clf, _, _ = _fitted(2, seed)
    fig, ax = plt.subplots(figsize=(3, 3), dpi=40)
    frames = []
    for k in range(n_frames):
        before = list(ax.collections)
        plot_contour_for_samples(X, rng.rand(20) + k, ax=ax, res=6)
        plot_decision_boundary(clf, BOUND, ax=ax, res=6)
        ax.scatter(X[:, 0], X[:, 1], s=5 + 10 * k)
        frame = new_collections(ax, before)
        assert len(frame) == 1 + 3 + 1
        frames.append([fig.text(0.5, 0.95, f"frame {k}"), *frame])
    return fig, frames, ArtistAnimation(fig, frames, interval=100, blit=blit)


def _files(directory):
    return sorted(p.name for p in directory.iterdir())


def test_save_animation_gif_has_all_frames(tmp_path):
    fig, frames, anim = _animation(3, blit=True)  # as in the seed example
    out = save_animation(anim, tmp_path / "anim.gif", fps=4)
    assert out == tmp_path / "anim.gif"
    with Image.open(out) as im:
        assert im.format == "GIF"
        assert im.n_frames == 3
    assert _files(tmp_path) == ["anim.gif"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_animation_html_is_self_contained(tmp_path):
    fig, frames, anim = _animation(2)
    out = save_animation(anim, tmp_path / "anim.HTML")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("data:image/png;base64") == 2
    assert 'src="http' not in text


def test_save_animation_replaces_existing_file(tmp_path):
    target = tmp_path / "anim.gif"
    target.write_bytes(b"old")
    fig, frames, anim = _animation(2)
    save_animation(anim, target)
    assert target.read_bytes()[:3] == b"GIF"
    assert _files(tmp_path) == ["anim.gif"]


@pytest.mark.parametrize(
    "name, exc, match",
    [
        ("anim.mp4", ValueError, r"\.gif or \.html"),
        ("anim", ValueError, r"\.gif or \.html"),
        ("missing/anim.gif", FileNotFoundError, "does not exist"),
    ],
)
def test_save_animation_bad_path(tmp_path, name, exc, match):
    with pytest.raises(exc, match=match):
        save_animation(_blank_animation(), tmp_path / name)
    assert _files(tmp_path) == []


def test_save_animation_rejects_non_animation(tmp_path):
    with pytest.raises(TypeError, match="anim"):
        save_animation("frames", tmp_path / "a.gif")
    with pytest.raises(ValueError, match="fps"):
        save_animation(_blank_animation(), tmp_path / "a.gif", fps=0)


@pytest.mark.parametrize(
    "fps, exc, match",
    [
        ("2", TypeError, "fps must be a real number; got str '2'"),
        (None, TypeError, "fps must be a real number; got NoneType None"),
        (True, TypeError, "fps must be a real number; got bool True"),
        (0, ValueError, "fps must be a finite number > 0; got 0"),
        (-1.5, ValueError, "got -1.5"),
        (float("nan"), ValueError, "got nan"),
        (float("inf"), ValueError, "got inf"),
    ],
)
def test_fps_type_and_range_errors(tmp_path, fps, exc, match):
    with pytest.raises(exc, match=match):
        save_animation(_blank_animation(), tmp_path / "a.gif", fps=fps)
    with pytest.raises(exc, match=match):
        save_frames([np.zeros((4, 4, 3), np.uint8)], tmp_path / "a.gif", fps=fps)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("name", ["anim.gif", "anim.html"])
def test_save_animation_overwrite_false_keeps_existing_file(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match=f"{name}.*already exists.*overwrite=True"):
        save_animation(_blank_animation(), target, overwrite=False)
    assert target.read_bytes() == b"old"
    assert _files(tmp_path) == [name]


def test_save_animation_overwrite_false_writes_a_new_file(tmp_path):
    fig, frames, anim = _animation(2)
    out = save_animation(anim, tmp_path / "anim.gif", overwrite=False)
    assert out.read_bytes()[:3] == b"GIF"


def test_save_animation_frame_overwrite(tmp_path):
    fig, frames, anim = _animation(2)
    target = tmp_path / "frame.png"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="frame.png.*already exists"):
        save_animation_frame(fig, frames, 0, target, overwrite=False)
    assert target.read_bytes() == b"old"
    save_animation_frame(fig, frames, 0, target)  # like savefig: replaces
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _files(tmp_path) == ["frame.png"]


@pytest.mark.parametrize("suffix", [".gif", ".html"])
def test_save_frames_overwrite(tmp_path, suffix):
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]
    target = tmp_path / f"frames{suffix}"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="already exists"):
        save_frames(frames, target, overwrite=False)
    assert target.read_bytes() == b"old"
    save_frames(frames, target)  # default: replaces, atomically
    assert target.read_bytes() != b"old"
    assert _files(tmp_path) == [target.name]


@_UNRENDERED
def test_save_animation_frame_restores_state(tmp_path):
    fig, frames, anim = _animation(3, blit=True)
    state = [(a.get_visible(), a.get_animated()) for f in frames for a in f]
    out = save_animation_frame(fig, frames, -1, tmp_path / "frame.png")
    with Image.open(out) as im:
        assert im.format == "PNG"
    assert state == [(a.get_visible(), a.get_animated()) for f in frames for a in f]
    with pytest.raises(ValueError, match="index"):
        save_animation_frame(fig, frames, 3, tmp_path / "frame.png")


@pytest.mark.parametrize("suffix, n_frames", [(".gif", 3), (".html", 2)])
def test_save_frames(tmp_path, suffix, n_frames):
    rng = np.random.RandomState(6)
    frames = [
        rng.randint(0, 255, size=(12, 16, 3), dtype=np.uint8) for _ in range(n_frames)
    ]
    out = save_frames(frames, tmp_path / f"frames{suffix}", fps=2)
    if suffix == ".gif":
        with Image.open(out) as im:
            assert im.n_frames == n_frames
    else:
        assert out.read_text().count("data:image/png;base64") == n_frames


@pytest.mark.parametrize(
    "frames, exc, match",
    [
        ([], ValueError, "at least one"),
        ([np.zeros((4, 4), np.uint8)], ValueError, r"frames\[0\]"),
        (["img"], TypeError, r"frames\[0\]"),
        (
            [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)],
            ValueError,
            "same size",
        ),
    ],
)
def test_save_frames_errors(tmp_path, frames, exc, match):
    with pytest.raises(exc, match=match):
        save_frames(frames, tmp_path / "a.gif")


# ------------------------------------------------------------------ offline HTML
def test_html_player_is_offline_and_labelled(tmp_path):
    import re

    fig, frames, anim = _animation(3)
    text = save_animation(anim, tmp_path / "anim.html", fps=2).read_text("utf-8")
    assert re.search(r"https?://", text) is None  # no CDN, no external resource
    assert "font-awesome" not in text and 'class="fa' not in text
    assert text.count("data:image/png;base64") == 3
    labels = re.findall(r"<button[^>]*>([^<]*)</button>", text)
    words = [re.sub(r"&#\d+;|\|", "", label).strip() for label in labels]
    assert words == ["First", "Previous", "Play", "Next", "Last"]
    assert 'aria-label="Frame"' in text and "frame 1 of 3" in text
    assert "interval = 500" in text  # 2 frames per second


def test_html_player_escapes_title():
    from batchbald.visualization import html_player

    page = html_player([b"png"], title="<b>&</b>")
    assert "<title>&lt;b&gt;&amp;&lt;/b&gt;</title>" in page
    with pytest.raises(ValueError, match="at least one"):
        html_player([])


# ------------------------------------------------------------------ DataFrames
def test_plots_accept_dataframes():
    pd = pytest.importorskip("pandas")
    _, X, y = _fitted(2)
    df = pd.DataFrame(X, columns=["height", "width"])
    clf = LogisticRegression().fit(df, y)
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        # a grid without the column names would make scikit-learn warn
        warnings.simplefilter("error")
        plot_decision_boundary(clf, BOUND, ax=ax, res=8)
    assert len(ax.collections) == 3
    plot_contour_for_samples(df, np.arange(len(df), dtype=float), ax=ax, res=6)
    assert len(ax.collections) == 4


def test_plot_utilities_passes_the_dataframe_to_the_strategy():
    pd = pytest.importorskip("pandas")
    _, X, y = _fitted(2)
    df = pd.DataFrame(X, columns=["a", "b"])
    seen = []

    class _Strategy:
        def query(self, X, y, candidates=None, return_utilities=False, **kw):
            seen.append(X)
            return np.array([0]), np.arange(len(X), dtype=float)[None, :]

    fig, ax = plt.subplots()
    plot_utilities(_Strategy(), df, y, ax=ax, res=5)
    assert seen[0] is df
    assert len(ax.collections) == 1


@pytest.mark.slow
@pytest.mark.browser
def test_html_player_works_offline_in_a_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("needs Chromium at /usr/bin/chromium")
    fig, frames, anim = _animation(3)
    out = save_animation(anim, tmp_path / "anim.html", fps=20)
    requests = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri())
            buttons = page.locator("button")
            assert buttons.count() == 5
            for i in range(5):  # every control shows a label
                box = buttons.nth(i).bounding_box()
                assert buttons.nth(i).inner_text().strip() and box["width"] > 20
            counter = page.locator(".bb-counter")
            assert counter.inner_text() == "frame 1 of 3"
            page.click("[data-action=next]")
            assert counter.inner_text() == "frame 2 of 3"
            assert page.locator("img:not([hidden])").count() == 1
            page.click("[data-action=last]")
            assert counter.inner_text() == "frame 3 of 3"
            page.click("[data-action=play]")  # from the end: restarts, then stops
            page.wait_for_function(
                "document.querySelector('.bb-counter').textContent == 'frame 3 of 3'"
                " && document.querySelector('[data-action=play]').textContent"
                ".includes('Play')",
                timeout=10_000,
            )
        finally:
            browser.close()
    assert all(url.startswith("file://") for url in requests)
