"""batchbald.dask: the same picks as the in-memory engine, on pools from disk,
in this process and on a LocalCluster of 2 worker processes."""

import os
import signal
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

import batchbald.dask as bd  # noqa: E402
from batchbald import engine  # noqa: E402
from batchbald.engine import (  # noqa: E402
    pool_entropies,
    select_batch,
    select_stochastic,
    select_topk,
)
from batchbald.pool import (  # noqa: E402
    EPIG,
    BatchBALD,
    BatchEPIG,
    EntropySampling,
    GreedyBALD,
    PowerBALD,
    RandomSampling,
    SoftmaxBALD,
    SoftrankBALD,
)
from batchbald.saturation import SaturationWarning  # noqa: E402


def _pool(seed, K=8, N=900, C=4, dup=40, dtype=np.float64):
    rng = np.random.RandomState(seed)
    probs = rng.dirichlet(np.full(C, 0.4), size=(K, N))
    probs = np.concatenate([probs, probs[:, :dup]], axis=1)  # exact duplicates
    return probs.astype(dtype)


def _assert_same(got, ref, M, C=4):
    """Same picks; gains equal to 1e-12 where the step was exact (float64
    decisions), to float32 rounding where it was sampled (screened gains)."""
    np.testing.assert_array_equal(got.indices, ref.indices)
    exact = np.arange(len(ref.gains)) * np.log(C) <= np.log(M) + 1e-12
    np.testing.assert_allclose(got.gains[exact], ref.gains[exact], atol=1e-12)
    np.testing.assert_allclose(got.gains, ref.gains, rtol=1e-5, atol=1e-9)


# (seed, M, batch size, chunk): exact regime (C**|A| <= M) and sampled regime.
CASES = [
    (0, 1000, 5, 200),
    (1, 1000, 5, 97),
    (2, 50, 6, 300),
    (3, 16, 5, 1000),
]


@pytest.mark.parametrize("seed, M, b, chunk", CASES)
def test_in_process_equals_in_memory(seed, M, b, chunk):
    probs = _pool(seed)
    arr = da.from_array(probs, chunks=(probs.shape[0], chunk, probs.shape[2]))
    ref = select_batch(probs, b, n_configurations=M, random_state=seed)
    got = bd.select_batch(arr, b, n_configurations=M, random_state=seed)
    _assert_same(got, ref, M)


def _peaked_pool(seed, K=8, N=600, C=4, dup=30):
    """Near one-hot members (a forest's trees): the batch saturates early."""
    return _pool(seed, K=K, N=N, C=C, dup=dup) ** 12 / np.sum(
        _pool(seed, K=K, N=N, C=C, dup=dup) ** 12, axis=2, keepdims=True
    )


def _same_selection(got, ref, tol):
    """Same picks and the same saturation fields (gains to ``tol``)."""
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.gains, ref.gains, rtol=0, atol=tol)
    assert got.saturated_at == ref.saturated_at
    assert got.exact == ref.exact
    np.testing.assert_allclose(
        got.joint_information, ref.joint_information, rtol=0, atol=tol
    )
    np.testing.assert_allclose(
        got.joint_information_se, ref.joint_information_se, rtol=0, atol=tol
    )


# (pool, seed, M, b, chunk, label_noise, completion, tolerance): exact (1e-12)
# and sampled (1e-6) regimes, saturated pools with and without the remedies.
ENTRY_CASES = [
    ("soft", 0, 1000, 5, 200, 0.0, None, 1e-12),
    ("soft", 1, 16, 7, 97, 0.0, None, 1e-6),
    ("soft", 2, 40, 6, 300, 0.05, "power", 1e-6),
    ("peaked", 3, 1000, 8, 150, 0.0, None, 1e-12),
    ("peaked", 4, 1000, 10, 111, 0.0, "power", 1e-12),
    ("peaked", 5, 20, 10, 250, 0.0, "random", 1e-6),
    ("peaked", 6, 30, 9, 70, 0.1, "power", 1e-6),
    ("same", 7, 1000, 6, 128, 0.0, "power", 1e-12),
]


def _entry_pool(kind, seed):
    if kind == "same":  # identical members: saturated at step 0
        return np.repeat(_pool(seed, K=1), 6, axis=0)
    return _peaked_pool(seed) if kind == "peaked" else _pool(seed, N=600)


