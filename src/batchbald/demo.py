"""The demo scenario behind ``batchbald demo``.

Five Gaussian blobs in two dimensions, labelled by blob parity (so each class
is made of separate clusters), split into a pool and a test set. A bagging
ensemble of ten small neural networks (scikit-learn's ``MLPClassifier``)
starts without any label; in every
cycle BatchBALD picks a batch of pool samples, their true labels are revealed,
and the ensemble is refitted. The run is saved as an animation with one frame
per cycle: the utilities used for each pick of the batch, the decision
boundary, the labelled samples, and the test accuracy.

In every cycle top-k BALD also chooses a batch from the same fitted ensemble
(it is not used for labelling), and the still image (``frame``) shows the two
batches side by side: the members' mutual information in nats on one colour
scale, where top-k BALD piles its picks up and BatchBALD spreads them.

The data and every random step derive from one seed through a single
``numpy.random.RandomState`` passed down to the data generator, the split,
the classifiers and the query strategy.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ._demo_draw import MAX_PANELS, draw_comparison, draw_demo
from ._demo_types import DemoCycle, DemoData, DemoResult
from ._progress import progress_bar
from .animation import (
    check_animation_path,
    check_fps,
    check_image_path,
    check_overwrite,
    save_animation,
    save_figure,
)
from .classifier import FallbackWarning
from .plotting import check_feature_bound, feature_grid
from .saturation import SaturationWarning
from .utils import MISSING_LABEL, check_positive_int, check_random_state

if TYPE_CHECKING:
    from .classifier import SklearnClassifier

__all__ = [
    "DEMO_CENTERS",
    "MAX_PANELS",
    "DemoCycle",
    "DemoData",
    "DemoResult",
    "draw_comparison",
    "draw_demo",
    "make_demo_classifier",
    "make_demo_data",
    "run_demo",
    "simulate_demo",
]

#: Centres of the five blobs of the demo (those of the scikit-activeml
#: BatchBALD gallery example).
DEMO_CENTERS = ((0.0, 1.0), (-3.0, 0.5), (-1.0, -1.0), (2.0, 1.0), (1.0, -0.5))

#: The cycle (index into the cycles) the still image shows by default: the
#: third, when the ensemble has seen two batches and still disagrees widely.
DEFAULT_FRAME_INDEX = 2


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
    """The demo's ensemble: bagged small neural networks.

    ``n_estimators`` scikit-learn ``MLPClassifier`` with one hidden layer of
    16 units, trained with L-BFGS on bootstrap samples. Each member and the
    bag are wrapped in :class:`batchbald.classifier.SklearnClassifier`, so
    unlabelled samples (``np.nan`` labels) are ignored. With few labels the
    members disagree widely, which is where the choice of the batch matters.

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
    from sklearn.neural_network import MLPClassifier

    from .ensembles import bagging_ensemble

    n_estimators = check_positive_int(n_estimators, "n_estimators", minimum=2)
    member = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=500)
    return bagging_ensemble(
        member, n_estimators, classes=classes, random_state=random_state
    )


def _check_log(log):
    if log is None:
        return lambda message: None
    if not callable(log):
        raise TypeError(f"log must be callable or None; got {type(log).__name__}.")
    return log


def _plot_bound(X: np.ndarray, margin: float = 0.05) -> np.ndarray:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    return check_feature_bound([lo - pad, hi + pad])


def _check_seed(seed) -> np.random.RandomState:
    try:
        return check_random_state(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"seed must be None, an integer in [0, 2**32) or a "
            f"numpy.random.RandomState; got {seed!r}."
        ) from None


def _batch_information(X, y, clf, indices, rng) -> float:
    """``I(y_A; w)`` of the batch ``A = indices`` under ``clf``'s members, in
    nats: BatchBALD restricted to those candidates picks all of them, and its
    last utility is their joint mutual information."""
    from .pool import BatchBALD

    plain = BatchBALD(random_state=rng, member_votes=False, completion=None)
    chosen, utilities = plain.query(
        X,
        y,
        ensemble=clf,
        fit_ensemble=False,
        candidates=np.asarray(indices),
        batch_size=len(indices),
        return_utilities=True,
    )
    return float(np.asarray(utilities)[-1, np.asarray(chosen)[-1]])


