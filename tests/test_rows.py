"""Tests for batchbald._rows: exact grouping of equal rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from batchbald import _rows
from batchbald._rows import unique_rows


def _reference(keys):
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _check_grouping(keys, first_U, inverse_M):
    first_ref, inverse_ref = _reference(keys)
    assert len(first_U) == len(first_ref)
    assert np.array_equal(keys[first_U[inverse_M]], keys)
    assert np.all(np.diff(first_U) > 0)
    # Rows share a group exactly when the reference groups them together.
    same = inverse_M[:, None] == inverse_M[None, :]
    same_ref = inverse_ref[:, None] == inverse_ref[None, :]
    assert np.array_equal(same, same_ref)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.int64,
        st.tuples(st.integers(1, 40), st.integers(1, 8)),
        elements=st.integers(-3, 3),
    )
)
def test_unique_rows_matches_numpy(keys):
    before = keys.copy()
    _check_grouping(keys, *unique_rows(keys))
    assert np.array_equal(keys, before)


@pytest.mark.parametrize(
    "keys",
    [
        np.array([[True, False], [True, False], [False, True]]),
        np.zeros((5, 3), dtype=np.int64),
        np.arange(12, dtype=np.int64).reshape(6, 2),
        np.array([[2**62, -(2**62)], [2**62, -(2**62)], [-1, 1]], dtype=np.int64),
    ],
)
def test_unique_rows_table(keys):
    _check_grouping(keys, *unique_rows(keys))


def test_unique_rows_empty():
    first, inverse = unique_rows(np.empty((0, 4), dtype=np.int64))
    assert first.shape == (0,) and inverse.shape == (0,)


def test_hash_collision_falls_back_to_sorting(monkeypatch):
    # Every row hashes to 0: the check must catch it and still group exactly.
    monkeypatch.setattr(_rows, "_MULTIPLIERS", np.zeros(4096, dtype=np.uint64))
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2, size=(50, 4))
    _check_grouping(keys, *unique_rows(keys))


def test_wide_tables_are_sorted(monkeypatch):
    monkeypatch.setattr(_rows, "_MULTIPLIERS", _rows._MULTIPLIERS[:2])
    keys = np.random.default_rng(1).integers(0, 2, size=(30, 5))
    _check_grouping(keys, *unique_rows(keys))
