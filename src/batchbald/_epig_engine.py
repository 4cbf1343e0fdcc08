"""Greedy batch (joint) EPIG and EPIG top-k, on top of :mod:`batchbald.epig`.

Greedy batch EPIG adds, at step ``i``, the pool sample with the largest gain

    gain_i(n) = E_{x*} I(y_n; y* | y_A) = sum_m w_m mean_t I_{post_m}(y_n; y*_t)

where the configurations ``m`` of the selected set ``A`` (posterior over
members ``post_m`` and weight ``w_m``) are enumerated while ``C**|A| <= M``
and sampled beyond, as in BatchBALD (the configuration functions of
:mod:`batchbald.information`). The running sum of the gains is
``E_{x*} I(y_A; y*)`` by the chain rule.

Pruning. The joint EPIG objective is not submodular, so a sample's earlier
gain does not bound its later ones and the lazy greedy of BatchBALD would be
wrong. What does hold, for every configuration's posterior, is the
data-processing inequality (``y_n`` and ``y*`` are independent given the
member): ``I_{post_m}(y_n; y*_t) <= I_{post_m}(y_n; w)`` and ``<=
I_{post_m}(y*_t; w)``. So at every step::

    gain(n) <= min( I(y_n; w | y_A),  mean_t I(y*_t; w | y_A) )

with both sides computed from the *same* configurations, hence the bound
holds for the sampled estimate as well as the exact value. The conditional
BALD scores cost ``M x N x K x C``, a factor ``T x C`` less than the gains.
Each step scores candidates in blocks by decreasing bound (64, then doubling)
and stops once no unscored candidate's bound can come within ``_REFINE_TOL``
of the best gain found: the same choices as scoring every candidate.

How much this saves depends on the ensemble, and it is often little: EPIG
is typically an order of magnitude below BALD (it only counts the part of
the information about ``w`` that matters for the targets), so the bound
closes only candidates whose BALD score is below the best EPIG gain. On a
bagging of 10 logistic regressions on digits (30 labels, 300 targets) no
candidate was closed at the first step. The cost of a step is about
``M_eff`` EPIG evaluations of the open candidates (``M_eff``: configurations
left after merging equal posteriors); the levers are ``n_configurations`` and the
number of targets. A tighter bound that was considered, the Dobrushin
contraction ``I(y_n; y*) <= max_{k,l} TV(p_k(y*), p_l(y*)) I(y_n; w)``,
would have closed none either on that example (mean coefficient 0.62).

Screening leaves out the least likely enumerated configurations, up to a
total weight of ``_SCREEN_DROP_MASS``; the decision re-scores on all of them.

Precision. Gains are screened in float32; the candidates within
``_REFINE_TOL`` nats of the best are re-scored in float64 before deciding,
and gains within ``_TIE_TOL`` of the best are ties, broken with the caller's
random generator.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy.special import softmax

from ._greedy import GreedySteps, greedy_loop, merge_equal_rows
from ._validation import renamed_parameter, resolve_lazy
from .configurations import (
    configuration_weights,
    extend_configurations,
    sample_configurations,
)
from .engine import BatchSelection
from .epig import (
    check_max_memory,
    check_pool_and_targets,
    conditional_bald,
    conditional_epig,
    epig_scores,
)
from .information import check_eps
from .saturation import (
    COMPLETIONS,
    SATURATION_FLOOR,
    SATURATION_Z,
    estimate_with_error,
)
from .utils import check_positive_int, check_random_state

__all__ = ["DEFAULT_EPIG_N_SAMPLES", "select_batch_epig", "select_epig_topk"]

#: Default number of configurations ``M`` of batch EPIG (each costs a full
#: EPIG evaluation of the open candidates, hence fewer than BatchBALD's 1000).
DEFAULT_EPIG_N_SAMPLES = 100

_REFINE_TOL = 3e-5
_TIE_TOL = 1e-10
_FIRST_BLOCK = 64
# Screening leaves out the least likely configurations up to this total
# weight: a gain moves by at most that times log C, far below _REFINE_TOL.
_SCREEN_DROP_MASS = 1e-6


def _check_batch_size(batch_size, n_available: int) -> int:
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n_available:
        warnings.warn(
            f"batch_size={batch_size} is larger than the number of candidates "
            f"({n_available}); selecting all {n_available} of them.",
            UserWarning,
            stacklevel=4,
        )
        batch_size = n_available
    return batch_size


def _pick(gains_n: np.ndarray, idx_n: np.ndarray, rng) -> int:
    """Position in ``idx_n`` of the best gain; ties broken by ``rng``."""
    ties = np.flatnonzero(gains_n >= np.max(gains_n) - _TIE_TOL)
    if len(ties) == 1:
        return int(ties[0])
    ties = ties[np.argsort(idx_n[ties], kind="stable")]
    return int(ties[rng.randint(len(ties))])


class _Configurations:
    """Configurations of the selected set: exact while ``C**|A| <= M``."""

    def __init__(self, K: int, C: int, n_samples: int, eps: float, rng):
        self.K, self.C, self.M, self.eps, self.rng = K, C, n_samples, eps, rng
        self.exact = True
        self.member_probs: list[np.ndarray] = []
        self.log_joint_K_M = np.zeros((K, 1))
        self.weights_M = np.ones(1)
        self.members_M: np.ndarray | None = None

    def add(self, probs_K_C: np.ndarray) -> None:
        self.member_probs.append(probs_K_C)
        size = len(self.member_probs)
        if self.exact and size * math.log(self.C) <= math.log(self.M) + 1e-12:
            self.log_joint_K_M, _ = extend_configurations(
                self.log_joint_K_M, probs_K_C, exact=True, eps=self.eps
            )
            self.weights_M = configuration_weights(self.log_joint_K_M)
            return
        if self.exact:  # switch to sampling: draw every label of the set anew
            self.exact = False
            self.log_joint_K_M, self.weights_M, self.members_M = sample_configurations(
                np.stack(self.member_probs, axis=1), self.M, self.rng, self.eps
            )
            return
        self.log_joint_K_M, _ = extend_configurations(
            self.log_joint_K_M,
            probs_K_C,
            exact=False,
            members_M=self.members_M,
            random_state=self.rng,
            eps=self.eps,
        )

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """(post_U_K, weights_U): configurations with equal posteriors merged.

        Merging rewrites the same weighted sum exactly (up to the merge grid
        of :func:`batchbald._greedy.merge_equal_rows`); once the members are
        (nearly) identified most configurations share one posterior and the
        gains get much cheaper.
        """
        # Labellings no member can produce (possible without a floor) drop out.
        possible = np.isfinite(self.log_joint_K_M).any(axis=0) & (self.weights_M > 0)
        post_M_K = softmax(self.log_joint_K_M[:, possible], axis=0).T
        weights_M = self.weights_M[possible]
        return merge_equal_rows(post_M_K, weights_M)

    def screen(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`posterior` without its least likely configurations."""
        post_M_K, weights_M = self.posterior()
        if len(weights_M) < 2:
            return post_M_K, weights_M
        order = np.argsort(weights_M)
        dropped = np.searchsorted(np.cumsum(weights_M[order]), _SCREEN_DROP_MASS)
        keep = np.sort(order[dropped:])
        return post_M_K[keep], weights_M[keep]


