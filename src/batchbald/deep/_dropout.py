"""Consistent MC-dropout masks and the forward hooks that apply them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

from ._utils import _CHANNEL_DROPOUT, _generator


def _mask_shape(layer: nn.Module, shape: tuple, per_row: bool) -> tuple:
    """Shape of a dropout mask for an activation of ``shape`` (batch axis first)."""
    if isinstance(layer, _CHANNEL_DROPOUT):
        feature = (shape[1],) + (1,) * (len(shape) - 2)
    else:
        feature = tuple(shape[1:])
    return ((shape[0],) + feature) if per_row else feature


def _scaled(keep: torch.Tensor, p: float, dtype, device) -> torch.Tensor:
    if p >= 1.0:
        return torch.zeros(keep.shape, dtype=dtype, device=device)
    return keep.to(device=device, dtype=dtype) / (1.0 - p)


@contextmanager
def _dropout_hooks(layers: list, mask_fn: Callable):
    """Make every layer in ``layers`` multiply its output by ``mask_fn(i, x)``.

    The layers are switched to ``eval()`` (torch's own dropout off) for the
    duration; their modes are restored and the hooks removed on exit.
    """
    modes = [layer.training for layer in layers]
    handles = []

    def hook(index, layer, inputs, output):
        return output * mask_fn(index, layer, output)

    try:
        for i, layer in enumerate(layers):
            layer.train(False)
            handles.append(layer.register_forward_hook(partial(hook, i)))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for layer, mode in zip(layers, modes, strict=True):
            layer.train(mode)


@contextmanager
def _eval_mode(module: nn.Module):
    modes = [m.training for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in zip(module.modules(), modes, strict=True):
            m.training = mode


class _TrainingMasks:
    """Fresh per-element dropout masks drawn from one seeded generator."""

    def __init__(self, gen: torch.Generator):
        self.gen = gen

    def __call__(self, index, layer, x):
        shape = _mask_shape(layer, tuple(x.shape), per_row=True)
        keep = torch.rand(shape, generator=self.gen, device=self.gen.device) >= layer.p
        return _scaled(keep, layer.p, x.dtype, x.device)


class _ConsistentMasks:
    """Mask ``k`` per layer, shared by every row; set :attr:`k` before a forward."""

    def __init__(self, seed: int):
        self.seed = seed
        self.k = 0
        self._cache: dict = {}

    def __call__(self, index, layer, x):
        shape = _mask_shape(layer, tuple(x.shape), per_row=False)
        key = (self.k, index)
        mask = self._cache.get(key)
        if mask is None:
            gen = _generator(self.seed, self.k, index)
            keep = torch.rand(shape, generator=gen) >= layer.p
            mask = _scaled(keep, layer.p, x.dtype, x.device)
            self._cache[key] = mask
        elif tuple(mask.shape) != shape:
            raise ValueError(
                f"dropout layer {index} ({type(layer).__name__}) saw activations "
                f"with per-sample shape {shape} after {tuple(mask.shape)} in the "
                "same call; consistent MC dropout needs a fixed shape per layer."
            )
        return mask
