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
import sys
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator

from . import engine
from ._arrays import n_rows
from ._backend import is_dask_array
from ._epig_engine import epig_scores_refined, select_batch_epig, select_epig_topk
from ._targets import check_targets, stack_targets
from ._validation import Interval
from .information import DEFAULT_EPS, check_probabilities, member_votes
from .saturation import (
    COMPLETION_CONSTRAINT,
    SATURATION_FLOOR,
    SATURATION_Z,
    SaturationWarning,
)
from .utils import MISSING_LABEL, check_random_state

# batchbald.pool defines these, then imports this module at its end (to export
# its classes): this module is imported through batchbald.pool, never first.
if "batchbald.pool" not in sys.modules:
    raise ImportError(
        "import the EPIG strategies from batchbald.pool (batchbald._pool_epig is "
        "its private part and cannot be imported first)."
    )
from .pool import (  # noqa: E402  # isort: skip
    _ENSEMBLE_DOC,
    _QUERY_DOC,
    _EnsembleStrategy,
    _member_votes,
    _check_call,
    _predict_members,
    _result,
    _select_greedy,
    _start_query,
)

__all__ = ["EPIG", "BatchEPIG", "PowerEPIG", "SoftmaxEPIG", "SoftrankEPIG"]

_TARGETS_DOC = """
        targets : None, array-like of int of shape (n_targets,), or \
array-like or DataFrame of shape (n_targets, ...), default=None
            Samples of the target input distribution: positions in ``X``
            (repeats allowed) or the samples themselves, shaped like ``X``'s
            (a DataFrame when ``X`` is one). ``None``: the candidates stand
            for it."""


