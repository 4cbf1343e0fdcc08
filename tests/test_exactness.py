"""The exact regime of greedy BatchBALD against a brute-force float64 oracle.

The oracle enumerates the full joint predictive of the selected set plus each
candidate (labellings of probability 0 dropped, which changes no entropy),
takes entropies with ``0 log 0 = 0`` exactly, and scores every candidate at
every step. The engine must pick a point the oracle ranks best (the same
point when the oracle's best is unique) and report its gain to 1e-12.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import xlogy

from batchbald.engine import select_batch
from batchbald.information import (
    configuration_weights,
    enumerate_configurations,
    extend_configurations,
    posterior_weights,
)

TOL = 1e-12


def _entropy(p):
    return -np.sum(xlogy(p, p), axis=-1)


def oracle_joint_entropy(probs_K_S_C):
    """H(y_S) by enumerating every labelling of S (zero-probability dropped)."""
    K, S, C = probs_K_S_C.shape
    joint_K_L = np.ones((K, 1))
    for i in range(S):
        joint_K_L = (joint_K_L[:, :, None] * probs_K_S_C[:, i, None, :]).reshape(K, -1)
        joint_K_L = joint_K_L[:, joint_K_L.sum(axis=0) > 0]
    return float(_entropy(joint_K_L.mean(axis=0)))


def oracle_gains(probs_K_N_C, chosen):
    """Exact gains I(y_n; w | y_A) of every candidate (NaN at chosen ones)."""
    K, N, C = probs_K_N_C.shape
    h_A = oracle_joint_entropy(probs_K_N_C[:, chosen]) if chosen else 0.0
    member_h_N = _entropy(probs_K_N_C).mean(axis=0)
    gains = np.full(N, np.nan)
    for n in range(N):
        if n not in chosen:
            h = oracle_joint_entropy(probs_K_N_C[:, chosen + [n]])
            gains[n] = h - h_A - member_h_N[n]
    return gains


def check_against_oracle(probs, batch_size, **kwargs):
    result = select_batch(probs, batch_size, random_state=0, **kwargs)
    assert result.exact
    chosen = []
    for step, (index, gain) in enumerate(
        zip(result.indices, result.gains, strict=True)
    ):
        gains = oracle_gains(probs, chosen)
        best = np.nanmax(gains)
        assert gains[index] >= best - TOL, (step, index, gains[index], best)
        assert abs(gain - max(gains[index], 0.0)) <= TOL, (step, gain, gains[index])
        ties = np.flatnonzero(gains >= best - TOL)
        if len(ties) == 1:
            assert index == ties[0]
        chosen.append(int(index))
    total = (
        oracle_joint_entropy(probs[:, chosen])
        - _entropy(probs[:, chosen]).mean(axis=0).sum()
    )
    assert abs(result.joint_information - min(total, np.log(probs.shape[0]))) <= 1e-11
    return result


def make_probs(kind, K, N, C, seed):
    rng = np.random.RandomState(seed)
    if kind == "dirichlet":
        return rng.dirichlet(np.full(C, 0.5), size=(K, N))
    if kind == "peaked":  # tiny but non-zero probabilities, well below 1e-7
        return rng.dirichlet(np.full(C, 0.02), size=(K, N))
    if kind == "onehot":
        return np.eye(C)[rng.randint(0, C, size=(K, N))]
    if kind == "zeros":  # exact zeros in otherwise soft predictions
        p = rng.dirichlet(np.ones(C), size=(K, N))
        p[rng.random_sample(p.shape) < 0.4] = 0.0
        p[..., 0] += p.sum(axis=-1) == 0
        return p / p.sum(axis=-1, keepdims=True)
    if kind == "mixed":  # half the members one-hot, half soft
        p = rng.dirichlet(np.full(C, 0.3), size=(K, N))
        p[: K // 2] = np.eye(C)[rng.randint(0, C, size=(K // 2, N))]
        return p
    if kind == "duplicates":  # repeated pool points and members
        p = rng.dirichlet(np.full(C, 0.5), size=(max(1, K // 2), max(1, N // 2)))
        return np.tile(p, (2, 2, 1))[:K, :N]
    raise ValueError(kind)


CASES = [
    # kind, K, N, C, batch_size, n_samples
    ("dirichlet", 5, 12, 3, 4, 10**6),
    ("dirichlet", 20, 15, 10, 3, None),  # the defaults: M = 1000
    ("dirichlet", 10, 10, 10, 4, None),
    ("peaked", 8, 12, 4, 4, 10**6),
    ("peaked", 100, 6, 100, 2, None),
    ("onehot", 100, 6, 100, 2, None),
    ("onehot", 16, 20, 2, 8, None),  # stays exact: at most 16 possible labellings
    ("onehot", 7, 12, 3, 5, 10**6),
    ("zeros", 6, 12, 4, 4, 10**6),
    ("zeros", 30, 10, 5, 3, None),
    ("mixed", 10, 12, 5, 3, None),
    ("mixed", 40, 10, 3, 4, 10**6),
    ("duplicates", 8, 12, 3, 4, 10**6),
]


@pytest.mark.parametrize(("kind", "K", "N", "C", "b", "M"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_engine_matches_the_brute_force_oracle(kind, K, N, C, b, M, seed):
    probs = make_probs(kind, K, N, C, seed)
    check_against_oracle(probs, b, n_samples=M)


@pytest.mark.parametrize("lazy", [True, False])
def test_full_scan_matches_the_oracle(lazy):
    probs = make_probs("zeros", 6, 14, 3, 7)
    check_against_oracle(probs, 5, n_samples=10**6, lazy=lazy)


@st.composite
def exact_pools(draw):
    kind = draw(st.sampled_from(["dirichlet", "peaked", "onehot", "zeros", "mixed"]))
    K = draw(st.integers(2, 12))
    N = draw(st.integers(3, 10))
    C = draw(st.integers(2, 4))
    return make_probs(kind, K, N, C, draw(st.integers(0, 2**31 - 1)))


@settings(max_examples=40, deadline=None)
@given(exact_pools(), st.integers(1, 4))
def test_engine_matches_the_oracle_property(probs, batch_size):
    check_against_oracle(probs, min(batch_size, probs.shape[1]), n_samples=10**6)


def test_one_hot_members_stay_exact_beyond_c_to_the_b():
    probs = make_probs("onehot", 8, 40, 10, 3)
    result = select_batch(probs, 6, random_state=0)  # 10**5 > M labellings
    assert result.exact
    assert result.joint_information == pytest.approx(np.log(8), abs=1e-12)


# -- the configuration functions with zeros ---------------------------------
def test_ruled_out_labellings_have_zero_weight_and_zero_posterior():
    probs_K_C = np.array([[1.0, 0.0], [0.5, 0.5]])
    log_joint_K_M, _ = extend_configurations(np.zeros((2, 1)), probs_K_C, exact=True)
    assert log_joint_K_M[0, 1] == -np.inf
    np.testing.assert_allclose(configuration_weights(log_joint_K_M), [0.75, 0.25])
    post = posterior_weights(log_joint_K_M)
    np.testing.assert_array_equal(post[1], [0.0, 1.0])
    np.testing.assert_allclose(post[0], [2 / 3, 1 / 3], rtol=1e-15)


def test_labellings_every_member_rules_out_have_weight_zero():
    probs_K_B_C = np.array([[[1.0, 0.0]], [[1.0, 0.0]]])
    log_joint_K_M, weights_M = enumerate_configurations(probs_K_B_C)
    np.testing.assert_array_equal(weights_M, [1.0, 0.0])
    post = posterior_weights(log_joint_K_M)
    assert np.isfinite(post).all()
    np.testing.assert_array_equal(post[0], [0.5, 0.5])


def test_enumerated_weights_are_the_exact_joint():
    probs = make_probs("zeros", 4, 3, 3, 1)
    _, weights_M = enumerate_configurations(probs)
    joint = np.einsum("ka,kb,kc->abc", *(probs[:, i] for i in range(3))) / 4
    np.testing.assert_allclose(weights_M, joint.ravel(), rtol=1e-14, atol=0)