def select_epig_topk(
    probs_pool_K_N_C,
    probs_target_K_T_C,
    batch_size: int,
    *,
    random_state=None,
    return_utilities: bool = False,
    max_memory: int | None = None,
) -> BatchSelection:
    """The ``batch_size`` highest EPIG scores (top-k EPIG).

    Scores are computed in float32; those within ``_REFINE_TOL`` nats of the
    ``batch_size``-th best are re-scored in float64, so the choice is that of
    exact scores, ties broken with ``random_state``.

    Parameters
    ----------
    probs_pool_K_N_C, probs_target_K_T_C, max_memory
        See :func:`batchbald.epig.epig_scores`.
    batch_size : int
        Number of samples; more than N selects all with a warning.
    random_state : None, int or numpy.random.RandomState, default=None
        Breaks ties.
    return_utilities : bool, default=False
        Also build the (B, N) utilities: row ``i`` is the EPIG scores, NaN at
        the samples chosen before step ``i``.

    Returns
    -------
    batchbald.engine.BatchSelection
        ``gains`` are the chosen EPIG scores (nats).
    """
    from .engine import select_topk

    scores_N = epig_scores_refined(
        probs_pool_K_N_C, probs_target_K_T_C, batch_size, max_memory=max_memory
    )
    return select_topk(scores_N, batch_size, random_state, return_utilities)


