"""Files for the command line: saved predictions, and the older import path
of the file helpers.

- **Saved predictions.** :func:`load_predictions` opens a ``.npy`` (memory
  mapped, never read whole) or ``.npz`` file of member probabilities in the
  ``KNC`` or ``NKC`` layout, optionally as log-probabilities, and returns a
  ``probs_K_N_C`` array: a view of the memory map where possible, else a
  chunk-wise converted copy (in memory when small, in a temporary memory-mapped
  file otherwise).
- The atomic writes now live in :mod:`batchbald._files` and the CSV table in
  :mod:`batchbald.tables`; they are re-exported here so that old imports keep
  working.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ._files import atomic_write, backup_path, check_new_file
from .tables import CsvTable, decode_text

__all__ = [
    "CsvTable",
    "atomic_write",
    "backup_path",
    "check_new_file",
    "decode_text",
    "load_predictions",
    "probability_hint",
    "read_indices",
]

# Chunk of the sample axis converted or checked at once (log-probabilities,
# gathered candidates), in bytes of float64 work space.
_CHUNK_BYTES = 32 * 2**20


# --------------------------------------------------------------------------
# saved predictions
# --------------------------------------------------------------------------
LAYOUTS = ("KNC", "NKC")


def _open_array(path: Path, key: str | None) -> np.ndarray:
    """The array in a ``.npy`` (memory-mapped) or ``.npz`` file."""
    if not path.exists():
        raise FileNotFoundError(f"predictions file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"predictions {str(path)!r} is a directory, not a file.")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise ValueError("--key only applies to .npz files; drop it for a .npy.")
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ValueError(
                f"cannot read {str(path)!r} as a numeric .npy array ({exc})."
            ) from None
        return arr
    if suffix == ".npz":
        try:
            archive = np.load(path, allow_pickle=False)
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"cannot read {str(path)!r} as an .npz archive ({exc})."
            ) from None
        with archive:
            names = list(archive.files)
            if key is None:
                if len(names) != 1:
                    raise ValueError(
                        f"{str(path)!r} holds {len(names)} arrays "
                        f"({', '.join(names) or 'none'}); choose one with --key NAME."
                    )
                key = names[0]
            elif key not in names:
                raise ValueError(
                    f"{str(path)!r} has no array {key!r}; it holds "
                    f"{', '.join(names) or 'none'}."
                )
            try:
                return archive[key]
            except ValueError as exc:
                raise ValueError(
                    f"cannot read array {key!r} of {str(path)!r} ({exc})."
                ) from None
    raise ValueError(
        f"predictions must be a .npy or .npz file; got {str(path)!r}. Save them "
        "with numpy.save('probs.npy', probs_K_N_C)."
    )


def _chunks(n: int, per_item_bytes: int) -> Iterator[slice]:
    step = max(1, _CHUNK_BYTES // max(1, per_item_bytes))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _looks_like_log_probs(arr_K_N_C: np.ndarray) -> bool:
    """Whether a sample of rows has values <= 0 whose exponentials sum to 1."""
    n = arr_K_N_C.shape[1]
    part = np.asarray(arr_K_N_C[:, : min(n, 256), :], dtype=np.float64)
    if not np.isfinite(part[~np.isneginf(part)]).all() or (part > 1e-6).any():
        return False
    return bool(np.allclose(np.exp(part).sum(axis=-1), 1.0, atol=1e-3))


def _workspace(shape, dtype, max_in_memory: int, tmpdir: str | None) -> np.ndarray:
    """An output array: in memory when small, else a temporary memory map.

    The memory-mapped file is unlinked right away on POSIX, so it disappears
    with the process whatever happens (its space is freed when the map is).
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes <= max_in_memory:
        return np.empty(shape, dtype=dtype)
    fh = tempfile.NamedTemporaryFile(prefix="batchbald-", suffix=".tmp", dir=tmpdir)
    with fh:
        out = np.memmap(fh, dtype=dtype, mode="w+", shape=tuple(shape))
    with contextlib.suppress(OSError):  # already gone on POSIX
        os.unlink(fh.name)
    return out


