"""The demo scenario behind ``batchbald demo``.

Five Gaussian blobs in two dimensions, labelled by blob parity (so each class
is made of separate clusters), split into a pool and a test set. A bagging
ensemble of Gaussian-process classifiers starts without any label; in every
cycle BatchBALD picks a batch of pool samples, their true labels are revealed,
and the ensemble is refitted. The run is saved as an animation with one frame
per cycle: the utilities used for each pick of the batch, the decision
boundary, the labelled samples, and the test accuracy.

The data and every random step derive from one seed through a single
``numpy.random.RandomState`` passed down to the data generator, the split,
the classifiers and the query strategy.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .classifier import FallbackWarning
from .utils import MISSING_LABEL, check_positive_int, check_random_state
from .visualization import (
    _check_feature_bound,
    _check_fps,
    _check_overwrite,
    _draw_decision_boundary,
    _mesh,
    add_utility_colorbar,
    check_animation_path,
    new_collections,
    plot_contour_for_samples,
    save_animation,
    save_animation_frame,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

    from .classifier import SklearnClassifier

__all__ = [
    "DEMO_CENTERS",
    "DemoCycle",
    "DemoResult",
    "draw_demo",
    "make_demo_classifier",
    "make_demo_data",
    "run_demo",
    "simulate_demo",
]

#: Centres of the five blobs of the demo (those of the scikit-activeml
#: BatchBALD gallery example).
DEMO_CENTERS = ((0.0, 1.0), (-3.0, 0.5), (-1.0, -1.0), (2.0, 1.0), (1.0, -0.5))

#: Most panels (utility rows) drawn per frame.
MAX_PANELS = 4


@dataclass
class DemoCycle:
    """What happened in one active-learning cycle of the demo.

    Attributes
    ----------
    cycle : int
        1-based cycle number.
    n_labels : int
        Number of labelled pool samples the classifier was trained on.
    accuracy : float
        Test accuracy of that classifier.
    query_indices : numpy.ndarray of shape (batch_size,)
        Pool indices BatchBALD selected in this cycle, in the order picked.
    utilities : numpy.ndarray of shape (batch_size, n_pool)
        Row ``i`` holds the utilities used to choose ``query_indices[i]`` (NaN
        at labelled and already chosen samples).
    labeled : numpy.ndarray of bool, shape (n_pool,)
        Which pool samples were labelled when the batch was chosen.
    grid_proba : numpy.ndarray of shape (res * res, n_classes)
        The classifier's class probabilities on the plotting grid.
    """

    cycle: int
    n_labels: int
    accuracy: float
    query_indices: np.ndarray
    utilities: np.ndarray
    labeled: np.ndarray
    grid_proba: np.ndarray


@dataclass
class DemoResult:
    """The outcome of :func:`run_demo`.

    Attributes
    ----------
    out : pathlib.Path
        The animation written.
    frame : pathlib.Path or None
        The still image written, if one was asked for.
    cycles : list of DemoCycle
        One entry per cycle.
    """

    out: Path
    frame: Path | None
    cycles: list[DemoCycle] = field(default_factory=list)

    @property
    def accuracies(self) -> list[float]:
        """Test accuracy per cycle."""
        return [c.accuracy for c in self.cycles]

    @property
    def query_indices(self) -> list[np.ndarray]:
        """Selected pool indices per cycle."""
        return [c.query_indices for c in self.cycles]


def make_demo_data(
    n_samples: int = 400, test_size: float = 0.25, random_state=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The demo's data: five blobs labelled by parity, split into pool and test.

    Parameters
    ----------
    n_samples : int, default=400
        Number of samples before the split (at least 8).
    test_size : float, default=0.25
        Fraction of the samples held out for testing, in (0, 1).
    random_state : None, int or numpy.random.RandomState, default=None
        Source of randomness (see :func:`batchbald.utils.check_random_state`).

    Returns
    -------
    X_pool : numpy.ndarray of shape (n_pool, 2)
    X_test : numpy.ndarray of shape (n_test, 2)
    y_pool : numpy.ndarray of int, shape (n_pool,)
    y_test : numpy.ndarray of int, shape (n_test,)
    """
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import train_test_split

    n_samples = check_positive_int(n_samples, "n_samples", minimum=8)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            f"test_size must be a real number in (0, 1); got "
            f"{type(test_size).__name__} {test_size!r}."
        )
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1); got {test_size!r}.")
    rng = check_random_state(random_state)
    X, blob = make_blobs(
        n_samples=n_samples,
        n_features=2,
        centers=[list(c) for c in DEMO_CENTERS],
        cluster_std=0.7,
        random_state=rng,
    )
    y = blob % 2
    return train_test_split(X, y, test_size=test_size, random_state=rng)


