"""Plots of decision boundaries and utilities in a 2-D feature space, and
helpers to turn such plots into animations.

The drawing functions take a matplotlib ``Axes`` (the current one by default),
draw on it and return it. Everything they draw is a contour set, and contour
sets are collections: they appear in ``ax.collections``, so a caller can diff
``ax.collections`` before and after a call to find the artists of one frame of
a :class:`matplotlib.animation.ArtistAnimation`. They never clear the axes, so
they can be called repeatedly on the same axes.

Grids follow one convention: ``feature_bound`` is
``[[xmin, ymin], [xmax, ymax]]`` and a grid of resolution ``res`` has ``res``
points along each feature, from the minimum to the maximum inclusive.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.animation import Animation, ArtistAnimation
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from scipy.spatial import cKDTree

from .io import atomic_write

__all__ = [
    "ANIMATION_SUFFIXES",
    "add_utility_colorbar",
    "check_animation_path",
    "new_collections",
    "plot_contour_for_samples",
    "plot_decision_boundary",
    "plot_utilities",
    "save_animation",
    "save_animation_frame",
    "save_frames",
    "utility_levels",
]

#: File suffixes the animation writers understand.
ANIMATION_SUFFIXES = (".gif", ".html")

#: Default keyword arguments of the utility contour (``Axes.contourf``).
_CONTOUR_DEFAULTS = {"cmap": "Greens", "alpha": 0.75}
#: Default keyword arguments of the decision boundary (``Axes.contour``).
_BOUNDARY_DEFAULTS = {"colors": "k", "linewidths": 2, "zorder": 1}
#: Default keyword arguments of the confidence contours (``Axes.contour``).
_CONFIDENCE_DEFAULTS = {"linewidths": 2, "linestyles": "--", "alpha": 0.9, "zorder": 1}


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


def _check_feature_bound(feature_bound, X: np.ndarray | None = None) -> np.ndarray:
    """Validate ``feature_bound`` or derive it from ``X``; shape (2, 2)."""
    if feature_bound is None:
        if X is None:
            raise ValueError("feature_bound must be given when X is not.")
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


def _mesh(bound: np.ndarray, res: int):
    """Grid over ``bound``: ``xx``, ``yy`` of shape (res, res) and the grid
    points as samples of shape (res * res, 2)."""
    xx, yy = np.meshgrid(
        np.linspace(bound[0, 0], bound[1, 0], res),
        np.linspace(bound[0, 1], bound[1, 1], res),
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _levels_inside(z: np.ndarray, levels: Sequence[float]) -> list[float]:
    """The levels a line contour of ``z`` can actually cross (avoids
    matplotlib's "no contour levels" warning on flat surfaces)."""
    lo, hi = np.nanmin(z), np.nanmax(z)
    return [lev for lev in levels if lo < lev < hi]


# --------------------------------------------------------------------------
# decision boundary
# --------------------------------------------------------------------------
def _grid_probabilities(clf, samples: np.ndarray, need_proba: bool) -> np.ndarray:
    """Class probabilities of shape (n_grid, n_classes) from ``clf``."""
    if hasattr(clf, "predict_proba"):
        proba = np.asarray(clf.predict_proba(samples), dtype=float)
        if proba.ndim != 2 or proba.shape[0] != len(samples):
            raise ValueError(
                "clf.predict_proba must return shape (n_samples, n_classes); got "
                f"{proba.shape}."
            )
        return proba
    if need_proba or not hasattr(clf, "predict"):
        raise TypeError(
            "clf must implement predict_proba (or predict when confidence=None); "
            f"got {type(clf).__name__}."
        )
    pred = np.asarray(clf.predict(samples))
    classes = getattr(clf, "classes_", None)
    classes = np.unique(pred) if classes is None else np.asarray(classes)
    return (pred[:, None] == classes[None, :]).astype(float)


def _draw_decision_boundary(
    ax: Axes,
    xx: np.ndarray,
    yy: np.ndarray,
    proba: np.ndarray,
    confidence: float | None,
    cmap: Colormap,
    boundary_args: dict,
    confidence_args: dict,
) -> None:
    """Draw boundary and confidence contours from grid probabilities
    ``proba`` of shape (res * res, n_classes)."""
    n_classes = proba.shape[1]
    norm = Normalize(vmin=0, vmax=max(n_classes - 1, 1))
    if n_classes == 2:
        # One surface suffices: p(class 1); the confidence lines sit at
        # p = confidence (class 1) and p = 1 - confidence (class 0).
        z = proba[:, 1].reshape(xx.shape)
        surfaces = [(None, z, 0.5)]
        if confidence is not None:
            surfaces += [(1, z, confidence), (0, z, 1.0 - confidence)]
    else:
        # For each class: its share against the best other class; the boundary
        # of class c is where that share is 1/2.
        surfaces = []
        for c in range(n_classes):
            others = np.delete(proba, c, axis=1)
            best_other = others.max(axis=1) if others.shape[1] else 0.0
            with np.errstate(invalid="ignore", divide="ignore"):
                share = proba[:, c] / (proba[:, c] + best_other)
            share = np.nan_to_num(share, nan=0.5).reshape(xx.shape)
            surfaces.append((None, share, 0.5))
            if confidence is not None:
                surfaces.append((c, share, confidence))
    for c, z, level in surfaces:
        levels = _levels_inside(z, [level])
        if not levels:
            continue
        if c is None:
            ax.contour(xx, yy, z, levels, **boundary_args)
        else:
            ax.contour(xx, yy, z, levels, colors=[cmap(norm(c))], **confidence_args)


def plot_decision_boundary(
    clf,
    feature_bound,
    ax: Axes | None = None,
    res: int = 21,
    boundary_dict: dict | None = None,
    confidence: float | None = 0.75,
    cmap: str | Colormap = "coolwarm",
    confidence_dict: dict | None = None,
) -> Axes:
    """Draw the decision boundary of a fitted classifier on two features.

    The classifier is evaluated with ``predict_proba`` on a ``res x res`` grid
    over ``feature_bound``. The boundary of class ``c`` is where ``c`` and the
    most probable other class are equally likely (for two classes: where
    ``p(class 1) = 0.5``); it is drawn as a solid line. When ``confidence`` is
    given, dashed lines in the class colours mark where a class is
    ``confidence`` times as likely as it and its best rival together, i.e.
    ``p(c) / (p(c) + max_{c' != c} p(c')) = confidence``.

    Parameters
    ----------
    clf : classifier
        A fitted classifier with ``predict_proba(X) -> (n_samples, n_classes)``
        on two features. With ``confidence=None`` a classifier with only
        ``predict`` is accepted (its predictions are used as one-hot
        probabilities).
    feature_bound : array-like of shape (2, 2)
        ``[[xmin, ymin], [xmax, ymax]]``, the area of the grid; ``xmin < xmax``
        and ``ymin < ymax``.
    ax : matplotlib.axes.Axes, default=None
        The axes to draw on; the current axes when None.
    res : int, default=21
        Grid points per feature (at least 2).
    boundary_dict : dict, default=None
        Keyword arguments for ``Axes.contour`` of the boundary; they update
        ``{"colors": "k", "linewidths": 2, "zorder": 1}``.
    confidence : float or None, default=0.75
        Level of the dashed confidence lines, in the open interval (0.5, 1);
        None draws no confidence lines.
    cmap : str or matplotlib.colors.Colormap, default="coolwarm"
        Colormap giving each class (by index, spread over the map) the colour
        of its confidence line.
    confidence_dict : dict, default=None
        Keyword arguments for ``Axes.contour`` of the confidence lines; they
        update ``{"linewidths": 2, "linestyles": "--", "alpha": 0.9,
        "zorder": 1}``. Colours come from ``cmap``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on. Each line drawn is a ``ContourSet`` in
        ``ax.collections``; a flat probability surface (e.g. a classifier that
        has seen no labels) draws nothing.

    Raises
    ------
    TypeError
        If ``clf`` lacks ``predict_proba`` (``predict`` with
        ``confidence=None``), or an argument has the wrong type.
    ValueError
        If ``feature_bound``, ``res`` or ``confidence`` is out of range.
    """
    res = _check_res(res)
    bound = _check_feature_bound(feature_bound)
    ax = _check_ax(ax)
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
            raise TypeError(
                "confidence must be a float in (0.5, 1) or None; got "
                f"{type(confidence).__name__} {confidence!r}."
            )
        if not 0.5 < confidence < 1:
            raise ValueError(
                f"confidence must be in the open interval (0.5, 1) or None; got "
                f"{confidence!r}."
            )
        confidence = float(confidence)
    if isinstance(cmap, str):
        try:
            cmap = plt.get_cmap(cmap)
        except ValueError:
            raise ValueError(f"cmap {cmap!r} is not a known colormap name.") from None
    elif not isinstance(cmap, Colormap):
        raise TypeError(
            f"cmap must be a colormap name or a Colormap; got {type(cmap).__name__}."
        )
    boundary_args = _check_dict(boundary_dict, "boundary_dict", _BOUNDARY_DEFAULTS)
    confidence_args = _check_dict(
        confidence_dict, "confidence_dict", _CONFIDENCE_DEFAULTS
    )
    for key in ("colors", "cmap"):
        if key in confidence_args:
            raise ValueError(
                f"confidence_dict must not set {key!r}; the colours come from cmap."
            )

    xx, yy, samples = _mesh(bound, res)
    proba = _grid_probabilities(clf, samples, need_proba=confidence is not None)
    _draw_decision_boundary(
        ax, xx, yy, proba, confidence, cmap, boundary_args, confidence_args
    )
    return ax


# --------------------------------------------------------------------------
# values of samples as a filled contour
# --------------------------------------------------------------------------
def plot_contour_for_samples(
    X,
    values,
    replace_nan: float | None = 0.0,
    feature_bound=None,
    ax: Axes | None = None,
    res: int = 21,
    contour_dict: dict | None = None,
) -> Axes:
    """Draw per-sample values as a filled contour over the feature space.

    Each grid point takes the value of its nearest sample in ``X`` (Euclidean
    distance), and the grid is drawn with ``Axes.contourf``.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        The samples carrying the values, e.g. the whole pool.
    values : array-like of shape (n_samples,)
        One value per sample, e.g. utilities; may contain NaN (infinite values
        are treated as NaN).
    replace_nan : float or None, default=0.0
        The value that NaN entries of ``values`` take; None leaves those
        samples out of the interpolation instead, so their area shows the
        value of the nearest sample with a defined value.
    feature_bound : array-like of shape (2, 2), default=None
        ``[[xmin, ymin], [xmax, ymax]]``; the bounding box of ``X`` when None.
    ax : matplotlib.axes.Axes, default=None
        The axes to draw on; the current axes when None.
    res : int, default=21
        Grid points per feature (at least 2).
    contour_dict : dict, default=None
        Keyword arguments for ``Axes.contourf``; they update
        ``{"cmap": "Greens", "alpha": 0.75}``. Pass ``levels``, ``vmin`` and
        ``vmax`` to share one colour scale between several plots (see
        :func:`utility_levels`).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on; the filled contour is the last entry of
        ``ax.collections``.

    Raises
    ------
    ValueError
        If shapes disagree, ``res`` or ``feature_bound`` is invalid, or no
        sample is left to interpolate from (all values NaN with
        ``replace_nan=None``).
    TypeError
        If an argument has the wrong type.
    """
    X = _check_X_2d(X)
    try:
        values = np.array(values, dtype=float)  # a copy: never touch the caller's
    except (TypeError, ValueError):
        raise TypeError("values must be a numeric array-like.") from None
    if values.shape != (X.shape[0],):
        raise ValueError(
            f"values must have shape (n_samples,) = ({X.shape[0]},) to match X; got "
            f"shape {values.shape}."
        )
    values[~np.isfinite(values)] = np.nan
    if replace_nan is not None:
        if isinstance(replace_nan, bool) or not isinstance(replace_nan, numbers.Real):
            raise TypeError(
                "replace_nan must be a real number or None; got "
                f"{type(replace_nan).__name__} {replace_nan!r}."
            )
        if not np.isfinite(replace_nan):
            raise ValueError(
                f"replace_nan must be finite or None; got {replace_nan!r}."
            )
    res = _check_res(res)
    bound = _check_feature_bound(feature_bound, X)
    ax = _check_ax(ax)
    contour_args = _check_dict(contour_dict, "contour_dict", _CONTOUR_DEFAULTS)

    if replace_nan is None:
        keep = ~np.isnan(values)
        if not keep.any():
            raise ValueError(
                "values has no finite entry, so with replace_nan=None there is "
                "nothing to interpolate; pass a number as replace_nan."
            )
        X, values = X[keep], values[keep]
    else:
        values = np.where(np.isnan(values), float(replace_nan), values)

    xx, yy, samples = _mesh(bound, res)
    _, nearest = cKDTree(X).query(samples, k=1)
    grid = values[nearest].reshape(xx.shape)
    ax.contourf(xx, yy, grid, **contour_args)
    return ax


# --------------------------------------------------------------------------
# utilities of a query strategy
# --------------------------------------------------------------------------
def plot_utilities(qs, X, y, candidates=None, **kwargs) -> Axes:
    """Query a strategy and draw the utilities of its first pick.

    Runs ``qs.query(X, y, candidates=candidates, return_utilities=True,
    **query_kwargs)`` and draws the first row of the returned utilities with
    :func:`plot_contour_for_samples`.

    Parameters
    ----------
    qs : query strategy
        An object with ``query(X, y, ..., return_utilities=True)`` returning
        ``(query_indices, utilities)`` with utilities of shape
        (batch_size, n_samples), e.g. :class:`batchbald.pool.BatchBALD`.
    X : array-like of shape (n_samples, 2)
        The pool.
    y : array-like of shape (n_samples,)
        Labels, missing ones marked by the strategy's ``missing_label``.
    candidates : None, array-like of shape (n_candidates,) or (n_candidates, 2)
        Passed to ``query``. Indices (or None) mean the utilities are over the
        samples of ``X``; an array of samples means they are over those
        samples, and the contour is drawn from them.
    **kwargs
        ``feature_bound``, ``ax``, ``res``, ``contour_dict`` and
        ``replace_nan`` (default 0.0) are those of
        :func:`plot_contour_for_samples`; all other keyword arguments (e.g.
        ``ensemble=clf``, ``batch_size``) go to ``qs.query``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    TypeError
        If ``qs`` has no ``query`` method, or ``return_utilities`` is passed
        (it is always True here).
    ValueError
        If the utilities do not have one column per sample.
    """
    if not callable(getattr(qs, "query", None)):
        raise TypeError(
            f"qs must be a query strategy with a query method; got {type(qs).__name__}."
        )
    if "return_utilities" in kwargs:
        raise TypeError("plot_utilities always sets return_utilities=True; drop it.")
    plot_kwargs = {
        key: kwargs.pop(key)
        for key in ("feature_bound", "ax", "res", "contour_dict", "replace_nan")
        if key in kwargs
    }
    X = _check_X_2d(X)
    _, utilities = qs.query(
        X, y, candidates=candidates, return_utilities=True, **kwargs
    )
    utilities = np.asarray(utilities, dtype=float)
    X_utils = X
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.ndim == 2:
            X_utils = _check_X_2d(cand, "candidates")
    if utilities.ndim != 2 or utilities.shape[1] != X_utils.shape[0]:
        raise ValueError(
            "qs.query returned utilities of shape "
            f"{utilities.shape}; expected (batch_size, {X_utils.shape[0]})."
        )
    if "feature_bound" not in plot_kwargs or plot_kwargs["feature_bound"] is None:
        plot_kwargs["feature_bound"] = _check_feature_bound(None, X)
    return plot_contour_for_samples(X_utils, utilities[0], **plot_kwargs)


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


# --------------------------------------------------------------------------
# animations
# --------------------------------------------------------------------------
def new_collections(ax: Axes, before: Sequence) -> list:
    """The entries of ``ax.collections`` that are not in ``before``.

    Take ``before = list(ax.collections)`` before drawing a frame; the result
    is that frame's artists for an ``ArtistAnimation``.
    """
    old = {id(a) for a in before}
    return [a for a in ax.collections if id(a) not in old]


def check_animation_path(path, name: str = "out") -> Path:
    """Validate an animation output path and return it as a ``Path``.

    Parameters
    ----------
    path : str or os.PathLike
        Must end in ``.gif`` or ``.html`` (case-insensitive), and its directory
        must exist.
    name : str, default="out"
        The parameter name used in error messages.

    Raises
    ------
    TypeError
        If ``path`` is not a string or path.
    ValueError
        If the suffix is not supported.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a file path; got {type(path).__name__}.")
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_SUFFIXES:
        raise ValueError(
            f"{name} must end in .gif or .html; got {str(path)!r} "
            f"(suffix {path.suffix or 'none'!r})."
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"{name}: directory {str(parent)!r} does not exist; create it first."
        )
    return path


def _check_fps(fps) -> float:
    """``fps`` as a float: a real number (TypeError otherwise), finite and > 0
    (ValueError otherwise)."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise TypeError(f"fps must be a real number; got {type(fps).__name__} {fps!r}.")
    if not 0 < fps < np.inf:
        raise ValueError(f"fps must be a finite number > 0; got {fps!r}.")
    return float(fps)


def _check_overwrite(path: Path, overwrite, name: str = "path") -> None:
    """Refuse an existing ``path`` unless ``overwrite`` (checked before drawing);
    ``name`` is the parameter named in the message."""
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False; got {overwrite!r}.")
    if not overwrite and path.exists():
        raise ValueError(
            f"{name} {str(path)!r} already exists and overwrite=False; pass "
            f"overwrite=True to replace it, or choose another {name}."
        )


def _atomic_write(
    path: Path, write: Callable[[Path], None], overwrite: bool = True
) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path`` that keeps its
    suffix, then move it onto ``path`` (see :func:`batchbald.io.atomic_write`)."""
    return atomic_write(path, write, overwrite=overwrite, keep_suffix=True)


def _html_page(body: str, title: str) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def save_animation(
    anim: Animation,
    path,
    fps: float = 1.0,
    dpi: float | None = None,
    title: str = "batchbald animation",
    *,
    overwrite: bool = True,
) -> Path:
    """Write a matplotlib animation to a ``.gif`` or a self-contained ``.html``.

    The file is written to a temporary file in the same directory and moved
    into place, so an existing file at ``path`` is either replaced completely
    or left untouched. Like matplotlib's ``savefig``, an existing file is
    replaced by default; pass ``overwrite=False`` to refuse.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
        E.g. an ``ArtistAnimation``.
    path : str or os.PathLike
        Output file, ending in ``.gif`` (written with pillow) or ``.html`` (a
        page embedding the frames and player controls, from
        ``Animation.to_jshtml``).
    fps : float, default=1.0
        Frames per second.
    dpi : float, default=None
        Resolution of a GIF; the figure's when None. An HTML file always uses
        the figure's own dpi.
    title : str, default="batchbald animation"
        Title of the HTML page.
    overwrite : bool, default=True
        Replace an existing file at ``path``. If False and ``path`` exists
        (checked before rendering, and again when moving the file into
        place), nothing is written and ``ValueError`` is raised.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    An ``ArtistAnimation`` made with ``blit=True`` marks its artists as
    animated, and matplotlib then leaves figure-level artists (``fig.text``,
    ``fig.suptitle``) out of saved frames; artists on axes are saved. Use
    ``blit=False`` for animations meant for files, or put per-frame titles on
    an axes (``ax.text``).
    """
    if not isinstance(anim, Animation):
        raise TypeError(
            f"anim must be a matplotlib Animation; got {type(anim).__name__}."
        )
    fps = _check_fps(fps)
    path = check_animation_path(path, "path")
    _check_overwrite(path, overwrite)
    if path.suffix.lower() == ".gif":
        from matplotlib.animation import PillowWriter

        def write(tmp: Path) -> None:
            anim.save(str(tmp), writer=PillowWriter(fps=fps), dpi=dpi)

    else:

        def write(tmp: Path) -> None:
            html = anim.to_jshtml(fps=fps, default_mode="once")
            tmp.write_text(_html_page(html, title), encoding="utf-8")

    return _atomic_write(path, write, overwrite)


def save_animation_frame(
    fig: Figure,
    frames: Sequence[Sequence],
    index: int,
    path,
    dpi: float | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Save one frame of an artist animation as a still image.

    Shows the artists of ``frames[index]``, hides those of the other frames,
    saves the figure (format from the suffix of ``path``, e.g. ``.png``;
    written atomically), and restores the artists' state. Like ``savefig``,
    an existing file is replaced unless ``overwrite=False``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure of the animation.
    frames : sequence of sequences of artists
        The artist lists given to ``ArtistAnimation``.
    index : int
        Which frame; negative values count from the end.
    path : str or os.PathLike
        Output image; its directory must exist.
    dpi : float, default=None
        Resolution; the figure's when None.
    overwrite : bool, default=True
        See :func:`save_animation`.

    Returns
    -------
    pathlib.Path
    """
    n = len(frames)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"index must be an integer; got {index!r}.")
    if not -n <= index < n:
        raise ValueError(f"index must be in [{-n}, {n}) for {n} frames; got {index}.")
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"path: directory {str(parent)!r} does not exist.")
    _check_overwrite(path, overwrite)
    shown = {id(a) for a in frames[index]}
    # A blitting animation marks its artists "animated", which savefig skips.
    saved = [(a, a.get_visible(), a.get_animated()) for frame in frames for a in frame]
    try:
        for a, _, _ in saved:
            a.set_visible(id(a) in shown)
            a.set_animated(False)
        _atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi), overwrite)
    finally:
        for a, visible, animated in saved:
            a.set_visible(visible)
            a.set_animated(animated)
    return path


