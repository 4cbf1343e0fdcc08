import numpy as np
import pytest

from batchbald.datasets import (
    DATASETS,
    Dataset,
    from_arrays,
    load_dataset,
    load_digits_pool,
    make_blobs_pool,
    make_repeated_digits,
)


@pytest.mark.parametrize(
    "n_repeats, noise, n_pool",
    [
        (3, 0.1, 100),
        (2, 0.5, 50),
        (1, 0.0, 30),
        (3, 0.1, None),
    ],
)
def test_repeated_digits_repeats_the_pool_with_noise_of_the_right_scale(
    n_repeats, noise, n_pool
):
    data = make_repeated_digits(n_repeats, noise, n_pool=n_pool, random_state=0)
    base = load_digits_pool(n_pool=n_pool, random_state=0)
    n = len(base.y_pool)
    assert data.X_pool.shape == (n_repeats * n, 64)
    np.testing.assert_array_equal(data.y_pool, np.tile(base.y_pool, n_repeats))
    np.testing.assert_array_equal(data.groups_pool, np.tile(np.arange(n), n_repeats))
    # the noise is what the copies add to the clean pool: N(0, noise^2)
    added = data.X_pool - np.tile(base.X_pool, (n_repeats, 1))
    if noise == 0:
        np.testing.assert_array_equal(added, 0.0)
    else:
        assert abs(added.mean()) < 0.05 * noise
        assert added.std() == pytest.approx(noise, rel=0.05)
        # every copy gets its own noise
        assert not np.allclose(data.X_pool[:n], data.X_pool[(n_repeats - 1) * n :])
    # the test set is the plain digits test set, not repeated and noise free
    np.testing.assert_array_equal(data.X_test, base.X_test)
    np.testing.assert_array_equal(data.y_test, base.y_test)
    assert data.name == "repeated-digits"
    assert data.n_classes == 10


def test_repeated_digits_is_reproducible_and_seed_dependent():
    a = make_repeated_digits(n_pool=40, random_state=3)
    b = make_repeated_digits(n_pool=40, random_state=3)
    c = make_repeated_digits(n_pool=40, random_state=4)
    np.testing.assert_array_equal(a.X_pool, b.X_pool)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_pool, c.X_pool)


def test_digits_pool_split_is_stratified_and_standardised():
    data = load_digits_pool(test_size=0.25, random_state=0)
    assert len(data.y_pool) + len(data.y_test) == 1797
    assert len(data.y_test) == 450
    # standard scaling: one global mean and std from the pool
    assert data.X_pool.mean() == pytest.approx(0.0, abs=1e-12)
    assert data.X_pool.std() == pytest.approx(1.0, rel=1e-12)
    pool_freq = np.bincount(data.y_pool) / len(data.y_pool)
    test_freq = np.bincount(data.y_test) / len(data.y_test)
    np.testing.assert_allclose(pool_freq, test_freq, atol=0.01)


@pytest.mark.parametrize(
    "scaling, low, high",
    [("minmax", 0.0, 1.0), ("none", 0.0, 16.0)],
)
def test_digits_scalings(scaling, low, high):
    data = load_digits_pool(scaling=scaling, random_state=0)
    assert data.X_pool.min() == low
    assert data.X_pool.max() == high


def test_blobs_pool():
    data = make_blobs_pool(200, n_features=3, centers=4, random_state=0)
    assert data.X_pool.shape == (150, 3)
    assert data.X_test.shape == (50, 3)
    assert data.n_classes == 4
    assert set(np.unique(data.y_test)) == {0, 1, 2, 3}


def test_from_arrays_encodes_labels_and_splits():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2))
    y = np.array(["cat", "dog"] * 20)
    data = from_arrays(X, y, test_size=10, random_state=0, name="pets")
    assert isinstance(data, Dataset)
    assert data.name == "pets"
    assert len(data.y_pool) == 30 and len(data.y_test) == 10
    assert set(np.unique(data.y_pool)) == {0, 1}
    # the arrays are re-ordered rows of X, never modified
    rows = {tuple(r) for r in X}
    assert all(tuple(r) in rows for r in np.vstack([data.X_pool, data.X_test]))


def test_from_arrays_with_a_given_test_set():
    rng = np.random.RandomState(1)
    X, X_test = rng.normal(size=(20, 3)), rng.normal(size=(5, 3))
    y, y_test = np.arange(20) % 3 + 10, np.array([10, 11, 12, 10, 11])
    data = from_arrays(X, y, X_test, y_test)
    np.testing.assert_array_equal(data.X_pool, X)
    np.testing.assert_array_equal(data.y_test, [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(data.y_pool, np.arange(20) % 3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: load_digits_pool(n_pool=5000), ValueError, "n_pool"),
        (
            lambda: from_arrays(np.zeros((4, 2)), [0.0, np.nan, 1.0, 1.0]),
            ValueError,
            "NaN",
        ),
        (
            lambda: from_arrays(np.zeros((4, 2)), [0, 1, 0], np.zeros((2, 2)), None),
            ValueError,
            "together",
        ),
        (lambda: from_arrays(np.zeros(4), [0, 1, 0, 1]), ValueError, "two-dim"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_load_dataset_by_name(name):
    kwargs = {"n_samples": 100} if name == "blobs" else {"n_pool": 30}
    data = load_dataset(name, random_state=0, **kwargs)
    assert data.name == name
    assert data.X_pool.shape[0] == len(data.y_pool)
    assert data.X_test.shape[0] == len(data.y_test)


def test_from_arrays_rejects_test_labels_missing_from_the_pool():
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises(ValueError, match=r"y_test contains labels .*\['c'\]"):
        from_arrays(X[:10], ["a"] * 5 + ["b"] * 5, X_test=X[10:], y_test=["c"] * 10)