@pytest.mark.parametrize(
    "kind, seed, M, b, chunk, label_noise, completion, tol", ENTRY_CASES
)
def test_select_batch_on_a_dask_array_equals_in_memory(
    kind, seed, M, b, chunk, label_noise, completion, tol
):
    probs = _entry_pool(kind, seed)
    arr = da.from_array(probs, chunks=(probs.shape[0], chunk, probs.shape[2]))
    kwargs = dict(n_configurations=M, label_noise=label_noise, completion=completion)
    ref = engine.select_batch(probs, b, random_state=seed, **kwargs)
    got = engine.select_batch(arr, b, random_state=seed, **kwargs)
    _same_selection(got, ref, tol)
    if kind != "soft":
        assert ref.saturated_at is not None  # the case tests what it says


@pytest.mark.parametrize("completion", ["power", "random"])
def test_completed_utilities_on_a_dask_array_equal_in_memory(completion):
    probs = _peaked_pool(8, N=300)
    arr = da.from_array(probs, chunks=(8, 64, 4))
    kwargs = dict(random_state=1, completion=completion, return_utilities=True)
    ref = engine.select_batch(probs, 9, **kwargs)
    got = engine.select_batch(arr, 9, **kwargs)
    assert ref.saturated_at is not None and ref.saturated_at < 8
    _same_selection(got, ref, 1e-12)
    np.testing.assert_array_equal(np.isnan(got.utilities), np.isnan(ref.utilities))
    np.testing.assert_allclose(got.utilities, ref.utilities, atol=1e-6)


def _catch_saturation(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [
        str(w.message) for w in caught if issubclass(w.category, SaturationWarning)
    ]


# (pool, seed, strategy parameters): the strategy's defaults and member votes.
STRATEGY_CASES = [
    ("soft", 0, {}),
    ("peaked", 1, {}),
    ("peaked", 2, {"member_votes": True}),
    ("soft", 3, {"member_votes": True, "n_MC_samples": 50}),
    ("same", 4, {"completion": "random", "label_noise": 0.05}),
]


@pytest.mark.parametrize("kind, seed, params", STRATEGY_CASES)
def test_batchbald_select_on_a_dask_array_equals_in_memory(kind, seed, params):
    probs = _entry_pool(kind, seed).astype(np.float32)
    arr = da.from_array(probs, chunks=(probs.shape[0], 150, probs.shape[2]))
    ref, ref_warn = _catch_saturation(
        lambda: BatchBALD(random_state=seed, **params).select(probs, 8)
    )
    got, got_warn = _catch_saturation(
        lambda: BatchBALD(random_state=seed, **params).select(arr, 8)
    )
    _same_selection(got, ref, 1e-6)
    assert got_warn == ref_warn  # the same warning, once, or none
    assert len(ref_warn) == (ref.saturated_at is not None)


@pytest.mark.parametrize(
    "strategy",
    [
        GreedyBALD(random_state=0),
        PowerBALD(random_state=1),
        PowerBALD(beta=0.0, random_state=2),
        SoftmaxBALD(beta=3.0, random_state=3),
        SoftrankBALD(random_state=4),
        EntropySampling(random_state=5),
        RandomSampling(random_state=6),
    ],
)
@pytest.mark.parametrize("return_utilities", [False, True])
def test_score_strategies_select_on_a_dask_array_equals_in_memory(
    strategy, return_utilities
):
    probs = _pool(9)
    arr = da.from_array(probs, chunks=(8, 128, 4))
    ref = strategy.select(probs, 9, return_utilities=return_utilities)
    got = strategy.select(arr, 9, return_utilities=return_utilities)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.gains, ref.gains, rtol=1e-12)
    if return_utilities:
        np.testing.assert_allclose(got.utilities, ref.utilities, rtol=1e-12)


def test_pool_entropies_of_a_dask_array_route_to_the_blocks():
    probs = _pool(10)
    got = engine.pool_entropies(da.from_array(probs, chunks=(8, 100, 4)))
    ref = engine.pool_entropies(probs)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: engine.select_batch(a, 3, device="cpu"), "device='cpu'"),
        (lambda a: engine.pool_entropies(a, device="cpu"), "device='cpu'"),
        (lambda a: BatchBALD(device="cpu").select(a, 3), "device='cpu'"),
        (lambda a: EPIG().select(a, batch_size=3), "EPIG"),
        (lambda a: BatchEPIG().select(np.asarray(a), a, batch_size=3), "EPIG"),
    ],
)
def test_in_memory_only_options_on_a_dask_array_are_refused(call, match):
    probs = _pool(11, N=200)
    with pytest.raises(ValueError, match=match):
        call(da.from_array(probs, chunks=(8, 100, 4)))


