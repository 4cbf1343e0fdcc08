"""The base class of the torch classifiers: parameters, label handling,
fitting and deterministic prediction."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from torch import nn

from ..classifier import FallbackWarning, _check_labels
from ..utils import check_positive_int, check_random_state
from ._data import Source
from ._dropout import DropoutMode, _eval_mode
from ._training import _reset_parameters, _split, _train_module
from ._utils import (
    _check_device,
    _check_positive_real,
    _check_real,
    _draw_seed,
    _module_dtype,
    _softmax64,
)

_FALLBACK_MESSAGE = (
    "batchbald.deep: fewer than two classes are labeled, so the network was not "
    "trained; predict_proba and sample_proba return the labeled class "
    "frequencies (uniform when nothing is labeled) until the next fit. See the "
    "attributes label_counts_ and fallback_."
)


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------
_COMMON_PARAMS = """
    classes : array-like of shape (n_classes,) or None, default=None
        All class labels. ``None`` infers them from the labeled part of ``y``
        in ``fit``; pass them when some classes may still be unlabeled (the
        network's output size must equal ``n_classes``).
    missing_label : scalar, default=np.nan
        The value of ``y`` that marks an unlabeled sample; such samples are
        ignored by ``fit``.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, \
default="adam"
        The optimiser; ``"sgd"`` uses momentum 0.9. A class is called as
        ``optimizer(params, lr=lr, weight_decay=weight_decay)``.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimiser.
    max_epochs : int, default=200
        Maximum number of passes over the training part of the labeled data.
    batch_size : int, default=64
        Training mini-batch size.
    validation_fraction : float in [0, 1), default=0.1
        Fraction of each class's labeled samples held out for early stopping
        (stratified, ``floor(validation_fraction * n_c)`` per class). When fewer
        than 10 samples would be held out, all labels are used for training and
        the training loss is monitored instead; the final weights are then kept.
    patience : int or None, default=20
        Stop after this many epochs without an improvement of the monitored
        loss (validation loss, or training loss without validation data).
        ``None`` trains for ``max_epochs``. With validation data the weights of
        the epoch with the lowest validation loss are restored at the end.
    warm_start : bool, default=False
        If True and the estimator was fitted before with the same classes and
        input shape, ``fit`` continues training the current weights instead of
        re-initialising them.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default="auto"
        Where to train and predict; ``"auto"`` picks CUDA when available.
    inference_batch_size : int, default=1024
        Number of samples per forward pass in prediction, which bounds the
        memory of inference.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the re-initialisation, the train/validation split, the shuffling
        and the dropout masks, see :func:`batchbald.utils.check_random_state`.
"""


class _TorchClassifierBase(ClassifierMixin, BaseEstimator):
    """Shared validation, label handling and prediction plumbing."""

    # ---------------------------------------------------------- validation
    def _validated_settings(self) -> dict:
        if not isinstance(self.warm_start, bool):
            raise TypeError(f"warm_start must be a bool; got {self.warm_start!r}.")
        if self.patience is not None:
            check_positive_int(self.patience, "patience")
        return {
            "optimizer": self.optimizer,
            "lr": _check_positive_real(self.lr, "lr"),
            "weight_decay": _check_real(
                self.weight_decay, "weight_decay", 0.0, math.inf, True
            ),
            "max_epochs": check_positive_int(self.max_epochs, "max_epochs"),
            "batch_size": check_positive_int(self.batch_size, "batch_size"),
            "inference_batch_size": check_positive_int(
                self.inference_batch_size, "inference_batch_size"
            ),
            "validation_fraction": _check_real(
                self.validation_fraction, "validation_fraction", 0.0, 1.0, True
            ),
            "patience": None if self.patience is None else int(self.patience),
            "device": _check_device(self.device),
        }

    def _check_X_fitted(self, X) -> Source:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit first."
            )
        source = Source(X)
        shape = source.sample_shape()
        if shape != self.input_shape_:
            raise ValueError(
                f"X has per-sample shape {shape}, but the estimator was "
                f"fitted on {self.input_shape_}."
            )
        return source

    def _labels(self, n: int, y) -> tuple:
        """``(classes_, labeled indices, class codes)``; the same validation as
        :class:`~batchbald.classifier.SklearnClassifier` (``classes`` keeps its
        order, NaN never becomes a class "nan")."""
        labeled, codes, classes = _check_labels(y, n, self.classes, self.missing_label)
        return classes, np.flatnonzero(labeled), codes.astype(np.int64)

    def _check_members(self, members: list, source: Source, device) -> None:
        """Hook for subclasses: check the networks before training."""

    # ---------------------------------------------------------- fitting
    def _new_members(self, templates, source, classes, rng, device) -> list:
        warm = (
            self.warm_start
            and getattr(self, "members_", None) is not None
            and hasattr(self, "classes_")
        )
        shape = source.sample_shape()
        if not warm:
            members = []
            for template in templates:
                member = copy.deepcopy(template).to("cpu")
                _reset_parameters(member, _draw_seed(rng))
                members.append(member.to(device))
            return members
        if not (
            np.array_equal(self.classes_, classes)
            and self.input_shape_ == shape
            and len(self.members_) == len(templates)
        ):
            raise ValueError(
                "warm_start=True needs the classes and input shape of the "
                f"previous fit (classes {self.classes_.tolist()}, input shape "
                f"{self.input_shape_}); got classes {classes.tolist()} and input "
                f"shape {shape}. Pass classes=[...] to fix them."
            )
        return [member.to(device) for member in self.members_]

    def _fit(self, X, y, templates: list) -> np.random.RandomState:
        """Validate, (re-)initialise ``templates`` and train them; return the rng."""
        settings = self._validated_settings()
        source = Source(X)
        if not source.map_style:
            raise TypeError(
                "fit needs X as an array, a map-style Dataset or a DataLoader "
                "over one (items read by index); got an iterable dataset."
            )
        if y is None:
            y = source.labels()
        classes, labeled, y_idx = self._labels(len(source), y)
        rng = check_random_state(self.random_state)
        members = self._new_members(templates, source, classes, rng, settings["device"])
        self._check_members(members, source, settings["device"])
        counts = np.bincount(y_idx, minlength=len(classes)).astype(np.float64)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        self.input_shape_ = source.sample_shape()
        self.n_features_in_ = int(np.prod(self.input_shape_, dtype=np.int64))
        self.device_ = settings["device"]
        self.members_ = members
        self.n_labeled_ = len(labeled)
        seeds = [_draw_seed(rng) for _ in members]
        self.label_counts_ = counts
        self.fallback_ = bool(np.count_nonzero(counts) < 2)
        if self.fallback_:
            self._set_fallback(counts)
            return rng
        self.class_prior_: np.ndarray | None = None
        train, val = _split(y_idx, settings["validation_fraction"], rng)
        settings["n_classes"] = len(classes)
        curves = [
            _train_module(
                member,
                source,
                labeled[train],
                y_idx[train],
                None if val is None else labeled[val],
                None if val is None else y_idx[val],
                seed=seed,
                settings={**settings, "dtype": _module_dtype(member)},
            )
            for member, seed in zip(members, seeds, strict=True)
        ]
        self.n_epochs_ = np.array([c["n_epochs"] for c in curves], dtype=np.int64)
        self.loss_curves_ = [c["loss_curve"] for c in curves]
        self.validation_loss_curves_ = [c["validation_loss_curve"] for c in curves]
        return rng

    def _set_fallback(self, counts: np.ndarray) -> None:
        # Same convention as SklearnClassifier: one constant warning per fit.
        warnings.warn(_FALLBACK_MESSAGE, FallbackWarning, stacklevel=4)
        total = counts.sum()
        n = len(counts)
        self.class_prior_ = counts / total if total > 0 else np.full(n, 1 / n)
        self.n_epochs_ = np.zeros(len(self.members_), dtype=np.int64)
        self.loss_curves_ = [[] for _ in self.members_]
        self.validation_loss_curves_ = [[] for _ in self.members_]

    # ---------------------------------------------------------- prediction
    def _constant(self, n: int, k: int | None = None) -> np.ndarray:
        prior = np.asarray(self.class_prior_, dtype=np.float64)
        probs = np.broadcast_to(prior, (n, self.n_classes_))
        if k is not None:
            probs = np.broadcast_to(probs, (k, n, self.n_classes_))
        return np.array(probs, dtype=np.float64)

    def _forward_proba(self, member: nn.Module, source: Source) -> np.ndarray:
        """Deterministic (dropout off) probabilities of one member, (N, C)."""
        dtype = _module_dtype(member)
        bs = check_positive_int(self.inference_batch_size, "inference_batch_size")
        parts = []
        # Dropout off, however it is written (F.dropout's training defaults
        # to True).
        with torch.no_grad(), _eval_mode(member), DropoutMode(None):
            for xb in source.batches(bs, dtype, self.device_):
                parts.append(_softmax64(member(xb), self.n_classes_))
        return np.concatenate(parts) if parts else np.empty((0, self.n_classes_))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample under :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape), Dataset or DataLoader
            Inputs (see :meth:`predict_proba`).

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
