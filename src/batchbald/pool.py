"""Pool-based query strategies with the scikit-activeml calling convention.

Every strategy answers one question: given samples ``X``, labels ``y`` (with
``missing_label`` for unlabeled samples) and an ensemble, which samples should
be labeled next? ``query`` returns their indices and, if asked, the utilities
each step chose from.

The strategies are thin layers: they validate the call, get member
probabilities from :func:`batchbald.ensembles.ensemble_probas` and hand them
to the pure selection functions of :mod:`batchbald.engine`.

===================  ======================================================
strategy             selects
===================  ======================================================
``BatchBALD``        greedily by the joint mutual information ``I(y_A; w)``
``GreedyBALD``       the ``batch_size`` highest BALD scores (top-k BALD)
``PowerBALD``        by sampling, probability proportional to BALD**beta
``SoftmaxBALD``      by sampling, probability proportional to exp(beta BALD)
``SoftrankBALD``     by sampling, probability proportional to rank**-beta
``EntropySampling``  the highest entropies of the mean prediction
``RandomSampling``   uniformly at random
===================  ======================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator

from . import engine
from ._arrays import (
    check_candidate_indices,
    check_candidate_samples,
    check_not_index_labels,
    is_dataframe,
    n_rows,
    take_rows,
)
from ._backend import is_dask_array
from ._devices import is_torch_tensor
from ._labels import check_label_vector
from ._progress import progress_bar
from ._validation import Interval, check_params, validate_estimator_params
from .ensembles import ensemble_probas
from .information import DEFAULT_EPS, EPS_CONSTRAINT
from .saturation import (
    COMPLETION_CONSTRAINT,
    LABEL_NOISE_CONSTRAINT,
    warn_if_saturated,
)
from .utils import MISSING_LABEL, check_random_state, is_unlabeled

__all__ = [
    "EPIG",
    "BatchBALD",
    "BatchEPIG",
    "EntropySampling",
    "GreedyBALD",
    "PowerBALD",
    "PowerEPIG",
    "RandomSampling",
    "SoftmaxBALD",
    "SoftmaxEPIG",
    "SoftrankBALD",
    "SoftrankEPIG",
]

_QUERY_DOC = """
        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
            All samples, labeled and unlabeled. A pandas DataFrame stays a
            DataFrame on its way to the ensemble (so that column names
            work); its rows are taken by position, not by index label.
        y : array-like or Series of shape (n_samples,)
            Their labels, ``missing_label`` where unknown (read by position;
            a nullable pandas dtype's ``<NA>`` counts as ``np.nan``).{ensemble}
        candidates : None, array-like of int of shape (n_candidates,), or \
array-like or DataFrame of shape (n_candidates, ...), default=None
            ``None``: the unlabeled samples of ``X``. Integers: positions in
            ``X`` (also for a DataFrame; a pandas ``Index`` is refused when
            ``X``'s index labels are not its positions). Otherwise the
            candidate samples themselves.
        batch_size : int, default=1
            Number of samples to select; more than there are candidates selects
            all of them, with a warning.
        return_utilities : bool, default=False
            Also return the utilities.

        Returns
        -------
        query_indices : numpy.ndarray of int, shape (batch_size,)
            The chosen samples in the order chosen: indices into ``X``, or into
            ``candidates`` when candidates are given as samples.
        utilities : numpy.ndarray of shape (batch_size, n_samples) or \
(batch_size, n_candidates)
            Only if ``return_utilities``. Row ``i`` holds the utilities step
            ``i`` chose from; NaN where a sample is labeled, not a candidate,
            or already chosen. Columns index ``X``, or ``candidates`` when
            candidates are given as samples.
"""

_ENSEMBLE_DOC = """
        ensemble : estimator, Pipeline or list of estimators
            The model whose members disagree: a bagging ensemble or forest
            (bare, in a ``SklearnClassifier`` or at the end of a Pipeline), a
            list of classifiers, or an estimator with the sample-predictions
            method; see :func:`batchbald.ensembles.ensemble_probas`. It need
            not derive from scikit-learn's ``BaseEstimator``.
        fit_ensemble : bool, default=True
            Fit a copy of ``ensemble`` on ``(X, y)`` first and leave
            ``ensemble`` untouched: ``sklearn.base.clone`` when it can be
            cloned (it has ``get_params``), else ``copy.deepcopy``. Otherwise
            ``ensemble`` must be fitted already.
        sample_weight : array-like of shape (n_samples,), default=None
            Training weights, used when ``fit_ensemble``."""


# --------------------------------------------------------------------------
# shared input handling (composition, not inheritance)
# --------------------------------------------------------------------------
def _check_query_input(X, y, candidates, missing_label):
    """Validate ``X, y, candidates``; return ``(X, y, X_cand, mapping)``.

    ``X`` may be an array, a sparse matrix or a pandas DataFrame (kept as
    such, rows taken by position), ``y`` a sequence, an array or a Series.
    ``mapping`` holds the indices into ``X`` of the candidates, or is None
    when the candidates were given as samples.
    """
    if X is None:
        raise ValueError("X must be an array of samples; got None.")
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    y = check_label_vector(y)
    n_samples = n_rows(X)
    if n_samples != len(y):
        raise ValueError(
            f"X and y must have the same number of samples; got len(X)={n_samples} "
            f"and len(y)={len(y)}."
        )
    if candidates is None:
        mapping = np.flatnonzero(is_unlabeled(y, missing_label))
        if len(mapping) == 0:
            raise ValueError(
                f"There are no candidates: all {len(y)} samples in y are labeled "
                f"(missing_label={missing_label!r})."
            )
        return X, y, take_rows(X, mapping), mapping
    if is_dataframe(candidates):
        return X, y, check_candidate_samples(candidates, X), None
    cand = np.asarray(candidates)
    if cand.ndim == 1 and (cand.dtype.kind in "iu" or cand.size == 0):
        check_not_index_labels(candidates, X)
        cand = check_candidate_indices(cand, n_samples)
        return X, y, take_rows(X, cand), cand
    return X, y, check_candidate_samples(candidates, X), None


# Declarations of the arguments of ``query`` and ``select``.
_CALL_CONSTRAINTS: dict[str, list] = {
    "fit_ensemble": ["boolean"],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "return_utilities": ["boolean"],
}


def _check_call(strategy, **values) -> None:
    """Validate a strategy's parameters and the arguments of its call."""
    validate_estimator_params(strategy)
    check_params(values, _CALL_CONSTRAINTS, type(strategy).__name__)


def _start_query(strategy, X, y, candidates, fit_ensemble, batch_size,
                 return_utilities):  # fmt: skip
    """The checks every ensemble strategy's ``query`` starts with: its
    parameters, the call's arguments, then the data; returns
    ``(X, y, X_cand, mapping)`` as :func:`_check_query_input` does."""
    _check_call(
        strategy,
        fit_ensemble=fit_ensemble,
        batch_size=batch_size,
        return_utilities=return_utilities,
    )
    return _check_query_input(X, y, candidates, strategy.missing_label)


def _predict_members(strategy, ensemble, rows, X, y, fit_ensemble, sample_weight):
    """Member probabilities ``(K, n_rows, C)`` of ``rows``, read as the
    strategy's parameters say (the ensemble fitted on ``X, y`` first when
    ``fit_ensemble``)."""
    probs_K_N_C, _ = ensemble_probas(
        ensemble,
        rows,
        X=X,
        y=y,
        fit=fit_ensemble,
        sample_weight=sample_weight,
        missing_label=strategy.missing_label,
        sample_predictions_method_name=strategy.sample_predictions_method_name,
        sample_predictions_dict=strategy.sample_predictions_dict,
    )
    return probs_K_N_C


def _result(selection, mapping, n_samples: int, return_utilities: bool):
    """Map a selection over candidates back to the caller's indices."""
    if mapping is None:
        indices, utilities = selection.indices, selection.utilities
    else:
        indices = mapping[selection.indices]
        if return_utilities:
            utilities = np.full((len(indices), n_samples), np.nan)
            utilities[:, mapping] = selection.utilities
    if return_utilities:
        return indices, utilities
    return indices


# --------------------------------------------------------------------------
# strategies over ensemble predictions
# --------------------------------------------------------------------------
class _EnsembleStrategy(BaseEstimator):
    """Base of the strategies that score member probabilities (parameters:
    see :class:`GreedyBALD`)."""

    _parameter_constraints: dict[str, list] = {
        "eps": EPS_CONSTRAINT,
        "sample_predictions_method_name": [str, None],
        "sample_predictions_dict": [Mapping, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
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
    ):
        X, y, X_cand, mapping = _start_query(
            self, X, y, candidates, fit_ensemble, batch_size, return_utilities
        )
        probs_K_N_C = _predict_members(
            self, ensemble, X_cand, X, y, fit_ensemble, sample_weight
        )
        probs_K_N_C = self._read_members(probs_K_N_C)
        selection = self._run(probs_K_N_C, batch_size, return_utilities)
        return _result(selection, mapping, n_rows(X), return_utilities)

    query.__doc__ = "Choose the samples to label next.\n" + _QUERY_DOC.format(
        ensemble=_ENSEMBLE_DOC
    )

    def select(
        self, probs_K_N_C, batch_size: int = 1, return_utilities: bool = False
    ) -> engine.BatchSelection:
        """Choose from member probabilities directly (no model involved).

        Parameters
        ----------
        probs_K_N_C : array-like or dask.array.Array of shape (K, N, C)
            Member probabilities of the candidates. A dask array (chunked
            along N) is scored where its blocks are, on the current
            ``distributed.Client`` if any (:mod:`batchbald.dask`), with the
            same result.
        batch_size : int, default=1
            Number of samples to select.
        return_utilities : bool, default=False
            Also compute the (batch_size, N) utilities.

        Returns
        -------
        batchbald.engine.BatchSelection
            Indices into the N candidates, per-step gains and utilities.
        """
        _check_call(self, batch_size=batch_size, return_utilities=return_utilities)
        return self._run(probs_K_N_C, batch_size, return_utilities)

    def _read_members(self, probs_K_N_C):
        """What ``query`` scores of the members it read (as they are here)."""
        return probs_K_N_C

    def _run(self, probs_K_N_C, batch_size, return_utilities):
        """Select with validated parameters and arguments."""
        rng = check_random_state(self.random_state)
        return self._select(
            probs_K_N_C, batch_size, bool(return_utilities), float(self.eps), rng
        )

    def _scores(self, probs_K_N_C, eps):
        predictive_N, expected_N = engine.pool_entropies(probs_K_N_C, eps=eps)
        return predictive_N - expected_N


class BatchBALD(_EnsembleStrategy):
    """BatchBALD: greedy maximisation of ``I(y_1, ..., y_b; w)``.

    Kirsch, van Amersfoort and Gal (2019). The joint entropies are exact while
    the chosen points have at most ``n_MC_samples`` joint labellings and
    estimated from ``n_MC_samples`` sampled labellings beyond (the
    posterior-weighted estimator); see :mod:`batchbald.engine` for the
    algorithm, its accuracy and its memory use.

    Parameters
    ----------
    n_MC_samples : int, default=None
        Number of configurations ``M``, the joint labellings of the selected
        set (None: 1000); ``n_configurations`` of
        :func:`batchbald.engine.select_batch`. The name is scikit-activeml's.
        A value whose state cannot fit ``max_memory`` is refused up front.
    eps, sample_predictions_method_name, sample_predictions_dict, \
missing_label, random_state
        See :class:`GreedyBALD`.
    max_memory : int, default=None
        Working-memory budget of the engine in bytes, at least 1 MiB (None:
        256 MiB).
    device : None, str or torch.device, default=None
        Run the engine with torch on this device (``"cpu"``, ``"cuda"``); it
        must exist on this machine.
    progress : bool, default=False
        Show a progress bar over the batch.
    label_noise : float, default=0.0
        Condition on hypothetical labels through the likelihood ``(1 - e) p_k
        + e / C``, so that one label cannot rule a member out completely; 0 is
        plain BatchBALD. See :mod:`batchbald.saturation`.
    completion : None, "power" or "random", default="power"
        When the batch saturates (its gains fall below the estimator's noise
        or 1e-3 nats), draw the rest PowerBALD-style (in proportion to the
        BALD scores) or uniformly at random; None stays plain greedy
        BatchBALD. The default won the learning curves of
        ``benchmarks/experiment_saturation.py`` (see the README).
    member_votes : bool or None, default=None
        Score the members' votes (each member's one-hot most likely class,
        :func:`batchbald.information.member_votes`) instead of their
        probabilities, treating them as hard classifiers: a copy of a chosen
        sample then carries no information. None means True when ``query``
        reads the members of a scikit-learn ensemble (no
        ``sample_predictions_method_name``), and False for a sampler such as
        MC dropout and for probabilities given to ``select``. False with
        ``completion=None`` is plain BatchBALD.

    Warns
    -----
    batchbald.saturation.SaturationWarning
        Once per call when the batch saturated before it was complete, naming
        the step, K and what would help.
    """

    _parameter_constraints: dict[str, list] = {
        **_EnsembleStrategy._parameter_constraints,
        "n_MC_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_memory": ["memory_bytes", None],
        "device": ["device", None],
        "progress": ["boolean"],
        "label_noise": LABEL_NOISE_CONSTRAINT,
        "completion": COMPLETION_CONSTRAINT,
        "member_votes": ["boolean", None],
    }

    def __init__(
        self,
        n_MC_samples: int | None = None,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
        max_memory: int | None = None,
        device=None,
        progress: bool = False,
        label_noise: float = 0.0,
        completion: str | None = "power",
        member_votes: bool | None = None,
    ):
        super().__init__(
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
        )
        self.n_MC_samples = n_MC_samples
        self.max_memory = max_memory
        self.device = device
        self.progress = progress
        self.label_noise = label_noise
        self.completion = completion
        self.member_votes = member_votes

    def _read_members(self, probs_K_N_C):
        # The members of a scikit-learn ensemble vote (member_votes=None).
        if self.member_votes is None and self.sample_predictions_method_name is None:
            return _member_votes(probs_K_N_C)
        return probs_K_N_C

    def _select(self, probs_K_N_C, batch_size, return_utilities, eps, rng):
        if self.member_votes:
            probs_K_N_C = _member_votes(probs_K_N_C)
        selection = _select_greedy(
            self, engine.select_batch, (probs_K_N_C,), batch_size, eps, rng,
            return_utilities, device=self.device, label_noise=self.label_noise,
        )  # fmt: skip
        warn_if_saturated(
            selection,
            np.shape(probs_K_N_C)[0],
            completion=self.completion,
            label_noise=self.label_noise,
            stacklevel=4,
        )
        return selection


def _select_greedy(strategy, select, arrays, batch_size, eps, rng,
                   return_utilities, **options):  # fmt: skip
    """``select(*arrays, batch_size, ...)`` with the greedy strategy's own
    settings (``n_MC_samples``, ``max_memory``, ``completion``), and a
    progress bar over the batch when ``strategy.progress``: what BatchBALD
    and BatchEPIG share."""
    bar = progress_bar(
        int(batch_size), type(strategy).__name__, unit="point",
        enabled=strategy.progress,
    )  # fmt: skip
    with bar:
        return select(
            *arrays,
            batch_size,
            n_configurations=strategy.n_MC_samples,
            eps=eps,
            random_state=rng,
            return_utilities=return_utilities,
            max_memory=strategy.max_memory,
            completion=strategy.completion,
            callback=lambda *_: bar.update(),
            **options,
        )


def _member_votes(probs_K_N_C):
    """:func:`batchbald.information.member_votes` for arrays, tensors and dask
    arrays (block by block, lazily)."""
    if is_dask_array(probs_K_N_C):
        from .dask import member_votes as dask_member_votes

        return dask_member_votes(probs_K_N_C)
    if is_torch_tensor(probs_K_N_C):
        top = probs_K_N_C == probs_K_N_C.amax(dim=-1, keepdim=True)
        return top.to(probs_K_N_C.dtype) / top.sum(dim=-1, keepdim=True)
    from .information import check_probabilities, member_votes

    return member_votes(check_probabilities(probs_K_N_C))


# Score-based and prediction-oriented (EPIG) strategies; at the end: they use
# the helpers above.
from ._pool_epig import (  # noqa: E402
    EPIG,
    BatchEPIG,
    PowerEPIG,
    SoftmaxEPIG,
    SoftrankEPIG,
)
from ._pool_scores import (  # noqa: E402
    EntropySampling,
    GreedyBALD,
    PowerBALD,
    RandomSampling,
    SoftmaxBALD,
    SoftrankBALD,
)