@pytest.mark.parametrize("cache_points", [0, 7, 64, 5000])
def test_the_candidate_cache_never_changes_the_picks(cache_points):
    probs = _pool(11, N=2000)
    arr = da.from_array(probs, chunks=(8, 300, 4))
    for M in (1000, 30):
        ref = select_batch(probs, 7, n_configurations=M, random_state=2)
        got = bd.select_batch(
            arr, 7, n_configurations=M, random_state=2, cache_points=cache_points
        )
        _assert_same(got, ref, M)


@pytest.mark.parametrize("seed, M, b, chunk", CASES[:3])
def test_utilities_equal_in_memory(seed, M, b, chunk):
    probs = _pool(seed, N=400)
    arr = da.from_array(probs, chunks=(probs.shape[0], chunk, probs.shape[2]))
    ref = select_batch(
        probs, b, n_configurations=M, random_state=seed, return_utilities=True
    )
    got = bd.select_batch(
        arr, b, n_configurations=M, random_state=seed, return_utilities=True
    )
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(np.isnan(got.utilities), np.isnan(ref.utilities))
    # float32 screening: the same kernels on other groupings of samples
    np.testing.assert_allclose(got.utilities, ref.utilities, atol=1e-6)


@pytest.mark.parametrize(
    "score, mode, beta",
    [
        ("bald", "topk", 1.0),
        ("entropy", "topk", 1.0),
        ("bald", "power", 1.0),
        ("bald", "softmax", 3.0),
        ("bald", "softrank", 1.0),
        ("bald", "power", 0.0),
    ],
)
def test_scores_map_reduce_equals_in_memory(score, mode, beta):
    probs = _pool(4)
    arr = da.from_array(probs, chunks=(8, 123, 4))
    pred, expected = pool_entropies(probs)
    scores = pred - expected if score == "bald" else pred
    for seed in range(3):
        got = bd.select_scores(
            arr, 9, score=score, mode=mode, beta=beta, random_state=seed
        )
        if mode == "topk":
            ref = select_topk(scores, 9, random_state=seed)
        else:
            ref = select_stochastic(scores, 9, mode=mode, beta=beta, random_state=seed)
        np.testing.assert_array_equal(got.indices, ref.indices)
        np.testing.assert_allclose(got.gains, ref.gains)


# (N, chunk, k, picks): rankings that last, run out, and hold the whole pool;
# the pool's duplicates tie on BALD (broken by the smaller index).
TOP_BALD_CASES = [
    (300, 70, 8, 12),
    (300, 70, 3, 20),
    (30, 7, 16, 25),
    (200, 200, 64, 5),
]


