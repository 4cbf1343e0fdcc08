"""Plots and animations, in one public namespace.

The functions live in two modules with one concern each and are re-exported
here, so ``from batchbald.visualization import plot_decision_boundary`` keeps
working:

- :mod:`batchbald.plotting` -- decision boundaries, utilities as filled
  contours, a shared utility colour scale and its colour bar;
- :mod:`batchbald.animation` -- GIF and self-contained HTML animations, still
  frames, and the checks of their output paths.
"""

from __future__ import annotations

from .animation import (
    ANIMATION_SUFFIXES,
    check_animation_path,
    check_image_path,
    html_player,
    new_collections,
    save_animation,
    save_animation_frame,
    save_figure,
    save_frames,
)
from .plotting import (
    add_utility_colorbar,
    check_feature_bound,
    feature_grid,
    plot_contour_for_samples,
    plot_decision_boundary,
    plot_proba_boundary,
    plot_utilities,
    utility_levels,
)

__all__ = [
    "ANIMATION_SUFFIXES",
    "add_utility_colorbar",
    "check_animation_path",
    "check_feature_bound",
    "check_image_path",
    "feature_grid",
    "html_player",
    "new_collections",
    "plot_contour_for_samples",
    "plot_decision_boundary",
    "plot_proba_boundary",
    "plot_utilities",
    "save_animation",
    "save_animation_frame",
    "save_figure",
    "save_frames",
    "utility_levels",
]
