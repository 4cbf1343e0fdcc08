"""Checks, grids and the shared utility colour scale of :mod:`batchbald.plotting`.

Grids follow one convention: ``feature_bound`` is
``[[xmin, ymin], [xmax, ymax]]`` and a grid of resolution ``res`` has ``res``
points along each feature, from the minimum to the maximum inclusive.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap
from matplotlib.figure import Figure


# --------------------------------------------------------------------------
# validation and grids
# --------------------------------------------------------------------------
def _check_res(res) -> int:
    if isinstance(res, bool) or not isinstance(res, numbers.Integral):
        raise TypeError(
            f"res must be an integer >= 2; got {type(res).__name__} {res!r}."
        )
    if res < 2:
        raise ValueError(f"res must be an integer >= 2; got {res!r}.")
    return int(res)


def _check_ax(ax) -> Axes:
    if ax is None:
        return plt.gca()
    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib.axes.Axes or None; got {type(ax).__name__}."
        )
    return ax


def _check_dict(value, name: str, defaults: dict) -> dict:
    if value is None:
        return dict(defaults)
    if not isinstance(value, dict):
        raise TypeError(
            f"{name} must be a dict of keyword arguments or None; got "
            f"{type(value).__name__} {value!r}."
        )
    return {**defaults, **value}


def _check_X_2d(X, name: str = "X") -> np.ndarray:
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array-like; {exc}") from None
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, 2) (two features); got shape "
            f"{X.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one sample; got none.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain only finite values.")
    return X


def check_feature_bound(feature_bound, X=None) -> np.ndarray:
    """Validate ``feature_bound``, or derive it from ``X``.

    Parameters
    ----------
    feature_bound : array-like of shape (2, 2) or None
        ``[[xmin, ymin], [xmax, ymax]]`` with ``xmin < xmax`` and
        ``ymin < ymax``; None takes the bounding box of ``X``.
    X : array-like of shape (n_samples, 2), default=None
        The samples whose bounding box is used when ``feature_bound`` is None.

    Returns
    -------
    numpy.ndarray of shape (2, 2)
        A new float array.

    Raises
    ------
    TypeError, ValueError
        If ``feature_bound`` is not a finite, increasing (2, 2) array, or both
        arguments are None.
    """
    if feature_bound is None:
        if X is None:
            raise ValueError("feature_bound must be given when X is not.")
        X = _check_X_2d(X)
        return np.array([X.min(axis=0), X.max(axis=0)])
    try:
        bound = np.array(feature_bound, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            "feature_bound must be array-like [[xmin, ymin], [xmax, ymax]]; got "
            f"{feature_bound!r}."
        ) from None
    if bound.shape != (2, 2):
        raise ValueError(
            "feature_bound must have shape (2, 2), i.e. [[xmin, ymin], "
            f"[xmax, ymax]]; got shape {bound.shape}."
        )
    if not np.all(np.isfinite(bound)):
        raise ValueError(f"feature_bound must be finite; got {bound.tolist()}.")
    if np.any(bound[0] >= bound[1]):
        raise ValueError(
            "feature_bound must satisfy xmin < xmax and ymin < ymax; got "
            f"{bound.tolist()}."
        )
    return bound


def feature_grid(feature_bound, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plotting grid over ``feature_bound``.

    Parameters
    ----------
    feature_bound : array-like of shape (2, 2)
        ``[[xmin, ymin], [xmax, ymax]]``.
    res : int
        Grid points per feature (at least 2), ends included.

    Returns
    -------
    xx, yy : numpy.ndarray of shape (res, res)
        The grid coordinates, as from ``numpy.meshgrid``.
    samples : numpy.ndarray of shape (res * res, 2)
        The grid points as samples, row-major (``xx.ravel()``, ``yy.ravel()``).
    """
    bound = check_feature_bound(feature_bound)
    res = _check_res(res)
    xx, yy = np.meshgrid(
        np.linspace(bound[0, 0], bound[1, 0], res),
        np.linspace(bound[0, 1], bound[1, 1], res),
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _check_cmap(cmap) -> Colormap:
    if isinstance(cmap, str):
        try:
            return plt.get_cmap(cmap)
        except ValueError:
            raise ValueError(f"cmap {cmap!r} is not a known colormap name.") from None
    if not isinstance(cmap, Colormap):
        raise TypeError(
            f"cmap must be a colormap name or a Colormap; got {type(cmap).__name__}."
        )
    return cmap


def _levels_inside(z: np.ndarray, levels: Sequence[float]) -> list[float]:
    """The levels a line contour of ``z`` can actually cross (avoids
    matplotlib's "no contour levels" warning on flat surfaces)."""
    lo, hi = np.nanmin(z), np.nanmax(z)
    return [lev for lev in levels if lo < lev < hi]


# --------------------------------------------------------------------------
# colour scale and colour bar
# --------------------------------------------------------------------------
def utility_levels(utilities, n_levels: int = 11) -> np.ndarray:
    """Contour levels covering all finite ``utilities`` on one scale.

    Use them (with ``extend="both"``) in the ``contour_dict`` of several
    :func:`plot_contour_for_samples` calls, and in
    :func:`add_utility_colorbar`, so that all panels and frames share one
    colour scale.

    Parameters
    ----------
    utilities : array-like
        Any array of utilities; NaN and infinite values are ignored.
    n_levels : int, default=11
        Number of levels (at least 2).

    Returns
    -------
    numpy.ndarray of shape (n_levels,)
        Increasing levels from ``min(0, min utility)`` to the maximum utility
        (to 1 when no utility is positive).
    """
    if isinstance(n_levels, bool) or not isinstance(n_levels, numbers.Integral):
        raise TypeError(f"n_levels must be an integer >= 2; got {n_levels!r}.")
    if n_levels < 2:
        raise ValueError(f"n_levels must be an integer >= 2; got {n_levels!r}.")
    u = np.asarray(utilities, dtype=float)
    u = u[np.isfinite(u)]
    lo = min(0.0, float(u.min())) if u.size else 0.0
    hi = float(u.max()) if u.size else 0.0
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, int(n_levels))


