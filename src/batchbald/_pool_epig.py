"""Prediction-oriented query strategies: EPIG, batch EPIG, stochastic EPIG.

They share the scikit-activeml calling convention of :mod:`batchbald.pool`
and add ``targets=``: samples of the input distribution the model will be used
on. A pool scraped from the world holds outliers, junk and classes the task
does not care about; BALD seeks them out, EPIG does not (Bickford Smith et
al., 2023).

===================  ======================================================
strategy             selects
===================  ======================================================
``EPIG``             the ``batch_size`` highest EPIG scores (top-k EPIG)
``BatchEPIG``        greedily by the joint ``E_{x*} I(y_1..y_b; y*)``
``PowerEPIG``        by sampling, probability proportional to EPIG**beta
``SoftmaxEPIG``      by sampling, probability proportional to exp(beta EPIG)
``SoftrankEPIG``     by sampling, probability proportional to rank**-beta
===================  ======================================================

Targets. ``targets`` may be an array of target samples shaped like ``X``'s
samples, or a 1-D array of integer indices into ``X``. Without targets, the
candidates themselves (by default the unlabeled samples of ``X``) stand for
the target distribution. Pool and target probabilities come from one call of
:func:`batchbald.ensembles.ensemble_probas` on both sets stacked, so member
``k`` is the same model for both (essential for MC dropout, whose members are
drawn per call). ``n_targets`` draws that many targets at random (from
``random_state``) when more are given, which bounds the cost.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator

from . import engine
from ._epig_engine import epig_scores_refined, select_batch_epig, select_epig_topk
from .ensembles import ensemble_probas
from .information import DEFAULT_EPS, check_eps, check_probabilities
from .utils import MISSING_LABEL, check_positive_int, check_random_state

__all__ = ["EPIG", "BatchEPIG", "PowerEPIG", "SoftmaxEPIG", "SoftrankEPIG"]

_QUERY_DOC = """Choose the samples to label next.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            All samples, labeled and unlabeled.
        y : array-like of shape (n_samples,)
            Their labels, ``missing_label`` where unknown.
        ensemble : estimator or list of estimators
            The model whose members disagree; see
            :func:`batchbald.ensembles.ensemble_probas` for what is accepted.
        fit_ensemble : bool, default=True
            Fit a clone of ``ensemble`` on ``(X, y)`` first; otherwise it must
            be fitted already.
        sample_weight : array-like of shape (n_samples,), default=None
            Training weights, used when ``fit_ensemble``.
        candidates : None, array-like of int of shape (n_candidates,), or \
array-like of shape (n_candidates, ...), default=None
            ``None``: the unlabeled samples of ``X``. Integers: indices into
            ``X``. Otherwise the candidate samples themselves.
        batch_size : int, default=1
            Number of samples to select; more than there are candidates selects
            all of them, with a warning.
        return_utilities : bool, default=False
            Also return the utilities.
        targets : None, array-like of int of shape (n_targets,), or \
array-like of shape (n_targets, ...), default=None
            Samples of the target input distribution: indices into ``X`` or
            the samples themselves. ``None``: the candidates stand for it.

        Returns
        -------
        query_indices : numpy.ndarray of int, shape (batch_size,)
            The chosen samples in the order chosen: indices into ``X``, or into
            ``candidates`` when candidates are given as samples.
        utilities : numpy.ndarray of shape (batch_size, n_samples) or \
(batch_size, n_candidates)
            Only if ``return_utilities``. Row ``i`` holds the utilities step
            ``i`` chose from, in nats; NaN where a sample is labeled, not a
            candidate, or already chosen.
