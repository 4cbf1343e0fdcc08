"""The one door from the labeling app to the rest of batchbald.

Everything the app needs from the features, the models, the selection rules
and the safe file writes comes through this module, so that it can be
re-pointed at other implementations in one place. The table side is
:class:`batchbald.tables.LabelFile` (used by
:class:`~batchbald.app.sources.TableSource`); what the library lacks is here:

- :class:`SafeFile`: the images' ``file,label`` CSV, which may not exist yet
  and gets rows appended, rewritten whole with the guarantees of
  :mod:`batchbald._files` (change detection, lock, backup, atomic replace);
- :func:`member_probas`: a model of :mod:`batchbald.models` fitted on the
  labeled classes only (a class without labels gets probability 0, so an
  ``mc-dropout`` network has no output it was never trained on).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._names import MODELS
from ..coldstart import diverse_batch
from ..labeling import METHODS
from ..tables import FORMULA_STARTS, LabelFileChanged

__all__ = [
    "METHODS",
    "MODELS",
    "LabelFileChanged",
    "SafeFile",
    "check_model",
    "choose",
    "cross_val_accuracy",
    "diverse_batch",
    "member_probas",
    "sort_classes",
    "standardise",
    "unneutralise",
]

#: Keywords of :func:`batchbald.models.make_model` the app uses (a smaller,
#: CPU-bound network than the default: it is refitted after every batch).
_MODEL_PARAMS: dict[str, dict] = {
    "mc-dropout": {"hidden": (64,), "max_epochs": 100, "device": "cpu"},
}


# --------------------------------------------------------------------------
# features and classes
# --------------------------------------------------------------------------
def standardise(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per feature (constant features stay 0)."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))


def sort_classes(labels) -> list[str]:
    """Distinct non-empty labels, numbers first in numeric order, then text
    (the order of :func:`batchbald.labeling.prepare`)."""
    from ..labeling import _sort_key

    return sorted({v for v in labels if v}, key=_sort_key)


# --------------------------------------------------------------------------
# models and selection
# --------------------------------------------------------------------------
def check_model(
    model: str | None,
    Z: np.ndarray,
    classes,
    n_members: int,
    notify: Callable[[str], None],
) -> str:
    """The model to use for items ``Z`` when all of them may get labeled.

    ``model`` None: :data:`batchbald.models.DEFAULT_MODEL`, or the scalable
    model when that would not fit (``notify`` says why); a named model is
    refused (``ValueError``) when its memory would exceed the budget. The
    check of :func:`batchbald.labeling.choose_batch`, at start-up.
    """
    from ..labeling import LabelingProblem, _model_name

    padded = list(classes) + [""] * max(0, 2 - len(classes))
    none = np.zeros(0, dtype=np.intp)
    pb = LabelingProblem(Z, np.zeros(len(Z)), padded, none)
    return _model_name(model, pb, len(Z), n_members, None, notify)


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
        The model only knows the labeled classes; the others get 0.
    """
    from ..ensembles import ensemble_probas
    from ..models import make_model

    if model not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}; got {model!r}.")
    present, codes = np.unique(np.asarray(y_train, dtype=np.int64), return_inverse=True)
    if model == "mc-dropout":
        n_members = max(2, n_members)
    spec = make_model(
        model,
        n_features=Z_train.shape[1],
        n_classes=len(present),
        n_members=n_members,
        random_state=seed,
        params=_MODEL_PARAMS.get(model),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few labels: convergence warnings etc.
        part, _ = ensemble_probas(
            spec.estimator,
            Z_cand,
            X=Z_train,
            y=codes.astype(np.float64),
            fit=True,
            **spec.predict_kwargs,
        )
    part = np.asarray(part)
    probs = np.zeros(part.shape[:2] + (n_classes,))
    probs[..., present] = part
    return probs


def choose(
    probs_K_N_C: np.ndarray,
    method: str,
    batch_size: int,
    seed: int,
    callback: Callable[[int], None] | None = None,
    *,
    member_votes: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(indices, gains, drawn_bald)``: positions in the candidates, in the
    rule's order, their gains, and the BALD scores of BatchBALD's drawn picks.

    ``gains`` are nats: BatchBALD gains (they add up to the batch's joint
    information) for ``batchbald``, BALD scores for ``bald``, ``powerbald``
    and ``random``, predictive entropies for ``entropy``. ``member_votes``:
    BatchBALD scores the members' votes (as it does for a scikit-learn
    ensemble, see :class:`batchbald.pool.BatchBALD`). ``drawn_bald`` is
    :func:`batchbald.saturation.drawn_bald_scores` of a BatchBALD batch
    (None for the other methods and for a batch that did not saturate).
    ``callback(step)`` is called after each chosen item.
    """
    if method not in METHODS:
        raise ValueError(
            f"--method must be one of {', '.join(METHODS)}; got {method!r}."
        )
    from ..registry import select_from_probabilities
    from ..saturation import drawn_bald_scores

    votes = member_votes and method == "batchbald"
    sel = select_from_probabilities(
        probs_K_N_C,
        method,
        batch_size,
        random_state=seed,
        callback=None if callback is None else (lambda step, *_: callback(step)),
        member_votes=votes,
    )
    drawn = None
    if method == "batchbald":
        chosen_K_B_C = np.asarray(probs_K_N_C)[:, sel.indices]
        drawn = drawn_bald_scores(sel, chosen_K_B_C, votes)
    return np.asarray(sel.indices), np.asarray(sel.gains, dtype=np.float64), drawn


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
# safe saving of the images' labels
# --------------------------------------------------------------------------
def unneutralise(text: str) -> str:
    """Undo :func:`batchbald.tables.safe_cell` (for names that must round-trip,
    such as the image file names of the labels CSV)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeFile:
    """A file the app rewrites whole, safely, one answer at a time.

    Parameters
    ----------
    path : pathlib.Path
        The file (it may not exist yet: the first :meth:`write` creates it). A
        symbolic link is resolved: the file it points to is written.
    expected : bytes or None
        Its content as last read (``None``: it must not exist).

    Every :meth:`write` checks that the file on disk still holds ``expected``
    (:class:`batchbald.tables.LabelFileChanged` otherwise, nothing written)
    and that it may be replaced (:func:`batchbald._files.check_replaceable`:
    not read-only, not hard-linked), copies it to the first free ``NAME.bak``
    (:func:`batchbald._files.backup_path`) before the first change of a file
    this object did not create, then replaces it with
    :func:`batchbald._files.atomic_write` (``fsync``, rename, permission bits
    kept). A full disk is a one-line ``ValueError``, the file unchanged.

    :meth:`locked` holds :func:`batchbald._files.exclusive_lock` (the sidecar
    ``.NAME.lock`` of :class:`batchbald.tables.LabelFile`), so that two
    sessions cannot label the same file.
    """

    def __init__(self, path, expected: bytes | None):
        from .._files import check_replaceable, real_path

        self.path = real_path(path)
        self.expected = expected
        self.backup: Path | None = None
        self._created = False
        if expected is not None:
            check_replaceable(self.path, "labels file")

    def locked(self, timeout: float = 0.0):
        """Context manager holding the file's lock; ``ValueError`` if another
        session holds it after ``timeout`` seconds."""
        from .._files import exclusive_lock

        return exclusive_lock(self.path, timeout, "labels file")

    def write(self, data: bytes) -> None:
        """Replace the file with ``data`` (see the class notes)."""
        from .._files import atomic_write, backup_path, check_replaceable, is_disk_full

        try:
            current: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            current = None
        if current != self.expected:
            raise LabelFileChanged(
                f"{self.path.name} changed on disk since this session read it "
                "(edited by another program?); not saving, so that those changes "
                "are kept. Restart batchbald label to continue from the file as "
                "it is now."
            )
        try:
            if current is not None:
                st = check_replaceable(self.path, "labels file")
                if self.backup is None and not self._created:
                    self.backup = atomic_write(
                        backup_path(self.path),
                        current,
                        overwrite=False,
                        mode=st.st_mode & 0o7777,
                    )
            atomic_write(self.path, data, overwrite=current is not None)
        except OSError as exc:
            if is_disk_full(exc):
                raise ValueError(
                    f"no space left on the device of {self.path} (the file is "
                    "unchanged and this answer was not saved); free some space."
                ) from None
            raise
        self._created = self._created or current is None
        self.expected = data
