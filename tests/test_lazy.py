"""Tests of the lazy rounds and their upper bounds (batchbald._lazy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchbald._lazy import (
    _CALL_COST,
    TruncatedConfigurations,
    grouped_configurations,
    grouping_levels,
    lazy_round,
)
from batchbald._scoring import NumpyScorer
from batchbald.information import entropy

EPS = 1e-7


def _probs(rng, K, N, C, one_hot=0.0):
    """Member probabilities; with ``one_hot`` > 0, near one-hot votes that
    put ``1 - delta`` on one class, delta log-uniform in [one_hot/10,
    one_hot] (a forest's trees)."""
    if one_hot > 0:
        votes = rng.integers(0, C, size=(K, N))
        delta = np.exp(rng.uniform(np.log(one_hot / 10), np.log(one_hot), (K, N, 1)))
        probs = delta * rng.dirichlet(np.ones(C), size=(K, N))
        probs[np.arange(K)[:, None], np.arange(N)[None, :], votes] += 1 - delta[..., 0]
        return probs
    logits = 1.5 * rng.standard_normal((K, N, C))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    return probs / probs.sum(-1, keepdims=True)


def _posterior(rng, M, K, concentration, peaked=0.0):
    """Posteriors over members; ``peaked`` > 0 puts ``1 - peaked`` of each on
    one member (a nearly identified ensemble)."""
    post = rng.dirichlet(np.full(K, concentration), size=M)
    if peaked > 0:
        top = rng.integers(0, K, size=M)
        post *= peaked
        post[np.arange(M), top] += 1 - peaked
    return post, rng.dirichlet(np.ones(M))


def _exact_gains(probs, post, weights):
    with NumpyScorer(probs, eps=EPS, max_memory=2**20) as scorer:
        return scorer.conditional_mi(None, post, weights, precise=True)


# (K, M, C, concentration, one_hot, peaked): spread and concentrated
# posteriors; near one-hot members; nearly identified ensembles; few
# configurations; more configurations than members squared.
CASES = [
    (5, 40, 4, 0.3, 0.0, 0.0),
    (8, 200, 4, 1.0, 0.0, 0.0),
    (3, 12, 5, 5.0, 0.0, 0.0),
    (10, 60, 10, 0.5, 0.05, 0.0),
    (20, 300, 10, 0.2, 0.01, 0.01),
    (20, 100, 10, 1.0, 0.001, 0.001),
    (6, 1, 3, 1.0, 0.0, 0.0),
    (4, 500, 2, 0.1, 0.05, 0.1),
]


@pytest.mark.parametrize("K,M,C,concentration,one_hot,peaked", CASES)
def test_truncated_configurations_bound_every_gain(
    K, M, C, concentration, one_hot, peaked
):
    """For every number of kept configurations, the kept part of the
    estimate is a lower bound and it plus the left-out entropy an upper
    bound of every sample's gain."""
    rng = np.random.default_rng(K * M * C)
    probs = _probs(rng, K, 120, C, one_hot)
    post, weights = _posterior(rng, M, K, concentration, peaked)
    exact = _exact_gains(probs, post, weights)
    truncated = TruncatedConfigurations(post, weights)
    assert truncated.rest_k[0] == pytest.approx(weights @ entropy(post), abs=1e-12)
    assert truncated.rest_k[-1] == 0.0
    for k in sorted({0, 1, M // 3, M // 2, M - 1, M}):
        post_S, weights_S, rest = truncated.subset(k)
        lower = _exact_gains(probs, post_S, weights_S) if k else np.zeros_like(exact)
        assert (lower <= exact + 1e-12).all()
        assert (lower + rest >= exact - 1e-12).all()
        if 0 < k < M:
            assert rest > 0 and (lower < exact).any()  # bounds, not the estimate


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 12),
    st.integers(1, 60),
    st.integers(2, 6),
    st.floats(0.05, 5.0),
    st.sampled_from([0.0, 1e-3, 0.05]),
    st.integers(0, 2**32 - 1),
)
def test_truncated_bounds_property(K, M, C, concentration, one_hot, seed):
    rng = np.random.default_rng(seed)
    probs = _probs(rng, K, 20, C, one_hot)
    post, weights = _posterior(rng, M, K, concentration)
    exact = _exact_gains(probs, post, weights)
    truncated = TruncatedConfigurations(post, weights)
    k = int(rng.integers(1, M + 1))
    post_S, weights_S, rest = truncated.subset(k)
    lower = _exact_gains(probs, post_S, weights_S)
    assert (lower <= exact + 1e-12).all()
    assert (lower + rest >= exact - 1e-12).all()


def _uniform_pairs(entropy_M):
    """Posteriors even over two members, weighted so that configuration m
    carries ``entropy_M[m]`` nats of ``w_m H(post_m)``."""
    entropy_M = np.asarray(entropy_M, dtype=np.float64)
    return np.full((len(entropy_M), 2), 0.5), entropy_M / np.log(2)


# (tau, expected kept): entropies 0.2, 0.4, 0.1, 0.3 (remainders 1.0, 0.6,
# 0.3, 0.1, 0 as the largest are kept).
@pytest.mark.parametrize(
    "tau,kept",
    [
        (1.01, 0),
        (0.99, 1),
        (0.61, 1),
        (0.59, 2),
        (0.31, 2),
        (0.15, 3),
        (0.05, 4),
        (0.0, 4),
    ],  # fmt: skip
)
def test_truncated_keep_counts_the_largest_entropies(tau, kept):
    post, weights = _uniform_pairs([0.2, 0.4, 0.1, 0.3])
    truncated = TruncatedConfigurations(post, weights)
    assert truncated.keep(tau) == kept
    post_S, weights_S, rest = truncated.subset(kept)
    assert rest <= tau
    # The kept ones are those of the largest entropy, in their original order.
    want = sorted([1, 3, 0, 2][:kept])
    np.testing.assert_allclose(weights_S, weights[want])


# (entropies, best, expected stage sizes); stages keep remainders of at most
# best/4 and best/20, each at most 40 % of the configurations.
@pytest.mark.parametrize(
    "entropy_M,best,sizes",
    [
        ([0.01] * 100, 3.02, [25]),  # the second stage (85 kept) costs too much
        ([0.001] * 1000, 16.03, [199]),  # the first would keep none
        ([0.001] * 1000, 20.5, []),  # best above 4x the entropy: nothing to keep
        ([0.001] * 1000, 0.0, []),  # nothing found yet: every one is needed
        ([0.09] * 10 + [0.1 / 90] * 90, 1.0, [9]),
        ([0.09] * 10 + [0.1 / 90] * 90, 2.4, [5, 10]),
    ],
)
def test_truncated_stages(entropy_M, best, sizes):
    truncated = TruncatedConfigurations(*_uniform_pairs(entropy_M))
    assert [k for _, k in truncated.stages(best)] == sizes


@pytest.mark.parametrize(
    "K,M,concentration", [(5, 40, 0.3), (8, 200, 1.0), (3, 12, 5.0)]
)
def test_grouped_configurations_bound_every_gain(K, M, concentration):
    """Merging configurations by their most likely member can only raise the
    estimate (concavity of the mutual information in the members'
    distribution): the lazy rounds' upper bounds hold for every sample."""
    rng = np.random.default_rng(K * M)
    probs = _probs(rng, K, 150, 4)
    post = rng.dirichlet(np.full(K, concentration), size=M)
    weights = rng.dirichlet(np.ones(M))
    post_G, weights_G = grouped_configurations(post, weights)
    assert len(weights_G) <= max(K, M // 4)
    np.testing.assert_allclose(weights_G.sum(), 1.0)
    exact = _exact_gains(probs, post, weights)
    upper = _exact_gains(probs, post_G, weights_G)
    assert (upper >= exact - 1e-12).all()
    assert (upper > exact + 1e-6).any()  # a bound, not the same estimate


@pytest.mark.parametrize(
    "K,M,concentration", [(5, 400, 0.3), (8, 200, 1.0), (20, 300, 0.1)]
)
def test_grouping_levels_bound_every_gain_coarse_to_fine(K, M, concentration):
    rng = np.random.default_rng(K + M)
    probs = _probs(rng, K, 150, 4)
    post, weights = _posterior(rng, M, K, concentration)
    exact = _exact_gains(probs, post, weights)
    levels = grouping_levels(post, weights)
    assert levels and len(levels[0][1]) <= K
    sizes = [len(w) for _, w in levels]
    assert sizes == sorted(set(sizes)) and sizes[-1] <= M // 2
    for post_G, weights_G in levels:
        np.testing.assert_allclose(weights_G.sum(), 1.0)
        assert (_exact_gains(probs, post_G, weights_G) >= exact - 1e-12).all()


def test_grouped_configurations_none_when_few():
    post = np.full((7, 2), 0.5)
    assert grouped_configurations(post, np.full(7, 1 / 7)) is None


# (K, N, C, M, one_hot, peaked, margin, call_cost): spread and peaked
# posteriors, near one-hot members, the exact regime's negative margin and
# the sampled one's positive one; calls costing nothing (first blocks of 64)
# and the default cost (first blocks of about one call's cost).
@pytest.mark.parametrize(
    "K,N,C,M,one_hot,peaked,margin,call_cost",
    [
        (8, 3000, 4, 200, 0.0, 0.0, -3e-5, 0),
        (20, 3000, 10, 300, 0.01, 0.01, -3e-5, 0),
        (20, 2000, 10, 100, 0.001, 0.05, 1e-6, 0),
        (4, 500, 3, 8, 0.0, 0.0, 1e-6, 0),
        (8, 3000, 4, 200, 0.0, 0.0, -3e-5, _CALL_COST),
        (20, 3000, 10, 300, 0.01, 0.01, -3e-5, _CALL_COST),
        (20, 6000, 10, 100, 0.001, 0.05, 1e-6, _CALL_COST),
    ],
)
def test_lazy_round_scores_every_candidate_that_can_win(
    K, N, C, M, one_hot, peaked, margin, call_cost
):
    """Every candidate whose float32 gain can beat the round's best by more
    than the margin is scored, and the best is the full scan's."""
    rng = np.random.default_rng(N + M)
    probs = _probs(rng, K, N, C, one_hot).astype(np.float32)
    post, weights = _posterior(rng, M, K, 0.3, peaked)
    with NumpyScorer(probs, eps=EPS, max_memory=2**22) as scorer:
        predictive, expected = scorer.entropies()
        full = scorer.conditional_mi(None, post, weights)
        # Bounds: the BALD scores (gains given nothing), loosened a little
        # on some candidates as earlier steps' gains would be.
        bounds = predictive - expected + rng.uniform(0, 1e-3, N)
        available = rng.random(N) < 0.9
        cap = float(weights @ entropy(post))
        idx, gains = lazy_round(
            scorer, post, weights, bounds.copy(), available, cap=cap,
            margin=margin, call_cost=call_cost,
        )  # fmt: skip
    assert available[idx].all() and len(np.unique(idx)) == len(idx)
    np.testing.assert_allclose(gains, full[idx], atol=1e-6)
    best = gains.max()
    assert best == pytest.approx(full[available].max(), abs=1e-6)
    must = np.flatnonzero(available & (full > best + margin + 1e-6))
    assert np.isin(must, idx).all()
    assert len(idx) < available.sum()  # lazy: some were closed unscored


class _TableScorer:
    """A scorer whose gains are a table: ``gains_N`` on the round's ``M``
    configurations, ``loose`` more on any other (stages close nothing).
    Records the candidates of every call on the ``M`` configurations."""

    def __init__(self, gains_N, M, loose=10.0):
        self.gains_N, self.M, self.loose = gains_N, M, loose
        self.calls: list[np.ndarray] = []

    def conditional_mi(self, idx_n, post_M_K, weights_M, precise=False):
        if len(weights_M) == self.M:
            self.calls.append(np.asarray(idx_n))
            return self.gains_N[idx_n].copy()
        return self.gains_N[idx_n] + self.loose


# (N, M, call_cost, spread, expected sizes of the scoring calls): loose
# bounds (every bound 1, every gain 0.5: nothing closes) in blocks of 64,
# then 4x, and all the open ones once a block would hold a quarter of them;
# a first block that costs about one call (ceil(2**15 / (10 + 32)) = 781
# points, a quarter of 3000 or more: one pass); tight bounds (each gain just
# below its bound, the best closes the rest after the first block).
@pytest.mark.parametrize(
    "N,M,call_cost,tight,sizes",
    [
        (3000, 10, 0, False, [64, 256, 2680]),
        (3000, 10, _CALL_COST, False, [3000]),
        (20000, 10, _CALL_COST, False, [781, 3124, 16095]),
        (3000, 100, _CALL_COST, False, [249, 2751]),
        (3000, 10, 0, True, [64]),
        (3000, 10, _CALL_COST, True, [3000]),
        (20000, 10, _CALL_COST, True, [781]),
    ],
)
def test_lazy_round_blocks(N, M, call_cost, tight, sizes):
    rng = np.random.default_rng(N + M)
    if tight:
        bounds = rng.uniform(0.0, 1.0, N)
        gains = bounds - 1e-3
    else:
        bounds, gains = np.ones(N), np.full(N, 0.5)
    post, weights = _posterior(rng, M, 4, 0.3)
    scorer = _TableScorer(gains, M)
    idx, got = lazy_round(
        scorer, post, weights, bounds.copy(), np.ones(N, dtype=bool), cap=10.0,
        margin=-3e-5, call_cost=call_cost,
    )  # fmt: skip
    assert [len(c) for c in scorer.calls] == sizes
    assert len(np.unique(idx)) == len(idx) == sum(sizes)
    np.testing.assert_array_equal(got, gains[idx])
    # Each block takes the open candidates of largest bound.
    first = scorer.calls[0]
    assert bounds[first].min() >= np.delete(bounds, first).max(initial=-np.inf)


def test_lazy_round_with_few_configurations_is_one_pass():
    """Ten configurations on a small pool: one call scores every available
    candidate, with the full scan's gains."""
    rng = np.random.default_rng(5)
    probs = _probs(rng, 20, 700, 10, 0.01).astype(np.float32)
    post, weights = _posterior(rng, 10, 20, 0.3)
    available = rng.random(700) < 0.8
    with NumpyScorer(probs, eps=EPS, max_memory=2**22) as scorer:
        predictive, expected = scorer.entropies()
        full = scorer.conditional_mi(None, post, weights)
        scorer.conditional_mi = _counting(scorer.conditional_mi, calls := [])
        idx, gains = lazy_round(
            scorer, post, weights, predictive - expected, available,
            cap=float(weights @ entropy(post)), margin=-3e-5,
        )  # fmt: skip
    assert calls == [available.sum()]
    np.testing.assert_array_equal(np.sort(idx), np.flatnonzero(available))
    np.testing.assert_allclose(gains, full[idx], atol=1e-6)


def _counting(conditional_mi, calls):
    def wrapper(idx_n, post_M_K, weights_M, precise=False):
        calls.append(len(idx_n))
        return conditional_mi(idx_n, post_M_K, weights_M, precise)

    return wrapper
