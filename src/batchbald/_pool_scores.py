"""Score-based query strategies of :mod:`batchbald.pool` (its private part).

Top-k BALD, the stochastic BALD acquisitions (power, softmax, softrank),
entropy sampling and random sampling. Import them from :mod:`batchbald.pool`.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator

from . import engine
from ._arrays import n_rows
from ._backend import is_dask_array
from ._validation import Interval
from .information import DEFAULT_EPS
from .utils import MISSING_LABEL, check_random_state

# batchbald.pool defines these, then imports this module at its end (to export
# its classes): this module is imported through batchbald.pool, never first.
if "batchbald.pool" not in sys.modules:
    raise ImportError(
        "import the score-based strategies from batchbald.pool "
        "(batchbald._pool_scores is its private part and cannot be imported first)."
    )
from .pool import (  # noqa: E402  # isort: skip
    _QUERY_DOC,
    _EnsembleStrategy,
    _check_call,
    _check_query_input,
    _result,
)

__all__ = [
    "EntropySampling",
    "GreedyBALD",
    "PowerBALD",
    "RandomSampling",
    "SoftmaxBALD",
    "SoftrankBALD",
]


def _select_by_scores(
    strategy, probs_K_N_C, batch_size, return_utilities, eps, rng, score, mode, beta
):
    """Top-k (``mode="topk"``) or a stochastic draw over the BALD or entropy
    scores; a dask pool is one map-reduce (:func:`batchbald.dask.select_scores`)
    with the same result."""
    if is_dask_array(probs_K_N_C):
        from .dask import select_scores

        return select_scores(
            probs_K_N_C, batch_size, score=score, mode=mode, beta=beta,
            random_state=rng, return_utilities=return_utilities, eps=eps,
        )  # fmt: skip
    scores_N = strategy._scores(probs_K_N_C, eps)
    if mode == "topk":
        return engine.select_topk(scores_N, batch_size, rng, return_utilities)
    return engine.select_stochastic(
        scores_N, batch_size, mode, beta, rng, return_utilities
    )


class GreedyBALD(_EnsembleStrategy):
    """Top-k BALD: the ``batch_size`` samples with the highest BALD scores.

    BALD (Houlsby et al., 2011) scores a sample by ``I(y; w) = H(mean_k p_k)
    - mean_k H(p_k)``, the disagreement of the members. Taking the top k
    ignores that similar samples carry the same information; see
    :class:`BatchBALD` and :class:`PowerBALD`.

    Parameters
    ----------
    eps : float, default=0.0
        Floor applied to probabilities inside the logarithms of entropies
        (0: ``0 log 0 = 0`` exactly); the probabilities themselves are never
        changed.
    sample_predictions_method_name : str, default=None
        Name of a method of the ensemble returning member probabilities
        (K, n_samples, n_classes), e.g. ``"sample_proba"`` of
        :class:`batchbald.deep.MCDropoutClassifier`. None reads the members
        of a bagging ensemble, forest or list.
    sample_predictions_dict : dict, default=None
        Keyword arguments for that method, e.g. ``{"n_samples": 50}``.
    missing_label : scalar, default=np.nan
        The value that marks an unlabeled sample in ``y``.
    random_state : None, int or numpy.random.RandomState, default=None
        Source of all randomness (tie-breaking, sampling). An integer makes
        every query reproducible; a ``RandomState`` advances from query to
        query.
    """

    def _select(self, probs_K_N_C, batch_size, return_utilities, eps, rng):
        return _select_by_scores(
            self, probs_K_N_C, batch_size, return_utilities, eps, rng,
            "bald", "topk", 1.0,
        )  # fmt: skip


class EntropySampling(_EnsembleStrategy):
    """Uncertainty sampling: the highest entropies of the mean prediction.

    A baseline that uses only the ensemble's mean prediction ``mean_k p_k``,
    so it cannot tell disagreement between members from noise in the labels.

    Parameters
    ----------
    eps, sample_predictions_method_name, sample_predictions_dict, \