def epig_scores_refined(
    probs_pool_K_N_C, probs_target_K_T_C, batch_size: int, max_memory=None
) -> np.ndarray:
    """EPIG scores, float32 except the top ``batch_size`` (and near-ties) in
    float64."""
    pool, target = check_pool_and_targets(probs_pool_K_N_C, probs_target_K_T_C)
    max_memory = check_max_memory(max_memory)
    batch_size = min(check_positive_int(batch_size, "batch_size"), pool.shape[1])
    scores_N = epig_scores(pool, target, max_memory=max_memory, precise=False)
    kth = np.partition(scores_N, len(scores_N) - batch_size)[-batch_size]
    near = np.flatnonzero(scores_N >= kth - _REFINE_TOL)
    K = pool.shape[0]
    scores_N[near] = conditional_epig(
        pool, target, np.full((1, K), 1.0 / K), np.ones(1), idx_n=near,
        max_memory=max_memory,
    )  # fmt: skip
    return scores_N


def _check_options(
    n_configurations, n_samples, eps, max_memory, random_state, lazy, return_utilities
) -> tuple[int, float, int, np.random.RandomState, bool]:
    """Validated ``(M, eps, max_memory, rng, lazy)`` of :func:`select_batch_epig`."""
    M = renamed_parameter(
        n_configurations,
        n_samples,
        "n_configurations",
        "n_samples",
        "select_batch_epig",
    )
    M = check_positive_int(
        DEFAULT_EPIG_N_SAMPLES if M is None else M, "n_configurations"
    )
    eps = check_eps(eps)
    max_memory = check_max_memory(max_memory)
    rng = check_random_state(random_state)
    lazy = resolve_lazy(lazy, return_utilities)
    return M, eps, max_memory, rng, lazy


