"""Dropout under batchbald's control: consistent MC-dropout masks at inference,
seeded masks in training.

Every dropout in a forward pass goes through ``torch.nn.functional``: the
``nn.Dropout``, ``nn.Dropout1d/2d/3d`` layers call ``F.dropout`` and
``F.dropout1d/2d/3d``, and so does dropout written in a module's ``forward``
(``F.dropout(x, p, training=self.training)``). :class:`DropoutMode` is a
:class:`torch.overrides.TorchFunctionMode` that intercepts exactly these calls
and multiplies the input by a mask of its own, whatever their ``training``
flag says; every other torch function runs unchanged.

The ``i``-th dropout call of a forward pass is dropout site ``i``. At
inference (:class:`ConsistentMasks`), site ``i`` of posterior sample ``k``
gets one mask over its per-sample shape (over channels for the channel
variants), drawn from a generator seeded from ``(seed, k, i)`` and shared by
every row of every batch. In training (:class:`TrainingMasks`), every call
draws fresh per-element masks from one seeded generator. Alpha dropout keeps
the self-normalising statistics that a multiplicative mask would break, so it
is refused.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..utils import check_positive_int
from ._utils import _generator

#: Functional dropout that masks whole channels: function -> (batched) ndim.
_CHANNEL_FUNCTIONS = {F.dropout1d: 3, F.dropout2d: 4, F.dropout3d: 5}
_ALPHA_FUNCTIONS = (F.alpha_dropout, F.feature_alpha_dropout)


def _mask_shape(shape: tuple, channel_ndim: int | None, per_row: bool) -> tuple:
    """Shape of a dropout mask for an activation of ``shape`` (batch axis
    first); ``channel_ndim`` is the batched rank of a channel dropout."""
    if channel_ndim is not None:
        if len(shape) != channel_ndim:
            raise ValueError(
                f"channel dropout expects batched inputs of {channel_ndim} "
                f"dimensions (batch, channels, ...); got shape {shape}."
            )
        feature = (shape[1],) + (1,) * (len(shape) - 2)
    else:
        feature = tuple(shape[1:])
    return ((shape[0],) + feature) if per_row else feature


def _scaled(keep: torch.Tensor, p: float, dtype, device) -> torch.Tensor:
    if p >= 1.0:
        return torch.zeros(keep.shape, dtype=dtype, device=device)
    return keep.to(device=device, dtype=dtype) / (1.0 - p)


def _dropout_args(func, args, kwargs) -> tuple[torch.Tensor, float]:
    """``(input, p)`` of a call to one of the functional dropouts."""
    x = args[0] if args else kwargs["input"]
    p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
    return x, float(p)


class _Masks:
    """What a :class:`DropoutMode` multiplies dropout inputs by."""

    def __call__(self, site: int, x: torch.Tensor, p: float, channel_ndim):
        raise NotImplementedError


class DropoutMode(TorchFunctionMode):
    """Replace every functional dropout call by ``x * masks(site, x, p)``.

    ``masks=None`` switches every dropout off (the identity), also dropout
    written as ``F.dropout(x, p)`` whose ``training`` defaults to True. Counts
    the calls with ``p > 0`` in :attr:`n_calls`; reset :attr:`site` to 0
    before each forward pass so that sites are numbered per pass.
    """

    def __init__(self, masks: _Masks | None):
        super().__init__()
        self.masks = masks
        self.site = 0
        self.n_calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _ALPHA_FUNCTIONS:
            raise ValueError(
                f"{func.__name__} is not supported: a multiplicative mask would "
                "break its self-normalisation. Use nn.Dropout or F.dropout."
            )
        if func is F.dropout or func in _CHANNEL_FUNCTIONS:
            x, p = _dropout_args(func, args, kwargs)
            if p == 0.0:
                return x
            site, self.site = self.site, self.site + 1
            self.n_calls += 1
            if self.masks is None:
                return x
            return x * self.masks(site, x, p, _CHANNEL_FUNCTIONS.get(func))
        return func(*args, **kwargs)


class TrainingMasks(_Masks):
    """Fresh per-element dropout masks drawn from one seeded generator."""

    def __init__(self, gen: torch.Generator):
        self.gen = gen

    def __call__(self, site, x, p, channel_ndim):
        shape = _mask_shape(tuple(x.shape), channel_ndim, per_row=True)
        keep = torch.rand(shape, generator=self.gen, device=self.gen.device) >= p
        return _scaled(keep, p, x.dtype, x.device)


class ConsistentMasks(_Masks):
    """Mask ``k`` per dropout site, shared by every row; set :attr:`k` before
    a forward pass."""

    def __init__(self, seed: int):
        self.seed = seed
        self.k = 0
        self._cache: dict = {}

    def __call__(self, site, x, p, channel_ndim):
        shape = _mask_shape(tuple(x.shape), channel_ndim, per_row=False)
        key = (self.k, site)
        cached = self._cache.get(key)
        if cached is None:
            gen = _generator(self.seed, self.k, site)
            keep = torch.rand(shape, generator=gen) >= p
            cached = (p, _scaled(keep, p, x.dtype, x.device))
            self._cache[key] = cached
        elif cached[0] != p or tuple(cached[1].shape) != shape:
            raise ValueError(
                f"dropout site {site} saw p={p} and per-sample shape {shape} "
                f"after p={cached[0]} and {tuple(cached[1].shape)} in the same "
                "call; consistent MC dropout needs the same dropout calls, in "
                "the same order and shapes, in every forward pass."
            )
        return cached[1]


@contextmanager
def _eval_mode(module: nn.Module):
    modes = [m.training for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in zip(module.modules(), modes, strict=True):
            m.training = mode


def count_dropout(module: nn.Module, xb: torch.Tensor) -> int:
    """How many dropout calls with ``p > 0`` one forward pass of ``module`` on
    ``xb`` makes (in ``eval()`` mode, without gradients)."""
    mode = DropoutMode(ConsistentMasks(0))
    with torch.no_grad(), _eval_mode(module), mode:
        module(xb)
    return mode.n_calls


class _ConsistentDropout:
    """The handle :func:`consistent_dropout` yields."""

    def __init__(self, mode: DropoutMode, masks: ConsistentMasks):
        self._mode = mode
        self._masks = masks

    def member(self, k: int) -> None:
        """Use mask ``k`` in the next forward pass (call before every pass)."""
        self._masks.k = check_positive_int(k, "k", minimum=0)
        self._mode.site = 0

    @property
    def n_dropout_calls(self) -> int:
        """Dropout calls with ``p > 0`` masked so far (0 means no dropout)."""
        return self._mode.n_calls


@contextmanager
def consistent_dropout(seed: int = 0):
    """Consistent MC dropout for a network you run yourself.

    Inside the block every dropout call with ``p > 0`` (``nn.Dropout`` and
    ``nn.Dropout1d/2d/3d`` layers, ``F.dropout`` and ``F.dropout1d/2d/3d`` in
    ``forward``) multiplies its input by mask ``k``, the ``k`` set by the
    last ``member(k)`` call, whatever the ``training`` flags say. Mask ``k``
    of dropout site ``i`` (the ``i``-th dropout call of a forward pass)
    depends only on ``(seed, k, i)``, so it is the same for every row of every
    batch: member ``k`` is one function on the whole pool, as BatchBALD needs.
    Use it with a trained network in ``eval()`` mode and ``torch.no_grad()``,
    and inputs of one fixed per-sample shape (pad text to one length).

    Parameters
    ----------
    seed : int, default=0
        Seed of the masks.

    Yields
    ------
    handle
        Call ``handle.member(k)`` before each forward pass;
        ``handle.n_dropout_calls`` counts the masked calls.

    Examples
    --------
    >>> with torch.no_grad(), consistent_dropout(seed=0) as dropout:  # doctest: +SKIP
    ...     for k in range(K):
    ...         dropout.member(k)
    ...         probs_K_N_C[k] = torch.softmax(model(x), -1)
    """
    masks = ConsistentMasks(check_positive_int(seed, "seed", minimum=0))
    mode = DropoutMode(masks)
    with mode:
        yield _ConsistentDropout(mode, masks)