"""


def _check_targets(targets, X, X_cand):
    """The target samples: ``X_cand`` for None, ``X[targets]`` for indices."""
    if targets is None:
        return X_cand
    arr = np.asarray(targets)
    if arr.ndim == 1 and (arr.dtype.kind in "iu" or arr.size == 0):
        if arr.size == 0:
            raise ValueError("targets is empty; pass None or at least one index.")
        if arr.min() < 0 or arr.max() >= len(X):
            raise ValueError(
                f"targets holds indices outside [0, {len(X)}) (got min "
                f"{arr.min()}, max {arr.max()})."
            )
        return X[arr]
    if arr.ndim < 2 or len(arr) == 0:
        raise ValueError(
            "targets must be None, a 1-D array of integer indices into X, or a "
            f"non-empty array of samples shaped like X; got shape {arr.shape} and "
            f"dtype {arr.dtype}."
        )
    if arr.shape[1:] != np.shape(X)[1:]:
        raise ValueError(
            f"targets given as samples must have the shape of X's samples "
            f"{np.shape(X)[1:]}; got {arr.shape[1:]}."
        )
    return arr


class _TargetedStrategy(BaseEstimator):
    """Base of the EPIG strategies (parameters: see :class:`EPIG`)."""

    def __init__(
        self,
        n_targets: int | None = None,
        max_memory: int | None = None,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
        self.n_targets = n_targets
        self.max_memory = max_memory
        self.eps = eps
        self.sample_predictions_method_name = sample_predictions_method_name
        self.sample_predictions_dict = sample_predictions_dict
        self.missing_label = missing_label
        self.random_state = random_state

    def query(
        self,
        X,
        y,
        ensemble,
        fit_ensemble: bool = True,
        sample_weight=None,
        candidates=None,
        batch_size: int = 1,
        return_utilities: bool = False,
        targets=None,
    ):
        # The shared input handling lives in batchbald.pool, which imports
        # this module at its end: import it here, at call time.
        from .pool import _check_bool, _check_query_input, _result

        X, y, X_cand, mapping = _check_query_input(X, y, candidates, self.missing_label)
        fit_ensemble = _check_bool(fit_ensemble, "fit_ensemble")
        return_utilities = _check_bool(return_utilities, "return_utilities")
        X_target = _check_targets(targets, X, X_cand)
        stacked = X_cand if targets is None else _stack(X_cand, X_target)
        probs, _ = ensemble_probas(
            ensemble,
            stacked,
            X=X,
            y=y,
            fit=fit_ensemble,
            sample_weight=sample_weight,
            missing_label=self.missing_label,
            sample_predictions_method_name=self.sample_predictions_method_name,
            sample_predictions_dict=self.sample_predictions_dict,
        )
        n_cand = len(X_cand)
        pool_probs = probs[:, :n_cand]
        target_probs = None if targets is None else probs[:, n_cand:]
        selection = self.select(pool_probs, target_probs, batch_size, return_utilities)
        return _result(selection, mapping, len(X), return_utilities)

    query.__doc__ = _QUERY_DOC

    def select(
        self,
        probs_K_N_C,
        target_probs_K_T_C=None,
        batch_size: int = 1,
        return_utilities: bool = False,
    ) -> engine.BatchSelection:
        """Choose from member probabilities directly (no model involved).

        Parameters
        ----------
        probs_K_N_C : array-like of shape (K, N, C)
            Member probabilities of the candidates.
        target_probs_K_T_C : array-like of shape (K, T, C), default=None
            Probabilities of the same members for target samples; None: the
            candidates stand for the target distribution.
        batch_size : int, default=1
            Number of samples to select.
        return_utilities : bool, default=False
            Also compute the (batch_size, N) utilities (nats).

        Returns
        -------
        batchbald.engine.BatchSelection
            Indices into the N candidates, per-step gains and utilities.
        """
        if not isinstance(return_utilities, (bool, np.bool_)):
            raise TypeError(
                f"return_utilities must be True or False; got {return_utilities!r}."
            )
        if isinstance(target_probs_K_T_C, numbers.Integral):
            raise TypeError(
                "target_probs_K_T_C must be None or an array of target "
                f"probabilities (K, T, C); got the integer {target_probs_K_T_C!r}. "
                "The EPIG strategies take the targets second: "
                "select(probs_K_N_C, target_probs_K_T_C, batch_size=...)."
            )
        eps = check_eps(self.eps)
        rng = check_random_state(self.random_state)
        pool = check_probabilities(probs_K_N_C, "probs_K_N_C")
        target = pool if target_probs_K_T_C is None else target_probs_K_T_C
        target = check_probabilities(target, "target_probs_K_T_C")
        target = self._subsample(target, rng)
        return self._select(pool, target, batch_size, bool(return_utilities), eps, rng)

    def _subsample(self, target_K_T_C, rng):
        if self.n_targets is None:
            return target_K_T_C
        n = check_positive_int(self.n_targets, "n_targets")
        T = target_K_T_C.shape[1]
        if n >= T:
            return target_K_T_C
        return target_K_T_C[:, np.sort(rng.choice(T, size=n, replace=False))]


def _stack(X_cand, X_target):
    if hasattr(X_cand, "tocsr") or hasattr(X_target, "tocsr"):
        from scipy import sparse

        return sparse.vstack([X_cand, X_target]).tocsr()
    return np.concatenate([np.asarray(X_cand), np.asarray(X_target)])


class EPIG(_TargetedStrategy):
    """Top-k EPIG: the samples with the highest expected predictive information.

    ``EPIG(x) = E_{x*} I(y; y* | x, x*)`` (Bickford Smith, Foster, Farquhar,
    Kirsch, Rainforth and Gal, 2023): how much labelling ``x`` is expected to
    tell about the predictions on the target inputs ``x*``, computed exactly
    per (candidate, target) pair from the members' joint predictive and
    averaged over the targets (:func:`batchbald.epig.epig_scores`). The
    utilities' row 0 is EPIG itself, in nats.

    Parameters
    ----------
    n_targets : int, default=None
        Use at most this many targets, drawn at random from ``random_state``
        (None: all of them). The cost grows linearly with the targets.
    max_memory : int, default=None
        Working-memory budget of the EPIG kernels in bytes (None: 256 MiB).
    eps : float, default=1e-7
        Floor inside the logarithms of the batch strategies' configurations
        (EPIG itself needs none: ``0 log 0 = 0``).
    sample_predictions_method_name : str, default=None
        Name of a method of the ensemble returning member probabilities
        (K, n_samples, n_classes), e.g. ``"sample_proba"``.
    sample_predictions_dict : dict, default=None
        Keyword arguments for that method.
    missing_label : scalar, default=np.nan
        The value that marks an unlabeled sample in ``y``.
    random_state : None, int or numpy.random.RandomState, default=None
        Source of all randomness (target subsampling, ties, sampling).
    """

    def _select(self, pool, target, batch_size, return_utilities, eps, rng):
        return select_epig_topk(
            pool,
            target,
            batch_size,
            random_state=rng,
            return_utilities=return_utilities,
            max_memory=self.max_memory,
        )


class BatchEPIG(_TargetedStrategy):
    """Batch EPIG: greedy maximisation of ``E_{x*} I(y_1, ..., y_b; y*)``.

    The joint counterpart of :class:`EPIG`, as BatchBALD is of BALD: each
    step adds the candidate with the largest ``E_{x*} I(y_n; y* | y_A)``
    given the labels ``y_A`` of the samples already chosen, which discounts
    candidates that would tell the same thing. The configurations of ``y_A``
    are enumerated while ``C**|A| <= n_MC_samples`` and sampled beyond; the
    search prunes with the data-processing bound ``gain <= I(y_n; w | y_A)``
    (see :mod:`batchbald._epig_engine`). Row ``i`` of the utilities is
    ``E_{x*} I(y_{A_i + n}; y*)``; row 0 is EPIG.

    Parameters
    ----------
    n_MC_samples : int, default=None
        Number of configurations ``M`` (None: 100). Each costs one EPIG
        evaluation of the candidates that survive pruning.
    n_targets, max_memory, eps, sample_predictions_method_name, \
