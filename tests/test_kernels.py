"""Tests of the numpy scorer's small kernels (batchbald._kernels)."""

from __future__ import annotations

import threading

import pytest

from batchbald import _kernels

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    info = threadpoolctl.threadpool_info()
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS on two threads around the test (so that one thread shows)."""
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield


def test_single_threaded_blas_nests(two_blas_threads):
    """Only the outermost entry sets and restores the limit."""
    before = _blas_threads()
    with _kernels._single_threaded_blas():
        assert set(_blas_threads()) == {1}
        with _kernels._single_threaded_blas():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}  # the outer one still holds it
    assert _blas_threads() == before


def test_single_threaded_blas_per_thread(two_blas_threads):
    """A thread's nesting does not hide another thread's entry: each
    thread's outermost entry sets the limit (and restores it)."""
    before = _blas_threads()
    seen: list[set] = []

    def other():
        with _kernels._single_threaded_blas():
            seen.append(set(_blas_threads()))

    with _kernels._single_threaded_blas():
        worker = threading.Thread(target=other)
        worker.start()
        worker.join(10)
        assert set(_blas_threads()) == {1}
    assert seen == [{1}]
    assert _blas_threads() == before
