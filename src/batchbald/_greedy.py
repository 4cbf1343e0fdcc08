"""The greedy BatchBALD loop behind :func:`batchbald.engine.select_batch`.

The selected set's configurations (:class:`_SelectedSet`), the lazy
re-scoring rounds and the saturation remedies; the algorithm is described in
:mod:`batchbald.engine` and :mod:`batchbald.saturation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._lazy import _FIRST_BLOCK, lazy_round  # noqa: F401 (dask)
from ._rows import unique_rows
from .configurations import (
    configuration_weights,
    extend_configurations,
    posterior_weights,
    sample_configurations,
)
from .information import entropy, smooth_probabilities
from .saturation import (
    SATURATION_FLOOR,
    SATURATION_Z,
    estimate_with_error,
    point_gain,
)

# Candidates within this many nats of the best float32 gain are re-scored in
# float64 before the decision; gains within _TIE_TOL of the best are ties
# (float64 rounding of equal gains is ~1e-15; the exactness tests ask 1e-12).
_REFINE_TOL = 3e-5
_TIE_TOL = 1e-13
# Ties between float32 gains (sampled regime).
_F32_TIE_TOL = 1e-6
# Probability mass of unlikely exact configurations left out of screening.
_SCREEN_DROP_MASS = 1e-6
# Screening merges configurations whose posteriors agree on this grid.
_MERGE_GRID = 1e-9
# Members' remaining entropy (nats) below which every later gain counts as 0.
_SPENT = 1e-12
# Largest (K x configurations) float64 array built to test whether the
# selected set's possible labellings still number at most M.
_EXACT_TRY_BYTES = 64 * 2**20


def _pick(gains_n: np.ndarray, idx_n: np.ndarray, rng, tie_tol: float) -> int:
    """Index (into idx_n) of the best gain; ties (within ``tie_tol``) broken
    with ``rng``."""
    best = np.max(gains_n)
    ties = np.flatnonzero(gains_n >= best - tie_tol)
    if len(ties) == 1:
        return int(ties[0])
    # Order ties by pool index so the draw does not depend on evaluation order.
    ties = ties[np.argsort(idx_n[ties], kind="stable")]
    return int(ties[rng.randint(len(ties))])


class _SelectedSet:
    """Configurations of the selected set, exact while it has at most ``M``
    possible joint labellings.

    The likelihoods carry no numerical floor: a labelling that member ``k``
    rules out has log-likelihood ``-inf`` (posterior 0 exactly), and
    labellings that every member rules out (weight 0) are dropped, which is an
    exact rewrite; so the set stays exact while its *possible* labellings
    number at most ``M`` (``C**|A|`` for members that never predict 0).
    ``label_noise = e`` conditions through ``(1 - e) p_k + e / C`` instead.

    Two views feed the scorer. :meth:`full` is the estimator itself: every
    enumerated labelling with its exact probability, or the ``M`` sampled ones
    with identical labellings merged (an exact rewrite of the same sum). The
    :meth:`screen` view used for float32 screening also drops, in the exact
    regime, the least likely labellings up to a total probability of
    ``_SCREEN_DROP_MASS``, which moves any gain by at most that times
    ``log C`` nats, far below the ``_REFINE_TOL`` re-scoring margin.
    """

    def __init__(self, K: int, C: int, n_samples: int, rng, label_noise: float = 0.0):
        self.K, self.C, self.M = K, C, n_samples
        self.rng, self.label_noise = rng, label_noise
        self.exact = True
        self.member_probs: list[np.ndarray] = []
        self.log_joint_K_M = np.zeros((K, 1))
        self.weights_M = np.ones(1)
        self.members_M: np.ndarray | None = None
        self.labels_M_B: np.ndarray = np.empty((0, 0), dtype=np.intp)
        self._full: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_draws(self) -> int | None:
        """Number of drawn configurations (None while exact)."""
        return None if self.exact else self.M

    def add(self, probs_K_C: np.ndarray) -> None:
        self._full = None
        if self.label_noise:
            probs_K_C = smooth_probabilities(probs_K_C, self.label_noise)
        self.member_probs.append(probs_K_C)
        if self.exact and self._extend_exact(probs_K_C):
            return
        to_add = [probs_K_C]
        if self.exact:  # switch to sampling: draw every label of the set anew
            self.exact = False
            _, self.weights_M, self.members_M = sample_configurations(
                np.empty((self.K, 0, self.C)), self.M, self.rng
            )
            self.log_joint_K_M = np.zeros((self.K, self.M))
            self.labels_M_B = np.empty((self.M, 0), dtype=np.intp)
            to_add = self.member_probs
        for probs in to_add:
            self.log_joint_K_M, labels_M = extend_configurations(
                self.log_joint_K_M,
                probs,
                exact=False,
                members_M=self.members_M,
                random_state=self.rng,
            )
            self.labels_M_B = np.column_stack([self.labels_M_B, np.asarray(labels_M)])

    def _extend_exact(self, probs_K_C: np.ndarray) -> bool:
        """Enumerate one more sample if the possible labellings stay <= M."""
        n_cols = self.log_joint_K_M.shape[1] * self.C
        if n_cols > self.M and n_cols * self.K * 8 > _EXACT_TRY_BYTES:
            return False
        log_joint_K_M, _ = extend_configurations(
            self.log_joint_K_M, probs_K_C, exact=True
        )
        weights_M = configuration_weights(log_joint_K_M)
        possible_M = weights_M > 0
        if np.count_nonzero(possible_M) > self.M:
            return False
        if not possible_M.all():
            log_joint_K_M, weights_M = (
                log_joint_K_M[:, possible_M],
                weights_M[possible_M],
            )
        self.log_joint_K_M, self.weights_M = log_joint_K_M, weights_M
        return True

    def member_entropy(self) -> float:
        """``H(w | y_A)``: no sample's gain can exceed it (nats)."""
        return self.member_entropy_with_error()[0]

    def member_entropy_with_error(self) -> tuple[float, float]:
        """``H(w | y_A)`` and the standard error of its estimate."""
        post_M_K, weights_M = self.full()
        return estimate_with_error(entropy(post_M_K), weights_M, self.n_draws)

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """(posterior_M_K, weights_M) of the estimator, duplicates merged."""
        if self._full is None:
            if self.exact:
                self._full = posterior_weights(self.log_joint_K_M), self.weights_M
            else:
                first_U, inverse_M = unique_rows(self.labels_M_B)
                weights_U = np.bincount(inverse_M, weights=self.weights_M)
                post_U_K = posterior_weights(self.log_joint_K_M[:, first_U])
                self._full = post_U_K, weights_U
        return self._full

    def screen(self) -> tuple[np.ndarray, np.ndarray]:
        """A cheaper view for float32 screening (see class docstring)."""
        post_M_K, weights_M = self.full()
        if self.exact and len(weights_M) > 1:
            order = np.argsort(weights_M)
            dropped = np.searchsorted(np.cumsum(weights_M[order]), _SCREEN_DROP_MASS)
            keep = np.sort(order[dropped:])
            post_M_K, weights_M = post_M_K[keep], weights_M[keep]
        return merge_equal_rows(post_M_K, weights_M)