def load_predictions(
    path,
    *,
    layout: str = "KNC",
    log: bool = False,
    key: str | None = None,
    candidates=None,
    max_in_memory: int = 256 * 2**20,
    tmpdir: str | None = None,
) -> tuple[np.ndarray, dict]:
    """Open saved member probabilities as a ``probs_K_N_C`` array.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.npy`` file (memory-mapped) or an ``.npz`` archive (read into
        memory; archives cannot be memory-mapped, save large arrays as
        ``.npy``).
    layout : {"KNC", "NKC"}, default="KNC"
        Axis order in the file: members, samples, classes (scikit-activeml's
        ``batch_bald``) or samples, members, classes. ``NKC`` is read through
        a transposed view, without a copy.
    log : bool, default=False
        The file holds natural log-probabilities; they are exponentiated chunk
        by chunk (values must be ``<= 0``; ``-inf`` means probability 0).
    key : str, default=None
        Array name inside an ``.npz`` with several arrays.
    candidates : array-like of int, default=None
        Pool indices to keep (in this order); None keeps every sample.
    max_in_memory : int, default=256 MiB
        Converted copies (``log``, ``candidates``) larger than this many bytes
        go to a temporary memory-mapped file instead of memory.
    tmpdir : str, default=None
        Directory of that temporary file (None: the system's).

    Returns
    -------
    probs_K_N_C : numpy.ndarray
        The probabilities (not validated here: see
        :func:`batchbald.information.check_probabilities`).
    info : dict
        ``shape`` (the array's shape in the file), ``memmap`` (whether the
        result reads the file lazily or a temporary memory map), ``copied``
        (whether the values were converted into a new array).
    """
    path = Path(path)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}.")
    arr = _open_array(path, key)
    info = {"shape": tuple(arr.shape), "copied": False}
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
        raise ValueError(
            f"{path.name} holds {arr.dtype} values; expected real numbers "
            "(probabilities)."
        )
    if arr.ndim != 3:
        axes = (
            "K members, N samples, C classes"
            if layout == "KNC"
            else ("N samples, K members, C classes")
        )
        hint = ""
        if arr.ndim == 2:
            hint = (
                " A 2-D array is one model's predictions: BALD needs several "
                "members or MC-dropout samples K stacked on a first axis."
            )
        raise ValueError(
            f"{path.name} has {arr.ndim} dimension(s), shape {arr.shape}; expected 3 "
            f"dimensions ({axes}) for --layout {layout}.{hint}"
        )
    if 0 in arr.shape:
        raise ValueError(f"{path.name} has an empty axis, shape {arr.shape}.")
    probs = np.moveaxis(arr, 0, 1) if layout == "NKC" else arr
    K, N, C = probs.shape
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.size and (cand.min() < 0 or cand.max() >= N):
            raise ValueError(
                f"candidates hold pool indices outside [0, {N}) (min {cand.min()}, "
                f"max {cand.max()}); the predictions have N={N} samples."
            )
    else:
        cand = None
    if not log and cand is None:
        info["memmap"] = isinstance(arr, np.memmap)
        return probs, info

    n_out = N if cand is None else len(cand)
    dtype = probs.dtype if probs.dtype.kind == "f" else np.float64
    out = _workspace((K, n_out, C), dtype, max_in_memory, tmpdir)
    per_sample = K * C * 8 * 2
    for sl in _chunks(n_out, per_sample):
        if cand is None:
            part = np.asarray(probs[:, sl, :])
        else:
            idx = cand[sl]
            # Sorted reads are kind to a memory map; undo the order afterwards.
            order = np.argsort(idx, kind="stable")
            part = np.empty((K, len(idx), C), dtype=probs.dtype)
            part[:, order, :] = np.take(probs, idx[order], axis=1)
        if log:
            part = part.astype(np.float64)
            if np.isnan(part).any():
                raise ValueError(
                    f"{path.name} contains NaN values; log-probabilities must be "
                    "numbers <= 0 (-inf for probability 0)."
                )
            if (part > 1e-6).any():
                raise ValueError(
                    f"{path.name} contains positive values (maximum "
                    f"{part.max():.4g}) but --log says it holds log-probabilities, "
                    "which are <= 0. Drop --log if these are probabilities; "
                    "apply log_softmax first if they are logits."
                )
            part = np.exp(np.minimum(part, 0.0))
        out[:, sl, :] = part
    info["memmap"] = isinstance(out, np.memmap)
    info["copied"] = True
    return out, info


def probability_hint(probs_K_N_C: np.ndarray, log: bool) -> str:
    """A hint to append to a failed probability check, or ``""``."""
    if log:
        return (
            " The exponentiated rows must sum to 1: if these are logits, apply "
            "log_softmax over the classes first."
        )
    try:
        if _looks_like_log_probs(probs_K_N_C):
            return " The values look like log-probabilities: did you mean --log?"
    except ValueError:
        return ""
    return ""


def read_indices(path, name: str = "candidates") -> np.ndarray:
    """Pool indices from a ``.npy`` file or a text file (one or more per line,
    separated by spaces or commas; ``#`` starts a comment)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name} file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(
                f"cannot read {name} file {str(path)!r} ({exc})."
            ) from None
        values = np.asarray(values).ravel()
        if (
            values.dtype.kind == "f"
            and np.all(np.isfinite(values))
            and np.all(values == np.round(values))
        ):
            values = values.astype(np.int64)
        if values.dtype.kind not in "iu":
            raise ValueError(
                f"{name} file {str(path)!r} must hold integer pool indices; got "
                f"dtype {values.dtype}."
            )
        out = values.astype(np.intp)
    else:
        out_list = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                line = line.split("#", 1)[0]
                for token in re.split(r"[\s,;]+", line.strip()):
                    if not token:
                        continue
                    try:
                        out_list.append(int(token))
                    except ValueError:
                        raise ValueError(
                            f"{name} file {str(path)!r}, line {lineno}: expected "
                            f"integer pool indices, got {token!r}."
                        ) from None
        out = np.asarray(out_list, dtype=np.intp)
    if out.size == 0:
        raise ValueError(f"{name} file {str(path)!r} holds no indices.")
    if (out < 0).any():
        raise ValueError(
            f"{name} file {str(path)!r} holds negative indices (e.g. "
            f"{int(out[out < 0][0])}); pool indices start at 0."
        )
    uniq, counts = np.unique(out, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"{name} file {str(path)!r} repeats indices (e.g. "
            f"{int(uniq[counts > 1][0])})."
        )
    return out