@pytest.mark.parametrize(("N", "chunk", "k", "picks"), TOP_BALD_CASES)
def test_top_bald_equals_in_memory_as_samples_are_chosen(N, chunk, k, picks):
    from batchbald._backend import InMemoryBackend
    from batchbald._scoring import NumpyScorer
    from batchbald.dask._greedy import DaskBackend
    from batchbald.dask._runner import BlockRunner

    probs = _pool(12, N=N, dup=N // 3)
    ref = InMemoryBackend(NumpyScorer(probs, eps=1e-12, max_memory=2**24))
    runner = BlockRunner(da.from_array(probs, chunks=(8, chunk, 4)), client=None)
    got = DaskBackend(runner, 8, 4, 1e-12, 2**24)
    got.first_candidates(0.0, False)
    rng = np.random.RandomState(0)
    for _ in range(min(picks, probs.shape[1])):
        top = ref.top_bald(k)
        np.testing.assert_array_equal(got.top_bald(k), top)
        index = int(
            top[0] if rng.rand() < 0.5 else rng.choice(np.flatnonzero(ref.available_N))
        )
        ref.mark_chosen(index)
        got.mark_chosen(index)


@pytest.mark.parametrize(
    ("candidates", "index"),
    [
        ([3, 250, 899], 250),  # one of the last candidates: no block read
        ([3, 250, 899], 4),  # not among them: read from its block
        ([939], 939),  # a duplicate of sample 39
    ],
)
def test_member_probs_after_precise_gains_equal_the_pool(candidates, index):
    from batchbald.dask._greedy import DaskBackend
    from batchbald.dask._runner import BlockRunner

    probs = _pool(14)
    runner = BlockRunner(da.from_array(probs, chunks=(8, 200, 4)), client=None)
    backend = DaskBackend(runner, 8, 4, 1e-12, 2**24)
    rng = np.random.RandomState(1)
    post_M_K = rng.dirichlet(np.ones(8), size=5)
    backend.precise_gains(np.array(candidates), post_M_K, np.full(5, 0.2))
    np.testing.assert_array_equal(backend.member_probs(index), probs[:, index, :])


def test_pool_entropies_equal_in_memory():
    probs = _pool(5)
    got = bd.pool_entropies(da.from_array(probs, chunks=(8, 100, 4)))
    ref = pool_entropies(probs)
    np.testing.assert_allclose(got[0], ref[0])
    np.testing.assert_allclose(got[1], ref[1])


# (dtype, order, key): whole samples (read member by member) and the keys
# that fall back to the memory map.
NPY_KEYS = [
    ("<f4", "C", (slice(0, 3), slice(5, 17), slice(0, 4))),
    ("<f4", "C", (slice(None), slice(None), slice(None))),
    (">f8", "C", (slice(0, 3), slice(40, 60), slice(0, 4))),
    ("<f4", "C", (slice(0, 3), slice(0, 50, 2), slice(0, 4))),
    ("<f4", "C", (slice(1, 3), slice(5, 17), slice(0, 4))),
    ("<f4", "C", (0, slice(0, 5), slice(None))),
    ("<f4", "C", (slice(0, 3), slice(7, 7), slice(0, 4))),
    ("<f8", "F", (slice(0, 3), slice(5, 17), slice(0, 4))),
]


@pytest.mark.parametrize(("dtype", "order", "key"), NPY_KEYS)
def test_npy_blocks_read_as_numpy_indexes(tmp_path, dtype, order, key):
    from batchbald.dask._sources import _NpyFile

    probs = np.random.RandomState(0).rand(3, 50, 4).astype(dtype)
    np.save(tmp_path / "p.npy", np.asarray(probs, order=order))
    got = _NpyFile(tmp_path / "p.npy")[key]
    assert got.dtype == probs.dtype
    np.testing.assert_array_equal(got, probs[key])


def test_sources_zarr_shards_and_npy_read_the_same_pool(tmp_path):
    probs = _pool(6, dtype=np.float32)
    z = zarr.open_array(
        str(tmp_path / "pool.zarr"),
        mode="w",
        shape=probs.shape,
        chunks=(8, 256, 4),
        dtype=np.float32,
    )
    z[:] = probs
    shards = tmp_path / "shards"
    shards.mkdir()
    cuts = [0, 100, 350, 700, probs.shape[1]]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        np.save(shards / f"part{i * 5}.npy", probs[:, a:b])  # part0, part5, part10...
    np.save(tmp_path / "pool.npy", probs)
    ref = select_batch(probs, 4, random_state=0)
    for source in (tmp_path / "pool.zarr", shards, tmp_path / "pool.npy"):
        arr = bd.open_pool(source)
        assert arr.shape == probs.shape and arr.numblocks[0] == arr.numblocks[2] == 1
        np.testing.assert_array_equal(arr.compute(), probs)
        got = bd.select_batch(source, 4, random_state=0)
        np.testing.assert_array_equal(got.indices, ref.indices)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "missing.zarr", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no .npy shards"),
        (lambda p: (p / "x.npy").write_bytes(b"") or p / "x.npy", "not a readable"),
        (
            lambda p: np.save(p / "flat.npy", np.ones((3, 4))) or p / "flat.npy",
            "must have shape",
        ),
    ],
)
def test_bad_sources_are_refused_in_our_words(tmp_path, make, match):
    with pytest.raises(ValueError, match=match):
        bd.open_pool(make(tmp_path))


def test_shards_with_other_shapes_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.full((2, 3, 4), 0.25))
    np.save(tmp_path / "b.npy", np.full((3, 3, 4), 0.25))
    with pytest.raises(ValueError, match="every shard must be"):
        bd.open_pool(tmp_path)


