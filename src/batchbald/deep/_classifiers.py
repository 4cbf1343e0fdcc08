"""The public estimators :class:`MCDropoutClassifier` and
:class:`DeepEnsembleClassifier`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..utils import MISSING_LABEL, check_positive_int, check_random_state
from ._base import _COMMON_PARAMS, _TorchClassifierBase
from ._dropout import ConsistentMasks, DropoutMode, _eval_mode, count_dropout
from ._utils import _check_module, _draw_seed, _module_dtype, _softmax64

_X_DOC = """X : array-like of shape (n_samples, *input_shape), Dataset or DataLoader
            Inputs: an array (or DataFrame or tensor), a map-style torch
            ``Dataset`` whose items are ``x`` or ``(x, y)``, or a
            ``DataLoader`` (read in its own batches and order, which must be
            sequential). Read batch by batch, never as a whole."""


def _check_n_members(n_members, n_samples, default, stacklevel: int = 3) -> int:
    """``n_members``, or its deprecated alias ``n_samples``, or ``default``."""
    if n_samples is not None:
        if n_members is not None:
            raise TypeError(
                "pass n_members only; n_samples is its deprecated alias "
                f"(got n_members={n_members!r} and n_samples={n_samples!r})."
            )
        warnings.warn(
            "sample_proba(n_samples=K) is deprecated and will be removed; use "
            "n_members=K (K posterior samples: MC-dropout masks or members).",
            FutureWarning,
            stacklevel=stacklevel,
        )
        n_members = n_samples
    name = "n_members" if n_samples is None else "n_samples"
    return check_positive_int(default if n_members is None else n_members, name)


class MCDropoutClassifier(_TorchClassifierBase):
    """A torch network whose posterior samples are consistent MC-dropout passes.

    ``fit`` trains a deep copy of ``module`` (re-initialised from
    ``random_state``) with cross-entropy on the labeled samples, early stopping
    on a held-out part of them. :meth:`predict_proba` is the deterministic
    network (dropout off); :meth:`sample_proba` draws ``n_members`` dropout
    masks per dropout site and applies mask ``k`` to every sample, so the result is a
    proper ensemble of ``n_members`` sub-networks for (Batch)BALD. See the
    module docstring for how the masks are applied.

    Parameters
    ----------
    module : torch.nn.Module
        Network mapping a batch ``(B, *input_shape)`` to logits ``(B, C)`` (or
        log-probabilities) that applies dropout with ``p > 0``: an
        ``nn.Dropout`` / ``nn.Dropout1d/2d/3d`` layer, or a call of
        ``torch.nn.functional.dropout`` (or ``dropout1d/2d/3d``) in its
        ``forward``, e.g. ``F.dropout(x, 0.5, training=self.training)``. It is
        never modified.
        :func:`make_mlp` builds one for tabular data.
    n_mc_samples : int, default=20
        Default number of MC-dropout samples of :meth:`sample_proba`.
    """

    __doc__ += (
        _COMMON_PARAMS
        + """
    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (in ``eval()`` mode).
    classes_ : numpy.ndarray of shape (n_classes,)
        Sorted class labels.
    fallback_ : bool
        Whether fewer than two classes were labeled; the estimator then skips
        training, issues one :class:`batchbald.classifier.FallbackWarning` and
        predicts ``class_prior_`` for every sample and MC sample.
    label_counts_ : numpy.ndarray of float, shape (n_classes,)
        Number of labeled samples per class.
    class_prior_ : numpy.ndarray of shape (n_classes,) or None
        The labeled class frequencies (uniform without labels) when
        ``fallback_``; ``None`` otherwise.
    n_epochs_ : int
        Epochs trained.
    loss_curve_, validation_loss_curve_ : list of float
        Mean training / validation cross-entropy per epoch (the latter empty
        without validation data).
    mc_seed_ : int
        Seed of the dropout masks :meth:`sample_proba` uses by default.

    Examples
    --------
    >>> from batchbald.deep import MCDropoutClassifier, make_mlp
    >>> clf = MCDropoutClassifier(make_mlp(64, 10), random_state=0)  # doctest: +SKIP
    >>> clf.fit(X, y).sample_proba(X_pool, n_members=20).shape  # doctest: +SKIP
    (20, n_pool, 10)
    """
    )

    def __init__(
        self,
        module,
        *,
        classes=None,
        missing_label=MISSING_LABEL,
        n_mc_samples=20,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=200,
        batch_size=64,
        validation_fraction=0.1,
        patience=20,
        warm_start=False,
        device="auto",
        inference_batch_size=1024,
        random_state=None,
    ):
        self.module = module
        self.classes = classes
        self.missing_label = missing_label
        self.n_mc_samples = n_mc_samples
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state

    def fit(self, X, y=None) -> MCDropoutClassifier:
        """Train the network on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape), Dataset or DataLoader
            Real-valued inputs (converted to the network's dtype batch by
            batch): an array, a map-style torch ``Dataset`` of ``x`` or
            ``(x, y)`` items, or a ``DataLoader`` over one (its dataset and
            ``collate_fn`` are used; the batches are drawn by ``fit``). Only
            ``batch_size`` items are held in memory at a time.
        y : array-like of shape (n_samples,) or None
            Labels, ``missing_label`` for unlabeled samples. None reads them
            from the ``(x, y)`` items of a dataset.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On labels outside ``classes``, a network without dropout, wrong
            logit shapes or invalid parameters.
        """
        module = _check_module(self.module)
        check_positive_int(self.n_mc_samples, "n_mc_samples")
        rng = self._fit(X, y, [module])
        self.module_ = self.members_[0]
        # One network: the epoch count of the only member, an int.
        self.n_epochs_ = int(self.n_epochs_[0])  # type: ignore[assignment]
        self.loss_curve_ = self.loss_curves_[0]
        self.validation_loss_curve_ = self.validation_loss_curves_[0]
        del self.loss_curves_, self.validation_loss_curves_
        self.mc_seed_ = _draw_seed(rng)
        return self

    def _check_members(self, members, source, device) -> None:
        n_calls = count_dropout(
            members[0], source.first_batch(_module_dtype(members[0]), device)
        )
        if n_calls == 0:
            raise ValueError(
                "module must apply dropout with p > 0 for MC dropout: an "
                "nn.Dropout (or nn.Dropout1d/2d/3d) layer, or a call of "
                "torch.nn.functional.dropout (or dropout1d/2d/3d) in forward; a "
                "forward pass made none. Use DeepEnsembleClassifier for networks "
                "without dropout."
            )

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the deterministic network (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape), Dataset or DataLoader
            Inputs (see :meth:`sample_proba`).

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1.
        """
        source = self._check_X_fitted(X)
        if self.class_prior_ is not None:
            return self._constant(source.count())
        return self._forward_proba(self.module_, source)

    def sample_proba(
        self, X, n_members=None, random_state=None, *, n_samples=None
    ) -> np.ndarray:
        """Class probabilities under ``n_members`` consistent dropout masks.

        Mask ``k`` of every dropout site (layer or functional call) is shared
        by all rows of ``X`` and all inference batches, and does not depend on
        ``n_members`` (the first ``k`` samples of a larger call equal a smaller
        call) or on the batching.

        Parameters
        ----------
        {X}
        n_members : int or None, default=None
            Number ``K`` of MC-dropout samples (posterior members); ``None``
            uses ``n_mc_samples``.
        random_state : None, int or numpy.random.RandomState, default=None
            ``None`` uses the masks fixed at ``fit`` (seed ``mc_seed_``), so
            repeated calls, e.g. on parts of a pool, are consistent with each
            other. Otherwise the masks are seeded from
            ``check_random_state(random_state)`` (a ``RandomState`` instance gives
            fresh masks on every call).
        n_samples : int or None, default=None
            Deprecated alias of ``n_members`` (a ``FutureWarning``).

        Returns
        -------
        numpy.ndarray of float64, shape (K, n_samples_X, n_classes)
            ``probs_K_N_C``; rows sum to 1.
        """
        k_total = _check_n_members(n_members, n_samples, self.n_mc_samples)
        source = self._check_X_fitted(X)
        if self.class_prior_ is not None:
            return self._constant(source.count(), k_total)
        seed = (
            self.mc_seed_
            if random_state is None
            else _draw_seed(check_random_state(random_state))
        )
        return _mc_dropout_proba(
            self.module_,
            source,
            k_total,
            seed,
            self.n_classes_,
            check_positive_int(self.inference_batch_size, "inference_batch_size"),
            self.device_,
        )

    sample_proba.__doc__ = (sample_proba.__doc__ or "").replace("{X}", _X_DOC)