def _run_cycle(c: int, data: DemoData, y: np.ndarray, clf, grid, rng) -> DemoCycle:
    """Fit ``clf`` on the labels ``y``, let BatchBALD and top-k BALD choose."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score

    from .pool import BatchBALD, GreedyBALD

    labeled = ~np.isnan(y)
    b = data.batch_size
    common = {"ensemble": clf, "fit_ensemble": False, "batch_size": b}
    with warnings.catch_warnings():
        # Fitting on fewer than two classes (the first cycles) falls back
        # to class frequencies on purpose here, and L-BFGS may stop at
        # max_iter on a handful of labels; these warnings are only noise.
        warnings.simplefilter("ignore", FallbackWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SaturationWarning)  # the cold start
        clf.fit(data.X_pool, y)
        accuracy = float(accuracy_score(data.y_test, clf.predict(data.X_test)))
        # Plain greedy BatchBALD on the members' probabilities, the same
        # quantity top-k BALD ranks, so both panels share one scale.
        plain = BatchBALD(random_state=rng, member_votes=False, completion=None)
        picks, utilities = plain.query(data.X_pool, y, return_utilities=True, **common)
        bald_picks, bald_utilities = GreedyBALD(random_state=rng).query(
            data.X_pool, y, return_utilities=True, **common
        )
        grid_proba = np.asarray(clf.predict_proba(grid), dtype=float)
        bald_info = _batch_information(data.X_pool, y, clf, bald_picks, rng)
    utilities = np.asarray(utilities, dtype=float)
    picks = np.asarray(picks)
    return DemoCycle(
        cycle=c + 1,
        n_labels=int(labeled.sum()),
        accuracy=accuracy,
        query_indices=picks,
        utilities=utilities,
        labeled=labeled,
        grid_proba=grid_proba,
        bald_indices=np.asarray(bald_picks),
        bald_scores=np.asarray(bald_utilities, dtype=float)[0],
        batch_information=float(utilities[-1, picks[-1]]),
        bald_batch_information=bald_info,
    )


def simulate_demo(
    seed=0,
    n_cycles: int = 5,
    batch_size: int = 4,
    n_samples: int = 400,
    res: int = 25,
    progress: bool = False,
    log: Callable[[str], object] | None = None,
) -> tuple[DemoData, list[DemoCycle]]:
    """Run the demo's active-learning loop without drawing anything.

    Each cycle fits the ensemble on the labels so far, lets BatchBALD choose
    the batch that is labelled, and lets top-k BALD choose a batch from the
    same fitted ensemble for comparison.

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
    data : DemoData
    cycles : list of DemoCycle
    """
    n_cycles = check_positive_int(n_cycles, "n_cycles")
    batch_size = check_positive_int(batch_size, "batch_size")
    res = check_positive_int(res, "res", minimum=2)
    log = _check_log(log)
    rng = _check_seed(seed)

    X_pool, X_test, y_pool, y_test = make_demo_data(n_samples, random_state=rng)
    if n_cycles * batch_size > len(X_pool):
        raise ValueError(
            f"n_cycles * batch_size = {n_cycles} * {batch_size} exceeds the "
            f"{len(X_pool)} pool samples; lower n_cycles or batch_size."
        )
    bound = _plot_bound(X_pool)
    xx, yy, grid = feature_grid(bound, res)
    data = DemoData(X_pool, y_pool, X_test, y_test, bound, xx, yy, batch_size)
    clf = make_demo_classifier(np.unique(y_pool), random_state=rng)
    y = np.full(len(y_pool), MISSING_LABEL, dtype=float)
    cycles = []
    bar = progress_bar(n_cycles, "BatchBALD cycles", unit="cycle", enabled=progress)
    for c in range(n_cycles):
        cyc = _run_cycle(c, data, y, clf, grid, rng)
        cycles.append(cyc)
        bar.update()
        log(
            f"cycle {c + 1}/{n_cycles}: trained on {cyc.n_labels} labels, "
            f"test accuracy {cyc.accuracy:.3f}, selected "
            f"{cyc.query_indices.tolist()} (batch information "
            f"{max(cyc.batch_information, 0.0):.3f} nats; top-k BALD's "
            f"{max(cyc.bald_batch_information, 0.0):.3f})"
        )
        y[cyc.query_indices] = y_pool[cyc.query_indices]
    bar.close()
    return data, cycles


def _check_frame_index(frame_index, n_cycles: int) -> int:
    if isinstance(frame_index, bool) or not isinstance(frame_index, numbers.Integral):
        raise TypeError(f"frame_index must be an integer; got {frame_index!r}.")
    frame_index = int(frame_index)
    if not -n_cycles <= frame_index < n_cycles:
        raise ValueError(
            f"frame_index must be in [{-n_cycles}, {n_cycles}) for "
            f"{n_cycles} cycles; got {frame_index}."
        )
    return frame_index


def run_demo(
    out="batchbald_demo.gif",
    seed=0,
    n_cycles: int = 5,
    batch_size: int = 4,
    n_samples: int = 400,
    res: int = 25,
    frame=None,
    frame_index: int | None = None,
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
        Also save a still image (e.g. ``docs/demo_frame.png``): top-k BALD's
        batch beside BatchBALD's, chosen from the same ensemble in one cycle
        (see :func:`draw_comparison`).
    frame_index : int or None, default=None
        The cycle the still image shows (an index into the cycles; negative
        values count from the end). None means the third cycle (the last one
        when there are fewer): the ensemble has seen two batches of labels
        and its members still disagree widely.
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
        frame = check_image_path(frame, "frame")
        if frame_index is None:
            frame_index = min(DEFAULT_FRAME_INDEX, n_cycles - 1)
        index = _check_frame_index(frame_index, n_cycles)
    fps = check_fps(fps)
    check_overwrite(out, overwrite, "out")
    if frame is not None:
        check_overwrite(frame, overwrite, "frame")

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
    finally:
        plt.close(fig)
    if frame is not None:
        still = draw_comparison(data, cycles[index], dpi=dpi)
        try:
            save_figure(still, frame, overwrite=overwrite)
        finally:
            plt.close(still)
    return DemoResult(out=out, frame=frame, cycles=cycles)


# The records are defined in a module of their own; they are part of this one.
for _cls in (DemoCycle, DemoData, DemoResult):
    _cls.__module__ = __name__
del _cls
