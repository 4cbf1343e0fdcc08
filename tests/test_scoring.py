"""Tests of the chunk scorers (batchbald._scoring) against plain numpy."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from batchbald import _scoring
from batchbald._scoring import NumpyScorer, make_scorer

EPS = 1e-7


def _probs(rng, K, N, C, dtype=np.float64):
    logits = 1.5 * rng.standard_normal((K, N, C))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    return (probs / probs.sum(-1, keepdims=True)).astype(dtype)


def _posterior(rng, M, K):
    post = rng.dirichlet(np.full(K, 0.5), size=M)
    weights = rng.dirichlet(np.ones(M))
    return post, weights


def _reference_cmi(probs_K_N_C, post_M_K, weights_M, idx_n=None, floor=EPS):
    """``sum_m w_m [H(sum_k post_mk p_k) - sum_k post_mk H(p_k)]`` in float64,
    by brute force over (M, n, C)."""
    p = np.asarray(probs_K_N_C, dtype=np.float64)
    if idx_n is not None:
        p = p[:, idx_n]
    q_M_n_C = np.einsum("mk,knc->mnc", post_M_K, p)
    h_M_n = -(q_M_n_C * np.log(np.maximum(q_M_n_C, floor))).sum(-1)
    h_K_n = -(p * np.log(np.maximum(p, floor))).sum(-1)
    return weights_M @ h_M_n - (weights_M @ post_M_K) @ h_K_n


def _reference_entropies(probs_K_N_C):
    p = np.asarray(probs_K_N_C, dtype=np.float64)
    mean = p.mean(0)
    pred = -(mean * np.log(np.maximum(mean, EPS))).sum(-1)
    expected = -(p * np.log(np.maximum(p, EPS))).sum(-1).mean(0)
    return pred, expected


# (K, N, C, M, max_memory, n_threads): whole pool in one chunk; many chunks
# over the pool; configurations sliced (M * C cells per sample over budget);
# one configuration; more threads than blocks.
SPLITS = [
    (5, 40, 3, 7, 2**26, 1),
    (5, 40, 3, 7, 2**26, 2),
    (4, 300, 4, 50, 4_000, 2),
    (4, 300, 4, 50, 4_000, 3),
    (3, 97, 5, 2_000, 20_000, 2),
    (3, 97, 5, 2_000, 20_000, 1),
    (6, 30, 2, 1, 2**20, 2),
    (6, 5, 10, 3, 2**20, 8),
]


@pytest.mark.parametrize("K,N,C,M,max_memory,n_threads", SPLITS)
@pytest.mark.parametrize("precise", [False, True])
@pytest.mark.parametrize("subset", [False, True])
def test_conditional_mi_matches_numpy_reference(
    K, N, C, M, max_memory, n_threads, precise, subset, monkeypatch
):
    monkeypatch.setattr(_scoring, "_THREADED_CELLS", 0)  # threads for any call
    rng = np.random.default_rng(K * N + M)
    probs = _probs(rng, K, N, C)
    post, weights = _posterior(rng, M, K)
    idx = np.sort(rng.choice(N, size=max(1, N // 3), replace=False)) if subset else None
    scorer = NumpyScorer(probs, eps=EPS, max_memory=max_memory)
    scorer.n_threads = n_threads
    with scorer:
        got = scorer.conditional_mi(idx, post, weights, precise=precise)
    want = _reference_cmi(probs, post, weights, idx)
    assert got.dtype == np.float64
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 if precise else 2e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("subset", [False, True])
def test_conditional_mi_input_dtypes(dtype, subset):
    """Every dtype, read in spans or gathered (taken into the first buffer
    when the dtypes agree, into a new block when they do not)."""
    rng = np.random.default_rng(3)
    probs = _probs(rng, 4, 60, 3, dtype=dtype)
    post, weights = _posterior(rng, 9, 4)
    idx = np.array([0, 7, 8, 31, 59]) if subset else None
    with NumpyScorer(probs, eps=EPS, max_memory=2**20) as scorer:
        for precise, atol in [(False, 2e-4), (True, 1e-9)]:
            got = scorer.conditional_mi(idx, post, weights, precise=precise)
            want = _reference_cmi(probs, post, weights, idx)
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)


# (N, M, threaded): calls below _THREADED_CELLS (N * C * (M + K) cells) run
# in the calling thread, larger ones on the pool; the gains are the same.
@pytest.mark.parametrize(
    "N,M,threaded",
    [(3000, 8, False), (1000, 50, False), (5000, 20, True), (20000, 10, True)],
)
def test_small_calls_run_in_the_calling_thread(N, M, threaded, monkeypatch):
    rng = np.random.default_rng(N + M)
    probs = _probs(rng, 4, N, 3).astype(np.float32)
    post, weights = _posterior(rng, M, 4)
    assert (N * 3 * (M + 4) >= _scoring._THREADED_CELLS) == threaded
    with NumpyScorer(probs, eps=EPS, max_memory=2**26) as scorer:
        scorer.n_threads = 2
        got = scorer.conditional_mi(None, post, weights)
        assert (scorer._pool is not None) == threaded
    monkeypatch.setattr(_scoring, "_THREADED_CELLS", 0)
    with NumpyScorer(probs, eps=EPS, max_memory=2**26) as scorer:
        scorer.n_threads = 2
        np.testing.assert_array_equal(got, scorer.conditional_mi(None, post, weights))
        assert scorer._pool is not None


def test_block_boundaries(monkeypatch):
    """Blocks of one sample and blocks that do not divide the chunk."""
    rng = np.random.default_rng(5)
    probs = _probs(rng, 3, 23, 4)
    post, weights = _posterior(rng, 6, 3)
    want = _reference_cmi(probs, post, weights)
    for cells in (1, 24, 24 * 5 + 1, 1 << 16):
        monkeypatch.setattr(_scoring, "_BLOCK_CELLS", cells)
        with NumpyScorer(probs, eps=EPS, max_memory=2**20) as scorer:
            got = scorer.conditional_mi(None, post, weights, precise=True)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_probabilities_at_zero_are_floored():
    """Exact zeros (one-hot members) give finite gains equal to the reference."""
    probs = np.zeros((3, 4, 3))
    probs[0, :, 0] = probs[1, :, 1] = 1.0
    probs[2, :, :] = 1 / 3
    post = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    weights = np.array([0.6, 0.4])
    want = _reference_cmi(probs, post, weights)
    with NumpyScorer(probs, eps=EPS, max_memory=2**20) as scorer:
        for precise, atol in [(False, 2e-4), (True, 1e-9)]:
            got = scorer.conditional_mi(None, post, weights, precise=precise)
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)


@pytest.mark.parametrize("max_memory", [2**20, 3 * 2**20])
def test_entropies_match_reference(max_memory):
    rng = np.random.default_rng(7)
    probs = _probs(rng, 5, 3_000, 4)
    with NumpyScorer(probs, eps=EPS, max_memory=max_memory) as scorer:
        pred, expected = scorer.entropies()
    want_pred, want_expected = _reference_entropies(probs)
    np.testing.assert_allclose(pred, want_pred, rtol=0, atol=1e-12)
    np.testing.assert_allclose(expected, want_expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("precise", [False, True])
def test_working_memory_stays_under_budget(precise):
    """Peak allocations of a pool-wide score stay under ``max_memory``, far
    below the ``M x N x C`` cells a product of the whole pool would take."""
    rng = np.random.default_rng(11)
    K, N, C, M = 8, 5_000, 10, 200
    budget = 2**20
    probs = _probs(rng, K, N, C, np.float32)
    post, weights = _posterior(rng, M, K)
    scorer = NumpyScorer(probs, eps=EPS, max_memory=budget)
    scorer.conditional_mi(np.arange(10), post, weights, precise=precise)  # warm
    tracemalloc.start()
    try:
        scorer.conditional_mi(None, post, weights, precise=precise)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        scorer.close()
    assert peak < budget + 8 * N  # the (N,) float64 result is the caller's
    assert M * N * C * 4 > 30 * budget


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype_name", ["float32", "float64", "float16"])
def test_cpu_tensor_is_scored_by_numpy_without_copy(dtype_name):
    torch = _torch()
    rng = np.random.default_rng(4)
    probs = _probs(rng, 3, 20, 4, np.dtype(dtype_name))
    tensor = torch.from_numpy(probs)
    scorer = make_scorer(tensor, eps=EPS, max_memory=2**20)
    assert isinstance(scorer, NumpyScorer)
    assert np.shares_memory(scorer.probs, probs)
    post, weights = _posterior(rng, 5, 3)
    np.testing.assert_allclose(
        scorer.conditional_mi(None, post, weights, precise=True),
        _reference_cmi(probs, post, weights),
        atol=1e-9,
    )


@pytest.mark.parametrize("device", ["cpu", None])
def test_numpy_input_on_cpu_device_uses_numpy(device):
    _torch()
    probs = _probs(np.random.default_rng(0), 2, 5, 3)
    assert isinstance(
        make_scorer(probs, eps=EPS, max_memory=2**20, device=device), NumpyScorer
    )


def test_bfloat16_tensor_stays_on_torch_and_agrees():
    torch = _torch()
    rng = np.random.default_rng(8)
    dyadic = np.array([0.5, 0.25, 0.125, 0.125])  # exact in bfloat16
    probs = np.stack([[rng.permutation(dyadic) for _ in range(30)] for _ in range(3)])
    tensor = torch.from_numpy(probs).to(torch.bfloat16)
    scorer = make_scorer(tensor, eps=EPS, max_memory=2**20)
    assert isinstance(scorer, _scoring.TorchScorer)
    post, weights = _posterior(rng, 5, 3)
    rounded = tensor.to(torch.float64).numpy()
    np.testing.assert_allclose(
        scorer.conditional_mi(None, post, weights, precise=True),
        _reference_cmi(rounded, post, weights),
        atol=1e-9,
    )


def _torch_devices():
    try:
        import torch
    except ImportError:
        return ["cpu"]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", _torch_devices())
@pytest.mark.parametrize("precise", [False, True])
@pytest.mark.parametrize("subset", [False, True])
def test_torch_scorer_matches_numpy_reference(device, precise, subset):
    """The torch backend (what runs on a GPU), forced onto ``device``."""
    _torch()
    rng = np.random.default_rng(12)
    K, N, C, M = 4, 300, 4, 50
    probs = _probs(rng, K, N, C)
    post, weights = _posterior(rng, M, K)
    idx = np.sort(rng.choice(N, size=100, replace=False)) if subset else None
    scorer = _scoring.TorchScorer(probs, eps=EPS, max_memory=4_000, device=device)
    with scorer:
        got = scorer.conditional_mi(idx, post, weights, precise=precise)
        pred, expected = scorer.entropies()
    np.testing.assert_allclose(
        got, _reference_cmi(probs, post, weights, idx), atol=1e-9 if precise else 2e-4
    )
    want_pred, want_expected = _reference_entropies(probs)
    np.testing.assert_allclose(pred, want_pred, atol=1e-12)
    np.testing.assert_allclose(expected, want_expected, atol=1e-12)


@pytest.mark.parametrize("max_memory,table", [(2**20, True), (4_000, False)])
@pytest.mark.parametrize("subset", [False, True])
def test_screening_after_entropies_uses_member_entropy_table(max_memory, table, subset):
    """After :meth:`entropies`, screening takes the members' entropies from
    the kept ``K x N`` table (when it fits a quarter of the budget)."""
    rng = np.random.default_rng(21)
    K, N, C, M = 4, 300, 4, 30
    probs = _probs(rng, K, N, C, np.float32)
    post, weights = _posterior(rng, M, K)
    idx = np.sort(rng.choice(N, size=77, replace=False)) if subset else None
    with NumpyScorer(probs, eps=EPS, max_memory=max_memory) as scorer:
        scorer.entropies()
        assert (scorer._member_entropy_N_K is not None) == table
        got = scorer.conditional_mi(idx, post, weights)
        precise = scorer.conditional_mi(idx, post, weights, precise=True)
    want = _reference_cmi(probs, post, weights, idx)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)
    np.testing.assert_allclose(precise, want, rtol=0, atol=1e-9)


def test_member_entropy_table_not_used_for_swapped_probs():
    """A scorer reused on another array (as the dask blocks do) recomputes
    the members' entropies instead of reading a stale table."""
    rng = np.random.default_rng(22)
    first, second = _probs(rng, 3, 50, 4), _probs(rng, 3, 80, 4)
    post, weights = _posterior(rng, 20, 3)
    with NumpyScorer(first, eps=EPS, max_memory=2**20) as scorer:
        scorer.entropies()
        scorer.probs = second
        got = scorer.conditional_mi(None, post, weights)
    want = _reference_cmi(second, post, weights)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)


