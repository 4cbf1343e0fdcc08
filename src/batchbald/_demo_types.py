"""The records of :mod:`batchbald.demo`: its data, its cycles, its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class DemoData:
    """The demo's data and plotting grid, as :func:`simulate_demo` made them.

    Attributes
    ----------
    X_pool : numpy.ndarray of shape (n_pool, 2)
    y_pool : numpy.ndarray of int, shape (n_pool,)
        The labels revealed when a sample is picked.
    X_test : numpy.ndarray of shape (n_test, 2)
    y_test : numpy.ndarray of int, shape (n_test,)
    feature_bound : numpy.ndarray of shape (2, 2)
        The plotted area, ``[[xmin, ymin], [xmax, ymax]]``.
    xx, yy : numpy.ndarray of shape (res, res)
        The plotting grid (see :func:`batchbald.plotting.feature_grid`).
    batch_size : int
        Samples picked per cycle.
    """

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_bound: np.ndarray
    xx: np.ndarray
    yy: np.ndarray
    batch_size: int


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
    bald_indices : numpy.ndarray of shape (batch_size,)
        The batch top-k BALD chose from the same fitted ensemble (not
        labelled; for comparison).
    bald_scores : numpy.ndarray of shape (n_pool,)
        The BALD score ``I(y_n; w)`` of every pool sample in nats (NaN at
        labelled samples); top-k BALD's batch holds the highest of them.
    batch_information : float
        ``I(y_A; w)`` of BatchBALD's batch ``A``, in nats.
    bald_batch_information : float
        ``I(y_A; w)`` of top-k BALD's batch, in nats, computed as for
        BatchBALD's.
    """

    cycle: int
    n_labels: int
    accuracy: float
    query_indices: np.ndarray
    utilities: np.ndarray
    labeled: np.ndarray
    grid_proba: np.ndarray
    bald_indices: np.ndarray
    bald_scores: np.ndarray
    batch_information: float
    bald_batch_information: float

    @property
    def gains(self) -> np.ndarray:
        """Utility gain of every pick over the picks before it, shape
        (batch_size, n_pool), in nats: row ``i`` is
        ``I(y_{A_{i-1} + n}; w) - I(y_{A_{i-1}}; w)``."""
        chosen = self.utilities[np.arange(len(self.query_indices)), self.query_indices]
        before = np.concatenate([[0.0], chosen[:-1]])
        return self.utilities - before[:, None]


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