def select_batch_epig(
    probs_pool_K_N_C,
    probs_target_K_T_C,
    batch_size: int,
    *,
    n_configurations: int | None = None,
    eps: float = 1e-7,
    random_state=None,
    lazy: bool | None = None,
    return_utilities: bool = False,
    max_memory: int | None = None,
    callback: Callable[[int, int, float], None] | None = None,
    n_samples: int | None = None,
    completion: str | None = None,
) -> BatchSelection:
    """Greedy joint EPIG: ``batch_size`` samples maximising ``E_{x*} I(y_A; y*)``.

    Parameters
    ----------
    probs_pool_K_N_C : array-like of shape (K, N, C)
        Member probabilities of the candidates. Never modified.
    probs_target_K_T_C : array-like of shape (K, T, C)
        Probabilities of the same members for ``T`` target samples.
    batch_size : int
        Number of samples; more than N selects all with a warning.
    n_configurations : int, default=None
        Number of configurations ``M`` of the selected set (None: 100). The
        gains are exact while ``C**|A| <= M``, sampled beyond; every
        (merged) configuration costs one EPIG evaluation of the open
        candidates.
    eps : float, default=1e-7
        Floor applied to probabilities inside the configurations' logarithms.
    random_state : None, int or numpy.random.RandomState, default=None
        Breaks ties and draws the sampled configurations.
    lazy : bool, default=None
        Prune with the data-processing bound (see module doc); None means True
        unless ``return_utilities``, which needs every gain.
    return_utilities : bool, default=False
        Also return the (B, N) utilities: row ``i`` is ``E_{x*} I(y_{A+n};
        y*)`` for every candidate ``n`` (nats), NaN where already chosen.
    max_memory : int, default=None
        Working-memory budget of the EPIG kernels in bytes (None: 256 MiB).
    callback : callable, default=None
        Called as ``callback(step, index, gain)`` after each step.
    n_samples : int, default=None
        Deprecated alias of ``n_configurations`` (a FutureWarning).
    completion : {"power", "random"} or None, default=None
        What to do once the batch saturates, i.e. from the first step whose
        gain is below ``max(SATURATION_FLOOR, SATURATION_Z * se)`` (1e-3 nats
        and 2 standard errors of a sampled gain, as in BatchBALD, see
        :mod:`batchbald.saturation`): the remaining gains about the targets'
        predictions are then about zero, or hidden in the noise of the
        sampled configurations, and greedy picks follow rounding or noise.
        None keeps choosing greedily (plain batch EPIG); ``"power"`` draws the
        rest of the batch in proportion to the candidates' EPIG scores
        (PowerEPIG-style), ``"random"`` uniformly. Either way ``gains`` are
        the picks' true gains.

    Returns
    -------
    batchbald.engine.BatchSelection
        ``indices``, ``gains`` (nats), ``utilities`` (or None), ``n_scored``
        (the number of (sample, step) gains evaluated) and ``saturated_at``.
    """
    pool, target = check_pool_and_targets(probs_pool_K_N_C, probs_target_K_T_C)
    M, eps, max_memory, rng, lazy = _check_options(
        n_configurations,
        n_samples,
        eps,
        max_memory,
        random_state,
        lazy,
        return_utilities,
    )
    K, N, C = pool.shape
    batch_size = _check_batch_size(batch_size, N)
    if completion is not None and completion not in COMPLETIONS:
        raise ValueError(
            f"completion must be None or one of {sorted(COMPLETIONS)}; got "
            f"{completion!r}."
        )
    run = _EpigRun(
        _Problem(pool, target, max_memory), _Configurations(K, C, M, eps, rng),
        batch_size, rng, return_utilities, lazy, completion,
    )  # fmt: skip
    saturated_at = greedy_loop(run, batch_size, completion, callback)
    return BatchSelection(
        indices=np.asarray(run.indices, dtype=np.intp),
        gains=np.asarray(run.gains),
        utilities=run.utilities,
        n_scored=run.n_scored,
        saturated_at=saturated_at,
    )


