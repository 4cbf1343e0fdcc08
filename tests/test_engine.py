"""Tests of the selection engine against brute force and scikit-activeml."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchbald.engine import select_batch, select_stochastic, select_topk
from batchbald.information import bald_scores, expected_entropy, joint_entropy_exact


def random_probs(rng, K, N, C, alpha=0.5):
    return rng.dirichlet(np.full(C, alpha), size=(K, N))


def brute_force_greedy(probs_K_N_C, batch_size):
    """Plain greedy BatchBALD: joint entropies by enumeration, every candidate,
    every step. Returns indices and the utilities of every step."""
    K, N, C = probs_K_N_C.shape
    cond = expected_entropy(probs_K_N_C)
    chosen, rows = [], []
    for _ in range(batch_size):
        row = np.full(N, np.nan)
        for n in range(N):
            if n in chosen:
                continue
            batch = chosen + [n]
            row[n] = joint_entropy_exact(probs_K_N_C[:, batch]) - cond[batch].sum()
        chosen.append(int(np.nanargmax(row)))
        rows.append(row)
    return np.array(chosen), np.array(rows)


@st.composite
def pools(draw):
    K = draw(st.integers(2, 6))
    N = draw(st.integers(4, 12))
    C = draw(st.integers(2, 3))
    alpha = draw(st.sampled_from([0.2, 0.5, 2.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    return random_probs(np.random.RandomState(seed), K, N, C, alpha)


@settings(max_examples=40, deadline=None)
@given(pools(), st.integers(1, 4))
def test_matches_brute_force_greedy_in_exact_regime(probs, batch_size):
    batch_size = min(batch_size, probs.shape[1])
    expected_idx, expected_rows = brute_force_greedy(probs, batch_size)
    gaps = np.sort(expected_rows, axis=1)
    # Skip draws with (near-)ties at the top, where any choice is correct.
    finite = [r[np.isfinite(r)] for r in gaps]
    if any(len(r) > 1 and r[-1] - r[-2] < 1e-9 for r in finite):
        return
    result = select_batch(probs, batch_size, n_configurations=10**6, random_state=0)
    full = select_batch(
        probs, batch_size, n_configurations=10**6, random_state=0, return_utilities=True
    )
    np.testing.assert_array_equal(result.indices, expected_idx)
    np.testing.assert_array_equal(full.indices, expected_idx)
    np.testing.assert_allclose(full.utilities, expected_rows, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(pools())
def test_batch_size_one_is_bald(probs):
    scores = bald_scores(probs)
    result = select_batch(probs, 1, random_state=0, eps=0.0)
    assert scores[result.indices[0]] == pytest.approx(scores.max(), abs=1e-12)
    assert result.gains[0] == pytest.approx(scores.max(), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(pools(), st.integers(2, 5))
def test_gains_are_nonnegative_and_never_increase_in_exact_regime(probs, batch_size):
    batch_size = min(batch_size, probs.shape[1])
    result = select_batch(probs, batch_size, n_configurations=10**6, random_state=0)
    assert np.all(result.gains >= -1e-9)
    assert np.all(np.diff(result.gains) <= 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    ("K", "N", "C", "b", "M"), [(8, 80, 3, 4, 100), (5, 50, 2, 5, 64)]
)
def test_same_indices_as_scikit_activeml_in_exact_regime(seed, K, N, C, b, M):
    skal = pytest.importorskip("skactiveml.pool._bald")
    probs = random_probs(np.random.RandomState(seed), K, N, C)
    utilities = skal.batch_bald(probs.copy(), b, n_MC_samples=M, random_state=0)
    expected = [int(np.nanargmax(row)) for row in utilities]
    result = select_batch(
        probs, b, n_configurations=M, random_state=seed, return_utilities=True
    )
    np.testing.assert_array_equal(result.indices, expected)
    np.testing.assert_allclose(
        np.nan_to_num(result.utilities, nan=-1),
        np.nan_to_num(utilities, nan=-1),
        atol=1e-6,
    )


@pytest.mark.parametrize("seed", range(5))
def test_lazy_equals_full_greedy_with_ties(seed):
    rng = np.random.RandomState(seed)
    base = random_probs(rng, 6, 30, 3)
    probs = np.concatenate([base, base[:, :10]], axis=1)  # ten exact duplicates
    lazy = select_batch(probs, 5, n_configurations=10**4, random_state=seed, lazy=True)
    full = select_batch(probs, 5, n_configurations=10**4, random_state=seed, lazy=False)
    np.testing.assert_array_equal(lazy.indices, full.indices)
    np.testing.assert_allclose(lazy.gains, full.gains, atol=1e-12)
    assert lazy.n_scored <= full.n_scored


def test_ties_are_broken_by_the_callers_random_state():
    probs = np.repeat(random_probs(np.random.RandomState(0), 4, 1, 3), 50, axis=1)
    firsts = {int(select_batch(probs, 1, random_state=s).indices[0]) for s in range(20)}
    assert len(firsts) > 5
    again = [select_batch(probs, 3, random_state=7).indices for _ in range(2)]
    np.testing.assert_array_equal(again[0], again[1])


def test_returned_index_is_the_one_conditioned_on():
    """Each step's utilities equal the brute-force ones given the indices
    returned before it (not some other tied index)."""
    probs = np.repeat(random_probs(np.random.RandomState(2), 5, 6, 3), 2, axis=1)
    result = select_batch(probs, 4, random_state=3, return_utilities=True)
    cond = expected_entropy(probs)
    for i in range(4):
        chosen = list(result.indices[:i])
        for n in np.flatnonzero(np.isfinite(result.utilities[i])):
            batch = chosen + [n]
            expected = joint_entropy_exact(probs[:, batch]) - cond[batch].sum()
            assert result.utilities[i, n] == pytest.approx(expected, abs=1e-6)
        assert np.all(np.isnan(result.utilities[i, result.indices[:i]]))


@pytest.mark.parametrize("max_memory", [2**20, 3 * 2**20, 2**28])
def test_results_do_not_depend_on_the_memory_budget(max_memory):
    probs = random_probs(np.random.RandomState(1), 20, 3000, 10)
    ref = select_batch(probs, 6, n_configurations=2000, random_state=0)
    res = select_batch(
        probs, 6, n_configurations=2000, random_state=0, max_memory=max_memory
    )
    np.testing.assert_array_equal(res.indices, ref.indices)
    # Sampled-regime gains are float32 screening values: chunking changes the
    # rounding, not the estimate.
    np.testing.assert_allclose(res.gains, ref.gains, atol=1e-5)


def test_sampled_gains_track_exact_gains():
    """Past C**|A| > M the gains are estimates; with many samples they stay
    close to the exact (enumerated) gains of the same indices."""
    probs = random_probs(np.random.RandomState(4), 10, 40, 3)
    exact = select_batch(probs, 5, n_configurations=10**4, random_state=0)
    sampled_gains = []
    for seed in range(10):
        res = select_batch(probs, 5, n_configurations=200, random_state=seed)
        if np.array_equal(res.indices, exact.indices):
            sampled_gains.append(res.gains)
    assert sampled_gains, "sampling never reproduced the exact choices"
    np.testing.assert_allclose(np.mean(sampled_gains, axis=0), exact.gains, atol=0.02)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_is_not_modified(dtype):
    probs = random_probs(np.random.RandomState(0), 5, 40, 3).astype(dtype)
    probs[:, 0] = [1.0, 0.0, 0.0]
    before = probs.copy()
    select_batch(probs, 4, n_configurations=5, random_state=0, return_utilities=True)
    np.testing.assert_array_equal(probs, before)


def test_memmap_input(tmp_path):
    probs = random_probs(np.random.RandomState(0), 5, 100, 4).astype(np.float32)
    path = tmp_path / "probs.npy"
    np.save(path, probs)
    mapped = np.load(path, mmap_mode="r")
    a = select_batch(mapped, 5, random_state=0)
    b = select_batch(probs, 5, random_state=0)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_batch_size_larger_than_pool_selects_all_with_warning():
    probs = random_probs(np.random.RandomState(0), 3, 4, 2)
    with pytest.warns(UserWarning, match="selecting all 4"):
        result = select_batch(probs, 10)
    assert sorted(result.indices) == [0, 1, 2, 3]


def test_callback_is_called_per_step():
    calls = []
    probs = random_probs(np.random.RandomState(0), 3, 10, 2)
    result = select_batch(probs, 3, callback=lambda *a: calls.append(a))
    assert [c[1] for c in calls] == list(result.indices)


def test_lazy_cannot_return_utilities():
    probs = random_probs(np.random.RandomState(0), 3, 5, 2)
    with pytest.raises(ValueError, match="lazy=True cannot return utilities"):
        select_batch(probs, 2, lazy=True, return_utilities=True)


def test_numpy_integers_are_accepted():
    probs = random_probs(np.random.RandomState(0), 3, 5, 2)
    result = select_batch(
        probs, np.int64(2), n_configurations=np.int32(50), random_state=np.int64(1)
    )
    assert len(result.indices) == 2


@pytest.mark.parametrize("probs", [np.full((3, 4), 0.25), np.full((2, 3, 2), 0.7)])
def test_bad_probabilities_are_rejected(probs):
    with pytest.raises(ValueError, match="probs_K_N_C"):
        select_batch(probs, 1)


def test_torch_backend_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    probs = random_probs(np.random.RandomState(5), 10, 300, 4)
    ref = select_batch(probs, 6, n_configurations=100, random_state=0)
    for inp, device in [(torch.from_numpy(probs), None), (probs, "cpu")]:
        res = select_batch(inp, 6, n_configurations=100, random_state=0, device=device)
        np.testing.assert_array_equal(res.indices, ref.indices)
        np.testing.assert_allclose(res.gains, ref.gains, atol=1e-6)


def test_torch_backend_validates_input():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="NaN"):
        select_batch(torch.full((2, 3, 2), float("nan")), 1)


# -- top-k and stochastic ---------------------------------------------------
def test_topk_takes_the_highest_scores():
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    result = select_topk(scores, 3, random_state=0, return_utilities=True)
    np.testing.assert_array_equal(result.indices, [1, 3, 2])
    assert np.isnan(result.utilities[2, [1, 3]]).all()


@pytest.mark.parametrize("mode", ["power", "softmax", "softrank"])
def test_stochastic_large_beta_is_topk_and_zero_beta_is_uniform(mode):
    scores = np.linspace(0.01, 1.0, 20)
    top = select_stochastic(scores, 3, mode, beta=1e6, random_state=0)
    np.testing.assert_array_equal(top.indices, [19, 18, 17])
    counts = np.zeros(20)
    rng = np.random.RandomState(0)
    for _ in range(4000):
        counts[
            select_stochastic(scores, 1, mode, beta=0.0, random_state=rng).indices[0]
        ] += 1
    assert counts.min() > 120 and counts.max() < 290  # ~200 each


def test_power_sampling_follows_the_power_law():
    scores = np.array([1.0, 2.0, 4.0])
    rng = np.random.RandomState(1)
    firsts = [
        select_stochastic(scores, 1, "power", 1.0, rng).indices[0] for _ in range(7000)
    ]
    freq = np.bincount(firsts, minlength=3) / 7000
    np.testing.assert_allclose(freq, scores / scores.sum(), atol=0.02)


def test_stochastic_utilities_explain_each_choice():
    scores = np.random.RandomState(0).rand(30)
    result = select_stochastic(scores, 5, "softmax", 2.0, 3, return_utilities=True)
    for i, idx in enumerate(result.indices):
        assert np.nanargmax(result.utilities[i]) == idx


def test_no_warnings_on_regular_input():
    probs = random_probs(np.random.RandomState(0), 5, 50, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select_batch(probs, 5, n_configurations=20, random_state=0)


@pytest.mark.parametrize("max_memory", [2**20, None])
def test_pool_entropies_match_the_reference_functions(max_memory):
    from batchbald.engine import pool_entropies
    from batchbald.information import predictive_entropy

    probs = random_probs(np.random.RandomState(3), 7, 5000, 6)
    pred, expected = pool_entropies(probs, eps=0.0, max_memory=max_memory)
    np.testing.assert_allclose(pred, predictive_entropy(probs), atol=1e-12)
    np.testing.assert_allclose(expected, expected_entropy(probs), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(pools(), st.integers(1, 5), st.integers(0, 3), st.integers(0, 10_000))
def test_lazy_equals_full_greedy_property(probs, batch_size, n_dups, seed):
    """Exact regime: lazy greedy makes the full scan's choices, ties included
    (duplicated samples make exact ties, broken by the same random_state)."""
    probs = np.concatenate([probs, probs[:, :n_dups]], axis=1)
    batch_size = min(batch_size, probs.shape[1])
    kwargs = {"n_configurations": 10**6, "random_state": seed}
    lazy = select_batch(probs, batch_size, lazy=True, **kwargs)
    full = select_batch(probs, batch_size, lazy=False, **kwargs)
    np.testing.assert_array_equal(lazy.indices, full.indices)
    np.testing.assert_allclose(lazy.gains, full.gains, atol=1e-12)


# -- errors in our words and bounded resources (issue 14) --------------------
def test_deprecated_n_samples_still_works_with_a_future_warning():
    probs = random_probs(np.random.RandomState(0), 4, 20, 3)
    new = select_batch(probs, 3, n_configurations=5, random_state=0)
    with pytest.warns(FutureWarning, match="n_configurations=5") as rec:
        old = select_batch(probs, 3, n_samples=5, random_state=0)
    assert rec[0].filename == __file__
    np.testing.assert_array_equal(new.indices, old.indices)
    with pytest.raises(TypeError, match="pass n_configurations only"):
        select_batch(probs, 3, n_configurations=5, n_samples=5)


def _warning_lines(call):
    with pytest.warns(UserWarning, match="selecting all") as rec:
        call()
    return [(w.filename, w.lineno) for w in rec]


def test_batch_size_warning_points_at_the_callers_line():
    from batchbald.pool import BatchBALD, GreedyBALD

    probs = random_probs(np.random.RandomState(0), 3, 4, 2)
    calls = [
        lambda: select_batch(probs, 10),
        lambda: select_topk(np.ones(4), 10),
        lambda: select_stochastic(np.ones(4), 10),
        lambda: BatchBALD(random_state=0).select(probs, 10),
        lambda: GreedyBALD(random_state=0).select(probs, 10),
    ]
    for call in calls:
        lines = _warning_lines(call)
        assert len(lines) == 1
        assert lines[0] == (__file__, call.__code__.co_firstlineno), lines


@pytest.mark.parametrize("max_memory", [float("inf"), float("nan"), 2**20 - 1])
def test_unusable_memory_budgets_are_refused(max_memory):
    probs = random_probs(np.random.RandomState(0), 3, 5, 2)
    with pytest.raises(ValueError, match="max_memory must be a finite number"):
        select_batch(probs, 2, max_memory=max_memory)


@pytest.mark.parametrize(
    ("M", "max_memory"), [(10**9, None), (10**12, None), (10**6, 2**20)]
)
def test_huge_n_configurations_are_refused_before_any_work(M, max_memory):
    import tracemalloc

    probs = random_probs(np.random.RandomState(0), 10, 60, 2)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"n_configurations=\d+ \(M\) needs"):
            select_batch(probs, 40, n_configurations=M, max_memory=max_memory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_many_configurations_that_fit_still_run():
    # C**(B-1) = 8 configurations at most: M = 10**12 costs nothing here.
    probs = random_probs(np.random.RandomState(0), 5, 30, 2)
    a = select_batch(probs, 4, n_configurations=10**12, random_state=0)
    b = select_batch(probs, 4, n_configurations=8, random_state=0)
    np.testing.assert_array_equal(a.indices, b.indices)


def test_memmap_validation_and_selection_stay_within_the_budget(tmp_path):
    import tracemalloc

    K, N, C = 20, 20000, 10  # 16 MB of float32 on disk
    path = tmp_path / "probs.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(K, N, C))
    rng = np.random.RandomState(0)
    for a in range(0, N, 5000):
        out[:, a : a + 5000] = random_probs(rng, K, 5000, C)
    out.flush()
    del out
    mapped = np.load(path, mmap_mode="r")
    budget = 4 * 2**20
    tracemalloc.start()
    try:
        select_batch(mapped, 3, max_memory=budget, random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * budget


@pytest.mark.parametrize(
    ("device", "error", "match"),
    [
        ("bogus", ValueError, "torch does not know this device"),
        (0, TypeError, "named by a string"),
        ("meta", ValueError, "meta device holds no data"),
        ("cuda:99", ValueError, "device must be a torch device available"),
    ],
)
def test_bad_devices_are_refused_in_our_words(device, error, match):
    pytest.importorskip("torch")
    probs = random_probs(np.random.RandomState(0), 3, 5, 2)
    with pytest.raises(error, match=match):
        select_batch(probs, 2, device=device)


def test_cuda_without_cuda_is_refused_in_our_words():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    probs = random_probs(np.random.RandomState(0), 3, 5, 2)
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_batch(probs, 2, device="cuda")


def test_meta_tensor_is_refused_in_our_words():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="meta device, which holds no values"):
        select_batch(torch.empty((3, 5, 2), device="meta"), 2)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_big_endian_input_works_on_both_backends(device):
    if device is not None:
        pytest.importorskip("torch")
    probs = random_probs(np.random.RandomState(3), 6, 40, 3)
    swapped = probs.astype(">f8")
    ref = select_batch(probs, 4, random_state=0)
    res = select_batch(swapped, 4, random_state=0, device=device)
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.gains, ref.gains, atol=1e-6)
