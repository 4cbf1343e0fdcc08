"""Tests of batchbald.information against brute-force enumeration."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchbald.information import (
    bald_scores,
    check_probabilities,
    conditional_entropy,
    conditional_mutual_information,
    entropy,
    enumerate_configurations,
    expected_entropy,
    joint_entropy_exact,
    joint_entropy_sampled,
    predictive_entropy,
    sample_configurations,
)


def random_probs(rng, K, N, C, alpha=0.7):
    return rng.dirichlet(np.full(C, alpha), size=(K, N))


def brute_joint_entropy(probs_K_B_C):
    """H(y_1..y_B) by summing over every labelling, one at a time."""
    K, B, C = probs_K_B_C.shape
    total = 0.0
    for labels in itertools.product(range(C), repeat=B):
        p = np.mean([np.prod(probs_K_B_C[k, np.arange(B), labels]) for k in range(K)])
        if p > 0:
            total -= p * np.log(p)
    return total


@st.composite
def ensembles(draw, max_K=4, max_B=3, max_C=3):
    K = draw(st.integers(1, max_K))
    B = draw(st.integers(1, max_B))
    C = draw(st.integers(2, max_C))
    seed = draw(st.integers(0, 2**31 - 1))
    alpha = draw(st.sampled_from([0.1, 0.5, 1.0, 5.0]))
    return random_probs(np.random.RandomState(seed), K, B, C, alpha)


@settings(max_examples=60, deadline=None)
@given(ensembles())
def test_exact_joint_entropy_equals_enumeration(probs):
    assert joint_entropy_exact(probs) == pytest.approx(
        brute_joint_entropy(probs), abs=1e-10
    )


@settings(max_examples=40, deadline=None)
@given(ensembles(max_B=1))
def test_bald_is_joint_entropy_minus_expected_entropy(probs):
    expected = joint_entropy_exact(probs) - expected_entropy(probs)[0]
    assert bald_scores(probs)[0] == pytest.approx(expected, abs=1e-10)
    assert bald_scores(probs)[0] >= -1e-12


@pytest.mark.parametrize(
    ("probs_C", "expected"),
    [
        ([1.0, 0.0], 0.0),
        ([0.5, 0.5], np.log(2)),
        ([0.25, 0.25, 0.25, 0.25], np.log(4)),
        ([0.2, 0.8], -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))),
    ],
)
def test_entropy_values(probs_C, expected):
    assert entropy(probs_C) == pytest.approx(expected)


def test_entropy_eps_floors_only_the_logarithm():
    # 1e-9 * log(max(1e-9, 1e-3)) instead of 1e-9 * log(1e-9)
    p = np.array([1e-9, 1 - 1e-9])
    exact = -(1e-9 * np.log(1e-9) + (1 - 1e-9) * np.log(1 - 1e-9))
    floored = -(1e-9 * np.log(1e-3) + (1 - 1e-9) * np.log(1 - 1e-9))
    assert entropy(p) == pytest.approx(exact, rel=1e-12)
    assert entropy(p, eps=1e-3) == pytest.approx(floored, rel=1e-12)


def test_identical_members_have_zero_bald_and_additive_joint_entropy():
    rng = np.random.RandomState(0)
    member = random_probs(rng, 1, 3, 3)
    probs = np.repeat(member, 5, axis=0)
    np.testing.assert_allclose(bald_scores(probs), 0.0, atol=1e-12)
    independent = entropy(member[0]).sum()
    assert joint_entropy_exact(probs) == pytest.approx(independent)


@settings(max_examples=40, deadline=None)
@given(ensembles(max_B=3), st.integers(0, 10_000))
def test_conditional_entropy_is_chain_rule(probs, seed):
    """H(y_x | y_A) = H(y_A, y_x) - H(y_A) with enumerated configurations."""
    rng = np.random.RandomState(seed)
    K, B, C = probs.shape
    x = random_probs(rng, K, 4, C)
    log_joint, weights = enumerate_configurations(probs)
    cond = conditional_entropy(x, log_joint, weights)
    for n in range(4):
        joint = np.concatenate([probs, x[:, n : n + 1]], axis=1)
        expected = joint_entropy_exact(joint) - joint_entropy_exact(probs)
        assert cond[n] == pytest.approx(expected, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(ensembles(max_B=3), st.integers(0, 10_000))
def test_conditional_mutual_information_is_the_batchbald_gain(probs, seed):
    """I(y_x; w | y_A) = [H(y_A, y_x) - H(y_A)] - E_w H(y_x | w), exactly."""
    rng = np.random.RandomState(seed)
    K, B, C = probs.shape
    x = random_probs(rng, K, 3, C)
    log_joint, weights = enumerate_configurations(probs)
    gain = conditional_mutual_information(x, log_joint, weights)
    expected = conditional_entropy(x, log_joint, weights) - expected_entropy(x)
    np.testing.assert_allclose(gain, expected, atol=1e-10)


@pytest.mark.parametrize(("K", "B", "C"), [(3, 2, 3), (6, 3, 2)])
def test_sampled_conditional_mutual_information_is_unbiased_and_nonnegative(K, B, C):
    rng = np.random.RandomState(K + B + C)
    probs, x = random_probs(rng, K, B, C), random_probs(rng, K, 2, C)
    log_joint, weights = enumerate_configurations(probs)
    exact = conditional_mutual_information(x, log_joint, weights)
    estimates = []
    for seed in range(300):
        lj, w, _ = sample_configurations(probs, 16, random_state=seed)
        est = conditional_mutual_information(x, lj, w)
        assert np.all(est >= -1e-12)
        estimates.append(est)
    stderr = np.std(estimates, axis=0) / np.sqrt(len(estimates))
    assert np.all(np.abs(np.mean(estimates, axis=0) - exact) < 4 * stderr + 1e-9)


@pytest.mark.parametrize(("K", "B", "C"), [(3, 3, 3), (5, 4, 2), (2, 2, 4), (8, 5, 3)])
def test_sampled_joint_entropy_is_unbiased(K, B, C):
    rng = np.random.RandomState(K * 100 + B * 10 + C)
    probs = random_probs(rng, K, B, C)
    exact = joint_entropy_exact(probs)
    estimates = [joint_entropy_sampled(probs, 64, random_state=s) for s in range(300)]
    stderr = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - exact) < 4 * stderr + 1e-9


def test_sampled_joint_entropy_of_one_sample_is_exact():
    probs = random_probs(np.random.RandomState(3), 4, 1, 3)
    assert joint_entropy_sampled(probs, 5, 0) == pytest.approx(
        joint_entropy_exact(probs)
    )


@pytest.mark.parametrize(("K", "M"), [(4, 10), (4, 3), (7, 7), (3, 1000)])
def test_sample_configurations_weights_are_stratified(K, M):
    probs = random_probs(np.random.RandomState(0), K, 2, 3)
    log_joint, weights, members = sample_configurations(probs, M, random_state=1)
    assert log_joint.shape == (K, M)
    assert weights.sum() == pytest.approx(1.0)
    if M >= K:  # every member carries total weight 1/K
        per_member = np.bincount(members, weights=weights, minlength=K)
        np.testing.assert_allclose(per_member, 1.0 / K)


def test_functions_do_not_modify_their_input():
    rng = np.random.RandomState(0)
    probs = random_probs(rng, 3, 3, 3)
    probs[0, 0] = [0.0, 0.5, 0.5]
    before = probs.copy()
    bald_scores(probs, eps=0.1)
    predictive_entropy(probs, eps=0.1)
    joint_entropy_exact(probs, eps=0.01)
    joint_entropy_sampled(probs, 10, 0, eps=0.01)
    np.testing.assert_array_equal(probs, before)


@pytest.mark.parametrize(
    ("probs", "error", "match"),
    [
        (np.full((2, 3), 0.5), ValueError, "must have 3 dimensions"),
        (np.zeros((2, 0, 3)), ValueError, "empty axis"),
        (np.array([[[np.nan, 1.0]]]), ValueError, "NaN or infinite"),
        (np.array([[[-0.5, 1.5]]]), ValueError, "negative values"),
        (np.array([[[0.3, 0.3]]]), ValueError, "do not sum to 1"),
        (np.array([[["a", "b"]]]), TypeError, "real numbers"),
    ],
)
def test_check_probabilities_errors(probs, error, match):
    with pytest.raises(error, match=match):
        check_probabilities(probs, "probs_K_N_C")


def test_check_probabilities_names_the_parameter():
    with pytest.raises(ValueError, match="my_probs"):
        check_probabilities(np.ones((1, 1, 2)), "my_probs")


def test_joint_entropy_exact_refuses_too_many_configurations():
    probs = np.full((1, 30, 2), 0.5)
    with pytest.raises(ValueError, match="joint_entropy_sampled"):
        joint_entropy_exact(probs)


@pytest.mark.parametrize(
    ("probs", "error", "match"),
    [
        (np.full((2, 3), 0.5), ValueError, "must have 3 dimensions"),
        (np.zeros((2, 0, 3)), ValueError, "empty axis"),
        (np.array([[[np.inf, 1.0]]]), ValueError, "NaN or infinite"),
        (np.array([[[-0.5, 1.5]]]), ValueError, "negative values"),
        (np.array([[[0.3, 0.3]]]), ValueError, "do not sum to 1"),
        (np.array([[[0, 1]]]), TypeError, "floating-point"),
    ],
)
def test_check_probabilities_checks_tensors_alike(probs, error, match):
    torch = pytest.importorskip("torch")
    with pytest.raises(error, match=match):
        check_probabilities(torch.from_numpy(probs), "probs_K_N_C")


def test_check_probabilities_returns_its_input_uncopied():
    torch = pytest.importorskip("torch")
    probs = random_probs(np.random.RandomState(0), 2, 3, 4).astype(np.float32)
    assert check_probabilities(probs) is probs
    tensor = torch.from_numpy(probs)
    assert check_probabilities(tensor) is tensor


def test_check_probabilities_finds_a_fault_in_any_chunk(monkeypatch):
    import batchbald.information as info

    monkeypatch.setattr(info, "_VALIDATION_CHUNK_BYTES", 64)
    probs = random_probs(np.random.RandomState(0), 2, 50, 4)
    probs[1, 37] = [0.5, 0.5, 0.5, -0.5]
    with pytest.raises(ValueError, match="negative values"):
        check_probabilities(probs)
    probs[1, 37] = [0.5, 0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"in samples 37\.\.37"):
        check_probabilities(probs)


def test_check_probabilities_of_a_memmap_reads_in_bounded_chunks(tmp_path):
    import tracemalloc

    from batchbald.information import _VALIDATION_CHUNK_BYTES

    K, N, C = 20, 20000, 10  # 16 MB of float32
    path = tmp_path / "probs.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(K, N, C))
    out[:] = 1.0 / C
    out.flush()
    del out
    mapped = np.load(path, mmap_mode="r")
    tracemalloc.start()
    try:
        checked = check_probabilities(mapped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.shares_memory(checked, mapped)  # a view, no copy
    assert peak < _VALIDATION_CHUNK_BYTES


def test_joint_entropy_sampled_deprecated_n_samples():
    probs = random_probs(np.random.RandomState(3), 4, 3, 3)
    new = joint_entropy_sampled(probs, n_configurations=20, random_state=0)
    with pytest.warns(FutureWarning, match="n_configurations"):
        old = joint_entropy_sampled(probs, n_samples=20, random_state=0)
    assert new == old
