"""The one door from the labeling app to the rest of batchbald.

Everything the app needs from the table reader, the feature encoder, the
models, the selection rules and the safe file writes comes through this
module, so that it can be re-pointed at other implementations in one place.
Today it wraps :mod:`batchbald.cli.query` and :mod:`batchbald.io`; where those
lack a guarantee the app promises, it is implemented here:

- :class:`SafeFile` refuses to write when the file changed on disk since it
  was last read or written, takes an exclusive lock for the session, backs
  the file up on the first save, and replaces it atomically (``fsync``);
- :func:`neutralise` prefixes text a spreadsheet would execute with ``'``;
- ``mc-dropout`` is built here (the query command has no such model).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._names import MODELS

__all__ = [
    "METHODS",
    "MODELS",
    "FileChangedError",
    "SafeFile",
    "choose",
    "cross_val_accuracy",
    "diverse_batch",
    "encode_features",
    "feature_columns",
    "member_probas",
    "neutralise",
    "read_table",
    "sort_classes",
    "standardise",
    "table_from_text",
    "unneutralise",
]

#: Selection rules offered by ``batchbald label`` (those of ``batchbald query``).
METHODS: tuple[str, ...] = ("batchbald", "bald", "powerbald", "entropy", "random")

#: First characters that make a spreadsheet evaluate a cell.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------
# tables and features
# --------------------------------------------------------------------------
def read_table(path, delimiter: str | None = None, encoding: str = "utf-8"):
    """``(table, data)``: the :class:`batchbald.io.CsvTable` and its bytes."""
    from ..io import CsvTable

    return CsvTable.read(path, delimiter, encoding)


def table_from_text(text: str, delimiter: str = ",", name: str = "table"):
    """A :class:`batchbald.io.CsvTable` parsed from ``text``."""
    from ..io import CsvTable

    return CsvTable(text, delimiter=delimiter, name=name)


def feature_columns(table, label_column: str, features: str | None) -> list[str]:
    """The feature columns named by ``--features`` (default: all but the label)."""
    from ..cli.query import _feature_columns

    return _feature_columns(table, label_column, features)


def encode_features(table, columns, one_hot: bool = True):
    """``(X, names, encoded)`` as :func:`batchbald.cli.query.encode_features`."""
    from ..cli.query import encode_features as _encode

    return _encode(table, columns, one_hot)


def standardise(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per feature (constant features stay 0)."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))


def sort_classes(labels) -> list[str]:
    """Distinct non-empty labels, numbers first in numeric order, then text."""
    from ..cli.query import _sort_key

    return sorted({v for v in labels if v}, key=_sort_key)


def diverse_batch(Z, candidates, labeled, batch_size: int, seed: int) -> np.ndarray:
    """k-means++ seeding over ``Z`` away from ``labeled`` (the cold start)."""
    from ..cli.query import diverse_batch as _diverse
    from ..utils import check_random_state

    rng = check_random_state(seed)
    return _diverse(Z, np.asarray(candidates), list(labeled), batch_size, rng)


# --------------------------------------------------------------------------
# models and selection
# --------------------------------------------------------------------------
def _mc_dropout_probas(Z_train, y_train, Z_cand, n_classes, n_members, seed):
    try:
        from ..deep import MCDropoutClassifier, make_mlp
    except ImportError:
        raise ImportError(
            "--model mc-dropout needs PyTorch: pip install 'batchbald[torch]'."
        ) from None
    # The network only gets outputs for the labeled classes (an output never
    # trained would keep some probability); the others get probability 0.
    present = np.unique(y_train)
    codes = np.searchsorted(present, y_train)
    module = make_mlp(Z_train.shape[1], len(present), hidden=(64,), random_state=seed)
    clf = MCDropoutClassifier(
        module,
        classes=np.arange(len(present)),
        max_epochs=100,
        device="cpu",
        random_state=seed,
    )
    clf.fit(Z_train, codes)
    part = clf.sample_proba(Z_cand, n_samples=max(2, n_members))
    probs = np.zeros(part.shape[:2] + (n_classes,))
    probs[..., present] = part
    return probs


def member_probas(
    model: str,
    Z_train: np.ndarray,
    y_train: np.ndarray,
    Z_cand: np.ndarray,
    n_classes: int,
    n_members: int,
    seed: int,
) -> np.ndarray:
    """Fit ``model`` on labeled rows and predict the candidates.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    Z_train : ndarray of shape (n_labeled, n_features)
    y_train : ndarray of shape (n_labeled,)
        Class codes ``0 .. n_classes - 1`` (no missing labels).
    Z_cand : ndarray of shape (N, n_features)
    n_classes, n_members, seed : int

    Returns
    -------
    probs_K_N_C : ndarray of shape (K, N, n_classes)
    """
    if model not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}; got {model!r}.")
    y_train = np.asarray(y_train, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few labels: convergence warnings etc.
        if model == "mc-dropout":
            return _mc_dropout_probas(
                Z_train, y_train.astype(np.int64), Z_cand, n_classes, n_members, seed
            )
        from ..cli.query import make_model
        from ..ensembles import ensemble_probas

        est = make_model(model, n_classes, n_members, seed)
        probs, _ = ensemble_probas(est, Z_cand, X=Z_train, y=y_train, fit=True)
    return np.asarray(probs)


def choose(
    probs_K_N_C: np.ndarray,
    method: str,
    batch_size: int,
    seed: int,
    callback: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, gains)``: positions in the candidates, in the rule's order.

    ``gains`` are nats: BatchBALD gains (they add up to the batch's joint
    information) for ``batchbald``, BALD scores for ``bald``, ``powerbald``
    and ``random``, predictive entropies for ``entropy``. ``callback(step)``
    is called after each chosen item.
    """
    if method not in METHODS:
        raise ValueError(
            f"--method must be one of {', '.join(METHODS)}; got {method!r}."
        )
    if method == "entropy":
        from ..pool import EntropySampling

        sel = EntropySampling(random_state=seed).select(probs_K_N_C, batch_size)
        if callback is not None:
            for step in range(len(sel.indices)):
                callback(step)
        return np.asarray(sel.indices), np.asarray(sel.gains, dtype=np.float64)
    from ..cli.select import select

    sel = select(
        probs_K_N_C,
        method,
        batch_size,
        seed=seed,
        callback=None if callback is None else (lambda step, *_: callback(step)),
    )
    return np.asarray(sel.indices), np.asarray(sel.gains, dtype=np.float64)


