"""Parameter re-initialisation, the train/validation split and the training
loop with early stopping."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._data import Source
from ._dropout import DropoutMode, TrainingMasks, _eval_mode
from ._utils import _batches, _generator, _softmax64

_OPTIMIZERS = ("adam", "adamw", "sgd")
# Fewer held-out labels than this make early stopping on them too noisy; the
# training loss is monitored instead.
_MIN_VALIDATION = 10
# Improvement of the monitored loss needed to reset the patience counter.
_MIN_DELTA = 1e-4


# --------------------------------------------------------------------------
# parameter initialisation
# --------------------------------------------------------------------------
_LINEAR_LIKE = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def _uniform_(param: torch.Tensor, bound: float, gen: torch.Generator) -> None:
    values = torch.empty(param.shape, dtype=param.dtype).uniform_(
        -bound, bound, generator=gen
    )
    param.copy_(values)


@torch.no_grad()
def _reset_parameters(module: nn.Module, seed: int) -> None:
    """Re-initialise ``module`` in place, all randomness derived from ``seed``."""
    gen = _generator(seed, 0)
    fallback_rng = np.random.RandomState(seed % 2**32)
    for sub in module.modules():
        if isinstance(sub, _LINEAR_LIKE):
            w = sub.weight
            fan_in = w.shape[1] * int(np.prod(w.shape[2:], dtype=np.int64))
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            # PyTorch's default: kaiming_uniform(a=sqrt(5)) gives this bound too.
            _uniform_(w, bound, gen)
            if sub.bias is not None:
                _uniform_(sub.bias, bound, gen)
        elif isinstance(sub, nn.Bilinear):
            bound = 1.0 / math.sqrt(sub.weight.shape[1])
            _uniform_(sub.weight, bound, gen)
            if sub.bias is not None:
                _uniform_(sub.bias, bound, gen)
        elif isinstance(sub, nn.Embedding):
            values = torch.empty(sub.weight.shape, dtype=sub.weight.dtype)
            sub.weight.copy_(values.normal_(0.0, 1.0, generator=gen))
            if sub.padding_idx is not None:
                sub.weight[sub.padding_idx].zero_()
        elif isinstance(sub, nn.RNNBase):
            bound = 1.0 / math.sqrt(sub.hidden_size)
            for p in sub.parameters(recurse=False):
                _uniform_(p, bound, gen)
        else:
            owns_state = any(True for _ in sub.parameters(recurse=False)) or any(
                True for _ in sub.buffers(recurse=False)
            )
            reset = getattr(sub, "reset_parameters", None) or getattr(
                sub, "_reset_parameters", None
            )
            if owns_state and callable(reset):
                # Unknown layer: run its own initialiser under a seeded copy of
                # torch's CPU generator, whose state is restored afterwards.
                with torch.random.fork_rng(devices=[]):
                    torch.default_generator.manual_seed(
                        int(fallback_rng.randint(0, 2**31 - 1))
                    )
                    reset()


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
def _make_optimizer(optimizer, params, lr: float, weight_decay: float):
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        if name == "sgd":
            return torch.optim.SGD(
                params, lr=lr, momentum=0.9, weight_decay=weight_decay
            )
        raise ValueError(
            f"optimizer must be one of {_OPTIMIZERS} or a torch.optim.Optimizer "
            f"subclass; got {optimizer!r}."
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        # Optimizer subclasses take lr and weight_decay; the base class does not.
        return optimizer(params, lr=lr, weight_decay=weight_decay)  # type: ignore[call-arg]
    raise TypeError(
        f"optimizer must be one of {_OPTIMIZERS} or a torch.optim.Optimizer "
        f"subclass; got {type(optimizer).__name__} {optimizer!r}."
    )


def _loss_dtype(logits: torch.Tensor) -> torch.Tensor:
    # Half-precision logits are promoted for the loss; others are used as is.
    if logits.dtype in (torch.float16, torch.bfloat16):
        return logits.float()
    return logits


def _mean_loss(module, source: Source, idx, y, settings) -> float:
    device, dtype = settings["device"], settings["dtype"]
    total = 0.0
    with torch.no_grad(), _eval_mode(module), DropoutMode(None):
        for start, stop in _batches(len(idx), settings["inference_batch_size"]):
            xb = source.batch(idx[start:stop], dtype, device)
            yb = torch.as_tensor(y[start:stop], device=device)
            logits = module(xb)
            _softmax64(logits[:1], settings["n_classes"])  # shape check only
            loss = F.cross_entropy(_loss_dtype(logits), yb, reduction="sum")
            total += float(loss)
    return total / len(idx)


def _train_epoch(module, source, idx_tr, y_all, order, optimizer, mode, settings):
    """One pass over the training samples in the order ``order``; returns the
    mean training loss."""
    device, dtype = settings["device"], settings["dtype"]
    total = 0.0
    module.train()
    with mode:
        for start, stop in _batches(len(idx_tr), settings["batch_size"]):
            pos = torch.as_tensor(order[start:stop])
            logits = module(source.batch(idx_tr[order[start:stop]], dtype, device))
            if start == 0:
                _softmax64(logits[:1], settings["n_classes"])  # shape check only
            loss = F.cross_entropy(_loss_dtype(logits), y_all[pos.to(y_all.device)])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * (stop - start)
    return total / len(idx_tr)


def _train_module(module, source, idx_tr, y_tr, idx_val, y_val, *, seed, settings):
    """Train ``module`` in place on the samples ``idx_tr`` of ``source`` (with
    class codes ``y_tr``), early stopping on ``idx_val`` (or the training loss
    when it is None); return its loss curves and epoch count."""
    patience = settings["patience"]
    rng = np.random.RandomState(seed % 2**32)
    mode = DropoutMode(TrainingMasks(_generator(seed, 1, device=settings["device"])))
    optimizer = _make_optimizer(
        settings["optimizer"],
        module.parameters(),
        settings["lr"],
        settings["weight_decay"],
    )
    y_all = torch.as_tensor(y_tr, device=settings["device"])
    use_val = idx_val is not None
    best, best_state, bad = math.inf, None, 0
    losses: list[float] = []
    val_losses: list[float] = []
    for _ in range(settings["max_epochs"]):
        order = rng.permutation(len(idx_tr))
        losses.append(
            _train_epoch(
                module, source, idx_tr, y_all, order, optimizer, mode, settings
            )
        )
        if use_val:
            val_losses.append(_mean_loss(module, source, idx_val, y_val, settings))
        monitored = val_losses[-1] if use_val else losses[-1]
        if not math.isfinite(monitored):
            raise ValueError(
                "training diverged (non-finite loss); lower lr or check X."
            )
        if monitored < best - _MIN_DELTA:
            best, bad = monitored, 0
            if use_val:
                best_state = {
                    k: v.detach().clone() for k, v in module.state_dict().items()
                }
        else:
            bad += 1
            if patience is not None and bad >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return {
        "loss_curve": losses,
        "validation_loss_curve": val_losses,
        "n_epochs": len(losses),
    }


def _split(y_idx: np.ndarray, fraction: float, rng) -> tuple:
    """Stratified hold-out: each class gives ``floor(fraction * n_c)`` samples."""
    parts = []
    for c in np.unique(y_idx):
        members = np.flatnonzero(y_idx == c)
        n_val = int(math.floor(fraction * len(members)))
        if n_val > 0:
            parts.append(rng.permutation(members)[:n_val])
    val = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.intp)
    if len(val) < _MIN_VALIDATION:
        return np.arange(len(y_idx)), None
    train = np.setdiff1d(np.arange(len(y_idx)), val)
    return train, val