def add_utility_colorbar(
    fig_or_ax: Figure | Axes,
    levels=None,
    cmap: str | Colormap = "Greens",
    label: str = "utility",
    ax=None,
    **colorbar_kwargs,
) -> Colorbar:
    """Add a colour bar for utility contours drawn with a fixed scale.

    The colour bar does not depend on any particular contour set, so it stays
    valid (and visible) in every frame of an animation.

    Parameters
    ----------
    fig_or_ax : matplotlib.figure.Figure or matplotlib.axes.Axes
        The figure to put the colour bar on, or an axes whose figure is used
        (and next to which the bar is placed when ``ax`` is None).
    levels : array-like, default=None
        The contour levels, e.g. from :func:`utility_levels`; the bar spans
        them. None means ``[0, 1]``.
    cmap : str or matplotlib.colors.Colormap, default="Greens"
        The colormap of the utility contours.
    label : str, default="utility"
        Label of the colour bar.
    ax : matplotlib.axes.Axes or sequence of them, default=None
        Axes to steal space from; ``fig_or_ax`` itself when it is an axes,
        otherwise all axes of the figure.
    **colorbar_kwargs
        Further keyword arguments for ``Figure.colorbar``.

    Returns
    -------
    matplotlib.colorbar.Colorbar
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm

    if isinstance(fig_or_ax, Axes):
        fig = fig_or_ax.figure
        ax = fig_or_ax if ax is None else ax
    elif isinstance(fig_or_ax, Figure):
        fig = fig_or_ax
        ax = fig.axes if ax is None else ax
    else:
        raise TypeError(
            "fig_or_ax must be a matplotlib Figure or Axes; got "
            f"{type(fig_or_ax).__name__}."
        )
    levels = np.asarray([0.0, 1.0] if levels is None else levels, dtype=float)
    if levels.ndim != 1 or levels.size < 2 or np.any(np.diff(levels) <= 0):
        raise ValueError("levels must be an increasing 1-D array of >= 2 values.")
    cmap = plt.get_cmap(cmap) if isinstance(cmap, str) else cmap
    norm = BoundaryNorm(levels, cmap.N)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(mappable, ax=ax, **colorbar_kwargs)
    cbar.set_label(label)
    return cbar
