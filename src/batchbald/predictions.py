"""Saved member predictions: open a ``.npy``/``.npz`` file as ``probs_K_N_C``.

:func:`load_predictions` opens a ``.npy`` (memory mapped, never read whole) or
``.npz`` file of member probabilities in the ``KNC`` or ``NKC`` layout,
optionally as log-probabilities, and returns a ``probs_K_N_C`` array: a view of
the memory map where possible, else a chunk-wise converted copy (in memory when
small, in a temporary memory-mapped file otherwise). :func:`layout_warning`
says when a shape suggests the other layout, :func:`probability_hint` what a
failed probability check probably means, and :func:`read_indices` reads a list
of pool indices. :func:`selection_table` and :func:`selection_csv` write what
was chosen from them. Used by ``batchbald select``; nothing here prints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = [
    "LAYOUTS",
    "layout_warning",
    "load_checked_probabilities",
    "load_predictions",
    "probability_hint",
    "read_indices",
    "selection_csv",
    "selection_json",
    "selection_table",
    "total_meaning",
]

# Chunk of the sample axis converted or checked at once (log-probabilities,
# gathered candidates), in bytes of float64 work space.
_CHUNK_BYTES = 32 * 2**20

LAYOUTS = ("KNC", "NKC")


def _open_array(path: Path, key: str | None) -> np.ndarray:
    """The array in a ``.npy`` (memory-mapped) or ``.npz`` file."""
    if not path.exists():
        raise FileNotFoundError(f"predictions file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"predictions {str(path)!r} is a directory, not a file.")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ValueError(
            f"predictions must be a .npy or .npz file; got {str(path)!r}. Save "
            "them with numpy.save('probs.npy', probs_K_N_C)."
        )
    if path.stat().st_size == 0:
        raise ValueError(
            f"predictions file {str(path)!r} is empty (0 bytes); was it written "
            "completely? Save the probabilities with numpy.save('probs.npy', "
            "probs_K_N_C)."
        )
    if suffix == ".npy":
        if key is not None:
            raise ValueError("--key only applies to .npz files; drop it for a .npy.")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise ValueError(
                f"cannot read {str(path)!r} as a numeric .npy array ({exc})."
            ) from None
    return _open_npz(path, key)


def _open_npz(path: Path, key: str | None) -> np.ndarray:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
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


def layout_warning(shape: tuple[int, ...], layout: str = "KNC") -> str | None:
    """Why ``shape`` read with ``layout`` may be the wrong way round, or None.

    A file of ensemble predictions usually has far more pool samples N than
    members K. Read as ``KNC``, an ``(N, K, C)`` file (the order of
    ``np.stack(..., axis=1)`` or of a model that returns one row per sample)
    would run silently with K and N swapped; so do square first axes.

    Parameters
    ----------
    shape : tuple of int
        The array's shape in the file (3 dimensions).
    layout : {"KNC", "NKC"}, default="KNC"
        The layout it is read with.

    Returns
    -------
    str or None
        A sentence naming ``--layout`` when the members axis is at least as
        long as the samples axis; None otherwise.
    """
    if len(shape) != 3:
        return None
    K, N = (shape[0], shape[1]) if layout == "KNC" else (shape[1], shape[0])
    if K < N:
        return None
    other = "NKC" if layout == "KNC" else "KNC"
    relation = (
        "more members than pool samples" if K > N else "as many members as pool samples"
    )
    return (
        f"shape {tuple(shape)} read with --layout {layout} means K={K} members "
        f"and N={N} pool samples ({relation}); if the pool is the other axis, "
        f"pass --layout {other}, or --layout {layout} to confirm."
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
    _check_array(arr, path.name, layout)
    info = {"shape": tuple(arr.shape), "copied": False}
    probs = np.moveaxis(arr, 0, 1) if layout == "NKC" else arr
    cand = _check_candidates(candidates, probs.shape[1])
    if not log and cand is None:
        info["memmap"] = isinstance(arr, np.memmap)
        return probs, info
    out = _converted_copy(probs, cand, log, path.name, max_in_memory, tmpdir)
    info["memmap"] = isinstance(out, np.memmap)
    info["copied"] = True
    return out, info


def _check_array(arr: np.ndarray, name: str, layout: str) -> None:
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
        raise ValueError(
            f"{name} holds {arr.dtype} values; expected real numbers (probabilities)."
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
            f"{name} has {arr.ndim} dimension(s), shape {arr.shape}; expected 3 "
            f"dimensions ({axes}) for --layout {layout}.{hint}"
        )
    if 0 in arr.shape:
        raise ValueError(f"{name} has an empty axis, shape {arr.shape}.")


def _check_candidates(candidates, N: int) -> np.ndarray | None:
    if candidates is None:
        return None
    cand = np.asarray(candidates)
    if cand.size and (cand.min() < 0 or cand.max() >= N):
        raise ValueError(
            f"candidates hold pool indices outside [0, {N}) (min {cand.min()}, "
            f"max {cand.max()}); the predictions have N={N} samples."
        )
    return cand


def _exp_log_probs(part: np.ndarray, name: str) -> np.ndarray:
    part = part.astype(np.float64)
    if np.isnan(part).any():
        raise ValueError(
            f"{name} contains NaN values; log-probabilities must be "
            "numbers <= 0 (-inf for probability 0)."
        )
    if (part > 1e-6).any():
        raise ValueError(
            f"{name} contains positive values (maximum "
            f"{part.max():.4g}) but --log says it holds log-probabilities, "
            "which are <= 0. Drop --log if these are probabilities; "
            "apply log_softmax first if they are logits."
        )
    return np.exp(np.minimum(part, 0.0))


def _converted_copy(probs, cand, log: bool, name: str, max_in_memory, tmpdir):
    """``probs`` restricted to ``cand`` and/or exponentiated, chunk by chunk."""
    K, N, C = probs.shape
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
        out[:, sl, :] = _exp_log_probs(part, name) if log else part
    return out


def load_checked_probabilities(path, **kwargs) -> tuple[np.ndarray, dict]:
    """:func:`load_predictions`, then
    :func:`batchbald.information.check_probabilities` (chunk by chunk), whose
    message gets the file's name, layout and shape and a :func:`probability_hint`.

    Parameters
    ----------
    path : str or pathlib.Path
        See :func:`load_predictions`.
    **kwargs
        Keywords of :func:`load_predictions`.
    """
    from .information import check_probabilities

    probs, info = load_predictions(path, **kwargs)
    layout = kwargs.get("layout", "KNC")
    label = f"{Path(path).name} (--layout {layout}, shape {info['shape']})"
    try:
        check_probabilities(probs, name=label)
    except (ValueError, TypeError) as exc:
        hint = probability_hint(probs, bool(kwargs.get("log", False)))
        raise ValueError(str(exc) + hint) from None
    return probs, info


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
        out = _npy_indices(path, name)
    else:
        out = _text_indices(path, name)
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


def _npy_indices(path: Path, name: str) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise ValueError(f"cannot read {name} file {str(path)!r} ({exc}).") from None
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
    return values.astype(np.intp)


def _text_indices(path: Path, name: str) -> np.ndarray:
    out_list = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            tokens = re.split(r"[\s,;]+", line.split("#", 1)[0].strip())
            for token in filter(None, tokens):
                try:
                    out_list.append(int(token))
                except ValueError:
                    raise ValueError(
                        f"{name} file {str(path)!r}, line {lineno}: expected "
                        f"integer pool indices, got {token!r}."
                    ) from None
    return np.asarray(out_list, dtype=np.intp)


# --------------------------------------------------------------------------
# the selection made from them
# --------------------------------------------------------------------------
def selection_table(indices, gains, method: str) -> tuple[tuple[str, ...], list]:
    """Header and rows ``(step, index, gain)`` of a selection, step 1 first.

    Parameters
    ----------
    indices : array-like of int, shape (B,)
        Pool indices in the order chosen.
    gains : array-like of float, shape (B,)
        Their gains in nats.
    method : str
        The strategy's name; gives the third column's name (see
        :func:`batchbald.registry.gain_column`).
    """
    from .registry import gain_column

    rows = [
        (step, int(i), float(g))
        for step, (i, g) in enumerate(zip(indices, gains, strict=True), 1)
    ]
    return ("step", "index", gain_column(method)), rows


def selection_csv(header, rows) -> bytes:
    """The table as comma-separated UTF-8 text (gains at full precision).

    Always commas: the format follows the output, never the input.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=",", lineterminator="\n")
    writer.writerow(header)
    for step, index, gain in rows:
        writer.writerow([step, index, repr(gain)])
    return buf.getvalue().encode("utf-8")


def selection_json(header, rows, method: str, **meta) -> bytes:
    """The table as a JSON document (UTF-8), after the keys of ``meta``.

    Adds ``method``, ``batch_size``, ``gain_column``, ``total_nats`` (the sum
    of the gains), ``total_is`` (:func:`total_meaning`) and ``selection`` (one
    object per row, keyed by ``header``).
    """
    doc = {
        **meta,
        "method": method,
        "batch_size": len(rows),
        "gain_column": header[2],
        "total_nats": float(sum(r[2] for r in rows)),
        "total_is": total_meaning(method),
        "selection": [dict(zip(header, r, strict=True)) for r in rows],
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def total_meaning(method: str) -> str:
    """What the sum of a selection's gains is, in words."""
    if method == "batchbald":
        return "joint mutual information I(y_batch; w)"
    if method == "entropy":
        return "sum of the entropies of the mean predictions"
    if method == "batchepig":
        return "joint predictive information E_x* I(y_batch; y*)"
    if method.endswith("epig"):
        return "sum of the EPIG scores E_x* I(y; y*) of the picks"
    return "sum of the BALD scores (an upper bound on I(y_batch; w))"