def make_demo_classifier(
    classes, random_state=None, n_estimators: int = 10
) -> SklearnClassifier:
    """The demo's ensemble: bagged Gaussian-process classifiers.

    Each member and the bag are wrapped in
    :class:`batchbald.classifier.SklearnClassifier`, so unlabelled samples
    (``np.nan`` labels) are ignored.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        All class labels.
    random_state : None, int or numpy.random.RandomState, default=None
        Passed to the wrappers and the bagging classifier.
    n_estimators : int, default=10
        Number of ensemble members.

    Returns
    -------
    batchbald.classifier.SklearnClassifier
    """
    from sklearn.gaussian_process import GaussianProcessClassifier

    from .ensembles import bagging_ensemble

    n_estimators = check_positive_int(n_estimators, "n_estimators", minimum=2)
    return bagging_ensemble(
        GaussianProcessClassifier(),
        n_estimators,
        classes=classes,
        random_state=random_state,
    )


def _check_log(log):
    if log is None:
        return lambda message: None
    if not callable(log):
        raise TypeError(f"log must be callable or None; got {type(log).__name__}.")
    return log


def _fmt(value: float) -> str:
    """A utility for a panel title: 3 significant digits, 0 below 1e-4."""
    return "0" if abs(value) < 1e-4 else f"{value:.3g}"


def _plot_bound(X: np.ndarray, margin: float = 0.05) -> np.ndarray:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    return _check_feature_bound([lo - pad, hi + pad])