missing_label, random_state
        See :class:`GreedyBALD`.
    """

    def _scores(self, probs_K_N_C, eps):
        return engine.pool_entropies(probs_K_N_C, eps=eps)[0]

    def _select(self, probs_K_N_C, batch_size, return_utilities, eps, rng):
        return _select_by_scores(
            self, probs_K_N_C, batch_size, return_utilities, eps, rng,
            "entropy", "topk", 1.0,
        )  # fmt: skip


class _StochasticBALD(_EnsembleStrategy):
    """Stochastic batch acquisition over BALD scores (Kirsch et al., 2023)."""

    _mode = "power"
    _parameter_constraints: dict[str, list] = {
        **_EnsembleStrategy._parameter_constraints,
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        beta: float = 1.0,
        eps: float = DEFAULT_EPS,
        sample_predictions_method_name: str | None = None,
        sample_predictions_dict: Mapping | None = None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
        super().__init__(
            eps=eps,
            sample_predictions_method_name=sample_predictions_method_name,
            sample_predictions_dict=sample_predictions_dict,
            missing_label=missing_label,
            random_state=random_state,
        )
        self.beta = beta

    def _select(self, probs_K_N_C, batch_size, return_utilities, eps, rng):
        return _select_by_scores(
            self, probs_K_N_C, batch_size, return_utilities, eps, rng,
            "bald", self._mode, float(self.beta),
        )  # fmt: skip


_STOCHASTIC_DOC = """{title}

    Kirsch, Farquhar, Atighehchian, Jesson, Branchaud-Charron and Gal (2023),
    "Stochastic Batch Acquisition: A Simple Baseline for Deep Active
    Learning". The batch is drawn without replacement (Gumbel-top-k) with
    probabilities {law}; it is as cheap as top-k BALD and, unlike it, does
    not pile the batch onto one region of near-identical samples.

    Parameters
    ----------
    beta : float, default=1.0
        Inverse temperature: 0 samples uniformly; large values approach top-k.
    eps, sample_predictions_method_name, sample_predictions_dict, \
missing_label, random_state
        See :class:`GreedyBALD`.
"""


class PowerBALD(_StochasticBALD):
    __doc__ = _STOCHASTIC_DOC.format(
        title="PowerBALD: sample the batch in proportion to BALD ** beta.",
        law="proportional to ``BALD(x) ** beta``",
    )
    _mode = "power"


class SoftmaxBALD(_StochasticBALD):
    __doc__ = _STOCHASTIC_DOC.format(
        title="SoftmaxBALD: sample the batch by a softmax of the BALD scores.",
        law="proportional to ``exp(beta * BALD(x))``",
    )
    _mode = "softmax"


class SoftrankBALD(_StochasticBALD):
    __doc__ = _STOCHASTIC_DOC.format(
        title="SoftrankBALD: sample the batch by the rank of the BALD scores.",
        law="proportional to ``rank(x) ** -beta`` (rank 1: the highest score)",
    )
    _mode = "softrank"


# --------------------------------------------------------------------------
# random sampling
# --------------------------------------------------------------------------
class RandomSampling(BaseEstimator):
    """Choose candidates uniformly at random (the baseline of baselines).

    Parameters
    ----------
    missing_label : scalar, default=np.nan
        The value that marks an unlabeled sample in ``y``.
    random_state : None, int or numpy.random.RandomState, default=None
        Source of randomness.
    """

    _parameter_constraints: dict[str, list] = {"random_state": ["random_state"]}

    def __init__(self, missing_label=MISSING_LABEL, random_state=None):
        self.missing_label = missing_label
        self.random_state = random_state

    def query(
        self, X, y, candidates=None, batch_size: int = 1, return_utilities: bool = False
    ):
        _check_call(self, batch_size=batch_size, return_utilities=return_utilities)
        X, y, X_cand, mapping = _check_query_input(X, y, candidates, self.missing_label)
        rng = check_random_state(self.random_state)
        selection = engine.select_topk(
            rng.random_sample(n_rows(X_cand)), batch_size, rng, return_utilities
        )
        return _result(selection, mapping, n_rows(X), return_utilities)

    query.__doc__ = "Choose samples uniformly at random.\n" + _QUERY_DOC.format(
        ensemble=""
    )

    def select(
        self, probs_K_N_C, batch_size: int = 1, return_utilities: bool = False
    ) -> engine.BatchSelection:
        """Choose among the N candidates of member probabilities, uniformly.

        Only the shape of ``probs_K_N_C`` is read (a dask array's blocks are
        never computed): the same draw as :meth:`query` over N candidates.

        Parameters
        ----------
        probs_K_N_C : array-like or dask.array.Array of shape (K, N, C)
            Member probabilities of the candidates.
        batch_size : int, default=1
            Number of samples to select.
        return_utilities : bool, default=False
            Also return the (batch_size, N) utilities (the random scores).

        Returns
        -------
        batchbald.engine.BatchSelection
            ``gains`` are the random scores the draw ranked.
        """
        _check_call(self, batch_size=batch_size, return_utilities=return_utilities)
        shape = tuple(np.shape(probs_K_N_C))
        if len(shape) != 3 or 0 in shape:
            raise ValueError(
                "probs_K_N_C must have shape (K members, N pool points, C classes) "
                f"with no empty axis; got shape {shape}."
            )
        rng = check_random_state(self.random_state)
        return engine.select_topk(
            rng.random_sample(shape[1]), batch_size, rng, return_utilities
        )