def save_frames(
    frames: Sequence, path, fps: float = 1.0, *, overwrite: bool = True
) -> Path:
    """Write a list of images as an animated ``.gif`` or ``.html``.

    Parameters
    ----------
    frames : sequence of PIL.Image.Image, numpy arrays or Figures
        The frames, all of the same size. Arrays are (height, width, 3 or 4)
        with ``uint8`` values; a Figure is rendered as it currently looks.
    path : str or os.PathLike
        Output ``.gif`` or ``.html`` file (written atomically).
    fps : float, default=1.0
        Frames per second.
    overwrite : bool, default=True
        See :func:`save_animation`.

    Returns
    -------
    pathlib.Path
    """
    from PIL import Image

    fps = _check_fps(fps)
    if len(frames) == 0:
        raise ValueError("frames must contain at least one frame; got none.")
    images = []
    for i, frame in enumerate(frames):
        if isinstance(frame, Figure):
            frame.canvas.draw()
            frame = np.asarray(frame.canvas.buffer_rgba())
        if isinstance(frame, np.ndarray):
            if frame.ndim != 3 or frame.shape[2] not in (3, 4):
                raise ValueError(
                    f"frames[{i}] must have shape (height, width, 3 or 4); got "
                    f"{frame.shape}."
                )
            frame = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        if not isinstance(frame, Image.Image):
            raise TypeError(
                f"frames[{i}] must be a PIL image, an array or a Figure; got "
                f"{type(frame).__name__}."
            )
        images.append(frame.convert("RGB"))
    if len({im.size for im in images}) != 1:
        raise ValueError("frames must all have the same size.")
    path = check_animation_path(path, "path")
    _check_overwrite(path, overwrite)
    if path.suffix.lower() == ".gif":
        duration = int(round(1000 / fps))

        def write(tmp: Path) -> None:
            images[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=duration,
                loop=0,
            )

        return _atomic_write(path, write, overwrite)

    width, height = images[0].size
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    try:
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        artists = [[ax.imshow(np.asarray(im), animated=True)] for im in images]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            anim = ArtistAnimation(fig, artists, interval=1000 / fps, blit=True)
        return save_animation(anim, path, fps=fps, overwrite=overwrite)
    finally:
        plt.close(fig)