def simulate_demo(
    seed=0,
    n_cycles: int = 5,
    batch_size: int = 4,
    n_samples: int = 400,
    res: int = 25,
    progress: bool = False,
    log: Callable[[str], object] | None = None,
) -> tuple[dict, list[DemoCycle]]:
    """Run the demo's active-learning loop without drawing anything.

    Parameters
    ----------
    seed : None, int or numpy.random.RandomState, default=0
        The one source of randomness.
    n_cycles : int, default=5
        Number of query cycles (at least 1).
    batch_size : int, default=4
        Samples BatchBALD selects per cycle.
    n_samples : int, default=400
        Number of samples before the pool/test split (a quarter is held out).
    res : int, default=25
        Grid points per feature of the plotting grid on which the classifier's
        probabilities are recorded.
    progress : bool, default=False
        Show a tqdm progress bar over the cycles (on stderr).
    log : callable or None, default=None
        Called with one line of text per cycle (e.g. ``print``); None, the
        default, for silence.

    Returns
    -------
    data : dict
        ``X_pool``, ``y_pool``, ``X_test``, ``y_test``, ``feature_bound`` (of
        the plots), ``xx``, ``yy`` (the plotting grid) and ``batch_size``.
    cycles : list of DemoCycle
    """
    from sklearn.metrics import accuracy_score
    from tqdm.auto import tqdm

    from .pool import BatchBALD

    n_cycles = check_positive_int(n_cycles, "n_cycles")
    batch_size = check_positive_int(batch_size, "batch_size")
    res = check_positive_int(res, "res", minimum=2)
    log = _check_log(log)
    try:
        rng = check_random_state(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"seed must be None, an integer in [0, 2**32) or a "
            f"numpy.random.RandomState; got {seed!r}."
        ) from None

    X_pool, X_test, y_pool, y_test = make_demo_data(n_samples, random_state=rng)
    if n_cycles * batch_size > len(X_pool):
        raise ValueError(
            f"n_cycles * batch_size = {n_cycles} * {batch_size} exceeds the "
            f"{len(X_pool)} pool samples; lower n_cycles or batch_size."
        )
    bound = _plot_bound(X_pool)
    xx, yy, grid = _mesh(bound, res)
    clf = make_demo_classifier(np.unique(y_pool), random_state=rng)
    qs = BatchBALD(random_state=rng)
    y = np.full(len(y_pool), MISSING_LABEL, dtype=float)

    cycles = []
    bar = tqdm(
        range(n_cycles),
        desc="BatchBALD cycles",
        unit="cycle",
        disable=not progress,
        file=sys.stderr,
    )
    for c in bar:
        labeled = ~np.isnan(y)
        with warnings.catch_warnings():
            # Fitting on fewer than two classes (the first cycles) falls back
            # to class frequencies on purpose here; the warning is only noise.
            warnings.simplefilter("ignore", FallbackWarning)
            clf.fit(X_pool, y)
            accuracy = float(accuracy_score(y_test, clf.predict(X_test)))
            query_indices, utilities = qs.query(
                X=X_pool,
                y=y,
                ensemble=clf,
                batch_size=batch_size,
                return_utilities=True,
            )
            grid_proba = np.asarray(clf.predict_proba(grid), dtype=float)
        query_indices = np.asarray(query_indices)
        cycles.append(
            DemoCycle(
                cycle=c + 1,
                n_labels=int(labeled.sum()),
                accuracy=accuracy,
                query_indices=query_indices,
                utilities=np.asarray(utilities, dtype=float),
                labeled=labeled,
                grid_proba=grid_proba,
            )
        )
        log(
            f"cycle {c + 1}/{n_cycles}: trained on {int(labeled.sum())} labels, "
            f"test accuracy {accuracy:.3f}, selected {query_indices.tolist()}"
        )
        y[query_indices] = y_pool[query_indices]
    bar.close()
    data = {
        "X_pool": X_pool,
        "y_pool": y_pool,
        "X_test": X_test,
        "y_test": y_test,
        "feature_bound": bound,
        "xx": xx,
        "yy": yy,
        "batch_size": batch_size,
    }
    return data, cycles


