"""Tests of greedy batch EPIG (batchbald._epig_engine) against brute force."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchbald._epig_engine import select_batch_epig, select_epig_topk
from batchbald.epig import epig_scores


def random_probs(rng, K, N, C, alpha=0.5):
    return rng.dirichlet(np.full(C, alpha), size=(K, N))


def set_target_mi(pool_K_S_C, target_K_C):
    """I(y_S; y*) by enumerating every joint labelling of the set S."""
    K, S, _ = pool_K_S_C.shape
    table_K_L = np.ones((K, 1))
    for s in range(S):
        table_K_L = (table_K_L[:, :, None] * pool_K_S_C[:, s, None, :]).reshape(K, -1)
    joint = table_K_L.T @ target_K_C / K
    outer = np.outer(joint.sum(1), joint.sum(0))
    mask = joint > 0
    return float(np.sum(joint[mask] * np.log(joint[mask] / outer[mask])))


def objective(pool, target, batch):
    """E_{x*} I(y_batch; y*), the mean over targets."""
    if not batch:
        return 0.0
    return float(
        np.mean(
            [
                set_target_mi(pool[:, batch], target[:, t])
                for t in range(target.shape[1])
            ]
        )
    )


def brute_force_greedy(pool, target, batch_size):
    """Plain greedy joint EPIG: every candidate, every step, full enumeration."""
    N = pool.shape[1]
    chosen, rows = [], []
    for _ in range(batch_size):
        row = np.full(N, np.nan)
        for n in range(N):
            if n not in chosen:
                row[n] = objective(pool, target, chosen + [n])
        chosen.append(int(np.nanargmax(row)))
        rows.append(row)
    return np.array(chosen), np.array(rows)


def has_near_ties(rows, tol=1e-8):
    for row in rows:
        r = np.sort(row[np.isfinite(row)])
        if len(r) > 1 and r[-1] - r[-2] < tol:
            return True
    return False


@pytest.mark.parametrize(
    ("K", "N", "T", "C", "b", "seed"),
    [
        (4, 6, 3, 2, 3, 0),
        (6, 12, 5, 3, 4, 1),
        (10, 8, 4, 4, 3, 2),
        (3, 10, 6, 3, 5, 3),
        (8, 9, 2, 2, 6, 4),
    ],
)
def test_greedy_equals_brute_force_greedy_in_exact_regime(K, N, T, C, b, seed):
    rng = np.random.RandomState(seed)
    pool, target = random_probs(rng, K, N, C), random_probs(rng, K, T, C)
    expected_idx, expected_rows = brute_force_greedy(pool, target, b)
    assert not has_near_ties(expected_rows)
    M = C ** (b - 1)
    lazy = select_batch_epig(
        pool, target, b, n_configurations=M, eps=0.0, random_state=0
    )
    full = select_batch_epig(
        pool,
        target,
        b,
        n_configurations=M,
        eps=0.0,
        random_state=0,
        return_utilities=True,
    )
    np.testing.assert_array_equal(lazy.indices, expected_idx)
    np.testing.assert_array_equal(full.indices, expected_idx)
    np.testing.assert_allclose(full.utilities, expected_rows, atol=1e-6, equal_nan=True)
    steps = [objective(pool, target, list(expected_idx[: i + 1])) for i in range(b)]
    np.testing.assert_allclose(np.cumsum(lazy.gains), steps, atol=1e-9)


@st.composite
def problems(draw):
    K = draw(st.integers(2, 5))
    N = draw(st.integers(2, 7))
    T = draw(st.integers(1, 4))
    C = draw(st.integers(2, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    alpha = draw(st.sampled_from([0.3, 1.0]))
    return random_probs(rng, K, N, C, alpha), random_probs(rng, K, T, C, alpha)


@settings(max_examples=15, deadline=None)
@given(problems(), st.integers(1, 3))
def test_greedy_matches_brute_force_property(problem, b):
    pool, target = problem
    b = min(b, pool.shape[1])
    expected_idx, expected_rows = brute_force_greedy(pool, target, b)
    if has_near_ties(expected_rows):
        return
    got = select_batch_epig(
        pool, target, b, n_configurations=10**4, eps=0.0, random_state=1
    )
    np.testing.assert_array_equal(got.indices, expected_idx)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_step_is_the_epig_argmax_and_utilities_row_0_is_epig(seed):
    rng = np.random.RandomState(seed)
    pool, target = random_probs(rng, 8, 40, 4), random_probs(rng, 8, 10, 4)
    scores = epig_scores(pool, target)
    res = select_batch_epig(pool, target, 3, random_state=0, return_utilities=True)
    assert res.indices[0] == np.argmax(scores)
    np.testing.assert_allclose(res.utilities[0], scores, atol=2e-6)
    assert res.gains[0] == pytest.approx(scores.max(), abs=1e-12)
    # Rows are NaN exactly at the samples chosen before.
    for i in range(1, 3):
        assert set(np.flatnonzero(np.isnan(res.utilities[i]))) == set(res.indices[:i])


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_regime_lazy_equals_full_scan_and_is_reproducible(seed):
    rng = np.random.RandomState(seed)
    pool, target = random_probs(rng, 6, 30, 5), random_probs(rng, 6, 8, 5)
    kwargs = {"n_configurations": 7, "random_state": 3}
    lazy = select_batch_epig(pool, target, 5, **kwargs)
    full = select_batch_epig(pool, target, 5, lazy=False, **kwargs)
    again = select_batch_epig(pool, target, 5, **kwargs)
    np.testing.assert_array_equal(lazy.indices, full.indices)
    np.testing.assert_array_equal(lazy.indices, again.indices)
    np.testing.assert_allclose(lazy.gains, full.gains, atol=1e-12)
    assert len(set(lazy.indices)) == 5
    assert np.all(lazy.gains >= -1e-12)
    assert lazy.n_scored <= full.n_scored


def test_topk_equals_the_highest_brute_force_scores():
    rng = np.random.RandomState(5)
    pool, target = random_probs(rng, 5, 25, 3), random_probs(rng, 5, 7, 3)
    res = select_epig_topk(pool, target, 4, random_state=0, return_utilities=True)
    scores = epig_scores(pool, target)
    np.testing.assert_array_equal(res.indices, np.argsort(-scores)[:4])
    np.testing.assert_allclose(res.utilities[0], scores, atol=2e-6)
    np.testing.assert_allclose(res.gains, np.sort(scores)[::-1][:4], atol=1e-12)


def test_equal_candidates_are_broken_by_the_random_state():
    rng = np.random.RandomState(0)
    one = random_probs(rng, 4, 1, 3)
    pool = np.repeat(one, 6, axis=1)
    target = random_probs(rng, 4, 3, 3)
    picks = {
        int(select_batch_epig(pool, target, 1, random_state=s).indices[0])
        for s in range(8)
    }
    assert len(picks) > 1


def test_more_than_the_pool_warns_and_selects_everything():
    rng = np.random.RandomState(0)
    pool, target = random_probs(rng, 3, 4, 2), random_probs(rng, 3, 2, 2)
    with pytest.warns(UserWarning, match="batch_size=6 is larger"):
        res = select_batch_epig(pool, target, 6, random_state=0)
    assert sorted(res.indices) == [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select_epig_topk(pool, target, 2, random_state=0)


def test_lazy_with_utilities_is_refused():
    probs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match="lazy=True cannot return utilities"):
        select_batch_epig(probs, probs, 1, lazy=True, return_utilities=True)


def test_callback_sees_every_step():
    rng = np.random.RandomState(0)
    pool, target = random_probs(rng, 3, 6, 2), random_probs(rng, 3, 2, 2)
    seen = []
    res = select_batch_epig(
        pool, target, 3, random_state=0, callback=lambda *a: seen.append(a)
    )
    assert [s[1] for s in seen] == list(res.indices)


def test_n_samples_is_a_deprecated_alias_of_n_configurations():
    rng = np.random.RandomState(4)
    pool = rng.dirichlet(np.ones(3), size=(4, 12))
    target = rng.dirichlet(np.ones(3), size=(4, 5))
    new = select_batch_epig(pool, target, 4, n_configurations=5, random_state=0)
    with pytest.warns(FutureWarning, match="n_samples is deprecated"):
        old = select_batch_epig(pool, target, 4, n_samples=5, random_state=0)
    np.testing.assert_array_equal(new.indices, old.indices)
    np.testing.assert_allclose(new.gains, old.gains)
    with pytest.raises(TypeError, match="pass n_configurations only"):
        select_batch_epig(pool, target, 4, n_configurations=5, n_samples=5)


def _identical_members(K=5, N=30, T=8, C=3, seed=0):
    # Every member predicts the same: no information about any target.
    rng = np.random.default_rng(seed)
    one_N_C = rng.dirichlet(np.ones(C), size=N)
    one_T_C = rng.dirichlet(np.ones(C), size=T)
    return np.broadcast_to(one_N_C, (K, N, C)).copy(), np.broadcast_to(
        one_T_C, (K, T, C)
    ).copy()


def _one_hot_members(K=8, N=40, T=10, C=2, seed=0):
    rng = np.random.default_rng(seed)
    pool = np.eye(C)[rng.integers(0, C, size=(K, N))]
    target = np.eye(C)[rng.integers(0, C, size=(K, T))]
    return pool, target


@pytest.mark.parametrize(
    ("make", "expected_step"),
    [
        (_identical_members, 0),  # nothing to learn: saturated at once
        (_one_hot_members, None),  # checked against the gains below
    ],
)
@pytest.mark.parametrize("completion", [None, "power", "random"])
def test_saturation_is_detected_and_completion_never_repeats(
    make, expected_step, completion
):
    pool, target = make()
    before = pool.copy(), target.copy()
    sel = select_batch_epig(
        pool, target, 12, n_configurations=50, random_state=3, completion=completion
    )
    assert len(set(sel.indices.tolist())) == 12
    assert np.all(sel.gains >= 0)
    below = np.flatnonzero(sel.gains < 1e-3)
    if completion is None:  # plain greedy: the first gain below the floor
        assert sel.saturated_at == (below[0] if len(below) else None)
    if expected_step is not None:
        assert sel.saturated_at == expected_step
    assert sel.saturated_at is not None
    np.testing.assert_array_equal(pool, before[0])
    np.testing.assert_array_equal(target, before[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_completion_leaves_the_greedy_steps_before_saturation(seed):
    pool, target = _one_hot_members(seed=seed)
    plain = select_batch_epig(pool, target, 10, n_configurations=50, random_state=seed)
    power = select_batch_epig(
        pool, target, 10, n_configurations=50, random_state=seed, completion="power"
    )
    s = plain.saturated_at
    assert s is not None and power.saturated_at == s
    np.testing.assert_array_equal(power.indices[:s], plain.indices[:s])
    again = select_batch_epig(
        pool, target, 10, n_configurations=50, random_state=seed, completion="power"
    )
    np.testing.assert_array_equal(power.indices, again.indices)


def test_power_completion_follows_the_epig_scores():
    # Drawn picks land on candidates with EPIG > 0, never on the zero ones.
    rng = np.random.default_rng(5)
    K, C = 6, 3
    informative = np.eye(C)[rng.integers(0, C, size=(K, 15))]
    flat = np.broadcast_to(rng.dirichlet(np.ones(C), size=30), (K, 30, C))
    pool = np.concatenate([informative, flat], axis=1)
    target = np.eye(C)[rng.integers(0, C, size=(K, 7))]
    sel = select_batch_epig(
        pool, target, 12, n_configurations=40, random_state=0, completion="power"
    )
    assert sel.saturated_at is not None
    assert np.all(sel.indices < 15)  # the flat candidates carry nothing
    uniform = select_batch_epig(
        pool, target, 12, n_configurations=40, random_state=0, completion="random"
    )
    assert np.any(uniform.indices >= 15)  # the uniform draw does not care


@pytest.mark.parametrize("completion", [None, "power"])
def test_a_completed_saturating_step_rescores_no_near_ties(monkeypatch, completion):
    # Identical members: every gain is 0, all candidates are near-ties. Plain
    # greedy re-scores them all in float64 to break the ties exactly; with a
    # completion the step's pick is drawn anyway, so only the picks' own
    # gains (and power's EPIG scores) are computed in float64.
    from batchbald import _epig_engine

    pool, target = _identical_members(N=30)
    sizes = []
    real = _epig_engine._Problem.gains

    def gains(self, idx, post, weights, precise=False):
        if precise and len(post) > 0:
            sizes.append(len(idx))
        return real(self, idx, post, weights, precise=precise)

    monkeypatch.setattr(_epig_engine._Problem, "gains", gains)
    sel = select_batch_epig(pool, target, 3, random_state=0, completion=completion)
    assert sel.saturated_at == 0
    if completion is None:
        assert 30 in sizes  # the 30 near-ties of the first step
    else:
        assert sizes == [30, 1, 1, 1]  # power's EPIG scores, then each pick


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturation_counts_the_noise_of_sampled_gains(seed):
    # Three sampled configurations (C = 3: exact for one pick only): the
    # gains' estimates are noisy, and a step whose gain is within two
    # standard errors of 0 saturates although it is above the 1e-3 floor,
    # as in BatchBALD; enumerated configurations (M = 3**5) saturate only
    # by the floor.
    rng = np.random.default_rng(seed)
    pool = rng.dirichlet(np.full(3, 0.3), size=(8, 40))
    target = rng.dirichlet(np.full(3, 0.3), size=(8, 15))
    noisy = select_batch_epig(pool, target, 6, n_configurations=3, random_state=0)
    assert noisy.saturated_at is not None
    assert noisy.gains[noisy.saturated_at] > 1e-3
    exact = select_batch_epig(pool, target, 6, n_configurations=3**5, random_state=0)
    if exact.saturated_at is not None:
        assert exact.gains[exact.saturated_at] < 1e-3


def test_unknown_completion_is_refused():
    pool, target = _one_hot_members()
    with pytest.raises(ValueError, match="completion must be None or one of"):
        select_batch_epig(pool, target, 3, completion="greedy")
