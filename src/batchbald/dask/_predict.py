"""Predictions at scale: a fitted ensemble mapped over a dask array to zarr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dask
import dask.array as da
import numpy as np

from .._progress import progress_bar
from ..ensembles import ensemble_probas


def _predict_block(ensemble, X_block, classes, method_name, method_kwargs, dtype):
    probs, _ = ensemble_probas(
        ensemble,
        np.asarray(X_block),
        classes=classes,
        sample_predictions_method_name=method_name,
        sample_predictions_dict=method_kwargs,
    )
    return np.asarray(probs, dtype=dtype)


def _write_block(
    ensemble, X_block, path, start, classes, method_name, method_kwargs, dtype
) -> int:
    import zarr

    probs = _predict_block(
        ensemble, X_block, classes, method_name, method_kwargs, dtype
    )
    z = zarr.open_array(path, mode="r+")
    z[:, start : start + probs.shape[1], :] = probs
    return probs.shape[1]


def _as_rows(X, rows_per_chunk: int | None) -> da.Array:
    if isinstance(X, da.Array):
        arr = X
    elif isinstance(X, np.ndarray):
        arr = da.from_array(X, chunks=(rows_per_chunk or 10_000,) + X.shape[1:])
    else:
        raise TypeError(
            "X must be a dask array or a numpy array of shape (N, ...); got "
            f"{type(X).__name__}."
        )
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(
            f"X must have shape (N, n_features...) with N > 0; got {arr.shape}."
        )
    if rows_per_chunk is not None:
        arr = arr.rechunk({0: rows_per_chunk})
    if any(n > 1 for n in arr.numblocks[1:]):
        arr = arr.rechunk({i: -1 for i in range(1, arr.ndim)})
    return arr


def predict_to_zarr(
    ensemble,
    X,
    store: str | os.PathLike,
    *,
    classes=None,
    sample_predictions_method_name: str | None = None,
    sample_predictions_dict: Mapping | None = None,
    rows_per_chunk: int | None = None,
    dtype=np.float32,
    overwrite: bool = False,
    client=None,
    progress: bool = False,
):
    """Write a fitted ensemble's member probabilities for ``X`` to zarr.

    Every row block of ``X`` is predicted where it is (on the cluster, or in
    this process) and written to its own chunk of the store, so neither the
    features nor the predictions are ever held whole.

    Parameters
    ----------
    ensemble : estimator or list
        A fitted ensemble, as accepted by
        :func:`batchbald.ensembles.ensemble_probas` with ``fit=False`` (a
        bagging ensemble or forest, a list of models, or an estimator with a
        sample-predictions method such as
        :class:`batchbald.deep.MCDropoutClassifier`, whose masks are the same
        for every block).
    X : dask.array.Array or numpy.ndarray of shape (N, ...)
        Features, chunked along rows.
    store : str or os.PathLike
        The zarr store to create, shape (K, N, C), one chunk per row block.
    classes : array-like of shape (C,), default=None
        Column order (None: the ensemble's classes).
    sample_predictions_method_name : str, default=None
        E.g. ``"sample_proba"`` for MC dropout.
    sample_predictions_dict : dict, default=None
        Its keyword arguments, e.g. ``{"n_members": 20}``.
    rows_per_chunk : int, default=None
        Rechunk ``X`` to this many rows per block (None: keep its chunks;
        10,000 rows for numpy input).
    dtype : numpy dtype, default=numpy.float32
        Stored dtype.
    overwrite : bool, default=False
        Replace an existing store; otherwise an existing path is an error.
    client : distributed.Client, default=None
        Where to predict (None: the current client, else this process).
    progress : bool, default=False
        Show a progress bar over the blocks (on a terminal only).

    Returns
    -------
    dask.array.Array of shape (K, N, C)
        The written predictions, read back lazily from ``store``.
    """
    import zarr

    from ._runner import _default_client

    path = Path(store)
    if path.exists() and not overwrite:
        raise ValueError(
            f"store {path} exists already; pass overwrite=True to replace it."
        )
    arr = _as_rows(X, rows_per_chunk)
    rows = arr.chunks[0]
    starts = np.concatenate([[0], np.cumsum(rows)])[:-1]
    blocks = list(arr.to_delayed().ravel())
    args = (classes, sample_predictions_method_name, sample_predictions_dict, dtype)
    first = _predict_block(ensemble, dask.compute(blocks[0])[0], *args)
    K, _, C = first.shape
    z = zarr.create_array(
        str(path),
        shape=(K, arr.shape[0], C),
        chunks=(K, rows[0], C),
        dtype=dtype,
        overwrite=True,
    )
    z[:, : first.shape[1], :] = first
    client = _default_client() if client is None else client
    with progress_bar(len(blocks), "predicting", unit="block", enabled=progress) as bar:
        bar.update(1)
        _write_rest(ensemble, blocks, starts, str(path), args, client, bar)
    return da.from_zarr(str(path))


def _write_rest(ensemble, blocks, starts, path: str, args, client, bar) -> None:
    """Predict and write every block but the first, on the cluster (``client``)
    or in this process (None), advancing ``bar`` as each block lands."""
    if client is None:
        for b in range(1, len(blocks)):
            X_block = dask.compute(blocks[b])[0]
            _write_block(ensemble, X_block, path, int(starts[b]), *args)
            bar.update(1)
        return
    from distributed import as_completed

    remote = client.scatter(ensemble, broadcast=True, hash=False)
    calls = [
        dask.delayed(_write_block, pure=False)(
            remote, blocks[b], path, int(starts[b]), *args
        )
        for b in range(1, len(blocks))
    ]
    for future in as_completed(client.compute(calls)):
        future.result()
        bar.update(1)