def draw_demo(
    data: dict, cycles: list[DemoCycle], dpi: float = 80
) -> tuple[Figure, list[list[Artist]]]:
    """Draw the frames of the demo animation.

    Parameters
    ----------
    data, cycles
        The output of :func:`simulate_demo`.
    dpi : float, default=80
        Figure resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
    frames : list of lists of artists
        One list per cycle, ready for ``matplotlib.animation.ArtistAnimation``.
    """
    from matplotlib import pyplot as plt
    from matplotlib.lines import Line2D

    X, y_pool = data["X_pool"], data["y_pool"]
    bound, xx, yy = data["feature_bound"], data["xx"], data["yy"]
    batch_size = data["batch_size"]
    res = xx.shape[0]
    n_panels = min(batch_size, MAX_PANELS)
    n_rows = 1 if n_panels <= 3 else 2
    n_cols = n_panels if n_panels <= 3 else 2
    fig, axs = plt.subplots(
        n_rows,
        n_cols,
        figsize=(4.0 * n_cols + 1.4, 3.6 * n_rows + 1.3),
        dpi=dpi,
        squeeze=False,
    )
    fig.subplots_adjust(top=0.9, bottom=0.15, left=0.07, right=0.88, hspace=0.35)
    axs = axs.ravel()

    # Utilities shrink by orders of magnitude as the model learns, so each
    # panel is scaled to its own range (shown in the panel title) and the
    # colour bar reads "share of this panel's range".
    levels = np.linspace(0.0, 1.0, 11)
    contour_dict = {
        "levels": levels,
        "cmap": "Greens",
        "alpha": 0.75,
        "extend": "both",
    }
    cmap = plt.get_cmap("coolwarm")
    boundary_args = {"colors": "k", "linewidths": 1.5, "zorder": 1}
    confidence_args = {"linewidths": 1.5, "linestyles": "--", "alpha": 0.9}

    # Static parts, visible in every frame.
    for ax in axs:
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=y_pool,
            cmap=cmap,
            marker=".",
            s=30,
            zorder=2,
            vmin=0,
            vmax=1,
        )
        ax.set_xlim(bound[0, 0], bound[1, 0])
        ax.set_ylim(bound[0, 1], bound[1, 1])
        ax.set_xlabel("feature 1")
        ax.set_ylabel("feature 2")
    add_utility_colorbar(
        fig,
        levels,
        label="utility, scaled to each panel's range",
        ax=list(axs),
        fraction=0.04,
        pad=0.03,
    )
    handles = [
        Line2D([], [], ls="", marker=".", ms=9, color=cmap(0.0), label="class 0"),
        Line2D([], [], ls="", marker=".", ms=9, color=cmap(1.0), label="class 1"),
        Line2D(
            [], [], ls="", marker="o", ms=9, color="grey", alpha=0.8, label="labelled"
        ),
        Line2D(
            [], [], ls="", marker="*", ms=13, mfc="gold", mec="k", label="this pick"
        ),
        Line2D(
            [], [], ls="", marker="x", ms=7, color="k", label="picked earlier in batch"
        ),
        Line2D([], [], color="k", lw=1.5, label="decision boundary"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=6, frameon=False, fontsize=9)

    frames = []
    n_cycles = len(cycles)
    for cyc in cycles:
        frame = [
            fig.text(
                0.5,
                0.975,
                f"BatchBALD, cycle {cyc.cycle}/{n_cycles}: {cyc.n_labels} labels "
                f"so far, test accuracy {cyc.accuracy:.3f}",
                ha="center",
                va="top",
                fontsize=13,
            )
        ]
        for i, ax in enumerate(axs):
            before = list(ax.collections)
            row = cyc.utilities[i]
            finite = np.isfinite(row)
            lo = float(row[finite].min()) if finite.any() else 0.0
            hi = float(row[finite].max()) if finite.any() else 0.0
            label = f"pick {i + 1} of {batch_size}: utility {_fmt(lo)} to {_fmt(hi)}"
            frame.append(
                ax.text(
                    0.5,
                    1.02,
                    label,
                    transform=ax.transAxes,
                    ha="center",
                    va="bottom",
                    fontsize=10,
                )
            )
            if finite.any():
                scaled = (row - lo) / (hi - lo) if hi > lo else np.where(finite, 0, row)
                plot_contour_for_samples(
                    X,
                    scaled,
                    replace_nan=None,
                    feature_bound=bound,
                    ax=ax,
                    res=res,
                    contour_dict=contour_dict,
                )
            X_lab = X[cyc.labeled]
            ax.scatter(
                X_lab[:, 0],
                X_lab[:, 1],
                c="grey",
                alpha=0.8,
                marker=".",
                s=220,
                zorder=3,
            )
            earlier = X[cyc.query_indices[:i]]
            ax.scatter(earlier[:, 0], earlier[:, 1], c="k", marker="x", s=40, zorder=4)
            pick = X[cyc.query_indices[i : i + 1]]
            ax.scatter(
                pick[:, 0],
                pick[:, 1],
                c="gold",
                edgecolors="k",
                marker="*",
                s=260,
                zorder=5,
            )
            _draw_decision_boundary(
                ax,
                xx,
                yy,
                cyc.grid_proba,
                0.75,
                cmap,
                boundary_args,
                confidence_args,
            )
            frame += new_collections(ax, before)
        frames.append(frame)
    return fig, frames


def _check_frame_path(frame, fig_formats) -> Path:
    if not isinstance(frame, str | Path):
        raise TypeError(f"frame must be a file path; got {type(frame).__name__}.")
    frame = Path(frame)
    suffix = frame.suffix.lower().lstrip(".")
    if suffix not in fig_formats:
        raise ValueError(
            f"frame must end in an image suffix such as .png or .svg; got "
            f"{str(frame)!r}."
        )
    parent = frame.parent if str(frame.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"frame: directory {str(parent)!r} does not exist; create it first."
        )
    return frame


def run_demo(
    out="batchbald_demo.gif",
    seed=0,
    n_cycles: int = 5,
    batch_size: int = 4,
    n_samples: int = 400,
    res: int = 25,
    frame=None,
    frame_index: int = -1,
    fps: float = 1.0,
    dpi: float = 80,
    progress: bool = False,
    log: Callable[[str], object] | None = None,
    overwrite: bool = False,
) -> DemoResult:
    """Run the BatchBALD demo and save it as an animation.

    Parameters
    ----------
    out : str or os.PathLike, default="batchbald_demo.gif"
        The animation file: ``.gif`` or ``.html`` (a self-contained page with
        player controls), written atomically. An existing file is replaced
        only with ``overwrite=True``.
    seed : None, int or numpy.random.RandomState, default=0
        The one source of randomness (data, split, classifiers, queries).
    n_cycles, batch_size, n_samples, res, progress, log
        See :func:`simulate_demo`; ``log`` receives one line per cycle with the
        selected indices and the test accuracy.
    frame : str or os.PathLike, default=None
        Also save one frame as a still image (e.g. ``docs/demo_frame.png``).
    frame_index : int, default=-1
        Which frame to save as the still image (default: the last cycle).
    fps : float, default=1.0
        Frames per second of the animation.
    dpi : float, default=80
        Resolution of the frames.
    overwrite : bool, default=False
        Replace an existing ``out`` or ``frame``. If False and either exists,
        ``ValueError`` naming it is raised before the run.

    Returns
    -------
    DemoResult

    Raises
    ------
    ValueError
        If ``out`` does not end in ``.gif`` or ``.html``, ``frame`` has no
        image suffix, a count is out of range, or ``out`` or ``frame`` exists
        and ``overwrite`` is False.
    TypeError
        If a parameter has the wrong type (e.g. ``fps`` is not a number).
    FileNotFoundError
        If the directory of ``out`` or ``frame`` does not exist.
    """
    from matplotlib import pyplot as plt
    from matplotlib.animation import ArtistAnimation

    # Check everything cheap before the long computation.
    out = check_animation_path(out, "out")
    n_cycles = check_positive_int(n_cycles, "n_cycles")
    if frame is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        frame = _check_frame_path(frame, FigureCanvasBase.get_supported_filetypes())
        if isinstance(frame_index, bool) or not isinstance(
            frame_index, numbers.Integral
        ):
            raise TypeError(f"frame_index must be an integer; got {frame_index!r}.")
        if not -n_cycles <= frame_index < n_cycles:
            raise ValueError(
                f"frame_index must be in [{-n_cycles}, {n_cycles}) for "
                f"{n_cycles} cycles; got {frame_index}."
            )
    fps = _check_fps(fps)
    _check_overwrite(out, overwrite, "out")
    if frame is not None:
        _check_overwrite(frame, overwrite, "frame")

    data, cycles = simulate_demo(
        seed=seed,
        n_cycles=n_cycles,
        batch_size=batch_size,
        n_samples=n_samples,
        res=res,
        progress=progress,
        log=log,
    )
    fig, frames = draw_demo(data, cycles, dpi=dpi)
    try:
        # No blitting: the animation is only saved, and blitting costs redraws.
        anim = ArtistAnimation(fig, frames, interval=1000 / fps, blit=False)
        save_animation(anim, out, fps=fps, title="batchbald demo", overwrite=overwrite)
        if frame is not None:
            save_animation_frame(fig, frames, frame_index, frame, overwrite=overwrite)
    finally:
        plt.close(fig)
    return DemoResult(out=out, frame=frame, cycles=cycles)
