"""Inputs of the torch classifiers: arrays, torch ``Dataset`` s and
``DataLoader`` s, read batch by batch.

A :class:`Source` hands out input batches as tensors, so that a dataset of
images is never held in memory as a whole: fitting and prediction read
``batch_size`` items at a time. Items of a dataset may be ``x`` or ``(x, y)``
(a tuple or list whose first entry is the input); the labels of ``(x, y)``
items are read once, item by item, when ``fit`` gets no ``y``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset
from torch.utils.data import SequentialSampler as _Sequential
from torch.utils.data.dataloader import default_collate


def _input_of(item):
    """The input part of a dataset item or a collated batch."""
    if isinstance(item, tuple | list):
        if len(item) == 0:
            raise ValueError("dataset items must not be empty.")
        return item[0]
    return item


def _as_tensor(x, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
            raise TypeError(f"inputs must hold real numbers; got dtype {arr.dtype}.")
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("="))
        t = torch.as_tensor(arr)
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError("X contains NaN or infinite values.")
    return t.to(device=device) if dtype is None else t.to(device=device, dtype=dtype)


class Source:
    """Batches of inputs from an array, a map-style dataset or a loader."""

    def __init__(self, X, name: str = "X"):
        self.loader: DataLoader | None = None
        self.array: np.ndarray | None = None
        self.dataset: Dataset | None = None
        self.collate = default_collate
        if isinstance(X, DataLoader):
            self.loader = X
            self.collate = X.collate_fn
            if not isinstance(X.dataset, IterableDataset):
                self.dataset = X.dataset
        elif isinstance(X, IterableDataset):
            raise TypeError(
                f"{name} is an IterableDataset; wrap it in a DataLoader "
                "(predictions then follow its order; fit needs a map-style "
                "Dataset with __len__ and __getitem__)."
            )
        elif isinstance(X, Dataset):
            self.dataset = X
        else:
            self.array = _check_array(X, name)
        self.name = name

    # ------------------------------------------------------------- shape
    def __len__(self) -> int:
        if self.array is not None:
            return len(self.array)
        if self.dataset is not None and hasattr(self.dataset, "__len__"):
            return len(self.dataset)
        raise TypeError(f"{self.name} has no length; fit needs a map-style Dataset.")

    def count(self) -> int:
        """The number of samples; a loader over an iterable dataset is read
        through once to count them."""
        if self.map_style:
            return len(self)
        return sum(len(xb) for xb in self.batches(1, None, torch.device("cpu")))

    @property
    def map_style(self) -> bool:
        return self.array is not None or self.dataset is not None

    def sample_shape(self) -> tuple:
        """The per-sample input shape, from the first item."""
        if self.array is not None:
            return tuple(self.array.shape[1:])
        return tuple(self.first_batch(torch.float32, torch.device("cpu")).shape[1:])

    # ------------------------------------------------------------- reading
    def batch(self, idx, dtype, device) -> torch.Tensor:
        """The inputs at the positions ``idx``, as one tensor."""
        if self.array is not None:
            return _as_tensor(self.array[np.asarray(idx)], dtype, device)
        if self.dataset is None:
            raise TypeError(f"{self.name} cannot be read by index.")
        items = [_input_of(self.dataset[int(i)]) for i in idx]
        return _as_tensor(self.collate(items), dtype, device)

    def first_batch(self, dtype, device) -> torch.Tensor:
        for xb in self.batches(1, dtype, device):
            return xb
        raise ValueError(f"{self.name} is empty; it must hold at least one sample.")

    def batches(self, size: int, dtype, device) -> Iterator[torch.Tensor]:
        """All inputs in order, ``size`` at a time (a loader's own batches)."""
        if self.loader is not None:
            if not isinstance(self.loader.sampler, _Sequential) and not isinstance(
                self.loader.dataset, IterableDataset
            ):
                raise ValueError(
                    f"{self.name} is a DataLoader that does not read in order "
                    "(shuffle=True or a custom sampler); predictions must follow "
                    "the pool's order. Pass a DataLoader with shuffle=False."
                )
            for batch in self.loader:
                yield _as_tensor(_input_of(batch), dtype, device)
            return
        n = len(self)
        for start in range(0, n, size):
            yield self.batch(range(start, min(n, start + size)), dtype, device)

    def labels(self):
        """The ``y`` of ``(x, y)`` items, read item by item (no inputs kept)."""
        if self.dataset is None:
            raise ValueError(f"y is required when {self.name} is an array.")
        ys = []
        for i in range(len(self)):
            item = self.dataset[i]
            if not isinstance(item, tuple | list) or len(item) < 2:
                raise ValueError(
                    f"y is None, so the items of {self.name} must be (x, y) pairs; "
                    f"item {i} is a {type(item).__name__}."
                )
            label = item[1]
            ys.append(label.item() if isinstance(label, torch.Tensor) else label)
        return np.asarray(ys)


def _check_array(X, name: str) -> np.ndarray:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
    if arr.ndim < 2:
        raise ValueError(
            f"{name} must have shape (n_samples, ...) with at least 2 "
            f"dimensions; got shape {arr.shape}."
        )
    return arr