sample_predictions_dict, missing_label, random_state
        See :class:`EPIG`.
    """

    def __init__(
        self,
        n_MC_samples: int | None = None,
        n_targets: int | None = None,
        max_memory: int | None = None,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
        super().__init__(
            n_targets=n_targets,
            max_memory=max_memory,
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
        )
        self.n_MC_samples = n_MC_samples

    def _select(self, pool, target, batch_size, return_utilities, eps, rng):
        return select_batch_epig(
            pool,
            target,
            batch_size,
            n_samples=self.n_MC_samples,
            eps=eps,
            random_state=rng,
            return_utilities=return_utilities,
            max_memory=self.max_memory,
        )


class _StochasticEPIG(_TargetedStrategy):
    """Stochastic batch acquisition over EPIG scores."""

    _mode = "power"

    def __init__(
        self,
        beta: float = 1.0,
        n_targets: int | None = None,
        max_memory: int | None = None,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
        super().__init__(
            n_targets=n_targets,
            max_memory=max_memory,
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
        )
        self.beta = beta

    def _select(self, pool, target, batch_size, return_utilities, eps, rng):
        scores_N = epig_scores_refined(pool, target, 1, max_memory=self.max_memory)
        return engine.select_stochastic(
            np.maximum(scores_N, 0.0),
            batch_size,
            self._mode,
            self.beta,
            rng,
            return_utilities,
        )


_STOCHASTIC_DOC = """{title}

    Stochastic batch acquisition (Kirsch, Farquhar, Atighehchian, Jesson,
    Branchaud-Charron and Gal, 2023) over EPIG scores: the batch is drawn
    without replacement (Gumbel-top-k, :func:`batchbald.engine.select_stochastic`)
    with probabilities {law}. As cheap as :class:`EPIG`, and it does not pile
    the batch onto one region of near-identical samples. Utilities: row ``i``
    is the perturbed log-probabilities the draw ranked.

    Parameters
    ----------
    beta : float, default=1.0
        Inverse temperature: 0 samples uniformly; large values approach top-k.
    n_targets, max_memory, eps, sample_predictions_method_name, \
sample_predictions_dict, missing_label, random_state
        See :class:`EPIG`.
"""


class PowerEPIG(_StochasticEPIG):
    __doc__ = _STOCHASTIC_DOC.format(
        title="PowerEPIG: sample the batch in proportion to EPIG ** beta.",
        law="proportional to ``EPIG(x) ** beta``",
    )
    _mode = "power"


class SoftmaxEPIG(_StochasticEPIG):
    __doc__ = _STOCHASTIC_DOC.format(
        title="SoftmaxEPIG: sample the batch by a softmax of the EPIG scores.",
        law="proportional to ``exp(beta * EPIG(x))``",
    )
    _mode = "softmax"


class SoftrankEPIG(_StochasticEPIG):
    __doc__ = _STOCHASTIC_DOC.format(
        title="SoftrankEPIG: sample the batch by the rank of the EPIG scores.",
        law="proportional to ``rank(x) ** -beta`` (rank 1: the highest score)",
    )
    _mode = "softrank"
