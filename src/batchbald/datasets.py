"""Offline data sets for active-learning experiments.

Nothing here downloads anything: the digits come with scikit-learn and the
other sets are generated. Every loader returns a :class:`Dataset`, a small
frozen record with an unlabeled-pool part (``X_pool``, ``y_pool``; an
experiment reveals pool labels one query at a time) and a held-out test part
(``X_test``, ``y_test``) that is only used to measure accuracy.

:func:`make_repeated_digits` is the small-scale stand-in for the Repeated MNIST
set of Kirsch et al. (2019, "BatchBALD"): every pool image appears
``n_repeats`` times, each copy with its own isotropic Gaussian noise, so that
an acquisition function that ignores the other points of its batch (top-k
BALD) wastes labels on near-identical copies. The test set is not repeated.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from ._validation import Interval, Options, validate_params
from .utils import check_random_state

__all__ = [
    "DATASETS",
    "Dataset",
    "from_arrays",
    "load_dataset",
    "load_digits_pool",
    "make_blobs_pool",
    "make_repeated_digits",
]

_SCALINGS = ("standard", "minmax", "none")


@dataclass(frozen=True)
class Dataset:
    """A pool/test split for an active-learning experiment.

    Attributes
    ----------
    X_pool : numpy.ndarray of shape (n_pool, n_features)
        Candidate samples; their labels are revealed by queries.
    y_pool : numpy.ndarray of int, shape (n_pool,)
        The true labels of the pool (the oracle), in ``0 .. n_classes - 1``.
    X_test : numpy.ndarray of shape (n_test, n_features)
        Held-out samples used only for measuring accuracy.
    y_test : numpy.ndarray of int, shape (n_test,)
        Their labels.
    name : str
        A short name used in file names and plots.
    groups_pool : numpy.ndarray of int, shape (n_pool,), or None
        For repeated data sets, the index of the underlying original sample of
        each pool point (copies share a group); None otherwise.
    description : str
        One line saying how the set was made.
    params : dict
        The arguments the set was made with (for result files).
    """

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    groups_pool: np.ndarray | None = None
    description: str = ""
    params: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        """Number of classes (labels are ``0 .. n_classes - 1``)."""
        return int(max(self.y_pool.max(), self.y_test.max())) + 1

    @property
    def n_features(self) -> int:
        """Number of features."""
        return int(self.X_pool.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_pool={len(self.y_pool)}, "
            f"n_test={len(self.y_test)}, n_features={self.n_features}, "
            f"n_classes={self.n_classes})"
        )


# --------------------------------------------------------------------------
# declarations and validation helpers
# --------------------------------------------------------------------------
_TEST_SIZE = [
    Interval(numbers.Real, 0, 1, closed="neither"),
    Interval(numbers.Integral, 1, None, closed="left"),
]
_SCALING = [Options(str, _SCALINGS)]
_N_POOL = [Interval(numbers.Integral, 1, None, closed="left"), None]


def _number(value) -> float | int:
    """A validated int or float as a plain Python number (for ``params``)."""
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _encode_labels(y, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {y.shape}.")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(
            f"{name} contains NaN; every sample of a data set needs its true label "
            "(the experiment hides the pool labels itself)."
        )
    classes, codes = np.unique(y, return_inverse=True)
    return classes, codes.astype(np.int64)


def _check_X(X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiu" or X.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be two-dimensional (n_samples, n_features); got shape "
            f"{X.shape}."
        )
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X.astype(np.float64)


def _scale(X_pool: np.ndarray, X_test: np.ndarray, scaling: str):
    """Scale with statistics of the pool only (never of the test set)."""
    if scaling == "none":
        return X_pool, X_test
    if scaling == "minmax":
        lo, hi = X_pool.min(), X_pool.max()
        span = hi - lo if hi > lo else 1.0
        return (X_pool - lo) / span, (X_test - lo) / span
    # "standard": one global mean and standard deviation over all features, as
    # MNIST's ``Normalize((0.1307,), (0.3081,))`` does; keeps the image
    # structure and makes a noise level comparable to Repeated MNIST's.
    mean, std = X_pool.mean(), X_pool.std()
    std = std if std > 0 else 1.0
    return (X_pool - mean) / std, (X_test - mean) / std


def _subsample(X, y, n, rng, name: str):
    if n is None:
        return X, y
    n = int(n)
    if n > len(y):
        raise ValueError(f"{name} must be at most {len(y)}; got {n}.")
    if n == len(y):
        return X, y
    n_classes = len(np.unique(y))
    stratify = y if n >= n_classes else None
    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=n, stratify=stratify, random_state=rng
    )
    return X_sub, y_sub


# --------------------------------------------------------------------------
# loaders
# --------------------------------------------------------------------------
@validate_params(
    {
        "test_size": _TEST_SIZE,
        "scaling": _SCALING,
        "name": [str],
        "random_state": ["random_state"],
    }
)
def from_arrays(
    X,
    y,
    X_test=None,
    y_test=None,
    *,
    test_size: float | int = 0.25,
    scaling: str = "none",
    name: str = "custom",
    random_state=None,
) -> Dataset:
    """Make a :class:`Dataset` from any labelled arrays.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples.
    y : array-like of shape (n_samples,)
        Their labels, any hashable values without missing ones; they are
        re-encoded as ``0 .. n_classes - 1`` in sorted order.
    X_test, y_test : array-like, optional
        A separate test set. If omitted, a stratified ``test_size`` part of
        ``(X, y)`` is held out.
    test_size : float in (0, 1) or int, default=0.25
        Fraction or number of samples held out when ``X_test`` is None.
    scaling : {"none", "standard", "minmax"}, default="none"
        ``"standard"``: subtract the pool's global mean and divide by its global
        standard deviation; ``"minmax"``: map the pool's value range to [0, 1];
        statistics come from the pool only.
    name : str, default="custom"
        See :class:`Dataset`.
    random_state : None, int or numpy.random.RandomState, default=None
        Randomness of the split, see :func:`batchbald.utils.check_random_state`.

    Returns
    -------
    Dataset
    """
    X = _check_X(X, "X")
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together or not at all.")
    if X_test is None:
        classes, codes = _encode_labels(y, "y")
        if len(codes) != len(X):
            raise ValueError(
                f"X and y must have the same length; got {len(X)} and {len(codes)}."
            )
        test_size = _number(test_size)
        rng = check_random_state(random_state)
        X_pool, X_te, y_pool, y_te = train_test_split(
            X, codes, test_size=test_size, stratify=codes, random_state=rng
        )
    else:
        X_te = _check_X(X_test, "X_test")
        if X_te.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_test must have {X.shape[1]} features like X; got {X_te.shape[1]}."
            )
        y_all = np.concatenate([np.asarray(y), np.asarray(y_test)])
        classes, codes = _encode_labels(y_all, "y and y_test")
        if len(np.asarray(y)) != len(X) or len(np.asarray(y_test)) != len(X_te):
            raise ValueError("X and y (and X_test and y_test) must have equal lengths.")
        X_pool, y_pool, y_te = X, codes[: len(X)], codes[len(X) :]
        unseen = np.setdiff1d(y_te, y_pool)
        if len(unseen):
            raise ValueError(
                f"y_test contains labels that never occur in y: "
                f"{classes[unseen].tolist()}; a model trained on the pool could "
                "never predict them."
            )
    X_pool, X_te = _scale(X_pool, X_te, scaling)
    return Dataset(
        X_pool=X_pool,
        y_pool=y_pool,
        X_test=X_te,
        y_test=y_te,
        name=name,
        description=f"user arrays, {len(classes)} classes, scaling={scaling}",
        params={"test_size": test_size, "scaling": scaling},
    )


@validate_params(
    {
        "n_pool": _N_POOL,
        "test_size": _TEST_SIZE,
        "scaling": _SCALING,
        "random_state": ["random_state"],
    }
)
def load_digits_pool(
    *,
    n_pool: int | None = None,
    test_size: float | int = 0.25,
    scaling: str = "standard",
    random_state=None,
) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, 10 classes) as a pool/test split.

    Parameters
    ----------
    n_pool : int, optional
        Keep a stratified random subset of this many pool images (all of them
        when None). The test set is not affected.
    test_size : float in (0, 1) or int, default=0.25
        Fraction or number of images held out for testing (stratified).
    scaling : {"standard", "minmax", "none"}, default="standard"
        See :func:`from_arrays`. ``"standard"`` makes the pixels mean 0 and
        standard deviation 1 overall, like the normalised MNIST of the paper.
    random_state : None, int or numpy.random.RandomState, default=None
        Randomness of the split and of the subset.

    Returns
    -------
    Dataset
    """
    from sklearn.datasets import load_digits

    test_size = _number(test_size)
    rng = check_random_state(random_state)
    X, y = load_digits(return_X_y=True)
    X_pool, X_test, y_pool, y_test = train_test_split(
        X.astype(np.float64), y, test_size=test_size, stratify=y, random_state=rng
    )
    X_pool, y_pool = _subsample(X_pool, y_pool, n_pool, rng, "n_pool")
    X_pool, X_test = _scale(X_pool, X_test, scaling)
    return Dataset(
        X_pool=X_pool,
        y_pool=y_pool.astype(np.int64),
        X_test=X_test,
        y_test=y_test.astype(np.int64),
        name="digits",
        description=(
            f"sklearn digits, {len(y_pool)} pool / {len(y_test)} test images, "
            f"scaling={scaling}"
        ),
        params={"n_pool": n_pool, "test_size": test_size, "scaling": scaling},
    )