def _mc_dropout_proba(module, source, k_total, seed, n_classes, bs, device):
    """``probs_K_N_C`` of ``module`` under consistent masks seeded by ``seed``."""
    masks = ConsistentMasks(seed)
    mode = DropoutMode(masks)
    dtype = _module_dtype(module)
    parts = []
    with torch.no_grad(), _eval_mode(module):
        for xb in source.batches(bs, dtype, device):
            part = np.empty((k_total, len(xb), n_classes), dtype=np.float64)
            for k in range(k_total):
                masks.k, mode.site = k, 0
                with mode:
                    part[k] = _softmax64(module(xb), n_classes)
            parts.append(part)
    if not parts:
        return np.empty((k_total, 0, n_classes))
    return np.concatenate(parts, axis=1)


class DeepEnsembleClassifier(_TorchClassifierBase):
    """An ensemble of independently initialised and trained torch networks.

    Every member is a deep copy of a network re-initialised from its own seed
    (drawn from ``random_state``) and trained with its own shuffling and
    dropout masks on the same train/validation split; each stops early on its
    own. :meth:`sample_proba` returns one row of probabilities per member and
    :meth:`predict_proba` their mean.

    Parameters
    ----------
    module : torch.nn.Module, sequence of torch.nn.Module or callable
        The members' architecture: one network copied ``n_members`` times, one
        network per member (architectures may differ), or a factory called
        without arguments ``n_members`` times. Each network maps a batch
        ``(B, *input_shape)`` to logits ``(B, C)``; none is modified.
    n_members : int or None, default=None
        Ensemble size; ``None`` means ``len(module)`` for a sequence and 5
        otherwise. With a sequence it must equal ``len(module)``.
    """

    __doc__ += (
        _COMMON_PARAMS
        + """
    Attributes
    ----------
    members_ : list of torch.nn.Module
        The trained networks (in ``eval()`` mode).
    n_members_ : int
        Ensemble size.
    classes_, fallback_, label_counts_, class_prior_
        As in :class:`MCDropoutClassifier`.
    n_epochs_ : numpy.ndarray of int, shape (n_members,)
        Epochs trained per member.
    loss_curves_, validation_loss_curves_ : list of list of float
        Per-member loss curves, see :class:`MCDropoutClassifier`.
    """
    )

    def __init__(
        self,
        module,
        *,
        n_members=None,
        classes=None,
        missing_label=MISSING_LABEL,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=200,
        batch_size=64,
        validation_fraction=0.1,
        patience=20,
        warm_start=False,
        device="auto",
        inference_batch_size=1024,
        random_state=None,
    ):
        self.module = module
        self.n_members = n_members
        self.classes = classes
        self.missing_label = missing_label
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state

    def _templates(self) -> list:
        module, n_members = self.module, self.n_members
        if n_members is not None:
            n_members = check_positive_int(n_members, "n_members")
        if isinstance(module, nn.Module):
            return [_check_module(module)] * (5 if n_members is None else n_members)
        if isinstance(module, Sequence) and not isinstance(module, str):
            if len(module) == 0:
                raise ValueError("module must not be an empty sequence.")
            if n_members is not None and n_members != len(module):
                raise ValueError(
                    f"n_members={n_members} contradicts the {len(module)} modules "
                    "given; pass n_members=None or a matching number."
                )
            return [_check_module(m, f"module[{i}]") for i, m in enumerate(module)]
        if callable(module):
            n = 5 if n_members is None else n_members
            return [_check_module(module(), "module()") for _ in range(n)]
        raise TypeError(
            "module must be a torch.nn.Module, a sequence of them or a callable "
            f"returning one; got {type(module).__name__}."
        )

    def fit(self, X, y=None) -> DeepEnsembleClassifier:
        """Train every member on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X, y
            See :meth:`MCDropoutClassifier.fit`.

        Returns
        -------
        self
        """
        self._fit(X, y, self._templates())
        self.n_members_ = len(self.members_)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' class probabilities (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Inputs.

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1.
        """
        return self.sample_proba(X).mean(axis=0)

    def sample_proba(self, X, n_members=None, *, n_samples=None) -> np.ndarray:
        """Every member's class probabilities (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples_X, *input_shape), Dataset or DataLoader
            Inputs, see :meth:`MCDropoutClassifier.sample_proba`.
        n_members : int or None, default=None
            The number ``K`` of members asked for; an ensemble has exactly
            ``n_members_`` of them, so this must be ``None`` or ``n_members_``
            (it exists so the estimator fits
            ``sample_predictions_dict={"n_members": K}``).
        n_samples : int or None, default=None
            Deprecated alias of ``n_members`` (a ``FutureWarning``).

        Returns
        -------
        numpy.ndarray of float64, shape (n_members, n_samples_X, n_classes)
            ``probs_K_N_C``; rows sum to 1.
        """
        source = self._check_X_fitted(X)
        if n_members is not None or n_samples is not None:
            k = _check_n_members(n_members, n_samples, None)
            if k != self.n_members_:
                name = "n_members" if n_samples is None else "n_samples"
                raise ValueError(
                    f"{name}={k} differs from the ensemble's n_members_="
                    f"{self.n_members_}; a deep ensemble has one sample per member "
                    "(pass None or n_members_)."
                )
        if self.class_prior_ is not None:
            return self._constant(source.count(), self.n_members_)
        return np.stack([self._forward_proba(m, source) for m in self.members_])
