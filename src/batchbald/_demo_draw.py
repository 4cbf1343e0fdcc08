"""The pictures of :mod:`batchbald.demo`: the animation frames and the
comparison of top-k BALD's batch with BatchBALD's.

Everything is drawn with the library's plotting functions
(:mod:`batchbald.plotting`); the data come from
:func:`batchbald.demo.simulate_demo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .animation import new_collections
from .plotting import (
    add_utility_colorbar,
    plot_contour_for_samples,
    plot_proba_boundary,
    utility_levels,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._demo_types import DemoCycle, DemoData

#: Most panels (utility rows) drawn per frame.
MAX_PANELS = 4

_CLASS_CMAP = "coolwarm"
_BOUNDARY = {"colors": "k", "linewidths": 1.5, "zorder": 1}
_CONFIDENCE = {"linewidths": 1.5, "linestyles": "--", "alpha": 0.9}


def _fmt(value: float) -> str:
    """A utility for a panel title: 3 significant digits, 0 below 1e-4."""
    return "0" if abs(value) < 1e-4 else f"{value:.3g}"


def _legend_handles(pick_label: str, earlier_label: str | None) -> list:
    from matplotlib import pyplot as plt
    from matplotlib.lines import Line2D

    cmap = plt.get_cmap(_CLASS_CMAP)
    handles = [
        Line2D([], [], ls="", marker=".", ms=9, color=cmap(0.0), label="class 0"),
        Line2D([], [], ls="", marker=".", ms=9, color=cmap(1.0), label="class 1"),
        Line2D(
            [], [], ls="", marker="o", ms=9, color="grey", alpha=0.8, label="labelled"
        ),
        Line2D([], [], ls="", marker="*", ms=13, mfc="gold", mec="k", label=pick_label),
    ]
    if earlier_label is not None:
        handles.append(
            Line2D([], [], ls="", marker="x", ms=7, color="k", label=earlier_label)
        )
    handles.append(Line2D([], [], color="k", lw=1.5, label="decision boundary"))
    return handles


def _draw_pool(ax: Axes, data: DemoData) -> None:
    """The pool coloured by class, and the plotted area (static parts)."""
    X, bound = data.X_pool, data.feature_bound
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=data.y_pool,
        cmap=_CLASS_CMAP,
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


def _draw_state(ax: Axes, data: DemoData, cyc: DemoCycle) -> None:
    """The labelled samples and the decision boundary of one cycle."""
    X_lab = data.X_pool[cyc.labeled]
    ax.scatter(
        X_lab[:, 0], X_lab[:, 1], c="grey", alpha=0.8, marker=".", s=220, zorder=3
    )
    plot_proba_boundary(
        cyc.grid_proba,
        data.xx,
        data.yy,
        ax=ax,
        cmap=_CLASS_CMAP,
        boundary_dict=_BOUNDARY,
        confidence_dict=_CONFIDENCE,
    )


def _draw_stars(ax: Axes, X: np.ndarray, numbered: bool) -> None:
    ax.scatter(X[:, 0], X[:, 1], c="gold", edgecolors="k", marker="*", s=260, zorder=5)
    if numbered:
        for i, (x0, x1) in enumerate(X):
            ax.annotate(
                str(i + 1),
                (x0, x1),
                xytext=(7, 5),
                textcoords="offset points",
                fontsize=11,
                fontweight="bold",
                zorder=6,
            )


# --------------------------------------------------------------------------
# the animation
# --------------------------------------------------------------------------
def _frame_figure(data: DemoData, dpi: float):
    from matplotlib import pyplot as plt

    n_panels = min(data.batch_size, MAX_PANELS)
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
    panels = list(axs.ravel())
    for ax in panels:
        _draw_pool(ax, data)
    return fig, panels


def _draw_pick(ax: Axes, data: DemoData, cyc: DemoCycle, i: int, levels) -> list:
    """Panel ``i`` of a cycle's frame: the utilities behind pick ``i``, scaled
    to the panel's range; returns the frame's artists on ``ax``."""
    before = list(ax.collections)
    row = cyc.utilities[i]
    finite = np.isfinite(row)
    lo = float(row[finite].min()) if finite.any() else 0.0
    hi = float(row[finite].max()) if finite.any() else 0.0
    label = f"pick {i + 1} of {data.batch_size}: utility {_fmt(lo)} to {_fmt(hi)}"
    title = ax.text(0.5, 1.02, label, transform=ax.transAxes, ha="center", va="bottom")
    if finite.any():
        scaled = (row - lo) / (hi - lo) if hi > lo else np.where(finite, 0, row)
        plot_contour_for_samples(
            data.X_pool,
            scaled,
            replace_nan=None,
            feature_bound=data.feature_bound,
            ax=ax,
            res=data.xx.shape[0],
            contour_dict={
                "levels": levels,
                "cmap": "Greens",
                "alpha": 0.75,
                "extend": "both",
            },
        )
    _draw_state(ax, data, cyc)
    earlier = data.X_pool[cyc.query_indices[:i]]
    ax.scatter(earlier[:, 0], earlier[:, 1], c="k", marker="x", s=40, zorder=4)
    _draw_stars(ax, data.X_pool[cyc.query_indices[i : i + 1]], numbered=False)
    return [title, *new_collections(ax, before)]


def draw_demo(
    data: DemoData, cycles: list[DemoCycle], dpi: float = 80
) -> tuple[Figure, list[list[Artist]]]:
    """Draw the frames of the demo animation.

    Parameters
    ----------
    data, cycles
        The output of :func:`batchbald.demo.simulate_demo`.
    dpi : float, default=80
        Figure resolution.

    Returns
    -------
    fig : matplotlib.figure.Figure
    frames : list of lists of artists
        One list per cycle, ready for ``matplotlib.animation.ArtistAnimation``.
    """
    fig, axs = _frame_figure(data, dpi)
    # Utilities shrink by orders of magnitude as the model learns, so each
    # panel is scaled to its own range (shown in the panel title) and the
    # colour bar reads "share of this panel's range".
    levels = np.linspace(0.0, 1.0, 11)
    add_utility_colorbar(
        fig,
        levels,
        label="utility, scaled to each panel's range",
        ax=axs,
        fraction=0.04,
        pad=0.03,
    )
    handles = _legend_handles("this pick", "picked earlier in batch")
    fig.legend(handles=handles, loc="lower center", ncol=6, frameon=False, fontsize=9)
    frames = []
    for cyc in cycles:
        frame: list = [
            fig.text(
                0.5,
                0.975,
                f"BatchBALD, cycle {cyc.cycle}/{len(cycles)}: {cyc.n_labels} labels "
                f"so far, test accuracy {cyc.accuracy:.3f}",
                ha="center",
                va="top",
                fontsize=13,
            )
        ]
        for i, ax in enumerate(axs):
            frame += _draw_pick(ax, data, cyc, i, levels)
        frames.append(frame)
    return fig, frames


# --------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------
def _comparison_panel(ax, data, cyc, values, picks, levels, title) -> None:
    plot_contour_for_samples(
        data.X_pool,
        values,
        replace_nan=None,
        feature_bound=data.feature_bound,
        ax=ax,
        res=data.xx.shape[0],
        contour_dict={"levels": levels, "cmap": "Greens", "extend": "max"},
    )
    _draw_pool(ax, data)
    _draw_state(ax, data, cyc)
    _draw_stars(ax, data.X_pool[picks], numbered=True)
    ax.set_title(title, fontsize=11)


def draw_comparison(data: DemoData, cycle: DemoCycle, dpi: float = 80) -> Figure:
    """Top-k BALD's batch beside BatchBALD's, from the same fitted ensemble.

    Left: every pool sample's BALD score ``I(y_n; w)`` and the ``b`` samples
    with the highest scores (top-k BALD). Right: what BatchBALD's last pick
    adds, ``I(y_n; w | y_1, ..., y_{b-1})`` given its first ``b - 1`` picks,
    and its ``b`` picks. Both in nats on one colour scale; each title gives
    the batch's joint information ``I(y_1, ..., y_b; w)``.

    Parameters
    ----------
    data : DemoData
        From :func:`batchbald.demo.simulate_demo`.
    cycle : DemoCycle
        The cycle to show (its ensemble chose both batches).
    dpi : float, default=80
        Figure resolution.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import pyplot as plt

    b = data.batch_size
    last_gain = cycle.gains[-1]
    # Gains below 0 are rounding noise; the scale starts at 0 nats.
    values = np.concatenate([cycle.bald_scores, last_gain])
    levels = utility_levels(np.clip(values, 0.0, None), 13)
    fig, axs = plt.subplots(1, 2, figsize=(11.5, 5.4), dpi=dpi)
    fig.subplots_adjust(top=0.8, bottom=0.2, left=0.06, right=0.9, wspace=0.15)
    _comparison_panel(
        axs[0],
        data,
        cycle,
        cycle.bald_scores,
        cycle.bald_indices,
        levels,
        f"top-k BALD: the {b} highest scores I(y; w)\n"
        f"batch information {cycle.bald_batch_information:.3f} nats",
    )
    _comparison_panel(
        axs[1],
        data,
        cycle,
        last_gain,
        cycle.query_indices,
        levels,
        f"BatchBALD: colour = what pick {b} adds to picks 1-{b - 1}\n"
        f"batch information {cycle.batch_information:.3f} nats",
    )
    add_utility_colorbar(
        fig,
        levels,
        label="mutual information with the members (nats)",
        ax=list(axs),
        fraction=0.035,
        pad=0.02,
        format="%.2f",
    )
    fig.suptitle(
        f"Two batches of {b} from one ensemble (cycle {cycle.cycle}, "
        f"{cycle.n_labels} labels so far)",
        fontsize=13,
    )
    handles = _legend_handles("picked (numbered in order)", None)
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=9)
    return fig
