""":class:`SkorchMCDropout`: a skorch ``NeuralNetClassifier`` as a consistent
MC-dropout ensemble."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from torch import nn

from ..classifier import FallbackWarning, _check_labels
from ..utils import MISSING_LABEL, check_positive_int, check_random_state
from ._classifiers import _check_n_members, _mc_dropout_proba
from ._data import Source
from ._dropout import count_dropout
from ._utils import _draw_seed, _module_dtype


class _Log(nn.Module):
    """Log of a module's probabilities: softmax of the result gives them back."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return torch.log(self.module(x).clamp_min(torch.finfo(torch.float32).tiny))


def _logit_module(net) -> nn.Module:
    """``net.module_`` as a network returning logits (or log-probabilities)."""
    criterion = net.criterion_
    if isinstance(criterion, nn.CrossEntropyLoss):
        return net.module_
    if isinstance(criterion, nn.NLLLoss):
        # skorch's convention for NLLLoss: the module returns probabilities.
        return _Log(net.module_)
    raise TypeError(
        "SkorchMCDropout supports nets trained with NLLLoss (skorch's default; "
        "the module returns probabilities) or CrossEntropyLoss (logits); got "
        f"{type(criterion).__name__}."
    )


class SkorchMCDropout(ClassifierMixin, BaseEstimator):
    """A skorch ``NeuralNetClassifier`` whose posterior samples are consistent
    MC-dropout passes.

    ``fit`` clones ``net`` and trains the clone with skorch on the labeled
    samples (class codes ``0..C-1``; the net's module must have ``C``
    outputs). :meth:`sample_proba` then runs the trained module with the same
    consistent dropout masks as :class:`MCDropoutClassifier`: mask ``k`` of
    every dropout layer or functional dropout call is shared by every pool
    point. skorch draws its own initialisation, shuffling and training
    dropout from torch's global generator; ``fit`` seeds it from
    ``random_state`` inside ``torch.random.fork_rng``, so the caller's torch
    state is left as it was.

    Needs skorch (``pip install skorch``).

    Parameters
    ----------
    net : skorch.NeuralNetClassifier
        The net to train, fitted or not; it is never modified.
    n_members : int, default=20
        Default number ``K`` of MC-dropout samples of :meth:`sample_proba`.
    classes : array-like of shape (n_classes,) or None, default=None
        All class labels; None infers them from the labeled part of ``y``.
    missing_label : scalar, default=np.nan
        The value of ``y`` that marks an unlabeled sample.
    inference_batch_size : int, default=1024
        Samples per forward pass in :meth:`sample_proba`.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds skorch's training and the dropout masks.

    Attributes
    ----------
    net_ : skorch.NeuralNetClassifier
        The trained clone of ``net``.
    classes_ : numpy.ndarray of shape (n_classes,)
    class_prior_ : numpy.ndarray or None
        The labeled class frequencies when fewer than two classes are
        labeled (then nothing is trained and every sample gets them).
    mc_seed_ : int
        Seed of the default dropout masks.
    """

    def __init__(
        self,
        net,
        *,
        n_members=20,
        classes=None,
        missing_label=MISSING_LABEL,
        inference_batch_size=1024,
        random_state=None,
    ):
        self.net = net
        self.n_members = n_members
        self.classes = classes
        self.missing_label = missing_label
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state

    def fit(self, X, y) -> SkorchMCDropout:
        """Train a clone of ``net`` on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Inputs, as the net expects them (e.g. float32).
        y : array-like of shape (n_samples,)
            Labels, ``missing_label`` for unlabeled samples.

        Returns
        -------
        self
        """
        from skorch import NeuralNetClassifier

        if not isinstance(self.net, NeuralNetClassifier):
            raise TypeError(
                "net must be a skorch.NeuralNetClassifier; got "
                f"{type(self.net).__name__}."
            )
        check_positive_int(self.n_members, "n_members")
        if isinstance(X, torch.utils.data.Dataset | torch.utils.data.DataLoader):
            raise TypeError(
                "SkorchMCDropout.fit takes X as an array; for a torch Dataset or "
                "DataLoader use MCDropoutClassifier, which reads them in batches."
            )
        X = np.asarray(X)
        labeled, codes, classes = _check_labels(
            y, len(X), self.classes, self.missing_label
        )
        rng = check_random_state(self.random_state)
        self.classes_ = classes
        counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
        self.class_prior_ = None
        if np.count_nonzero(counts) < 2:
            warnings.warn(
                "SkorchMCDropout: fewer than two classes are labeled, so the net "
                "was not trained; probabilities are the labeled class frequencies.",
                FallbackWarning,
                stacklevel=2,
            )
            total = counts.sum()
            n = len(classes)
            self.class_prior_ = counts / total if total else np.full(n, 1 / n)
        else:
            net = clone(self.net).set_params(classes=np.arange(len(classes)))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_draw_seed(rng))
                net.fit(X[labeled], codes.astype(np.int64))
            self.net_ = net
            self._check_dropout(X)
        self.mc_seed_ = _draw_seed(rng)
        return self

    def _check_dropout(self, X) -> None:
        module = _logit_module(self.net_)
        first = Source(X[:1]).first_batch(_module_dtype(module), self.net_.device)
        if count_dropout(module, first) == 0:
            raise ValueError(
                "the net's module applies no dropout with p > 0 (no nn.Dropout "
                "layer and no torch.nn.functional.dropout call in forward), so "
                "MC dropout has nothing to sample."
            )

    def sample_proba(
        self, X, n_members=None, random_state=None, *, n_samples=None
    ) -> np.ndarray:
        """Class probabilities under ``n_members`` consistent dropout masks.

        Parameters
        ----------
        X : array-like, Dataset or DataLoader
            Inputs, see :meth:`MCDropoutClassifier.sample_proba`.
        n_members : int or None, default=None
            Number ``K`` of masks; None uses the ``n_members`` parameter.
        random_state : None, int or numpy.random.RandomState, default=None
            None uses the masks fixed at ``fit``; see
            :meth:`MCDropoutClassifier.sample_proba`.
        n_samples : int or None, default=None
            Deprecated alias of ``n_members``.

        Returns
        -------
        numpy.ndarray of float64, shape (K, n_samples_X, n_classes)
        """
        k_total = _check_n_members(n_members, n_samples, self.n_members)
        if not hasattr(self, "classes_"):
            raise NotFittedError("This SkorchMCDropout is not fitted yet.")
        source = Source(X)
        if self.class_prior_ is not None:
            shape = (k_total, source.count(), len(self.classes_))
            return np.array(np.broadcast_to(self.class_prior_, shape))
        seed = (
            self.mc_seed_
            if random_state is None
            else _draw_seed(check_random_state(random_state))
        )
        bs = check_positive_int(self.inference_batch_size, "inference_batch_size")
        module = _logit_module(self.net_)
        device = torch.device(self.net_.device)
        n_classes = len(self.classes_)
        return _mc_dropout_proba(module, source, k_total, seed, n_classes, bs, device)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the trained net without dropout, (N, C)."""
        if not hasattr(self, "classes_"):
            raise NotFittedError("This SkorchMCDropout is not fitted yet.")
        if self.class_prior_ is not None:
            n = Source(X).count()
            return np.array(np.broadcast_to(self.class_prior_, (n, len(self.classes_))))
        proba = np.asarray(self.net_.predict_proba(X), dtype=np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample under :meth:`predict_proba`."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
