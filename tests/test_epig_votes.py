"""Tests of EPIG's vote kernel (batchbald._epig_votes): one-hot members."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import batchbald.epig as epig_module
from batchbald import _epig_votes
from batchbald._epig_engine import select_batch_epig
from batchbald.epig import conditional_epig, epig_scores


def one_hot(labels_K_N, C):
    return np.eye(C)[labels_K_N]


def entropy(q):
    q = q[q > 0]
    return float(-np.sum(q * np.log(q)))


def counted_epig(labels_pool, labels_target, C, post_M_K, weights_M):
    """EPIG from the joints counted cell by cell: member k adds post_k to the
    cell (its label for n, its label for t)."""
    N, T = labels_pool.shape[1], labels_target.shape[1]
    out = np.zeros(N)
    for post, w in zip(post_M_K, weights_M, strict=True):
        for n in range(N):
            total = 0.0
            for t in range(T):
                joint = np.zeros((C, C))
                np.add.at(joint, (labels_pool[:, n], labels_target[:, t]), post)
                total += entropy(joint.sum(1)) + entropy(joint.sum(0)) - entropy(joint)
            out[n] += w * total / T
    return out


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        (one_hot(np.array([[0, 2, 1], [1, 1, 0]]), 3), [[0, 2, 1], [1, 1, 0]]),
        (one_hot(np.array([[1, 0]]), 2).astype(np.float32), [[1, 0]]),
        (np.array([[[0.5, 0.5], [1.0, 0.0]]]), None),  # a tie
        (np.array([[[0.9, 0.1], [1.0, 0.0]]]), None),  # probabilities
        (np.array([[[0.0, 0.0], [1.0, 0.0]]]), None),  # no vote
    ],
)
def test_one_hot_labels(probs, expected):
    got = _epig_votes.one_hot_labels(probs)
    if expected is None:
        assert got is None
    else:
        np.testing.assert_array_equal(got, expected)


def test_one_hot_labels_checks_every_block(monkeypatch):
    monkeypatch.setattr(_epig_votes, "_CHECK_CELLS", 6)  # 1 sample of 2 x 3
    probs = one_hot(np.zeros((2, 5), dtype=int), 3)
    assert _epig_votes.one_hot_labels(probs) is not None
    probs[1, 4] = [0.5, 0.5, 0.0]  # the last block only
    assert _epig_votes.one_hot_labels(probs) is None


@pytest.mark.parametrize(
    ("K", "C", "expected"),
    [  # the crossovers measured on one core (see use_votes)
        (10, 2, False),
        (60, 2, False),
        (5, 3, True),
        (15, 3, False),
        (50, 10, True),
        (100, 10, False),
    ],
)
def test_use_votes_follows_the_measured_crossovers(K, C, expected):
    assert _epig_votes.use_votes(K, C) is expected


@pytest.mark.parametrize(
    ("max_memory", "expected"),
    [  # K = 10, 1,000 pool samples x 1,000 targets, float32, 8 CPUs
        (256 * 2**20, (819, 64, True, 8)),
        (2**22, (819, 32, True, 3)),  # 400 kB of agreements, 1 MB a thread
        (2**20, (819, 8, False, 1)),  # the agreements are made anew
    ],
)
def test_vote_plan_keeps_within_the_budget(monkeypatch, max_memory, expected):
    monkeypatch.setattr(_epig_votes, "thread_count", lambda: 8)
    assert _epig_votes._plan(10, 1000, 1000, 4, max_memory) == expected


def _problem(seed, K, N, T, C, M, zero_members):
    rng = np.random.RandomState(seed)
    labels = rng.randint(C, size=(K, N + T))
    labels[: K // 2] = labels[0]  # members that agree, as a fitted ensemble's
    post = rng.dirichlet(np.ones(K), size=M)
    post[:, :zero_members] = 0.0  # members the labels so far ruled out
    post /= post.sum(1, keepdims=True)
    return labels[:, :N], labels[:, N:], post, rng.dirichlet(np.ones(M))


@pytest.mark.parametrize(
    ("K", "N", "T", "C", "M", "zero_members", "seed"),
    [
        (2, 3, 2, 2, 1, 0, 0),
        (5, 7, 4, 3, 2, 0, 1),
        (10, 6, 9, 10, 3, 4, 2),  # members without weight are left out
        (8, 5, 5, 4, 2, 7, 3),  # one member left: every joint is one cell
        (20, 4, 30, 10, 1, 0, 4),
    ],
)
@pytest.mark.parametrize("precise", [True, False])
def test_vote_kernel_equals_counting(K, N, T, C, M, zero_members, seed, precise):
    lab_n, lab_t, post, weights = _problem(seed, K, N, T, C, M, zero_members)
    expected = counted_epig(lab_n, lab_t, C, post, weights)
    got = conditional_epig(
        one_hot(lab_n, C), one_hot(lab_t, C), post, weights, precise=precise
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 if precise else 2e-7)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 5), st.integers(2, 4),
    st.integers(1, 3), st.integers(0, 10**6),
)  # fmt: skip
def test_vote_kernel_equals_the_joint_kernel(K, N, T, C, M, seed):
    lab_n, lab_t, post, weights = _problem(seed, K, N, T, C, M, 0)
    pool, target = one_hot(lab_n, C), one_hot(lab_t, C)
    got = conditional_epig(pool, target, post, weights)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_epig_votes, "use_votes", lambda K, C: False)
        expected = conditional_epig(pool, target, post, weights)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("targets", ["pool", "separate", "indices"])
def test_vote_kernel_paths_agree(targets):
    lab_n, lab_t, post, weights = _problem(5, 6, 30, 12, 4, 2, 1)
    pool = one_hot(lab_n, 4)
    target = pool if targets == "pool" else one_hot(lab_t, 4)
    lab_target = lab_n if targets == "pool" else lab_t
    expected = counted_epig(lab_n, lab_target, 4, post, weights)
    idx = np.array([29, 3, 3, 0]) if targets == "indices" else None
    got = conditional_epig(pool, target, post, weights, idx_n=idx)
    np.testing.assert_allclose(
        got, expected if idx is None else expected[idx], rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("precise", [True, False])
def test_vote_kernel_bits_do_not_depend_on_threads_blocks_or_budget(
    monkeypatch, precise
):
    lab_n, lab_t, post, weights = _problem(7, 6, 50, 40, 3, 3, 1)
    dtype = np.float64 if precise else np.float32
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 6 * 8 * 7)  # 7 targets
    monkeypatch.setattr(epig_module, "_MIN_POOL_ROWS", 8)
    runs = []
    for n_threads, max_memory in [(1, 2**30), (2, 2**30), (3, 1)]:
        # max_memory=1: the targets' agreements are made anew for every chunk
        monkeypatch.setattr(_epig_votes, "thread_count", lambda n=n_threads: n)
        runs.append(
            _epig_votes.vote_joint_sums(lab_n, lab_t, post, weights, dtype, max_memory)
        )
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])


def test_probabilities_and_ties_keep_the_joint_kernel(monkeypatch):
    calls = []
    real = _epig_votes.vote_joint_sums
    monkeypatch.setattr(
        _epig_votes, "vote_joint_sums", lambda *a: calls.append(1) or real(*a)
    )
    rng = np.random.RandomState(0)
    probs = rng.dirichlet(np.ones(3), size=(4, 6))
    epig_scores(probs, probs)
    votes = one_hot(probs.argmax(-1), 3)
    epig_scores(votes, probs)  # targets that do not vote
    votes[0, 0] = [0.5, 0.5, 0.0]
    epig_scores(votes, votes)
    assert not calls
    epig_scores(one_hot(probs.argmax(-1), 3), one_hot(probs.argmax(-1), 3))
    assert calls == [1]


def test_batch_epig_picks_with_votes_equal_the_joint_kernel(monkeypatch):
    lab_n, lab_t, _, _ = _problem(11, 10, 60, 25, 1, 0, 0)
    pool, target = one_hot(lab_n, 5), one_hot(lab_t, 5)
    fast = select_batch_epig(pool, target, 5, random_state=0)
    monkeypatch.setattr(_epig_votes, "use_votes", lambda K, C: False)
    slow = select_batch_epig(pool, target, 5, random_state=0)
    np.testing.assert_array_equal(fast.indices, slow.indices)
    np.testing.assert_allclose(fast.gains, slow.gains, rtol=0, atol=1e-12)
