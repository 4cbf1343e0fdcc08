"""Tests for batchbald.coldstart: the k-means++ diverse first batch."""

import numpy as np
import pytest

from batchbald.coldstart import diverse_batch


def _brute_force_first_pick(X, candidates, labeled):
    """P(first pick = each candidate): squared distance to the nearest
    labeled row, normalised (uniform without labeled rows)."""
    if len(labeled) == 0:
        return np.full(len(candidates), 1 / len(candidates))
    d2 = np.array(
        [min(np.sum((X[c] - X[i]) ** 2) for i in labeled) for c in candidates]
    )
    return d2 / d2.sum()


@pytest.mark.parametrize(
    "labeled",
    [[0], [0, 3], []],
)
def test_first_pick_follows_squared_distances(labeled):
    X = np.array([[0.0], [1.0], [3.0], [6.0], [2.0]])
    candidates = np.array([1, 2, 4])
    expected = _brute_force_first_pick(X, candidates, labeled)
    rng = np.random.RandomState(0)
    n = 4000
    picks = [diverse_batch(X, candidates, labeled, 1, rng)[0] for _ in range(n)]
    freq = np.array([np.mean(np.array(picks) == c) for c in candidates])
    # 4 standard errors of a binomial proportion
    tol = 4 * np.sqrt(expected * (1 - expected) / n) + 1e-9
    assert np.all(np.abs(freq - expected) <= tol), (freq, expected)


def test_second_pick_keeps_away_from_the_first():
    # two tight clusters far apart: the second pick must come from the other
    X = np.array([[0.0, 0.0], [0.01, 0.0], [10.0, 0.0], [10.01, 0.0]])
    for seed in range(30):
        a, b = diverse_batch(X, [0, 1, 2, 3], [], 2, seed)
        assert (a < 2) != (b < 2)


@pytest.mark.parametrize("batch_size", [1, 3, 5, 9])
def test_picks_are_distinct_candidates(batch_size):
    rng = np.random.RandomState(1)
    X = rng.randn(12, 3)
    candidates = np.array([0, 2, 3, 5, 7])
    rows = diverse_batch(X, candidates, [1, 4], batch_size, rng)
    assert len(rows) == min(batch_size, 5) and len(set(rows)) == len(rows)
    assert set(rows) <= set(candidates)


def test_duplicates_fall_back_to_uniform():
    X = np.zeros((6, 2))
    rows = diverse_batch(X, np.arange(6), [0], 6, 0)
    assert sorted(rows) == list(range(6))


def test_the_seed_decides():
    X = np.random.RandomState(2).randn(30, 2)
    a = diverse_batch(X, np.arange(30), [], 8, 5)
    b = diverse_batch(X, np.arange(30), [], 8, np.random.RandomState(5))
    c = diverse_batch(X, np.arange(30), [], 8, 6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_does_not_change_the_inputs():
    X = np.random.RandomState(3).randn(8, 2)
    cand = np.arange(8)
    X0, cand0 = X.copy(), cand.copy()
    diverse_batch(X, cand, [1], 3, 0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(cand, cand0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X": np.zeros(4)}, "X must be 2-D"),
        ({"candidates": [0, 9]}, r"candidates must hold row indices in \[0, 4\)"),
        ({"candidates": [0.5]}, "candidates must be a 1-D array"),
        ({"candidates": [1, 1]}, "candidates repeats"),
        ({"labeled": [-1]}, "labeled must hold row indices"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"batch_size": True}, "batch_size"),
    ],
)
def test_rejects(kwargs, message):
    args = {"X": np.zeros((4, 2)), "candidates": [0, 1], "labeled": [], "batch_size": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        diverse_batch(**args)
