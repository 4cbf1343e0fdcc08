"""Seeds, parameter checks and tensor helpers shared by :mod:`batchbald.deep`."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

_UNSUPPORTED_DROPOUT = (nn.AlphaDropout, nn.FeatureAlphaDropout)
_SEED_HIGH = 2**63 - 1


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def _draw_seed(rng: np.random.RandomState) -> int:
    return int(rng.randint(0, _SEED_HIGH, dtype=np.int64))


def _generator(seed: int, *keys: int, device="cpu") -> torch.Generator:
    """A torch generator seeded from ``seed`` and the spawn key ``keys``."""
    state = np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in keys))
    gen = torch.Generator(device=device)
    gen.manual_seed(int(state.generate_state(1, np.uint64)[0]))
    return gen


def _check_real(value, name: str, low: float, high: float, high_open: bool) -> float:
    right = ")" if high_open else "]"
    valid = f"a real number in [{low}, {high}{right}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be {valid}; got {type(value).__name__} {value!r}."
        )
    value = float(value)
    if not (low <= value and (value < high if high_open else value <= high)):
        raise ValueError(f"{name} must be {valid}; got {value!r}.")
    return value


def _check_positive_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a positive real number; got {type(value).__name__} "
            f"{value!r}."
        )
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive real number; got {value!r}.")
    return number


def _check_device(device) -> torch.device:
    valid = '"auto", "cpu", "cuda", "cuda:<index>" or a torch.device'
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must be {valid}; got {device!r}.") from None
    else:
        raise TypeError(f"device must be {valid}; got {type(device).__name__}.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA, which is not available here; use "
            '"cpu" or "auto".'
        )
    return dev


def _check_module(module, name: str = "module") -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module mapping inputs (B, ...) to logits "
            f"(B, n_classes); got {type(module).__name__}."
        )
    bad = [
        type(m).__name__
        for m in module.modules()
        if isinstance(m, _UNSUPPORTED_DROPOUT)
    ]
    if bad:
        raise ValueError(
            f"{name} contains {', '.join(sorted(set(bad)))}, which batchbald cannot "
            "sample reproducibly; use nn.Dropout, nn.Dropout1d, nn.Dropout2d or "
            "nn.Dropout3d."
        )
    for p in module.parameters():
        if nn.parameter.is_lazy(p):
            raise ValueError(
                f"{name} has uninitialised lazy parameters; run one forward pass "
                "(or use non-lazy layers) before passing it."
            )
    return module


def _module_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def _softmax64(logits: torch.Tensor, n_classes: int) -> np.ndarray:
    if logits.ndim != 2 or logits.shape[1] != n_classes:
        raise ValueError(
            f"module must return logits of shape (batch, n_classes={n_classes}); "
            f"got shape {tuple(logits.shape)}."
        )
    probs = torch.softmax(logits.detach().to(torch.float64), dim=1).cpu().numpy()
    if not np.isfinite(probs).all():
        raise ValueError("module returned non-finite logits (NaN or infinity).")
    return probs


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield start, min(n, start + size)
