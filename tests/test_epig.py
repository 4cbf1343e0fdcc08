"""Tests of the EPIG math (batchbald.epig) against brute-force enumeration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import batchbald.epig as epig_module
from batchbald import _epig_blocks
from batchbald.epig import conditional_bald, conditional_epig, epig_scores
from batchbald.information import bald_scores


def random_probs(rng, K, N, C, alpha=0.5):
    return rng.dirichlet(np.full(C, alpha), size=(K, N))


def pair_mi(p_K_C, q_K_C, post_K):
    """I(y; y*) from the explicit C x C joint sum_k post_k p_k(y) q_k(y*)."""
    joint = np.einsum("k,kc,kd->cd", post_K, p_K_C, q_K_C)
    outer = np.outer(joint.sum(1), joint.sum(0))
    mask = joint > 0
    return float(np.sum(joint[mask] * np.log(joint[mask] / outer[mask])))


def brute_epig(pool, target, post_M_K=None, weights_M=None):
    K, N, _ = pool.shape
    if post_M_K is None:
        post_M_K, weights_M = np.full((1, K), 1.0 / K), np.ones(1)
    out = np.zeros(N)
    for w, post in zip(weights_M, post_M_K, strict=True):
        for n in range(N):
            out[n] += w * np.mean(
                [
                    pair_mi(pool[:, n], target[:, t], post)
                    for t in range(target.shape[1])
                ]
            )
    return out


@pytest.mark.parametrize(
    ("K", "N", "T", "C", "alpha", "seed"),
    [
        (2, 3, 1, 2, 0.5, 0),
        (5, 7, 4, 3, 0.5, 1),
        (10, 6, 9, 4, 0.2, 2),
        (3, 12, 5, 10, 1.0, 3),
        (20, 4, 3, 2, 5.0, 4),
        (1, 5, 5, 3, 0.5, 5),  # one member: nothing to learn, EPIG = 0
    ],
)
def test_epig_equals_brute_force(K, N, T, C, alpha, seed):
    rng = np.random.RandomState(seed)
    pool, target = random_probs(rng, K, N, C, alpha), random_probs(rng, K, T, C, alpha)
    expected = brute_epig(pool, target)
    np.testing.assert_allclose(epig_scores(pool, target), expected, atol=1e-12)
    np.testing.assert_allclose(
        epig_scores(pool, target, precise=False), expected, atol=2e-6
    )
    if K == 1:
        np.testing.assert_allclose(expected, 0.0, atol=1e-12)


@st.composite
def problems(draw):
    K = draw(st.integers(1, 6))
    N = draw(st.integers(1, 6))
    T = draw(st.integers(1, 5))
    C = draw(st.integers(2, 4))
    alpha = draw(st.sampled_from([0.05, 0.5, 3.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    pool, target = random_probs(rng, K, N, C, alpha), random_probs(rng, K, T, C, alpha)
    if draw(st.booleans()):  # hard predictions: exact zeros and ones
        pool = np.eye(C)[pool.argmax(-1)]
    return pool, target


@settings(max_examples=30, deadline=None)
@given(problems())
def test_epig_matches_brute_force_and_data_processing_bound(problem):
    pool, target = problem
    scores = epig_scores(pool, target)
    np.testing.assert_allclose(scores, brute_epig(pool, target), atol=1e-10)
    assert np.all(scores >= -1e-12)
    # Data processing: y and y* are independent given the member.
    assert np.all(scores <= bald_scores(pool) + 1e-10)
    assert np.all(scores <= bald_scores(target).mean() + 1e-10)


@settings(max_examples=25, deadline=None)
@given(problems(), st.integers(1, 5), st.integers(0, 10_000))
def test_conditional_epig_matches_brute_force_with_posteriors(problem, M, seed):
    pool, target = problem
    rng = np.random.RandomState(seed)
    post_M_K = rng.dirichlet(np.full(pool.shape[0], 0.5), size=M)
    weights_M = rng.dirichlet(np.ones(M))
    got = conditional_epig(pool, target, post_M_K, weights_M)
    np.testing.assert_allclose(
        got, brute_epig(pool, target, post_M_K, weights_M), atol=1e-10
    )
    assert np.all(got <= conditional_bald(pool, post_M_K, weights_M) + 1e-10)


def test_conditional_bald_with_uniform_posterior_is_bald():
    rng = np.random.RandomState(0)
    probs = random_probs(rng, 7, 30, 4)
    np.testing.assert_allclose(
        conditional_bald(probs, np.full((1, 7), 1 / 7), np.ones(1)),
        bald_scores(probs),
        atol=1e-12,
    )


def test_chunking_over_pool_and_targets_changes_nothing(monkeypatch):
    rng = np.random.RandomState(1)
    pool, target = random_probs(rng, 6, 50, 5), random_probs(rng, 6, 40, 5)
    expected = epig_scores(pool, target)
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 300)  # 3 targets x 4 points
    np.testing.assert_allclose(epig_scores(pool, target), expected, atol=1e-12)
    np.testing.assert_allclose(
        epig_scores(pool, target, max_memory=2**20), expected, atol=1e-12
    )


@pytest.mark.parametrize(
    ("block", "max_memory"), [(1 << 18, 2**28), (1 << 18, 2**21), (100, 2**28)]
)
def test_plan_stays_within_budget_and_never_builds_the_full_product(
    monkeypatch, block, max_memory
):
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", block)
    N, K, T, C = 20_000, 20, 5_000, 10
    n_chunk, t_chunk = epig_module._plan(N, T, K, C, 4, max_memory)
    cells = n_chunk * t_chunk * C * C
    assert cells <= max(block, C * C)
    assert 2 * cells * 4 <= max_memory
    assert 1 <= n_chunk < N and 1 <= t_chunk <= T


def test_subset_of_the_pool_scores_like_the_full_pool():
    rng = np.random.RandomState(2)
    pool, target = random_probs(rng, 4, 20, 3), random_probs(rng, 4, 6, 3)
    idx = np.array([19, 0, 7, 7])
    post = np.full((1, 4), 0.25)
    np.testing.assert_allclose(
        conditional_epig(pool, target, post, np.ones(1), idx_n=idx),
        epig_scores(pool, target)[idx],
        atol=1e-12,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_error_stays_near_float32_rounding(seed):
    # 900 targets: each pool point sums 9,000 joint cells per block, in
    # float32 row dots of 8,100 cells (many blocks of them). The rows are
    # added in float64; one float32 sum over a pool point's cells (or einsum
    # rows added in float32) gives about twice this error.
    rng = np.random.RandomState(seed)
    pool = random_probs(rng, 20, 400, 10, 0.3).astype(np.float32)
    target = random_probs(rng, 20, 900, 10, 0.3).astype(np.float32)
    got = epig_scores(pool, target, precise=False)
    np.testing.assert_allclose(got, epig_scores(pool, target), rtol=0, atol=1.2e-7)


@pytest.mark.parametrize(
    ("rows", "cols", "dtype"),
    [(1, 1, np.float32), (7, 33, np.float32), (64, 810, np.float64)],
)
def test_row_dots_equal_einsum(rows, cols, dtype):
    rng = np.random.default_rng(rows)
    a, b = rng.random((2, rows, cols)).astype(dtype)
    got = _epig_blocks.row_dots(a, b)
    assert got.shape == (rows,) and got.dtype == dtype
    np.testing.assert_allclose(got, np.einsum("ij,ij->i", a, b), rtol=1e-5)


def test_inputs_are_not_modified_and_float32_is_accepted():
    rng = np.random.RandomState(3)
    pool = random_probs(rng, 3, 10, 4).astype(np.float32)
    target = random_probs(rng, 3, 5, 4).astype(np.float32)
    before = pool.copy(), target.copy()
    scores = epig_scores(pool, target, precise=False)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(pool, before[0])
    np.testing.assert_array_equal(target, before[1])


@pytest.mark.parametrize(
    ("probs", "idx_n", "expected"),
    [
        (np.full((2, 3, 2), 0.5), None, False),
        (np.array([[[0.5, 0.5], [1.0, 0.0]]]), None, True),
        (np.array([[[0.5, 0.5], [1.0, 0.0]]]), np.array([0, 0]), False),
        (np.array([[[0.5, 0.5], [1.0, 0.0]]]), np.array([1]), True),
    ],
)
def test_has_zero(probs, idx_n, expected):
    assert _epig_blocks.has_zero(probs, idx_n) is expected


@pytest.mark.parametrize("precise", [True, False])
@pytest.mark.parametrize("targets", ["separate", "pool"])
def test_members_that_never_predict_a_class_equal_brute_force(
    monkeypatch, precise, targets
):
    # As in a bagging whose members never saw some classes: zero columns,
    # hence zero joints, which the kernels clamp (0 log 0 = 0).
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 16 * 12)  # many blocks
    rng = np.random.RandomState(8)
    K, C = 5, 4
    pool, target = random_probs(rng, K, 30, C), random_probs(rng, K, 12, C)
    for k, c in [(0, 1), (1, 1), (2, 3), (4, 0)]:
        pool[k, :, c] = target[k, :, c] = 0.0
    pool /= pool.sum(-1, keepdims=True)
    target /= target.sum(-1, keepdims=True)
    target = pool if targets == "pool" else target
    clamps = []
    real = _epig_blocks.Workspace
    monkeypatch.setattr(
        _epig_blocks, "Workspace",
        lambda *a: clamps.append(a[2]) or real(*a),
    )  # fmt: skip
    got = epig_scores(pool, target, precise=precise)
    assert clamps and all(clamps)
    np.testing.assert_allclose(
        got, brute_epig(pool, target), rtol=0, atol=1e-12 if precise else 2e-7
    )


@pytest.mark.parametrize(
    ("pool_shape", "target_shape", "match"),
    [
        ((3, 5, 4), (2, 5, 4), "same K members over the same C classes"),
        ((3, 5, 4), (3, 5, 3), "same K members over the same C classes"),
        ((3, 5), (3, 5, 4), "must have 3 dimensions"),
    ],
)
def test_shape_errors_name_the_parameters(pool_shape, target_shape, match):
    pool = np.full(pool_shape, 1.0 / pool_shape[-1])
    target = np.full(target_shape, 1.0 / target_shape[-1])
    with pytest.raises(ValueError, match=match):
        epig_scores(pool, target)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_memory": 1000}, ValueError, "at least 1 MiB"),
        ({"max_memory": "1G"}, TypeError, "number of bytes"),
        ({"precise": 1}, TypeError, "precise must be True or False"),
    ],
)
def test_parameter_errors(kwargs, error, match):
    probs = np.full((2, 3, 2), 0.5)
    with pytest.raises(error, match=match):
        epig_scores(probs, probs, **kwargs)


@pytest.mark.parametrize(
    ("post", "weights", "match"),
    [
        (np.full((2, 3), 1 / 3), np.ones(2) / 2, r"shape \(M, K\) with K=2"),
        (np.full((2, 2), 0.5), np.ones(3) / 3, r"weights_M must have shape \(2,\)"),
        (np.array([[1.5, -0.5]]), np.ones(1), "non-negative"),
        (np.array([[np.nan, 0.5]]), np.ones(1), "finite"),
    ],
)
def test_posterior_errors(post, weights, match):
    probs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match=match):
        conditional_epig(probs, probs, post, weights)


def test_idx_out_of_range_is_an_error():
    probs = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match=r"indices in \[0, 3\)"):
        conditional_epig(probs, probs, np.full((1, 2), 0.5), np.ones(1), idx_n=[3])


@pytest.mark.parametrize(
    ("precise", "M", "idx"),
    [
        (True, 1, None),
        (False, 1, None),
        (True, 3, None),
        (False, 3, [41, 0, 7, 7, 30, 12, 5, 18, 2, 39, 23]),
    ],
)
def test_thread_count_does_not_change_the_scores(monkeypatch, precise, M, idx):
    rng = np.random.RandomState(7)
    K, C = 5, 4
    pool, target = random_probs(rng, K, 42, C), random_probs(rng, K, 9, C)
    post = rng.dirichlet(np.ones(K), size=M)
    weights = rng.dirichlet(np.ones(M))
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 3 * 2 * C * C)  # 14+ blocks
    runs = {}
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(epig_module, "thread_count", lambda n=n_threads: n)
        runs[n_threads] = conditional_epig(
            pool, target, post, weights, idx_n=idx, precise=precise
        )
    np.testing.assert_array_equal(runs[2], runs[1])
    np.testing.assert_array_equal(runs[3], runs[1])
    expected = brute_epig(pool, target, post, weights)
    expected = expected if idx is None else expected[idx]
    np.testing.assert_allclose(runs[2], expected, atol=1e-12 if precise else 1e-5)


@pytest.mark.parametrize(
    ("n_blocks", "n_threads"), [(0, 2), (1, 1), (1, 3), (7, 1), (7, 2), (20, 3)]
)
def test_run_blocks_runs_every_block_once_with_one_state_per_thread(
    n_blocks, n_threads
):
    seen, states = [], []

    def make_state():
        state = []
        states.append(state)
        return state

    def task(b, state):
        state.append(b)
        seen.append(b)

    _epig_blocks.run_blocks(task, n_blocks, n_threads, make_state)
    assert sorted(seen) == list(range(n_blocks))
    assert len(states) == max(1, n_threads)
    assert sorted(b for state in states for b in state) == list(range(n_blocks))


@pytest.mark.parametrize(
    ("max_memory", "cpus", "expected"),
    [(None, 1, 1), (None, 2, 2), (None, 8, 8), (2**20, 8, 5), (2**20, 2, 2)],
)
def test_threads_follow_the_cpus_and_share_the_budget(
    monkeypatch, max_memory, cpus, expected
):
    # 400 points x 10 targets, C = 10: 25 blocks of 16 points x 10 targets
    # (16,000 joints, at least 8 points a block); the plan counts 3 float32
    # cells per joint, so a thread takes 192,000 bytes and 1 MiB (less the
    # 8,000 of targets) holds 5.
    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 1 << 14)
    monkeypatch.setattr(epig_module, "_MIN_POOL_ROWS", 8)
    monkeypatch.setattr(epig_module, "thread_count", lambda: cpus)
    used = []
    run = _epig_blocks.run_blocks

    def spy(task, n_blocks, n_threads, make_state):
        used.append(n_threads)
        run(task, n_blocks, n_threads, make_state)

    monkeypatch.setattr(_epig_blocks, "run_blocks", spy)
    rng = np.random.RandomState(8)
    pool, target = random_probs(rng, 20, 400, 10), random_probs(rng, 20, 10, 10)
    epig_scores(pool, target, max_memory=max_memory, precise=False)
    assert used == [expected]


# --------------------------------------------------------------------------
# the pool standing for the targets: half the pairs (batchbald._epig_symmetric)
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("K", "N", "C", "block", "M", "one_hot", "seed"),
    [
        (5, 23, 3, 9 * 9, 1, False, 0),  # chunks of 3 samples, the last short
        (4, 17, 2, 4 * 16, 3, False, 1),  # chunks of 4, three configurations
        (6, 20, 3, 9 * 16, 2, True, 2),  # one-hot members: 0 log 0 = 0
        (3, 9, 4, 16 * 4, 1, False, 3),  # chunks of 2
    ],
)
def test_pool_as_targets_scores_half_the_pairs_and_equals_brute_force(
    monkeypatch, K, N, C, block, M, one_hot, seed
):
    from batchbald import _epig_symmetric, _epig_votes

    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", block)
    rng = np.random.RandomState(seed)
    pool = random_probs(rng, K, N, C)
    if one_hot:  # with the vote kernel off: the joints' zeros, 0 log 0 = 0
        pool = np.eye(C)[pool.argmax(-1)]
        monkeypatch.setattr(_epig_votes, "use_votes", lambda K, C: False)
    post, weights = rng.dirichlet(np.ones(K), size=M), rng.dirichlet(np.ones(M))
    calls = []
    real = _epig_symmetric.symmetric_joint_sums
    monkeypatch.setattr(
        _epig_symmetric, "symmetric_joint_sums",
        lambda *a, **k: calls.append(a[4]) or real(*a, **k),
    )  # fmt: skip
    expected = brute_epig(pool, pool, post, weights)
    got = conditional_epig(pool, pool, post, weights)
    assert len(calls) == 1 and calls[0] < N  # the symmetric path ran
    np.testing.assert_allclose(got, expected, atol=1e-12)
    got32 = conditional_epig(pool, pool, post, weights, precise=False)
    np.testing.assert_allclose(got32, expected, atol=2e-6)
    # a copy of the pool is other targets to the code: every pair is scored
    np.testing.assert_allclose(
        conditional_epig(pool, pool.copy(), post, weights), got, atol=1e-12
    )
    assert len(calls) == 2


@pytest.mark.parametrize("precise", [True, False])
def test_pool_as_targets_gives_the_same_bits_on_any_number_of_threads(
    monkeypatch, precise
):
    from batchbald import _epig_symmetric

    monkeypatch.setattr(epig_module, "_BLOCK_ELEMENTS", 9 * 16)  # chunks of 4
    rng = np.random.RandomState(7)
    pool = random_probs(rng, 5, 30, 3)
    runs = []
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(_epig_symmetric, "thread_count", lambda n=n_threads: n)
        runs.append(epig_scores(pool, pool, precise=precise))
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])


@pytest.mark.parametrize(
    ("K", "N", "C", "max_memory", "expected"),
    [
        (20, 1_000, 10, 256 * 2**20, 72),  # 72 x 72 samples of 10 x 10 joints
        (20, 72, 10, 256 * 2**20, None),  # one chunk: nothing to halve
        (20, 200_000, 10, 256 * 2**20, None),  # the kept column sums do not fit
        (20, 20_000, 2, 256 * 2**20, 362),
        (20, 1_000, 10, 2**22, None),  # 6 MiB of buffers and 2.3 MiB of copies
        (1_200, 2_000, 10, 256 * 2**20, None),  # the copies alone: 288 MB
    ],
)
def test_symmetric_plan(K, N, C, max_memory, expected):
    from batchbald._epig_symmetric import symmetric_plan

    assert symmetric_plan(K, N, C, 4, max_memory) == expected