@validate_params(
    {
        "n_repeats": [Interval(numbers.Integral, 1, None, closed="left")],
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
        "n_pool": _N_POOL,
        "test_size": _TEST_SIZE,
        "scaling": _SCALING,
        "random_state": ["random_state"],
    }
)
def make_repeated_digits(
    n_repeats: int = 3,
    noise: float = 0.1,
    *,
    n_pool: int | None = None,
    test_size: float | int = 0.25,
    scaling: str = "standard",
    random_state=None,
) -> Dataset:
    """Digits with every pool image repeated, each copy with its own noise.

    The small-scale analogue of Repeated MNIST (Kirsch et al., 2019): the
    (scaled) digits pool of :func:`load_digits_pool` is stacked ``n_repeats``
    times and independent ``N(0, noise**2)`` noise is added to every pixel of
    every copy (so no two copies are identical). The test set is the plain,
    unrepeated, noise-free digits test set.

    Parameters
    ----------
    n_repeats : int, default=3
        Copies of each pool image.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise, in units of the scaled data
        (with the default ``scaling="standard"`` the pixels have overall
        standard deviation 1, as in the paper's normalised MNIST).
    n_pool : int, optional
        Number of *distinct* pool images (before repeating); all when None.
    test_size, scaling, random_state
        See :func:`load_digits_pool`; ``random_state`` also draws the noise.

    Returns
    -------
    Dataset
        With ``n_repeats * n_pool`` pool samples, copy ``r`` of original ``i``
        at index ``r * n_pool + i``, and ``groups_pool[j]`` the original of
        pool sample ``j``.
    """
    n_repeats, noise = int(n_repeats), float(noise)
    rng = check_random_state(random_state)
    base = load_digits_pool(
        n_pool=n_pool, test_size=test_size, scaling=scaling, random_state=rng
    )
    n = len(base.y_pool)
    X_pool = np.tile(base.X_pool, (n_repeats, 1))
    X_pool = X_pool + rng.normal(0.0, noise, size=X_pool.shape)
    return Dataset(
        X_pool=X_pool,
        y_pool=np.tile(base.y_pool, n_repeats),
        X_test=base.X_test,
        y_test=base.y_test,
        name="repeated-digits",
        groups_pool=np.tile(np.arange(n), n_repeats),
        description=(
            f"sklearn digits, {n} pool images x {n_repeats} copies with "
            f"N(0, {noise:g}^2) noise = {n * n_repeats} pool samples; "
            f"{len(base.y_test)} unrepeated test images; scaling={scaling}"
        ),
        params={
            "n_repeats": n_repeats,
            "noise": noise,
            "n_pool": n_pool,
            "test_size": test_size,
            "scaling": scaling,
        },
    )