class _TargetedStrategy(BaseEstimator):
    """Base of the EPIG strategies (parameters: see :class:`EPIG`).

    It mirrors :class:`batchbald.pool._EnsembleStrategy` (same declarations,
    same checks at ``query``/``select``) and adds the targets.
    """

    _parameter_constraints: dict[str, list] = {
        **_EnsembleStrategy._parameter_constraints,
        "n_targets": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_memory": ["memory_bytes", None],
        "member_votes": ["boolean", None],
    }

    def __init__(
        self,
        n_targets: int | None = None,
        max_memory: int | None = None,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
        member_votes: bool | None = None,
    ):
        self.n_targets = n_targets
        self.max_memory = max_memory
        self.eps = eps
        self.sample_predictions_method_name = sample_predictions_method_name
        self.sample_predictions_dict = sample_predictions_dict
        self.missing_label = missing_label
        self.random_state = random_state
        self.member_votes = member_votes

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
        X, y, X_cand, mapping = _start_query(
            self, X, y, candidates, fit_ensemble, batch_size, return_utilities
        )
        X_target = check_targets(targets, X, X_cand)
        stacked = X_cand if targets is None else stack_targets(X_cand, X_target)
        probs = _predict_members(
            self, ensemble, stacked, X, y, fit_ensemble, sample_weight
        )
        if self.member_votes is None and self.sample_predictions_method_name is None:
            probs = _member_votes(probs)  # a scikit-learn ensemble's members vote
        n_cand = n_rows(X_cand)
        pool_probs = probs[:, :n_cand]
        target_probs = None if targets is None else probs[:, n_cand:]
        selection = self._run(pool_probs, target_probs, batch_size, return_utilities)
        return _result(selection, mapping, n_rows(X), return_utilities)

    query.__doc__ = (
        "Choose the samples to label next.\n"
        + _QUERY_DOC.format(ensemble=_ENSEMBLE_DOC).split("\n        Returns")[0]
        + _TARGETS_DOC
        + "\n\n        Returns"
        + _QUERY_DOC.split("\n        Returns")[1]
    )

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
        _check_call(self, batch_size=batch_size, return_utilities=return_utilities)
        if isinstance(target_probs_K_T_C, numbers.Integral):
            raise TypeError(
                "target_probs_K_T_C must be None or an array of target "
                f"probabilities (K, T, C); got the integer {target_probs_K_T_C!r}. "
                "The EPIG strategies take the targets second: "
                "select(probs_K_N_C, target_probs_K_T_C, batch_size=...)."
            )
        if is_dask_array(probs_K_N_C) or is_dask_array(target_probs_K_T_C):
            raise ValueError(
                f"{type(self).__name__} (EPIG) scores pools held in memory and "
                "got a dask array; pass numpy arrays (e.g. .compute() a pool that "
                "fits), or use BatchBALD or a BALD strategy, which run on dask."
            )
        return self._run(probs_K_N_C, target_probs_K_T_C, batch_size, return_utilities)

    def _run(self, probs_K_N_C, target_probs_K_T_C, batch_size, return_utilities):
        """Select with validated parameters and arguments."""
        rng = check_random_state(self.random_state)
        pool = check_probabilities(probs_K_N_C, "probs_K_N_C")
        target = pool if target_probs_K_T_C is None else target_probs_K_T_C
        target = check_probabilities(target, "target_probs_K_T_C")
        if self.member_votes:
            pool = member_votes(pool)
            # the pool standing for the targets stays one array, so that
            # EPIG scores each symmetric pair once (batchbald._epig_symmetric)
            target = pool if target_probs_K_T_C is None else member_votes(target)
        target = self._subsample(target, rng)
        return self._select(
            pool, target, batch_size, bool(return_utilities), float(self.eps), rng
        )

    def _subsample(self, target_K_T_C, rng):
        T = target_K_T_C.shape[1]
        if self.n_targets is None or self.n_targets >= T:
            return target_K_T_C
        return target_K_T_C[
            :, np.sort(rng.choice(T, size=self.n_targets, replace=False))
        ]


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
    member_votes : bool or None, default=None
        Score the members' votes (each member's one-hot most likely class,
        :func:`batchbald.information.member_votes`) for the candidates and the
        targets alike, instead of their probabilities, as
        :class:`batchbald.pool.BatchBALD` does. None means True when
        ``query`` reads the members of a scikit-learn ensemble (no
        ``sample_predictions_method_name``), and False for a sampler such as
        MC dropout and for probabilities given to ``select``. On the shifted
        digits of ``benchmarks/experiment_epig.py`` (bagged logistic
        regressions) votes took EPIG from behind top-k BALD to ahead of it and
        of random (see the README).
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
sample_predictions_dict, missing_label, random_state, member_votes
        See :class:`EPIG`.
    completion : {"power", "random"} or None, default="power"
        From the first step whose gain is below max(1e-3 nats, 2 standard
        errors of its sampled estimate) on (the batch saturated, and a
        :class:`batchbald.saturation.SaturationWarning` says so), draw the
        rest of the batch in proportion to EPIG (``"power"``) or uniformly;
        None keeps choosing greedily (plain batch EPIG). See
        :func:`batchbald._epig_engine.select_batch_epig`.
    progress : bool, default=False
        Show a progress bar over the batch (drawn only on a terminal).
    """

    _parameter_constraints: dict[str, list] = {
        **_TargetedStrategy._parameter_constraints,
        "n_MC_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "completion": COMPLETION_CONSTRAINT,
        "progress": ["boolean"],
    }

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
        member_votes: bool | None = None,
        completion: str | None = "power",
        progress: bool = False,
    ):
        super().__init__(
            n_targets=n_targets,
            max_memory=max_memory,
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
            member_votes=member_votes,
        )
        self.n_MC_samples = n_MC_samples
        self.completion = completion
        self.progress = progress

    def _select(self, pool, target, batch_size, return_utilities, eps, rng):
        selection = _select_greedy(
            self, select_batch_epig, (pool, target), batch_size, eps, rng,
            return_utilities,
        )  # fmt: skip
        if selection.saturated_at is not None:
            warnings.warn(
                _saturation_message(selection, self.completion),
                SaturationWarning,
                stacklevel=4,
            )
        return selection


def _saturation_message(selection, completion) -> str:
    step, b = selection.saturated_at, len(selection.indices)
    then = (
        f"the picks from step {step} on were drawn "
        + ("PowerEPIG-style" if completion == "power" else "uniformly")
        + f" (completion={completion!r})"
        if completion is not None
        else "completion='power' would draw them PowerEPIG-style instead"
    )
    return (
        f"BatchEPIG saturated at step {step} of {b}: from there on the gains "
        f"about the targets' predictions are below max({SATURATION_FLOOR:g} "
        f"nats, {SATURATION_Z:g} standard errors), i.e. the members' information "
        "that matters for the targets is spent or lost in sampling noise; "
        f"{then}. More members would help (more trees, more bagging "
        "estimators or more MC-dropout samples)."
    )


class _StochasticEPIG(_TargetedStrategy):
    """Stochastic batch acquisition over EPIG scores."""

    _mode = "power"
    _parameter_constraints: dict[str, list] = {
        **_TargetedStrategy._parameter_constraints,
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
    }

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
        member_votes: bool | None = None,
    ):
        super().__init__(
            n_targets=n_targets,
            max_memory=max_memory,
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
            member_votes=member_votes,
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
sample_predictions_dict, missing_label, random_state, member_votes
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
