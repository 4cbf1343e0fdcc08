"""Tests for batchbald.registry: names -> strategies, and the dispatcher over
saved probabilities."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchbald import pool, registry
from batchbald._names import STRATEGIES

ENSEMBLE_NAMES = [n for n in STRATEGIES if n != "random"]
EPIG_NAMES = ["epig", "batchepig", "powerepig", "softmaxepig", "softrankepig"]
BALD_NAMES = [n for n in ENSEMBLE_NAMES if n not in EPIG_NAMES]
SAMPLING = ("powerbald", "softmaxbald", "softrankbald")
SAMPLING += ("powerepig", "softmaxepig", "softrankepig")


def _probs(K=5, N=40, C=3, seed=0):
    rng = np.random.RandomState(seed)
    logits = rng.randn(K, N, C) * 2 + rng.randn(1, N, C) * 2
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def test_names_are_the_names_module():
    assert registry.STRATEGY_NAMES == tuple(STRATEGIES)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("batchbald", pool.BatchBALD),
        ("bald", pool.GreedyBALD),
        ("powerbald", pool.PowerBALD),
        ("softmaxbald", pool.SoftmaxBALD),
        ("softrankbald", pool.SoftrankBALD),
        ("entropy", pool.EntropySampling),
        ("random", pool.RandomSampling),
        ("epig", pool.EPIG),
        ("batchepig", pool.BatchEPIG),
        ("powerepig", pool.PowerEPIG),
        ("softmaxepig", pool.SoftmaxEPIG),
        ("softrankepig", pool.SoftrankEPIG),
    ],
)
def test_strategy_class_and_make_strategy(name, cls):
    assert registry.strategy_class(name) is cls
    made = registry.make_strategy(name, random_state=3)
    assert type(made) is cls and made.random_state == 3


def test_every_registered_name_is_tested_above():
    # the table above must grow with _names.STRATEGIES
    assert len(STRATEGIES) == 12


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: registry.strategy_class("bogus"), ValueError, "one of batchbald"),
        (lambda: registry.make_strategy("BALD"), ValueError, "got 'BALD'"),
        (
            lambda: registry.make_strategy("bald", beta=2),
            TypeError,
            "no parameter beta",
        ),
        (lambda: registry.check_strategy_name(3, "--method"), ValueError, "--method"),
    ],
)
def test_name_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _select(name, probs, b, target=None, **params):
    strategy = registry.make_strategy(name, **params)
    if name in EPIG_NAMES:
        return strategy.select(probs, target, b)
    return strategy.select(probs, b)


@pytest.mark.parametrize("name", BALD_NAMES)
@pytest.mark.parametrize("seed", [0, 7])
def test_dispatcher_equals_the_strategy_classes(name, seed):
    probs = _probs(seed=seed)
    params = {}
    if name in SAMPLING:
        params = {"beta": 2.0}
    expected = _select(name, probs, 6, random_state=seed, **params)
    got = registry.select_from_probabilities(
        probs, name, 6, random_state=seed, **params
    )
    assert got.indices.tolist() == expected.indices.tolist()
    np.testing.assert_allclose(got.gains, expected.gains, rtol=1e-12, atol=1e-15)


def test_random_equals_random_sampling():
    probs = _probs()
    X = np.zeros((probs.shape[1], 1))
    y = np.full(probs.shape[1], np.nan)
    expected = pool.RandomSampling(random_state=5).query(X, y, batch_size=8)
    got = registry.select_from_probabilities(probs, "random", 8, random_state=5)
    assert got.indices.tolist() == expected.tolist()
    # the reported score is each pick's BALD score
    bald = registry.select_from_probabilities(probs, "bald", probs.shape[1])
    by_index = dict(zip(bald.indices.tolist(), bald.gains.tolist(), strict=True))
    np.testing.assert_allclose(got.gains, [by_index[i] for i in got.indices])


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_memmap_in_small_chunks_equals_in_memory(tmp_path, name):
    probs = _probs(K=4, N=300, C=5)
    np.save(tmp_path / "p.npy", probs)
    mapped = np.load(tmp_path / "p.npy", mmap_mode="r")
    a = registry.select_from_probabilities(probs, name, 5, random_state=1)
    b = registry.select_from_probabilities(
        mapped, name, 5, random_state=1, max_memory=2**20
    )
    assert a.indices.tolist() == b.indices.tolist()
    # EPIG with the pool as its targets scores half the pairs when the
    # buffers of that fit max_memory (batchbald._epig_symmetric); with 1 MiB
    # every pair is scored, and the float32 sums run in another order (EPIG's
    # float32 scores are good to about 1e-6 nats either way)
    atol = 2e-6 if name.endswith("epig") else 0.0
    np.testing.assert_allclose(a.gains, b.gains, rtol=1e-12, atol=atol)


def test_configurations_reach_batchbald():
    probs = _probs(K=6, N=30, C=4)
    exact = registry.select_from_probabilities(probs, "batchbald", 4, random_state=0)
    strategy = pool.BatchBALD(n_MC_samples=8, random_state=0).select(probs, 4)
    sampled = registry.select_from_probabilities(
        probs, "batchbald", 4, random_state=0, n_configurations=8
    )
    np.testing.assert_allclose(sampled.gains, strategy.gains, rtol=1e-12)
    assert not np.allclose(sampled.gains, exact.gains)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("batchbald", "gain_nats"),
        ("bald", "bald_nats"),
        ("powerbald", "bald_nats"),
        ("softmaxbald", "bald_nats"),
        ("softrankbald", "bald_nats"),
        ("entropy", "entropy_nats"),
        ("random", "bald_nats"),
        ("epig", "epig_nats"),
        ("batchepig", "gain_nats"),
        ("powerepig", "epig_nats"),
        ("softmaxepig", "epig_nats"),
        ("softrankepig", "epig_nats"),
    ],
)
def test_gain_column(name, expected):
    assert registry.gain_column(name) == expected


def test_callback_sees_every_pick():
    probs = _probs()
    seen = []
    sel = registry.select_from_probabilities(
        probs, "powerbald", 5, random_state=0, callback=lambda *a: seen.append(a)
    )
    assert [s for s, _, _ in seen] == list(range(5))
    assert [i for _, i, _ in seen] == sel.indices.tolist()
    np.testing.assert_allclose([g for _, _, g in seen], sel.gains)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "bald", "beta": 2.0}, "beta only applies"),
        ({"method": "powerbald", "beta": -1.0}, "beta must be a number >= 0"),
        ({"method": "powerbald", "beta": "2"}, "beta must be a number >= 0"),
        ({"method": "bald", "n_configurations": 10}, "only applies to batchbald"),
        ({"method": "epig", "n_configurations": 10}, "batchbald and batchepig"),
        ({"method": "epig", "beta": 1.0}, "beta only applies to powerbald"),
        ({"method": "epig", "device": "cpu"}, "device only applies"),
        (
            {"method": "bald", "target_probs_K_T_C": _probs()},
            "target_probs_K_T_C only applies to the EPIG methods",
        ),
        ({"method": "nope"}, "method must be one of"),
    ],
)
def test_dispatcher_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        registry.select_from_probabilities(_probs(), batch_size=2, **kwargs)


def test_import_is_light():
    code = (
        "import sys, batchbald.registry; "
        "print(sorted(m for m in ('numpy', 'sklearn', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(ENSEMBLE_NAMES),
    K=st.integers(1, 4),
    N=st.integers(1, 12),
    C=st.integers(2, 4),
    b=st.integers(1, 14),
    seed=st.integers(0, 2**31 - 1),
)
def test_dispatcher_equals_the_strategy_classes_on_any_shape(name, K, N, C, b, seed):
    import warnings

    probs = np.random.RandomState(seed).dirichlet(np.ones(C), size=(K, N))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # b > N selects all
        expected = _select(name, probs, b, random_state=seed)
        got = registry.select_from_probabilities(probs, name, b, random_state=seed)
    assert got.indices.tolist() == expected.indices.tolist()
    np.testing.assert_allclose(got.gains, expected.gains, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", EPIG_NAMES)
@pytest.mark.parametrize("with_targets", [False, True])
def test_epig_dispatch_equals_the_strategy_classes(name, with_targets):
    probs = _probs(K=5, N=30, C=3, seed=2)
    target = _probs(K=5, N=9, C=3, seed=3) if with_targets else None
    params = {"beta": 2.0} if name in SAMPLING else {}
    if name == "batchepig":
        params = {"n_MC_samples": 9}
    expected = _select(name, probs, 4, target, random_state=1, **params)
    kwargs = {"n_configurations": 9} if name == "batchepig" else dict(params)
    got = registry.select_from_probabilities(
        probs, name, 4, random_state=1, target_probs_K_T_C=target, **kwargs
    )
    assert got.indices.tolist() == expected.indices.tolist()
    np.testing.assert_allclose(got.gains, expected.gains, rtol=1e-12)
    assert got.utilities is None


def test_epig_targets_change_the_choice():
    # targets that only the first 10 pool points resemble pull the choice there
    probs = _probs(K=6, N=40, C=3, seed=5)
    own = registry.select_from_probabilities(probs, "epig", 3, random_state=0)
    near_first = probs[:, :10]
    focused = registry.select_from_probabilities(
        probs, "epig", 3, random_state=0, target_probs_K_T_C=near_first
    )
    assert focused.indices.tolist() != own.indices.tolist()


@pytest.mark.parametrize(
    "name, targeted",
    [(n, n in EPIG_NAMES) for n in STRATEGIES],
)
def test_is_targeted(name, targeted):
    assert registry.is_targeted(name) is targeted
