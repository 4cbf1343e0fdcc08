"""Tests of what the greedy loop asks of a pool (batchbald._backend)."""

from __future__ import annotations

import numpy as np
import pytest

from batchbald._backend import top_scores


def _brute_top(scores, idx, k):
    """The ``k`` first in (score descending, index ascending) order."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], idx[i]))
    return np.asarray(order[:k], dtype=np.intp)


# (scores, pool indices, k): distinct scores; ties across the k-th place
# (broken by the smaller pool index, not the position); every score equal;
# k of 0, of all, and beyond the pool.
@pytest.mark.parametrize(
    "scores,idx,k",
    [
        ([0.3, 0.9, 0.1, 0.5], [0, 1, 2, 3], 2),
        ([0.5, 0.9, 0.5, 0.5, 0.1], [7, 3, 2, 9, 0], 2),
        ([0.5, 0.9, 0.5, 0.5, 0.1], [7, 3, 2, 9, 0], 3),
        ([1.0] * 6, [5, 4, 3, 2, 1, 0], 4),
        ([0.2, 0.1], [0, 1], 0),
        ([0.2, 0.1, 0.4], [0, 1, 2], 3),
        ([0.2, 0.1, 0.4], [0, 1, 2], 10),
    ],
)
def test_top_scores_table(scores, idx, k):
    got = top_scores(np.asarray(scores), np.asarray(idx), k)
    np.testing.assert_array_equal(got, _brute_top(scores, idx, k))


@pytest.mark.parametrize(
    "seed,n,k,levels", [(0, 1000, 64, 7), (1, 5000, 10, 3), (2, 300, 299, 50)]
)
def test_top_scores_many_ties_equals_the_sort(seed, n, k, levels):
    """Scores on a few levels (many ties at the k-th place), shuffled pool
    indices: the partition's answer is the full sort's."""
    rng = np.random.RandomState(seed)
    scores = rng.randint(0, levels, n) / levels
    idx = rng.permutation(10 * n)[:n]
    got = top_scores(scores, idx, k)
    np.testing.assert_array_equal(got, np.lexsort((idx, -scores))[:k])
    np.testing.assert_array_equal(got, _brute_top(scores, idx, k))


def test_top_scores_with_nan_falls_back_to_the_sort():
    scores = np.array([np.nan, 0.2, np.nan, np.nan, 0.1])
    idx = np.arange(5)
    np.testing.assert_array_equal(
        top_scores(scores, idx, 3), np.lexsort((idx, -scores))[:3]
    )