# (N, n, order, M): dense subsets (spans read in place), sparse ones
# (gathered), a mix, unsorted and repeated indices, few and many
# configurations (the span-or-gather choice depends on M).
@pytest.mark.parametrize(
    "N,n,order,M",
    [
        (3000, 2900, "sorted", 4),
        (3000, 2900, "shuffled", 40),
        (3000, 150, "sorted", 4),
        (3000, 1500, "sorted", 300),
        (3000, 1500, "shuffled", 4),
        (3000, 1200, "repeated", 4),
        (3000, 3000, "sorted", 8),
    ],
)
@pytest.mark.parametrize("table", [False, True])
def test_subsets_read_in_spans_or_gathered_agree(N, n, order, M, table):
    rng = np.random.default_rng(N + n + M)
    probs = _probs(rng, 5, N, 4, np.float32)
    post, weights = _posterior(rng, M, 5)
    if order == "repeated":
        idx = np.sort(rng.choice(N // 2, size=n))
        idx[: n // 2] = idx[n // 2 : 2 * (n // 2)]  # duplicates, unsorted
    else:
        # Dense runs and sparse stretches: a random half of [0, N/2) plus
        # the rest drawn from everywhere.
        head = rng.choice(N // 2, size=min(n, N // 2), replace=False)
        tail = rng.choice(np.arange(N // 2, N), size=n - len(head), replace=False)
        idx = np.concatenate([head, tail])
        idx = np.sort(idx) if order == "sorted" else rng.permutation(idx)
    want = _reference_cmi(probs, post, weights, idx)
    with NumpyScorer(probs, eps=EPS, max_memory=2**22) as scorer:
        if table:
            scorer.entropies()
        got = scorer.conditional_mi(idx, post, weights)
        precise = scorer.conditional_mi(idx, post, weights, precise=True)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4)
    np.testing.assert_allclose(precise, want, rtol=0, atol=1e-9)


# (kind, share, spans read, blocks gathered): every point of each span a
# candidate, or every other one; a share above 1 never reads spans.
@pytest.mark.parametrize(
    "kind,share,spans,gathered",
    [
        ("all", 0.5, 10, 0),
        ("half", 0.5, 10, 0),
        ("half", 0.6, 0, 5),
        ("all", 1.1, 0, 10),
    ],
)
def test_plan_blocks_cover_every_candidate_once(kind, share, spans, gathered):
    from batchbald._kernels import plan_blocks

    N, sub = 1000, 100
    idx = np.arange(N) if kind == "all" else np.arange(0, N, 2)
    blocks = plan_blocks(idx, len(idx), N, sub, share)
    assert sum(b[1] is not None for b in blocks) == spans
    assert sum(b[1] is None for b in blocks) == gathered
    covered = np.concatenate([np.arange(len(idx))[w] for w, _, _ in blocks])
    np.testing.assert_array_equal(np.sort(covered), np.arange(len(idx)))
    for where, start, stop in blocks:
        if start is not None:
            points = idx[where]
            assert start <= points.min() and points.max() < stop <= start + sub