def merge_equal_rows(post_M_K: np.ndarray, weights_M: np.ndarray):
    """Merge configurations whose member posteriors agree to ``_MERGE_GRID``.

    Once the ensemble has been (nearly) identified, most configurations share
    the same posterior, and merging them makes screening far cheaper; a change
    of at most ``K * _MERGE_GRID`` in total variation moves a conditional
    entropy by far less than the float32 rounding already present.
    """
    if len(weights_M) < 2:
        return post_M_K, weights_M
    keys_M_K = np.rint(post_M_K / _MERGE_GRID).astype(np.int64)
    first_U, inverse_M = unique_rows(keys_M_K)
    if len(first_U) == len(weights_M):
        return post_M_K, weights_M
    return post_M_K[first_U], np.bincount(inverse_M, weights=weights_M)


@dataclass(frozen=True)
class Remedy:
    """What to do against saturation (see :mod:`batchbald.saturation`)."""

    label_noise: float = 0.0
    completion: str | None = None


class _GreedyRun:
    """The state of one greedy selection: bounds, chosen set, outputs."""

    def __init__(self, scorer, batch_size, M, rng, lazy, return_utilities, remedy):
        K, N, C = scorer.shape
        self.scorer, self.rng, self.lazy = scorer, rng, lazy
        predictive_N, expected_N = scorer.entropies()
        self.bald_N = predictive_N - expected_N  # exact first-step gains
        self.bounds_N = self.bald_N.copy()
        self.state = _SelectedSet(K, C, M, rng, remedy.label_noise)
        self.available_N = np.ones(N, dtype=bool)
        self.utilities = np.full((batch_size, N), np.nan) if return_utilities else None
        self.indices: list[int] = []
        self.gains: list[float] = []
        self.n_scored = N
        self.spent = False  # the members' entropy is used up (drawn picks)

    def greedy_choice(self, step: int) -> tuple[int, float, float]:
        """The step's greedy pick, its gain and the gain's standard error."""
        scorer, state = self.scorer, self.state
        post_M_K, weights_M = state.screen()
        if step == 0:
            fresh_idx, fresh_gain = np.arange(len(self.bald_N)), self.bald_N.copy()
        elif not self.lazy:
            fresh_idx = np.flatnonzero(self.available_N)
            fresh_gain = scorer.conditional_mi(None, post_M_K, weights_M)[fresh_idx]
        else:
            margin = -_REFINE_TOL if state.exact else _F32_TIE_TOL
            fresh_idx, fresh_gain = lazy_round(
                scorer, post_M_K, weights_M, self.bounds_N, self.available_N,
                cap=state.member_entropy(), margin=margin,
            )  # fmt: skip
        self.n_scored += len(fresh_idx) if step else 0
        # Exact regime: re-score the near-best candidates in float64, then
        # decide. Sampled regime: the estimator's own noise dwarfs float32
        # rounding, so decide on the screened values (ties within _F32_TIE_TOL).
        if step == 0 or not state.exact:
            tol = _TIE_TOL if step == 0 else _F32_TIE_TOL
            near_idx = fresh_idx[fresh_gain >= fresh_gain.max() - tol]
            near_gain = fresh_gain[fresh_gain >= fresh_gain.max() - tol]
            tie_tol = np.inf
        else:
            near_idx = fresh_idx[fresh_gain >= fresh_gain.max() - _REFINE_TOL]
            post_full, weights_full = state.full()
            near_gain = scorer.conditional_mi(
                near_idx, post_full, weights_full, precise=True
            )
            tie_tol = _TIE_TOL
        chosen = int(near_idx[_pick(near_gain, near_idx, self.rng, tie_tol)])
        gain, se = float(near_gain[near_idx == chosen][0]), 0.0
        if step > 0 and not state.exact:  # the float64 estimate and its error
            gain, se = self._point_gain(chosen)
        if self.utilities is not None:
            base = float(np.sum(self.gains))
            self.utilities[step, fresh_idx] = base + np.maximum(fresh_gain, 0.0)
            self.utilities[step, near_idx] = base + np.maximum(near_gain, 0.0)
        self.bounds_N[fresh_idx] = fresh_gain
        self.bounds_N[near_idx] = near_gain
        return chosen, gain, se

    def completion_order(self, batch_size: int, mode: str) -> list[int]:
        """Draw the rest of the batch without replacement (Gumbel-top-k):
        ``"power"`` in proportion to the BALD scores, ``"random"`` uniformly."""
        idx = np.flatnonzero(self.available_N)
        n = min(batch_size - len(self.indices), len(idx))
        log_p = np.zeros(len(idx))
        if mode == "power":
            log_p = np.log(np.maximum(self.bald_N[idx], np.finfo(np.float64).tiny))
        keys = log_p + self.rng.gumbel(size=len(idx))
        return [int(i) for i in idx[np.argsort(-keys, kind="stable")[:n]]]

    def completion_utilities(self, step: int) -> None:
        """Fill utilities row ``step`` of a drawn pick (only when requested)."""
        if self.utilities is None:
            return
        if step == 0:
            gain_N = self.bald_N
        else:
            gain_N = self.scorer.conditional_mi(None, *self.state.screen())
            self.n_scored += int(self.available_N.sum())
        row = float(np.sum(self.gains)) + np.maximum(gain_N, 0.0)
        self.utilities[step] = np.where(self.available_N, row, np.nan)

    def completion_gain(self, index: int) -> tuple[float, float]:
        """The exact or estimated gain of a drawn pick, with its error.

        Once the members' remaining entropy is below ``_SPENT`` nats, no gain
        can exceed it: the gain is 0 (to that bound) and the selected set is
        no longer extended (:meth:`commit`), which keeps a batch as large as
        the pool cheap.
        """
        if not self.indices:
            return float(self.bald_N[index]), 0.0
        if self.spent:
            return 0.0, 0.0
        return self._point_gain(index)

    def _point_gain(self, index: int) -> tuple[float, float]:
        post_M_K, weights_M = self.state.full()
        probs_K_C = self.scorer.member_probs(index)
        return point_gain(probs_K_C, post_M_K, weights_M, self.state.n_draws)

    def commit(
        self,
        step: int,
        index: int,
        gain: float,
        batch_size: int,
        completing: bool = False,
    ) -> None:
        self.indices.append(index)
        self.gains.append(gain)
        self.available_N[index] = False
        if step + 1 < batch_size and not self.spent:
            self.state.add(self.scorer.member_probs(index))
            if completing:  # drawn picks: stop tracking once nothing is left
                self.spent = self.state.member_entropy() < _SPENT

    def joint_information(self) -> tuple[float, float, bool]:
        """``I(y_A; w)`` of the whole batch, its standard error, exactness."""
        K = self.state.K
        if self.state.exact:  # every gain was exact: their sum is
            return min(max(float(np.sum(self.gains)), 0.0), math.log(K)), 0.0, True
        if not self.spent:
            self.state.add(self.scorer.member_probs(self.indices[-1]))
        h, se = self.state.member_entropy_with_error()
        return min(max(math.log(K) - h, 0.0), math.log(K)), se, False


