"""Pools as dask arrays of shape (K, N, C), chunked along N only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import dask.array as da
import numpy as np

# Default size of one chunk of the pool, in bytes.
DEFAULT_CHUNK_BYTES = 64 * 2**20


def is_dask_array(x) -> bool:
    """Whether ``x`` is a dask array (without importing dask for others)."""
    return isinstance(x, da.Array)


class _NpyFile:
    """A ``.npy`` file opened memory-mapped on demand (pickles as its path).

    ``dask.array.from_array`` reads blocks through ``__getitem__``; only the
    path travels to the workers, which read just the block they need.
    """

    def __init__(self, path: Path):
        arr = np.load(path, mmap_mode="r")
        self.path = str(path)
        self.shape = arr.shape
        self.dtype = arr.dtype
        self.ndim = arr.ndim

    def __getitem__(self, key):
        arr = np.load(self.path, mmap_mode="r")
        span = _whole_samples(key, arr)
        if span is None:
            return np.array(arr[key])
        return _read_samples(self.path, arr, *span)


def _whole_samples(key, arr) -> tuple[int, int] | None:
    """``(start, stop)`` when ``key`` selects whole samples ``start:stop`` of
    a C-ordered ``(K, N, C)`` file (what :func:`open_pool`'s blocks ask for),
    else None."""
    if not (isinstance(key, tuple) and len(key) == 3 and arr.flags.c_contiguous):
        return None
    if not all(isinstance(k, slice) for k in key):
        return None
    (k0, k1, ks), (a, b, step), (c0, c1, cs) = (
        k.indices(n) for k, n in zip(key, arr.shape, strict=True)
    )
    K, _, C = arr.shape
    if (k0, k1, ks, c0, c1, cs, step) != (0, K, 1, 0, C, 1, 1) or b <= a:
        return None
    return a, b


def _read_samples(path: str, arr, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` of every member, read with one ``readinto`` per
    member: a fresh worker copying them out of a memory map page-faults the
    file in 4 KiB at a time, several times slower."""
    K, N, C = arr.shape
    out = np.empty((K, stop - start, C), dtype=arr.dtype)
    row = C * arr.dtype.itemsize
    with open(path, "rb") as f:
        for k in range(K):
            f.seek(arr.offset + (k * N + start) * row)
            view = memoryview(out[k]).cast("B")
            if f.readinto(view) != view.nbytes:
                raise ValueError(f"{path} is shorter than its header says.")
    return out

    def __reduce__(self):
        return (_NpyFile, (Path(self.path),))


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def _points_per_chunk(K: int, C: int, itemsize: int, chunk_bytes: int) -> int:
    return max(1, int(chunk_bytes // (K * C * itemsize)))


def _from_npy(path: Path, chunk_bytes: int, name: str) -> da.Array:
    try:
        src = _NpyFile(path)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{name}: {path} is not a readable .npy file ({exc})."
        ) from exc
    _check_shape(src.shape, f"{name} ({path})")
    K, _, C = src.shape
    n = _points_per_chunk(K, C, src.dtype.itemsize, chunk_bytes)
    return da.from_array(src, chunks=(K, n, C), asarray=True, name=False)


def _from_shards(folder: Path, chunk_bytes: int, name: str) -> da.Array:
    shards = sorted(folder.glob("*.npy"), key=_natural_key)
    if not shards:
        raise ValueError(
            f"{name}: the folder {folder} holds no .npy shards and is not a zarr "
            "store; pass a .npy file, a zarr store or a folder of .npy shards."
        )
    parts = [_from_npy(p, chunk_bytes, name) for p in shards]
    K, C, dtype = parts[0].shape[0], parts[0].shape[2], parts[0].dtype
    for path, part in zip(shards, parts, strict=True):
        if (part.shape[0], part.shape[2]) != (K, C) or part.dtype != dtype:
            raise ValueError(
                f"{name}: shard {path.name} has shape {part.shape} and dtype "
                f"{part.dtype}; every shard must be (K={K}, n_i, C={C}) of "
                f"dtype {dtype}, like {shards[0].name}."
            )
    return da.concatenate(parts, axis=1)


def _is_zarr(path: Path) -> bool:
    markers = (".zarray", "zarr.json", ".zgroup")
    return path.suffix == ".zarr" or any((path / m).exists() for m in markers)


def _check_shape(shape, name: str) -> None:
    if len(shape) != 3 or 0 in shape:
        raise ValueError(
            f"{name} must have shape (K members, N pool points, C classes) with "
            f"no empty axis; got shape {tuple(shape)}."
        )


def open_pool(
    source,
    *,
    key: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> da.Array:
    """Member probabilities of a pool as a dask array chunked along N.

    Parameters
    ----------
    source : str, os.PathLike, numpy.ndarray or dask.array.Array
        A zarr store (a folder with zarr metadata, or a path ending in
        ``.zarr``), a folder of ``.npy`` shards of shape ``(K, n_i, C)``
        concatenated along N in natural name order (``part2`` before
        ``part10``), a single ``.npy`` file, or an array of shape (K, N, C).
        Files are read memory-mapped, block by block, where the block is
        scored.
    key : str, default=None
        The array inside a zarr group (None: the store is the array).
    chunk_bytes : int, default=64 MiB
        Size of one block for ``.npy`` and numpy input; zarr stores and dask
        arrays keep their own chunking along N.

    Returns
    -------
    dask.array.Array of shape (K, N, C)
        One chunk along K and C, so that every block holds whole samples.
    """
    if isinstance(source, da.Array):
        arr = source
    elif isinstance(source, np.ndarray):
        _check_shape(source.shape, "probs_K_N_C")
        K, _, C = source.shape
        n = _points_per_chunk(K, C, source.dtype.itemsize, chunk_bytes)
        arr = da.from_array(source, chunks=(K, n, C))
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ValueError(f"pool {path} does not exist.")
        if path.is_dir() and _is_zarr(path):
            arr = da.from_zarr(str(path), component=key)
        elif path.is_dir():
            arr = _from_shards(path, chunk_bytes, "pool")
        else:
            arr = _from_npy(path, chunk_bytes, "pool")
    else:
        raise TypeError(
            "source must be a path (zarr store, folder of .npy shards, .npy file), "
            f"a numpy array or a dask array; got {type(source).__name__}."
        )
    _check_shape(arr.shape, "probs_K_N_C")
    if arr.dtype.kind != "f":
        raise TypeError(
            "probs_K_N_C must hold floating-point probabilities; got dtype "
            f"{arr.dtype}."
        )
    if arr.numblocks[0] != 1 or arr.numblocks[2] != 1:
        arr = arr.rechunk({0: -1, 2: -1})
    return arr


def member_votes(probs_K_N_C) -> da.Array:
    """:func:`batchbald.information.member_votes` of a pool, block by block.

    Lazy: each block is validated and turned into votes where it is read.

    Parameters
    ----------
    probs_K_N_C : dask.array.Array, str, os.PathLike or numpy.ndarray
        Anything :func:`open_pool` reads.

    Returns
    -------
    dask.array.Array of shape (K, N, C)
        float32 for float32 input, float64 otherwise.
    """
    from ._blocks import votes_block

    arr = open_pool(probs_K_N_C)
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    return da.map_blocks(votes_block, arr, dtype=dtype)