@validate_params(
    {
        "n_samples": [Interval(numbers.Integral, 4, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "centers": [Interval(numbers.Integral, 2, None, closed="left")],
        "cluster_std": [Interval(numbers.Real, 0, None, closed="left")],
        "test_size": _TEST_SIZE,
        "random_state": ["random_state"],
    }
)
def make_blobs_pool(
    n_samples: int = 1000,
    n_features: int = 2,
    centers: int = 3,
    cluster_std: float = 1.0,
    *,
    test_size: float | int = 0.25,
    random_state=None,
) -> Dataset:
    """Isotropic Gaussian blobs (``sklearn.datasets.make_blobs``) as pool and test.

    Parameters
    ----------
    n_samples : int, default=1000
        Total number of samples before the split.
    n_features : int, default=2
        Dimensions.
    centers : int, default=3
        Number of blobs (= classes).
    cluster_std : float, default=1.0
        Standard deviation of each blob.
    test_size, random_state
        See :func:`load_digits_pool`.

    Returns
    -------
    Dataset
    """
    from sklearn.datasets import make_blobs

    n_samples, n_features, centers = int(n_samples), int(n_features), int(centers)
    cluster_std, test_size = float(cluster_std), _number(test_size)
    rng = check_random_state(random_state)
    X, y = make_blobs(
        n_samples=n_samples,
        n_features=n_features,
        centers=centers,
        cluster_std=cluster_std,
        random_state=rng,
    )
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=rng
    )
    return Dataset(
        X_pool=X_pool,
        y_pool=y_pool.astype(np.int64),
        X_test=X_test,
        y_test=y_test.astype(np.int64),
        name="blobs",
        description=(
            f"{centers} Gaussian blobs in {n_features}D (std {cluster_std:g}), "
            f"{len(y_pool)} pool / {len(y_test)} test samples"
        ),
        params={
            "n_samples": n_samples,
            "n_features": n_features,
            "centers": centers,
            "cluster_std": cluster_std,
            "test_size": test_size,
        },
    )


#: Data sets by the name the CLI and :func:`load_dataset` accept.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits_pool,
    "repeated-digits": make_repeated_digits,
    "blobs": make_blobs_pool,
}


@validate_params({"name": [Options(str, DATASETS)]})
def load_dataset(name: str, **kwargs) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : {"digits", "repeated-digits", "blobs"}
        See :data:`DATASETS`.
    **kwargs
        Passed to the loader.

    Returns
    -------
    Dataset
    """
    return DATASETS[name](**kwargs)
