"""Plots of decision boundaries and utilities in a 2-D feature space.

The drawing functions take a matplotlib ``Axes`` (the current one by default),
draw on it and return it. Everything they draw is a contour set, and contour
sets are collections: they appear in ``ax.collections``, so a caller can diff
``ax.collections`` before and after a call (see
:func:`batchbald.animation.new_collections`) to find the artists of one frame
of a :class:`matplotlib.animation.ArtistAnimation`. They never clear the axes,
so they can be called repeatedly on the same axes.

``X`` may be any 2-column array-like, a pandas DataFrame included. A
classifier fitted on a DataFrame (one with ``feature_names_in_``) is evaluated
on a DataFrame grid with the same column names.

Grids follow one convention: ``feature_bound`` is
``[[xmin, ymin], [xmax, ymax]]`` and a grid of resolution ``res`` has ``res``
points along each feature, from the minimum to the maximum inclusive.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from scipy.spatial import cKDTree

from ._plotting_base import (
    _check_ax,
    _check_cmap,
    _check_dict,
    _check_res,
    _check_X_2d,
    _levels_inside,
    add_utility_colorbar,
    check_feature_bound,
    feature_grid,
    utility_levels,
)

__all__ = [
    "add_utility_colorbar",
    "check_feature_bound",
    "feature_grid",
    "plot_contour_for_samples",
    "plot_decision_boundary",
    "plot_proba_boundary",
    "plot_utilities",
    "utility_levels",
]

#: Default keyword arguments of the utility contour (``Axes.contourf``).
_CONTOUR_DEFAULTS = {"cmap": "Greens", "alpha": 0.75}
#: Default keyword arguments of the decision boundary (``Axes.contour``).
_BOUNDARY_DEFAULTS = {"colors": "k", "linewidths": 2, "zorder": 1}
#: Default keyword arguments of the confidence contours (``Axes.contour``).
_CONFIDENCE_DEFAULTS = {"linewidths": 2, "linestyles": "--", "alpha": 0.9, "zorder": 1}


# --------------------------------------------------------------------------
# decision boundary
# --------------------------------------------------------------------------
def _grid_samples(clf, samples: np.ndarray):
    """The grid as ``clf`` expects it: a DataFrame with the column names of
    its training data when it was fitted on one, the array otherwise."""
    names = getattr(clf, "feature_names_in_", None)
    if names is None or len(names) != samples.shape[1]:
        return samples
    import pandas as pd

    return pd.DataFrame(samples, columns=list(names))


def _grid_probabilities(clf, samples: np.ndarray, need_proba: bool) -> np.ndarray:
    """Class probabilities of shape (n_grid, n_classes) from ``clf``."""
    grid = _grid_samples(clf, samples)
    if hasattr(clf, "predict_proba"):
        proba = np.asarray(clf.predict_proba(grid), dtype=float)
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
    pred = np.asarray(clf.predict(grid))
    classes = getattr(clf, "classes_", None)
    classes = np.unique(pred) if classes is None else np.asarray(classes)
    return (pred[:, None] == classes[None, :]).astype(float)


def _check_confidence(confidence) -> float | None:
    if confidence is None:
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise TypeError(
            "confidence must be a float in (0.5, 1) or None; got "
            f"{type(confidence).__name__} {confidence!r}."
        )
    value = float(confidence)
    if not 0.5 < value < 1:
        raise ValueError(
            f"confidence must be in the open interval (0.5, 1) or None; got "
            f"{confidence!r}."
        )
    return value


def _boundary_style(boundary_dict, confidence_dict) -> tuple[dict, dict]:
    boundary_args = _check_dict(boundary_dict, "boundary_dict", _BOUNDARY_DEFAULTS)
    confidence_args = _check_dict(
        confidence_dict, "confidence_dict", _CONFIDENCE_DEFAULTS
    )
    for key in ("colors", "cmap"):
        if key in confidence_args:
            raise ValueError(
                f"confidence_dict must not set {key!r}; the colours come from cmap."
            )
    return boundary_args, confidence_args


def _boundary_surfaces(proba: np.ndarray, shape: tuple, confidence) -> list:
    """``(class or None, surface, level)`` triples: None for the boundary."""
    n_classes = proba.shape[1]
    if n_classes == 2:
        # One surface suffices: p(class 1); the confidence lines sit at
        # p = confidence (class 1) and p = 1 - confidence (class 0).
        z = proba[:, 1].reshape(shape)
        surfaces: list[tuple[int | None, np.ndarray, float]] = [(None, z, 0.5)]
        if confidence is not None:
            surfaces += [(1, z, confidence), (0, z, 1.0 - confidence)]
        return surfaces
    # For each class: its share against the best other class; the boundary
    # of class c is where that share is 1/2.
    surfaces = []  # the same list type as above
    for c in range(n_classes):
        others = np.delete(proba, c, axis=1)
        best_other = others.max(axis=1) if others.shape[1] else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = proba[:, c] / (proba[:, c] + best_other)
        share = np.nan_to_num(share, nan=0.5).reshape(shape)
        surfaces.append((None, share, 0.5))
        if confidence is not None:
            surfaces.append((c, share, confidence))
    return surfaces


def _draw_boundary(
    ax: Axes,
    xx: np.ndarray,
    yy: np.ndarray,
    proba: np.ndarray,
    confidence: float | None,
    cmap: Colormap,
    styles: tuple[dict, dict],
) -> None:
    """Draw boundary and confidence contours from grid probabilities
    ``proba`` of shape (res * res, n_classes); the arguments are checked."""
    boundary_args, confidence_args = styles
    norm = Normalize(vmin=0, vmax=max(proba.shape[1] - 1, 1))
    for c, z, level in _boundary_surfaces(proba, xx.shape, confidence):
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
    over ``feature_bound`` (a DataFrame grid with the classifier's column
    names when it has ``feature_names_in_``). The boundary of class ``c`` is
    where ``c`` and the most probable other class are equally likely (for two
    classes: where ``p(class 1) = 0.5``); it is drawn as a solid line. When
    ``confidence`` is given, dashed lines in the class colours mark where a
    class is ``confidence`` times as likely as it and its best rival
    together, i.e. ``p(c) / (p(c) + max_{c' != c} p(c')) = confidence``.

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
    boundary_dict, confidence, cmap, confidence_dict
        See :func:`plot_proba_boundary`.

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
    bound = check_feature_bound(feature_bound)
    ax = _check_ax(ax)
    confidence = _check_confidence(confidence)
    cmap = _check_cmap(cmap)
    styles = _boundary_style(boundary_dict, confidence_dict)
    xx, yy, samples = feature_grid(bound, res)
    proba = _grid_probabilities(clf, samples, need_proba=confidence is not None)
    _draw_boundary(ax, xx, yy, proba, confidence, cmap, styles)
    return ax


def plot_proba_boundary(
    proba,
    xx,
    yy,
    ax: Axes | None = None,
    confidence: float | None = 0.75,
    cmap: str | Colormap = "coolwarm",
    boundary_dict: dict | None = None,
    confidence_dict: dict | None = None,
) -> Axes:
    """Draw a decision boundary from class probabilities on a grid.

    The lines of :func:`plot_decision_boundary`, from probabilities computed
    beforehand (e.g. recorded during an active-learning run).

    Parameters
    ----------
    proba : array-like of shape (res * res, n_classes)
        Class probabilities at the grid points ``samples`` of
        :func:`feature_grid`, in that order.
    xx, yy : array-like of shape (res, res)
        The grid, as returned by :func:`feature_grid`.
    ax : matplotlib.axes.Axes, default=None
        The axes to draw on; the current axes when None.
    confidence : float or None, default=0.75
        Level of the dashed confidence lines, in the open interval (0.5, 1);
        None draws no confidence lines.
    cmap : str or matplotlib.colors.Colormap, default="coolwarm"
        Colormap giving each class (by index, spread over the map) the colour
        of its confidence line.
    boundary_dict : dict, default=None
        Keyword arguments for ``Axes.contour`` of the boundary; they update
        ``{"colors": "k", "linewidths": 2, "zorder": 1}``.
    confidence_dict : dict, default=None
        Keyword arguments for ``Axes.contour`` of the confidence lines; they
        update ``{"linewidths": 2, "linestyles": "--", "alpha": 0.9,
        "zorder": 1}``. Colours come from ``cmap``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on; each line is a ``ContourSet`` in ``ax.collections``.

    Raises
    ------
    TypeError, ValueError
        If the shapes disagree or an option is invalid.
    """
    xx, yy = np.asarray(xx, dtype=float), np.asarray(yy, dtype=float)
    proba = np.asarray(proba, dtype=float)
    if xx.ndim != 2 or xx.shape != yy.shape:
        raise ValueError(
            f"xx and yy must be 2-D grids of one shape; got {xx.shape} and {yy.shape}."
        )
    if proba.ndim != 2 or proba.shape[0] != xx.size or proba.shape[1] < 2:
        raise ValueError(
            f"proba must have shape (xx.size, n_classes) = ({xx.size}, >= 2); got "
            f"{proba.shape}."
        )
    ax = _check_ax(ax)
    confidence = _check_confidence(confidence)
    cmap = _check_cmap(cmap)
    styles = _boundary_style(boundary_dict, confidence_dict)
    _draw_boundary(ax, xx, yy, proba, confidence, cmap, styles)
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
    bound = check_feature_bound(feature_bound, X)
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

    xx, yy, samples = feature_grid(bound, res)
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
    X_plot = _check_X_2d(X)
    # The strategy gets X as given (a DataFrame keeps its column names).
    _, utilities = qs.query(
        X, y, candidates=candidates, return_utilities=True, **kwargs
    )
    utilities = np.asarray(utilities, dtype=float)
    X_utils = X_plot
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
        plot_kwargs["feature_bound"] = check_feature_bound(None, X_plot)
    return plot_contour_for_samples(X_utils, utilities[0], **plot_kwargs)
