"""Saturation: detection, the warning, estimates that respect their bounds,
and the remedies (label noise, PowerBALD completion)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from batchbald.engine import select_batch
from batchbald.information import (
    conditional_mutual_information,
    enumerate_configurations,
    member_votes,
    smooth_probabilities,
)
from batchbald.pool import BatchBALD
from batchbald.saturation import (
    SATURATION_FLOOR,
    SaturationWarning,
    check_completion,
    check_label_noise,
    estimate_with_error,
    point_gain,
)


def one_hot_members(K, N, C, seed):
    rng = np.random.RandomState(seed)
    return np.eye(C)[rng.randint(0, C, size=(K, N))]


def soft_members(K, N, C, seed, alpha=0.3):
    return np.random.RandomState(seed).dirichlet(np.full(C, alpha), size=(K, N))


# -- detection -----------------------------------------------------------------
def test_identical_members_saturate_at_step_zero():
    probs = np.repeat(soft_members(1, 30, 3, 0, alpha=1.0), 5, axis=0)
    result = select_batch(probs, 4, random_state=0)
    assert result.saturated_at == 0
    assert result.joint_information == pytest.approx(0.0, abs=1e-12)
    assert result.exact


def test_batchbald_query_warns_once_with_identical_members():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2))
    y = np.full(60, np.nan)
    y[:10] = (X[:10, 0] > 0).astype(float)
    y[0], y[1] = 0.0, 1.0
    ensemble = [LogisticRegression() for _ in range(4)]  # deterministic fits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BatchBALD(random_state=0).query(X, y, ensemble, batch_size=5)
    saturation = [w for w in caught if issubclass(w.category, SaturationWarning)]
    assert len(saturation) == 1
    message = str(saturation[0].message)
    assert "step 0 of 5" in message
    assert "K=4" in message
    assert "more bagging estimators" in message


@pytest.mark.parametrize(("K", "C"), [(4, 2), (16, 2), (9, 3), (27, 3), (100, 10)])
def test_one_hot_members_saturate_after_about_log_c_k_picks(K, C):
    probs = one_hot_members(K, 400, C, seed=K + C)
    result = select_batch(probs, int(math.log(K, C)) + 6, random_state=0)
    steps = math.ceil(math.log(K, C) - 1e-9)
    assert steps <= result.saturated_at <= steps + 2
    # Saturated because the members are identified: all their entropy is spent.
    assert result.joint_information == pytest.approx(math.log(K), abs=1e-12)
    assert result.exact
    assert np.all(result.gains[result.saturated_at :] < SATURATION_FLOOR)


def test_no_saturation_while_gains_are_large():
    probs = soft_members(50, 200, 10, 1, alpha=0.3)
    result = select_batch(probs, 2, random_state=0)
    assert result.saturated_at is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaturationWarning)
        BatchBALD(random_state=0).select(probs, 2)


def test_sampled_regime_is_marked_and_flags_gains_below_their_noise():
    probs = soft_members(10, 80, 10, 2)
    result = select_batch(probs, 15, random_state=0)
    assert not result.exact
    assert result.joint_information_se > 0
    later = result.gains[result.saturated_at :]
    assert result.saturated_at is not None and len(later) > 0
    assert later[0] < max(SATURATION_FLOOR, 1.0)


# -- bounds of what is reported -------------------------------------------------
@pytest.mark.parametrize(("K", "C", "b"), [(10, 10, 20), (20, 10, 20), (5, 3, 12)])
@pytest.mark.parametrize("label_noise", [0.0, 0.05])
def test_joint_information_never_exceeds_log_k(K, C, b, label_noise):
    probs = soft_members(K, 60, C, K * C)
    result = select_batch(probs, b, random_state=1, label_noise=label_noise)
    assert 0 <= result.joint_information <= math.log(K)
    assert np.all(result.gains >= 0)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 8),
    st.integers(3, 25),
    st.integers(2, 4),
    st.integers(0, 2**31 - 1),
    st.sampled_from([None, "power", "random"]),
    st.sampled_from([0.0, 0.1]),
    st.sampled_from([4, 1000]),
)
def test_picks_never_repeat_and_gains_are_never_negative(
    K, N, C, seed, completion, label_noise, M
):
    probs = one_hot_members(K, N, C, seed) if seed % 2 else soft_members(K, N, C, seed)
    result = select_batch(
        probs,
        N,
        n_samples=M,
        random_state=seed,
        completion=completion,
        label_noise=label_noise,
    )
    assert len(np.unique(result.indices)) == N
    assert np.all(result.gains >= 0)
    assert 0 <= result.joint_information <= math.log(K) + 1e-15


def test_exact_joint_information_is_the_sum_of_the_gains():
    probs = soft_members(6, 20, 3, 3)
    result = select_batch(probs, 4, random_state=0)
    assert result.exact and result.joint_information_se == 0
    assert result.joint_information == pytest.approx(result.gains.sum(), abs=1e-14)


# -- the remedies ---------------------------------------------------------------
def test_remedies_switched_off_are_plain_greedy_batchbald():
    probs = one_hot_members(12, 80, 2, 4)
    plain = select_batch(probs, 10, random_state=3)
    off = BatchBALD(random_state=3, label_noise=0.0, completion=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        np.testing.assert_array_equal(off.select(probs, 10).indices, plain.indices)
    explicit = select_batch(probs, 10, random_state=3, label_noise=0, completion=None)
    np.testing.assert_array_equal(explicit.indices, plain.indices)


def test_power_completion_keeps_the_greedy_picks_before_saturation():
    probs = one_hot_members(12, 80, 2, 4)
    plain = select_batch(probs, 10, random_state=3)
    s = plain.saturated_at
    assert s is not None and s < 10
    completed = select_batch(probs, 10, random_state=3, completion="power")
    assert completed.saturated_at == s
    np.testing.assert_array_equal(completed.indices[:s], plain.indices[:s])


def test_power_completion_draws_among_informative_candidates():
    # Half the pool has BALD score 0: the completion never picks it while
    # informative candidates remain (their power-law probability is 0).
    informative = one_hot_members(8, 40, 2, 5)
    agreed = np.repeat(soft_members(1, 40, 2, 6), 8, axis=0)
    probs = np.concatenate([informative, agreed], axis=1)
    result = select_batch(probs, 20, random_state=0, completion="power")
    assert result.saturated_at is not None
    assert np.all(result.indices < 40)


@pytest.mark.parametrize("completion", [None, "power", "random"])
def test_the_callers_seed_decides_every_random_choice(completion):
    probs = one_hot_members(6, 60, 2, 7)
    picks = [
        tuple(select_batch(probs, 8, random_state=s, completion=completion).indices)
        for s in (0, 0, 1, 2, 3, 4)
    ]
    assert picks[0] == picks[1]
    assert len(set(picks[1:])) > 1
    rs_a, rs_b = np.random.RandomState(5), np.random.RandomState(5)
    a = select_batch(probs, 8, random_state=rs_a, completion=completion)
    b = select_batch(probs, 8, random_state=rs_b, completion=completion)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_label_noise_conditions_through_the_smoothed_likelihood():
    probs = soft_members(5, 12, 3, 8)
    e = 0.2
    result = select_batch(probs, 3, random_state=0, label_noise=e)
    first, second = (int(i) for i in result.indices[:2])
    log_joint_K_M, weights_M = enumerate_configurations(
        smooth_probabilities(probs[:, [first]], e)
    )
    expected = conditional_mutual_information(
        probs[:, [second]], log_joint_K_M, weights_M
    )[0]
    assert result.gains[1] == pytest.approx(expected, abs=1e-12)


def test_label_noise_keeps_one_hot_members_informative_longer():
    probs = one_hot_members(16, 300, 2, 9)
    plain = select_batch(probs, 12, random_state=0)
    noisy = select_batch(probs, 12, random_state=0, label_noise=0.1)
    assert plain.saturated_at is not None
    assert noisy.saturated_at is None or noisy.saturated_at > plain.saturated_at


# -- helpers and validation -----------------------------------------------------
def test_estimate_with_error_is_the_standard_error_of_the_mean():
    rng = np.random.RandomState(0)
    values = rng.normal(size=400)
    mean, se = estimate_with_error(values, np.full(400, 1 / 400), 400)
    assert mean == pytest.approx(values.mean())
    assert se == pytest.approx(values.std(ddof=1) / 20)
    assert estimate_with_error(values, np.full(400, 1 / 400), None)[1] == 0.0


def test_point_gain_matches_the_reference_function():
    probs = soft_members(4, 3, 3, 10)
    log_joint_K_M, weights_M = enumerate_configurations(probs[:, :2])
    from batchbald.information import posterior_weights

    gain, se = point_gain(probs[:, 2], posterior_weights(log_joint_K_M), weights_M)
    expected = conditional_mutual_information(probs[:, 2:], log_joint_K_M, weights_M)
    assert gain == pytest.approx(expected[0], abs=1e-14)
    assert se == 0.0


@pytest.mark.parametrize("value", [-0.1, 1.0, 2, float("nan"), True, "0.1", None])
def test_bad_label_noise_is_refused(value):
    with pytest.raises(ValueError, match="label_noise"):
        check_label_noise(value)
    with pytest.raises(ValueError, match="label_noise"):
        select_batch(soft_members(2, 4, 2, 0), 2, label_noise=value)


@pytest.mark.parametrize("value", ["powerbald", "", 1, "uniform"])
def test_bad_completion_is_refused(value):
    with pytest.raises(ValueError, match="completion"):
        check_completion(value)
    with pytest.raises(ValueError, match="completion"):
        select_batch(soft_members(2, 4, 2, 0), 2, completion=value)


# -- member votes ------------------------------------------------------------------
def test_member_votes_are_one_hot_with_ties_shared():
    probs = np.array([[[0.2, 0.5, 0.3], [0.4, 0.4, 0.2], [1 / 3, 1 / 3, 1 / 3]]])
    before = probs.copy()
    votes = member_votes(probs)
    expected = [[[0, 1, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]]]
    np.testing.assert_allclose(votes, expected, rtol=1e-15)
    np.testing.assert_array_equal(probs, before)
    assert member_votes(probs.astype(np.float32)).dtype == np.float32


def test_batchbald_select_scores_votes_only_when_asked():
    probs = soft_members(6, 40, 3, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        votes = BatchBALD(random_state=2, member_votes=True).select(probs, 6)
        default = BatchBALD(random_state=2).select(probs, 6)
    on_votes = select_batch(member_votes(probs), 6, random_state=2, completion="power")
    on_probs = select_batch(probs, 6, random_state=2, completion="power")
    np.testing.assert_array_equal(votes.indices, on_votes.indices)
    np.testing.assert_array_equal(default.indices, on_probs.indices)


def test_batchbald_query_scores_votes_of_sklearn_ensembles_by_default():
    from sklearn.datasets import make_blobs
    from sklearn.ensemble import RandomForestClassifier

    X, y_true = make_blobs(n_samples=120, centers=3, random_state=0)
    y = np.full(len(X), np.nan)
    y[:12] = y_true[:12]
    forest = RandomForestClassifier(n_estimators=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        default = BatchBALD(random_state=2).query(X, y, forest, batch_size=6)
        votes = BatchBALD(random_state=2, member_votes=True).query(
            X, y, forest, batch_size=6
        )
    np.testing.assert_array_equal(default, votes)


def test_votes_give_copies_of_a_chosen_sample_no_gain():
    probs = soft_members(8, 10, 3, 12, alpha=1.0)
    pool = np.concatenate([probs, probs], axis=1)  # every sample twice
    result = select_batch(member_votes(pool), 4, random_state=0)
    chosen = result.indices[: (result.saturated_at or 4)]
    assert len(np.unique(chosen % 10)) == len(chosen)


def test_bad_member_votes_is_refused():
    with pytest.raises(TypeError, match="member_votes"):
        BatchBALD(member_votes="yes").select(soft_members(2, 4, 2, 0), 2)


@pytest.mark.parametrize("completion", ["power", "random"])
def test_completed_steps_have_utilities(completion):
    probs = one_hot_members(6, 30, 2, 13)
    result = select_batch(
        probs, 8, random_state=0, completion=completion, return_utilities=True
    )
    assert result.saturated_at is not None and result.saturated_at < 7
    for step, row in enumerate(result.utilities):
        assert np.isnan(row[result.indices[:step]]).all()
        assert np.isfinite(np.delete(row, result.indices[:step])).all()
        assert np.nanmax(row) <= math.log(6) + 1e-12