def test_bad_probabilities_are_refused_where_the_block_is_read():
    probs = _pool(7)
    probs[3, 500, :] = 2.0
    with pytest.raises(ValueError, match="do not sum to 1"):
        bd.select_batch(da.from_array(probs, chunks=(8, 200, 4)), 3)


def test_input_is_never_modified():
    probs = _pool(8)
    before = probs.copy()
    bd.select_batch(da.from_array(probs, chunks=(8, 250, 4)), 4, random_state=0)
    np.testing.assert_array_equal(probs, before)


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_unreachable_scheduler_names_the_address():
    with pytest.raises(ValueError, match=r"tcp://127\.0\.0\.1:9"):
        with bd.connect("tcp://127.0.0.1:9", timeout=1):
            pass


@pytest.mark.parametrize(
    ("environ", "worker_value"),
    [
        (None, None),  # not set here: the nanny's 65536 is left out
        ("65536", "65536"),  # set here (by the user or an earlier nanny): kept
        ("1048576", "1048576"),
    ],
)
def test_local_workers_keep_adaptive_malloc_unless_set_here(
    monkeypatch, environ, worker_value
):
    import dask

    from batchbald.dask import _cluster

    key = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
    if environ is None:
        monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    else:
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", environ)
    default = dask.config.get(key)
    with _cluster._adaptive_malloc():
        # what a nanny started here passes to its worker (the environment
        # wins over the configuration, as in distributed.nanny)
        configured = dask.config.get(key)
        passed = os.environ.get(
            "MALLOC_TRIM_THRESHOLD_", None if configured is None else str(configured)
        )
    assert passed == worker_value
    assert dask.config.get(key) == default


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"w1": "65536", "w2": "65536"}, ["w1", "w2"]),  # Dask's nanny default
        ({"w1": None, "w2": "65536"}, ["w2"]),
        ({"w1": "0"}, ["w1"]),
        ({"w1": "1048576"}, []),  # 1 MiB: the temporaries stay mapped
        ({"w1": None}, []),  # glibc's adaptive threshold
        ({"w1": "lots"}, []),  # not a number: glibc ignores it
        ({}, []),
    ],
)
def test_trimming_workers(values, expected):
    from batchbald.dask._cluster import trimming_workers

    assert trimming_workers(values) == expected


class _FakeClient:
    def __init__(self, values):
        self.values = values

    def run(self, fn):
        return dict(self.values)


@pytest.mark.parametrize("n_trimming", [0, 1, 5])
def test_check_worker_malloc_warns_once_per_call_naming_the_fix(n_trimming):
    values = {f"tcp://w{i}": "65536" for i in range(n_trimming)}
    values["tcp://ok"] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        small = bd.check_worker_malloc(_FakeClient(values))
    assert small == sorted(w for w in values if values[w] is not None)
    assert len(caught) == (1 if n_trimming else 0)
    if n_trimming:
        assert caught[0].category is bd.WorkerMemoryWarning
        text = str(caught[0].message)
        assert f"{n_trimming} Dask worker(s)" in text and "tcp://ok" not in text
        assert "pre-spawn-environ.MALLOC_TRIM_THRESHOLD_" in text
        assert caught[0].filename == __file__  # points at the caller