def cross_val_accuracy(
    model: str,
    Z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    n_members: int,
    seed: int,
    max_folds: int = 5,
) -> float | None:
    """Stratified k-fold accuracy of ``model`` on the labeled rows ``(Z, y)``.

    ``None`` when some class has fewer than 2 labels or only one class is
    labeled (no fold could hold every class out and in).
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=np.int64)
    counts = np.bincount(y, minlength=n_classes)
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        return None
    folds = StratifiedKFold(
        n_splits=int(min(max_folds, present.min())), shuffle=True, random_state=seed
    )
    correct = 0
    for train, test in folds.split(Z, y):
        probs = member_probas(
            model, Z[train], y[train], Z[test], n_classes, n_members, seed
        )
        correct += int(np.sum(probs.mean(axis=0).argmax(axis=1) == y[test]))
    return correct / len(y)


# --------------------------------------------------------------------------
# safe saving
# --------------------------------------------------------------------------
class FileChangedError(ValueError):
    """The file on disk is not the one this session last read or wrote."""


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would execute it.

    Numbers such as ``-1`` or ``+2.5`` are left alone (a spreadsheet reads
    them as numbers); anything else starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return gets the prefix.
    """
    if not text or not text.startswith(_FORMULA_START):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` (for names that must round-trip, e.g. files)."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


class SafeFile:
    """A file the app rewrites whole, safely, one answer at a time.

    Parameters
    ----------
    path : pathlib.Path
        The file (it may not exist yet: the first :meth:`write` creates it).
    expected : bytes or None
        Its content as last read (``None``: it must not exist).

    Every :meth:`write` checks that the file on disk still holds ``expected``
    (``ValueError`` otherwise, nothing written), copies it to ``NAME.bak``
    (``.bak.1``, ... if taken) before the first change, then writes the new
    content through a temporary file that is ``fsync`` ed and renamed over
    ``path`` (the directory is ``fsync`` ed too). When :meth:`write` returns,
    the answer survives a crash or ``kill -9``.

    :meth:`lock` takes an exclusive advisory lock on ``.NAME.lock`` next to
    the file for this process's life (released by the kernel however the
    process ends), so two sessions cannot label the same file.
    """

    def __init__(self, path, expected: bytes | None):
        self.path = Path(path)
        self.expected = expected
        self.backup: Path | None = None
        self._backed_up = False
        self._lock_fd: int | None = None

    def lock(self) -> None:
        """Take the session lock; ``ValueError`` if another session holds it."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            return
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ValueError(
                f"{self.path} is being labeled by another batchbald session "
                f"(it holds {lock_path}); stop that one first."
            ) from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _current(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def check_unchanged(self) -> None:
        """``ValueError`` when the file on disk is not what was last seen."""
        if self._current() != self.expected:
            raise FileChangedError(
                f"{self.path.name} changed on disk since this session read it "
                "(edited by another program?); not saving, so that those changes "
                "are kept. Restart batchbald label to continue from the file as "
                "it is now."
            )

    def write(self, data: bytes) -> None:
        """Replace the file with ``data`` (see the class notes)."""
        from ..io import atomic_write, backup_path

        self.check_unchanged()
        if not self._backed_up and self.expected is not None:
            self.backup = atomic_write(
                backup_path(self.path), self.expected, overwrite=False
            )
        atomic_write(self.path, data, overwrite=self.expected is not None)
        self._backed_up = True  # a file this session created needs no backup
        self.expected = data
