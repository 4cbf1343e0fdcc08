"""The greedy BatchBALD loop behind :func:`batchbald.engine.select_batch`.

The selected set's configurations (:class:`_SelectedSet`), the lazy
re-scoring rounds and the saturation remedies; the algorithm is described in
:mod:`batchbald.engine` and :mod:`batchbald.saturation`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import numpy as np

from . import _keys
from ._backend import Candidates, InMemoryBackend, PoolBackend
from ._lazy import _FIRST_BLOCK  # noqa: F401 (dask)
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
# float64 before the decision (both regimes; also the lazy rounds' margin, see
# _GreedyRun.greedy_choice); gains within _TIE_TOL of the best are ties
# (float64 rounding of equal gains is ~1e-15; the exactness tests ask 1e-12).
_REFINE_TOL = 3e-5
_TIE_TOL = 1e-13
# Once the members' remaining entropy is below _TIED_CAP (sampled regime),
# every gain is a float32 tie of 0; at most _MAX_PRECISE candidates of a
# sampled step are re-scored in float64 (see _GreedyRun.greedy_choice).
_TIED_CAP = 4 * _REFINE_TOL
_MAX_PRECISE = 1024
# How many samples of largest BALD score such a step decides among.
_TIED_CANDIDATES = 64
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


class GreedySteps(abc.ABC):
    """The steps of one greedy batch selection, driven by :func:`greedy_loop`.

    BatchBALD's run (:class:`_GreedyRun`) and batch EPIG's
    (``batchbald._epig_engine._EpigRun``) fill them: the same loop then
    decides when the batch saturated and how a completion draws the rest.
    """

    @abc.abstractmethod
    def choose(self, step: int) -> tuple[int, float, bool]:
        """The step's greedy pick, its gain and whether the batch saturated
        at it (the gain is below what the members can still tell)."""

    @abc.abstractmethod
    def completion_order(self, mode: str) -> list[int]:
        """The rest of the batch, drawn by completion ``mode``."""

    @abc.abstractmethod
    def drawn_gain(self, step: int, index: int, first: bool) -> float:
        """The gain of the drawn pick ``index`` at ``step`` (``first``: drawn
        at the saturating step, whose utilities row :meth:`choose` filled)."""

    @abc.abstractmethod
    def commit(self, step: int, index: int, gain: float, completing: bool) -> None:
        """Add ``index`` to the batch (``completing``: a drawn pick)."""


def greedy_loop(
    run: GreedySteps, batch_size: int, completion: str | None, callback
) -> int | None:
    """Choose ``batch_size`` samples with ``run``; from the first saturated
    step on, draw the rest by ``completion`` (None: keep choosing greedily).
    Returns that step (None: the batch did not saturate)."""
    saturated_at: int | None = None
    drawn: list[int] = []
    for step in range(batch_size):
        if drawn:
            chosen = drawn.pop(0)
            gain = run.drawn_gain(step, chosen, first=False)
        else:
            chosen, gain, saturated = run.choose(step)
            if saturated_at is None and saturated:
                saturated_at = step
                if completion is not None:
                    drawn = run.completion_order(completion)
                    chosen = drawn.pop(0)
                    gain = run.drawn_gain(step, chosen, first=True)
        gain = max(gain, 0.0)  # rounding below zero is reported as 0
        completing = saturated_at is not None and completion is not None
        run.commit(step, chosen, gain, completing)
        if callback is not None:
            callback(step, chosen, gain)
    return saturated_at


class _GreedyRun(GreedySteps):
    """The state of one greedy selection over a :class:`PoolBackend`: the
    selected set, the chosen samples, the outputs."""

    def __init__(self, backend, batch_size, M, rng, lazy, return_utilities, remedy):
        K, N, C = backend.shape
        self.backend, self.rng, self.lazy = backend, rng, lazy
        self.batch_size = batch_size
        self.state = _SelectedSet(K, C, M, rng, remedy.label_noise)
        self.utilities = np.full((batch_size, N), np.nan) if return_utilities else None
        self.indices: list[int] = []
        self.gains: list[float] = []
        self.n_scored = 0
        self.spent = False  # the members' entropy is used up (drawn picks)
        self.drawn_bald: dict[int, float] = {}

    def greedy_choice(self, step: int) -> tuple[int, float, float]:
        """The step's greedy pick, its gain and the gain's standard error.

        Step 0 decides on the float64 BALD scores. Later steps screen the
        pool in float32 and decide, in both regimes, on the float64 gains
        (on the full configurations) of the candidates within
        ``_REFINE_TOL`` of the best screened gain, ties within ``_TIE_TOL``
        broken by the rng. Why no candidate that could be the float64 best
        is missed: let ``e`` bound the difference between a screened and a
        float64 gain (float32 rounding, about 1e-6 nats, plus in the exact
        regime at most ``_SCREEN_DROP_MASS * log C``), ``b`` the best screened
        candidate and ``x`` the float64 best. If ``x`` was scored, its
        screened gain is at least ``g64(x) - e >= g64(b) - e >= g32(b) - 2e``,
        inside the window since ``2e < _REFINE_TOL``. A candidate the lazy
        round left closed has a bound of at most ``g32(b) - _REFINE_TOL``
        (margin ``-_REFINE_TOL``) or the members' remaining entropy ``cap``
        is at most that; with the bound above its gain up to ``e`` (and
        ``cap`` above every float64 gain), its float64 gain is at most
        ``g32(b) - _REFINE_TOL + e < g64(b)``. In the sampled regime the
        bounds are earlier estimates, upper bounds of the gains only in
        expectation (as before: lazy evaluation there follows the estimate).
        Two exceptions keep a saturated step cheap. Once the members'
        remaining entropy ``cap`` (which no gain exceeds) is at most
        ``_TIED_CAP`` (sampled regime, lazy), every gain is within a few
        windows of 0, far below the saturation floor of 1e-3 nats: the window
        around the best would hold the whole pool, so the step decides in
        float64 among the ``_TIED_CANDIDATES`` available samples of largest
        BALD score instead (the same in both engines, and no screening at all).
        When more than ``_MAX_PRECISE`` screened candidates are in the window
        (sampled regime), only that many of the best are re-scored, and the
        engines may then pick differently among those float32 near-ties.
        """
        want_row = self.utilities is not None
        if step == 0:
            cand = self.backend.first_candidates(_TIE_TOL, want_row)
            gain_n, tie_tol = cand.gain, np.inf
        else:
            cap = self.state.member_entropy()
            if self.lazy and not self.state.exact and cap <= _TIED_CAP:
                idx = self.backend.top_bald(_TIED_CANDIDATES)  # float32 ties
                cand = Candidates(idx, np.zeros(len(idx)), len(idx))
            else:
                post_M_K, weights_M = self.state.screen()
                cand = self.backend.step_candidates(
                    post_M_K, weights_M, lazy=self.lazy, cap=cap,
                    margin=-_REFINE_TOL, window=_REFINE_TOL, want_row=want_row,
                )  # fmt: skip
            if not self.state.exact and len(cand.idx) > _MAX_PRECISE:
                top = np.lexsort((cand.idx, -cand.gain))[:_MAX_PRECISE]
                cand.idx, cand.gain = cand.idx[top], cand.gain[top]
            gain_n = self.backend.precise_gains(cand.idx, *self.state.full())
            tie_tol = _TIE_TOL
        self.n_scored += cand.n_scored
        chosen = int(cand.idx[_pick(gain_n, cand.idx, self.rng, tie_tol)])
        gain, se = float(gain_n[cand.idx == chosen][0]), 0.0
        if step > 0 and not self.state.exact:  # the float64 estimate and its error
            gain, se = self._point_gain(chosen)
        if self.utilities is not None:
            base = float(np.sum(self.gains))
            self.utilities[step] = base + np.maximum(cand.row, 0.0)
            self.utilities[step, cand.idx] = base + np.maximum(gain_n, 0.0)
        return chosen, gain, se

    def choose(self, step: int) -> tuple[int, float, bool]:
        chosen, gain, se = self.greedy_choice(step)
        return chosen, gain, _is_saturated(gain, se)

    def drawn_gain(self, step: int, index: int, first: bool) -> float:
        gain, _ = self.completion_gain(index)
        if not first:
            self.completion_utilities(step)
        return gain

    def completion_order(self, mode: str) -> list[int]:
        """Draw the rest of the batch without replacement (Gumbel-top-k):
        ``"power"`` in proportion to the BALD scores, ``"random"`` uniformly.

        The Gumbel noise is per pool index (:mod:`batchbald._keys`) from one
        seed drawn from the caller's rng, so any backend draws the same.
        """
        n = min(self.batch_size, self.backend.shape[1]) - len(self.indices)
        seed = _keys.draw_seed(self.rng)
        idx, bald = self.backend.completion_order(n, mode, seed)
        self.drawn_bald = {int(i): float(g) for i, g in zip(idx, bald, strict=True)}
        return [int(i) for i in idx]

    def completion_utilities(self, step: int) -> None:
        """Fill utilities row ``step`` of a drawn pick (only when requested)."""
        if self.utilities is None:
            return
        row, n_scored = self.backend.utilities_row(*self.state.screen())
        self.n_scored += n_scored
        self.utilities[step] = float(np.sum(self.gains)) + np.maximum(row, 0.0)

    def completion_gain(self, index: int) -> tuple[float, float]:
        """The exact or estimated gain of a drawn pick, with its error.

        Once the members' remaining entropy is below ``_SPENT`` nats, no gain
        can exceed it: the gain is 0 (to that bound) and the selected set is
        no longer extended (:meth:`commit`), which keeps a batch as large as
        the pool cheap.
        """
        if not self.indices:
            return self.drawn_bald[index], 0.0
        if self.spent:
            return 0.0, 0.0
        return self._point_gain(index)

    def _point_gain(self, index: int) -> tuple[float, float]:
        post_M_K, weights_M = self.state.full()
        probs_K_C = self.backend.member_probs(index)
        return point_gain(probs_K_C, post_M_K, weights_M, self.state.n_draws)

    def commit(self, step: int, index: int, gain: float, completing: bool) -> None:
        self.indices.append(index)
        self.gains.append(gain)
        self.backend.mark_chosen(index)
        if step + 1 < self.batch_size and not self.spent:
            self.state.add(self.backend.member_probs(index))
            if completing:  # drawn picks: stop tracking once nothing is left
                self.spent = self.state.member_entropy() < _SPENT

    def joint_information(self) -> tuple[float, float, bool]:
        """``I(y_A; w)`` of the whole batch, its standard error, exactness."""
        K = self.state.K
        if self.state.exact:  # every gain was exact: their sum is
            return min(max(float(np.sum(self.gains)), 0.0), math.log(K)), 0.0, True
        if not self.spent:
            self.state.add(self.backend.member_probs(self.indices[-1]))
        h, se = self.state.member_entropy_with_error()
        return min(max(math.log(K) - h, 0.0), math.log(K)), se, False


def _is_saturated(gain: float, se: float) -> bool:
    return gain < max(SATURATION_FLOOR, SATURATION_Z * se)


def run_greedy(
    backend, batch_size, M, rng, lazy, return_utilities, callback, remedy
) -> dict:
    """The greedy loop of :func:`batchbald.engine.select_batch` and
    :func:`batchbald.dask.select_batch` (arguments checked) over a
    :class:`batchbald._backend.PoolBackend`, or a scorer (the pool in
    memory); returns the fields of a ``BatchSelection``."""
    if not isinstance(backend, PoolBackend):
        backend = InMemoryBackend(backend)
    run = _GreedyRun(backend, batch_size, M, rng, lazy, return_utilities, remedy)
    saturated_at = greedy_loop(run, batch_size, remedy.completion, callback)
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