def _is_saturated(gain: float, se: float) -> bool:
    return gain < max(SATURATION_FLOOR, SATURATION_Z * se)


def run_greedy(
    scorer, batch_size, M, rng, lazy, return_utilities, callback, remedy
) -> dict:
    """The greedy loop of :func:`batchbald.engine.select_batch` (arguments
    checked); returns the fields of a ``BatchSelection``."""
    run = _GreedyRun(scorer, batch_size, M, rng, lazy, return_utilities, remedy)
    saturated_at: int | None = None
    drawn: list[int] = []
    for step in range(batch_size):
        if drawn:
            chosen = drawn.pop(0)
            gain, se = run.completion_gain(chosen)
            run.completion_utilities(step)
        else:
            chosen, gain, se = run.greedy_choice(step)
            if saturated_at is None and _is_saturated(gain, se):
                saturated_at = step
                if remedy.completion is not None:
                    drawn = run.completion_order(batch_size, remedy.completion)
                    chosen = drawn.pop(0)
                    gain, se = run.completion_gain(chosen)
        gain = max(gain, 0.0)  # rounding below zero is reported as 0
        completing = saturated_at is not None and remedy.completion is not None
        run.commit(step, chosen, gain, batch_size, completing)
        if callback is not None:
            callback(step, chosen, gain)
    joint, joint_se, exact = run.joint_information()
    return {
        "indices": np.asarray(run.indices, dtype=np.intp),
        "gains": np.asarray(run.gains),
        "utilities": run.utilities,
        "n_scored": run.n_scored,
        "saturated_at": saturated_at,
        "joint_information": joint,
        "joint_information_se": joint_se,
        "exact": exact,
    }