class _EpigRun(GreedySteps):
    """State of one greedy batch-EPIG selection (the steps that
    :func:`batchbald._greedy.greedy_loop` drives)."""

    def __init__(
        self, problem, state, batch_size, rng, return_utilities, lazy, completion
    ):
        self.problem, self.state, self.rng = problem, state, rng
        self.batch_size, self.lazy, self.completion = batch_size, lazy, completion
        N = problem.pool.shape[1]
        self.available_N = np.ones(N, dtype=bool)
        self.utilities = np.full((batch_size, N), np.nan) if return_utilities else None
        self.indices: list[int] = []
        self.gains: list[float] = []
        self.n_scored = 0

    def choose(self, step: int) -> tuple[int, float, bool]:
        """The greedy pick; saturated when its gain is below
        ``max(SATURATION_FLOOR, SATURATION_Z * se)``, as in BatchBALD, with
        ``se`` the standard error of a sampled gain (0 while exact)."""
        chosen, gain = self.greedy_choice(step)
        if gain < SATURATION_FLOOR or self.state.exact:
            return chosen, gain, gain < SATURATION_FLOOR
        post, weights = self.state.posterior()
        one, alone = np.array([chosen]), np.ones(1)
        gain_M = np.array(
            [float(self.problem.gains(one, p[None], alone, True)[0]) for p in post]
        )  # the pick's gain under each configuration
        _, se = estimate_with_error(gain_M, weights, self.state.M)
        return chosen, gain, gain < max(SATURATION_FLOOR, SATURATION_Z * se)

    def greedy_choice(self, step: int) -> tuple[int, float]:
        """The step's greedy pick and its float64 gain; or, with a completion
        and every screened gain clearly below the saturation floor, the
        screened best and its float32 gain (the step saturates, and the
        completion that follows makes the exact choice moot: no float64
        re-scoring of the many near-ties that saturation brings)."""
        problem, state = self.problem, self.state
        idx, gain = problem.step(*state.screen(), self.available_N, self.lazy)
        self.n_scored += len(idx)
        best = int(np.argmax(gain))
        if self.completion is not None and gain[best] < SATURATION_FLOOR - _REFINE_TOL:
            if self.utilities is not None:
                self.utilities[step, idx] = float(np.sum(self.gains)) + gain
            return int(idx[best]), float(gain[best])
        post, weights = state.posterior()
        near = idx[gain >= gain.max() - _REFINE_TOL]
        near_gain = problem.gains(near, post, weights, precise=True)
        chosen = int(near[_pick(near_gain, near, self.rng)])
        if self.utilities is not None:
            base = float(np.sum(self.gains))
            self.utilities[step, idx] = base + gain
            self.utilities[step, near] = base + near_gain
        return chosen, float(near_gain[near == chosen][0])

    def completion_order(self, mode: str) -> list[int]:
        """The rest of the batch drawn without replacement (Gumbel-top-k):
        ``"power"`` in proportion to the candidates' EPIG scores (PowerEPIG),
        ``"random"`` uniformly."""
        idx = np.flatnonzero(self.available_N)
        n = self.batch_size - len(self.indices)
        log_p = np.zeros(len(idx))
        if mode == "power":
            K = self.problem.pool.shape[0]
            scores = self.problem.gains(
                idx, np.full((1, K), 1.0 / K), np.ones(1), precise=True
            )  # EPIG of the candidates, read in place
            log_p = np.log(np.maximum(scores, np.finfo(np.float64).tiny))
        keys = log_p + self.rng.gumbel(size=len(idx))
        return [int(i) for i in idx[np.argsort(-keys, kind="stable")[:n]]]

    def drawn_gain(self, step: int, index: int, first: bool = False) -> float:
        """The float64 gain of a drawn pick (and its utilities row, anew also
        at the saturating step, whose row held the screened gains)."""
        post, weights = self.state.posterior()
        if self.utilities is None:
            gain = self.problem.gains(np.array([index]), post, weights, precise=True)
            return float(gain[0])
        avail = np.flatnonzero(self.available_N)
        row = self.problem.gains(avail, post, weights, precise=True)
        self.utilities[step, avail] = float(np.sum(self.gains)) + row
        self.n_scored += len(avail)
        return float(row[avail == index][0])

    def commit(
        self, step: int, index: int, gain: float, completing: bool = False
    ) -> None:
        self.indices.append(index)
        self.gains.append(gain)
        self.available_N[index] = False
        if step + 1 < self.batch_size:
            pool = self.problem.pool
            self.state.add(np.asarray(pool[:, index], dtype=np.float64))


class _Problem:
    """The pool, the targets and the budget of one batch selection."""

    def __init__(self, pool, target, max_memory: int):
        self.pool, self.target, self.max_memory = pool, target, max_memory

    def gains(self, idx, post, weights, precise=False) -> np.ndarray:
        return conditional_epig(
            self.pool,
            self.target,
            post,
            weights,
            idx_n=idx,
            max_memory=self.max_memory,
            precise=precise,
        )

    def step(self, post, weights, available_N, lazy: bool):
        """Screened (float32) gains of the candidates one step must score."""
        avail = np.flatnonzero(available_N)
        if not lazy:
            return avail, self.gains(avail, post, weights)
        cap = float(conditional_bald(self.target, post, weights).mean())
        bound = np.minimum(
            conditional_bald(self.pool[:, avail], post, weights), cap
        )  # fmt: skip
        order = np.argsort(-bound, kind="stable")
        idx_parts, gain_parts = [], []
        best, done, block = -np.inf, 0, _FIRST_BLOCK
        while done < len(order) and bound[order[done]] > best - _REFINE_TOL:
            part = order[done : done + block]
            part = part[bound[part] > best - _REFINE_TOL]
            gain = self.gains(avail[part], post, weights)
            idx_parts.append(avail[part])
            gain_parts.append(gain)
            best = max(best, float(gain.max()))
            done += block
            block *= 2
        return np.concatenate(idx_parts), np.concatenate(gain_parts)