def test_predict_to_zarr_equals_the_ensemble_in_memory(tmp_path):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    from batchbald.ensembles import ensemble_probas

    X, y = make_classification(
        n_samples=700, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, y)
    out = bd.predict_to_zarr(
        forest, da.from_array(X, chunks=(150, 3)), tmp_path / "preds.zarr"
    )
    ref, _ = ensemble_probas(forest, X)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.compute(), ref, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="exists already"):
        bd.predict_to_zarr(forest, X, tmp_path / "preds.zarr")


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_predict_to_zarr_mc_dropout_masks_are_consistent_across_blocks(tmp_path):
    pytest.importorskip("torch")
    from sklearn.datasets import load_digits

    from batchbald.deep import MCDropoutClassifier, make_mlp

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0)[:150]
    y = y[:150]
    net = MCDropoutClassifier(
        make_mlp(n_features=64, n_classes=10), max_epochs=2, random_state=0
    ).fit(X, y)
    out = bd.predict_to_zarr(
        net,
        X,
        tmp_path / "mc.zarr",
        rows_per_chunk=40,
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_members": 3},
    )
    ref = net.sample_proba(X, n_members=3)
    np.testing.assert_allclose(out.compute(), ref, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# on a LocalCluster with 2 worker processes
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    with bd.connect(workers=2, memory_limit="2GiB") as c:
        yield c


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("persist", [True, False])
def test_cluster_equals_in_memory(client, persist):
    probs = _pool(9, N=3000, dtype=np.float32)
    arr = da.from_array(probs, chunks=(8, 700, 4))
    for M in (1000, 40):
        ref = select_batch(probs, 6, n_configurations=M, random_state=1)
        got = bd.select_batch(
            arr, 6, n_configurations=M, random_state=1, client=client, persist=persist
        )
        _assert_same(got, ref, M)
    ref = select_stochastic(
        pool_entropies(probs)[0] - pool_entropies(probs)[1],
        6,
        mode="power",
        random_state=2,
    )
    got = bd.select_scores(arr, 6, mode="power", random_state=2, client=client)
    np.testing.assert_array_equal(got.indices, ref.indices)
    # The entry points run on the current client: the strategy's defaults
    # (PowerBALD completion) and member votes on a pool that saturates.
    peaked = _peaked_pool(12, N=2000).astype(np.float32)
    parr = da.from_array(peaked, chunks=(8, 450, 4))
    if persist:
        parr = parr.persist()
    for params in ({}, {"member_votes": True}):
        ref = BatchBALD(random_state=4, **params).select(peaked, 8)
        got = BatchBALD(random_state=4, **params).select(parr, 8)
        assert ref.saturated_at is not None
        _same_selection(got, ref, 1e-6)
    ref = engine.select_batch(peaked, 8, random_state=5, completion="random")
    _same_selection(
        engine.select_batch(parr, 8, random_state=5, completion="random"), ref, 1e-12
    )
    ref = PowerBALD(random_state=6).select(peaked, 8)
    got = PowerBALD(random_state=6).select(parr, 8)
    np.testing.assert_array_equal(got.indices, ref.indices)


@pytest.mark.cluster
@pytest.mark.slow
def test_a_cluster_with_dask_default_workers_is_warned_about(monkeypatch):
    import distributed

    # a nanny started with Dask's defaults leaves the variable in this
    # process's environment: setenv first, so that the teardown removes it
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        arr = da.from_array(_pool(4, N=200), chunks=(4, 100, 4))
        with pytest.warns(bd.WorkerMemoryWarning, match="MALLOC_TRIM_THRESHOLD_"):
            got = bd.select_batch(arr, 3, random_state=0, client=c)
    assert len(got.indices) == 3


@pytest.mark.cluster
@pytest.mark.slow
def test_local_workers_start_with_the_block_functions_and_adaptive_malloc(client):
    def worker_state():
        import sys

        return (
            "batchbald.dask._blocks" in sys.modules,
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        )

    expected = (True, os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(client.run(worker_state).values()) == [expected, expected]


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("persist", [None, False])
def test_a_pool_the_user_persisted_is_used_where_it_is(client, persist):
    from batchbald.dask._runner import BlockRunner

    probs = _pool(13, N=2000, dtype=np.float32)
    arr = client.persist(da.from_array(probs, chunks=(8, 450, 4)))
    runner = BlockRunner(arr, client=client, persist=persist)
    assert runner.persisted
    keys = [(arr.name, 0, j, 0) for j in range(arr.numblocks[1])]
    assert [f.key for f in runner.sources] == keys
    for M in (1000, 40):
        ref = select_batch(probs, 6, n_configurations=M, random_state=5)
        got = bd.select_batch(
            arr, 6, n_configurations=M, random_state=5, client=client, persist=persist
        )
        _assert_same(got, ref, M)


@pytest.mark.cluster
@pytest.mark.slow
def test_a_killed_worker_does_not_change_the_picks(client):
    probs = _pool(10, N=3000, dtype=np.float32)
    arr = da.from_array(probs, chunks=(8, 500, 4))
    ref = select_batch(probs, 6, n_configurations=64, random_state=3)
    pids = list(client.run(os.getpid).values())

    def kill_one(step, index, gain):
        if step == 1:
            os.kill(pids[0], signal.SIGKILL)

    got = bd.select_batch(
        arr,
        6,
        n_configurations=64,
        random_state=3,
        client=client,
        persist=True,
        callback=kill_one,
    )
    _assert_same(got, ref, 64)
    client.wait_for_workers(2, timeout=60)
