"""PyTorch classifiers for deep Bayesian active learning.

This module needs PyTorch (``pip install "batchbald[torch]"``); nothing else in
batchbald imports it.

Two scikit-learn-compatible classifiers wrap a user's ``torch.nn.Module`` that
maps a batch of inputs ``(B, *input_shape)`` to class logits ``(B, C)``:

- :class:`MCDropoutClassifier` -- one network; posterior samples are forward
  passes with *consistent* Monte-Carlo dropout masks (Gal & Ghahramani 2016,
  Kirsch et al. 2019);
- :class:`DeepEnsembleClassifier` -- several independently initialised and
  independently trained networks (Lakshminarayanan et al. 2017).

Both expose ``sample_proba(X, n_samples)`` returning member probabilities
``probs_K_N_C`` of shape ``(K, N, C)``, so they plug into the pool strategies
like a scikit-activeml estimator::

    BatchBALD(sample_predictions_method_name="sample_proba",
              sample_predictions_dict={"n_samples": 20})

Consistent MC dropout
---------------------
BatchBALD scores *sets* of pool points through their joint predictive
distribution, so posterior sample ``k`` must be one and the same function for
every pool point. :meth:`MCDropoutClassifier.sample_proba` therefore draws, for
each of the ``K`` samples and each dropout layer, one mask over the layer's
features (the input shape without the batch axis; over channels for
``nn.Dropout1d/2d/3d``) and applies mask ``k`` to every row of every inference
batch. The masks come from ``torch.Generator`` objects seeded from
``(seed, k, layer)``, so sample ``k`` does not depend on how the pool is
batched, on which other points are scored with it, or on ``K`` itself.

The masks are applied by forward hooks on the standard ``nn.Dropout``,
``nn.Dropout1d``, ``nn.Dropout2d`` and ``nn.Dropout3d`` layers of the user's
network: during inference the network runs in ``eval()`` mode (batch norm uses
its running statistics, the dropout layers are the identity) and each hook
multiplies the layer's output by ``mask_k / (1 - p)``. The hooks exist only
for the duration of a call, so the fitted network stays a plain module. During
training the same hooks draw fresh per-element masks from a seeded generator
instead of torch's global random state. Dropout written with
``torch.nn.functional.dropout`` inside ``forward`` is not seen by the hooks
(it is off in ``eval()`` mode); alpha dropout layers are rejected.

Reproducibility
---------------
``fit`` retrains a deep copy of the user's module from scratch (unless
``warm_start``); its parameters are re-initialised from ``torch.Generator``
objects seeded from ``check_random_state(random_state)``, which also drives the
train/validation split, the shuffling and the training dropout masks. Known
layer types (linear, bilinear, convolutions, embeddings, recurrent layers) get
PyTorch's default initialisation drawn from such a generator; other modules
with a ``reset_parameters`` method run it while torch's CPU generator is
temporarily seeded (its state is restored afterwards). Parameters of modules
with neither keep the values of the user's module.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError

from .classifier import FallbackWarning
from .utils import (
    MISSING_LABEL,
    check_positive_int,
    check_random_state,
    is_labeled,
    is_unlabeled,
)

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        'batchbald.deep needs PyTorch; install it with pip install "batchbald[torch]".'
    ) from exc

__all__ = [
    "DeepEnsembleClassifier",
    "MCDropoutClassifier",
    "make_mlp",
]

_CHANNEL_DROPOUT = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_SUPPORTED_DROPOUT = (nn.Dropout, *_CHANNEL_DROPOUT)
_UNSUPPORTED_DROPOUT = (nn.AlphaDropout, nn.FeatureAlphaDropout)
_OPTIMIZERS = ("adam", "adamw", "sgd")
# Fewer held-out labels than this make early stopping on them too noisy; the
# training loss is monitored instead.
_MIN_VALIDATION = 10
# Improvement of the monitored loss needed to reset the patience counter.
_MIN_DELTA = 1e-4
_SEED_HIGH = 2**63 - 1
_FALLBACK_MESSAGE = (
    "batchbald.deep: fewer than two classes are labeled, so the network was not "
    "trained; predict_proba and sample_proba return the labeled class "
    "frequencies (uniform when nothing is labeled) until the next fit. See the "
    "attributes label_counts_ and fallback_."
)


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
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive real number; got {value!r}.")
    return float(value)


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


def _dropout_layers(module: nn.Module) -> list:
    return [m for m in module.modules() if isinstance(m, _SUPPORTED_DROPOUT)]


def _module_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


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
# dropout hooks
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# forward passes and training
# --------------------------------------------------------------------------
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


def _to_tensor(X: np.ndarray, dtype: torch.dtype, device: torch.device):
    arr = np.asarray(X)
    if not np.isfinite(arr).all():
        raise ValueError("X contains NaN or infinite values.")
    return torch.as_tensor(arr).to(device=device, dtype=dtype)


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
        return optimizer(params, lr=lr, weight_decay=weight_decay)
    raise TypeError(
        f"optimizer must be one of {_OPTIMIZERS} or a torch.optim.Optimizer "
        f"subclass; got {type(optimizer).__name__} {optimizer!r}."
    )


def _loss_dtype(logits: torch.Tensor) -> torch.Tensor:
    # Half-precision logits are promoted for the loss; others are used as is.
    if logits.dtype in (torch.float16, torch.bfloat16):
        return logits.float()
    return logits


def _mean_loss(module, X, y, batch_size, device, dtype, n_classes) -> float:
    total = 0.0
    with torch.no_grad(), _eval_mode(module):
        for start, stop in _batches(len(X), batch_size):
            xb = _to_tensor(X[start:stop], dtype, device)
            yb = torch.as_tensor(y[start:stop], device=device)
            logits = module(xb)
            _softmax64(logits[:1], n_classes)  # shape check only
            loss = F.cross_entropy(_loss_dtype(logits), yb, reduction="sum")
            total += float(loss)
    return total / len(X)


def _train_module(module, X_tr, y_tr, X_val, y_val, *, seed, settings) -> dict:
    """Train ``module`` in place; return its loss curves and epoch count."""
    device, dtype = settings["device"], settings["dtype"]
    n_classes, batch_size = settings["n_classes"], settings["batch_size"]
    patience = settings["patience"]
    rng = np.random.RandomState(seed % 2**32)
    masks = _TrainingMasks(_generator(seed, 1, device=device))
    layers = _dropout_layers(module)
    optimizer = _make_optimizer(
        settings["optimizer"],
        module.parameters(),
        settings["lr"],
        settings["weight_decay"],
    )
    X_all = _to_tensor(X_tr, dtype, device)
    y_all = torch.as_tensor(y_tr, device=device)
    use_val = X_val is not None
    best, best_state, bad = math.inf, None, 0
    losses, val_losses = [], []
    checked = False
    for _ in range(settings["max_epochs"]):
        module.train()
        order = torch.as_tensor(rng.permutation(len(X_tr)), device=device)
        total = 0.0
        with _dropout_hooks(layers, masks):
            for start, stop in _batches(len(X_tr), batch_size):
                idx = order[start:stop]
                logits = module(X_all[idx])
                if not checked:
                    _softmax64(logits[:1], n_classes)
                    checked = True
                loss = F.cross_entropy(_loss_dtype(logits), y_all[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * (stop - start)
        losses.append(total / len(X_tr))
        if use_val:
            val_losses.append(
                _mean_loss(
                    module,
                    X_val,
                    y_val,
                    settings["inference_batch_size"],
                    device,
                    dtype,
                    n_classes,
                )
            )
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
    val = []
    for c in np.unique(y_idx):
        members = np.flatnonzero(y_idx == c)
        n_val = int(math.floor(fraction * len(members)))
        if n_val > 0:
            val.append(rng.permutation(members)[:n_val])
    val = np.sort(np.concatenate(val)) if val else np.empty(0, dtype=np.intp)
    if len(val) < _MIN_VALIDATION:
        return np.arange(len(y_idx)), None
    train = np.setdiff1d(np.arange(len(y_idx)), val)
    return train, val


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------
_COMMON_PARAMS = """
    classes : array-like of shape (n_classes,) or None, default=None
        All class labels. ``None`` infers them from the labeled part of ``y``
        in ``fit``; pass them when some classes may still be unlabeled (the
        network's output size must equal ``n_classes``).
    missing_label : scalar, default=np.nan
        The value of ``y`` that marks an unlabeled sample; such samples are
        ignored by ``fit``.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, \
default="adam"
        The optimiser; ``"sgd"`` uses momentum 0.9. A class is called as
        ``optimizer(params, lr=lr, weight_decay=weight_decay)``.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimiser.
    max_epochs : int, default=200
        Maximum number of passes over the training part of the labeled data.
    batch_size : int, default=64
        Training mini-batch size.
    validation_fraction : float in [0, 1), default=0.1
        Fraction of each class's labeled samples held out for early stopping
        (stratified, ``floor(validation_fraction * n_c)`` per class). When fewer
        than 10 samples would be held out, all labels are used for training and
        the training loss is monitored instead; the final weights are then kept.
    patience : int or None, default=20
        Stop after this many epochs without an improvement of the monitored
        loss (validation loss, or training loss without validation data).
        ``None`` trains for ``max_epochs``. With validation data the weights of
        the epoch with the lowest validation loss are restored at the end.
    warm_start : bool, default=False
        If True and the estimator was fitted before with the same classes and
        input shape, ``fit`` continues training the current weights instead of
        re-initialising them.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default="auto"
        Where to train and predict; ``"auto"`` picks CUDA when available.
    inference_batch_size : int, default=1024
        Number of samples per forward pass in prediction, which bounds the
        memory of inference.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the re-initialisation, the train/validation split, the shuffling
        and the dropout masks, see :func:`batchbald.utils.check_random_state`.
"""


class _TorchClassifierBase(ClassifierMixin, BaseEstimator):
    """Shared validation, label handling and prediction plumbing."""

    # ---------------------------------------------------------- validation
    def _validated_settings(self) -> dict:
        if not isinstance(self.warm_start, bool):
            raise TypeError(f"warm_start must be a bool; got {self.warm_start!r}.")
        if self.patience is not None:
            check_positive_int(self.patience, "patience")
        return {
            "optimizer": self.optimizer,
            "lr": _check_positive_real(self.lr, "lr"),
            "weight_decay": _check_real(
                self.weight_decay, "weight_decay", 0.0, math.inf, True
            ),
            "max_epochs": check_positive_int(self.max_epochs, "max_epochs"),
            "batch_size": check_positive_int(self.batch_size, "batch_size"),
            "inference_batch_size": check_positive_int(
                self.inference_batch_size, "inference_batch_size"
            ),
            "validation_fraction": _check_real(
                self.validation_fraction, "validation_fraction", 0.0, 1.0, True
            ),
            "patience": None if self.patience is None else int(self.patience),
            "device": _check_device(self.device),
        }

    @staticmethod
    def _check_X(X, name: str = "X") -> np.ndarray:
        arr = np.asarray(X)
        if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
        if arr.ndim < 2:
            raise ValueError(
                f"{name} must have shape (n_samples, ...) with at least 2 "
                f"dimensions; got shape {arr.shape}."
            )
        return arr

    def _check_X_fitted(self, X) -> np.ndarray:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit first."
            )
        arr = self._check_X(X)
        if arr.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has per-sample shape {arr.shape[1:]}, but the estimator was "
                f"fitted on {self.input_shape_}."
            )
        return arr

    def _labels(self, X: np.ndarray, y) -> tuple:
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional; got shape {y.shape}.")
        if len(y) != len(X):
            raise ValueError(
                f"X and y must have the same number of samples; got {len(X)} and "
                f"{len(y)}."
            )
        labeled = is_labeled(y, self.missing_label)
        y_lab = y[labeled]
        if self.classes is None:
            if len(y_lab) == 0:
                raise ValueError(
                    "y has no labeled samples, so classes cannot be inferred; pass "
                    "classes=[...]."
                )
            classes = np.unique(y_lab)
        else:
            classes = np.unique(np.asarray(self.classes))
            if classes.ndim != 1 or len(classes) == 0:
                raise ValueError(
                    f"classes must be a non-empty 1-d array-like; got {self.classes!r}."
                )
            if is_unlabeled(classes, self.missing_label).any():
                raise ValueError(
                    f"classes must not contain missing_label={self.missing_label!r}; "
                    f"got {self.classes!r}."
                )
        index = {c: i for i, c in enumerate(classes.tolist())}
        unknown = sorted({v for v in y_lab.tolist() if v not in index}, key=repr)
        if unknown:
            raise ValueError(
                f"y contains labels {unknown} that are not in classes="
                f"{classes.tolist()}."
            )
        y_idx = np.array([index[v] for v in y_lab.tolist()], dtype=np.int64)
        return classes, np.flatnonzero(labeled), y_idx

    # ---------------------------------------------------------- fitting
    def _fit(self, X, y, templates: list) -> np.random.RandomState:
        """Validate, (re-)initialise ``templates`` and train them; return the rng."""
        settings = self._validated_settings()
        X = self._check_X(X)
        classes, labeled, y_idx = self._labels(X, y)
        rng = check_random_state(self.random_state)
        warm = (
            self.warm_start
            and getattr(self, "members_", None) is not None
            and hasattr(self, "classes_")
        )
        if warm:
            if not (
                np.array_equal(self.classes_, classes)
                and self.input_shape_ == X.shape[1:]
                and len(self.members_) == len(templates)
            ):
                raise ValueError(
                    "warm_start=True needs the classes and input shape of the "
                    f"previous fit (classes {self.classes_.tolist()}, input shape "
                    f"{self.input_shape_}); got classes {classes.tolist()} and input "
                    f"shape {X.shape[1:]}. Pass classes=[...] to fix them."
                )
            members = self.members_
        else:
            members = []
            for template in templates:
                member = copy.deepcopy(template).to("cpu")
                _reset_parameters(member, _draw_seed(rng))
                members.append(member.to(settings["device"]))
        for member in members:
            member.to(settings["device"])
        counts = np.bincount(y_idx, minlength=len(classes)).astype(np.float64)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_, dtype=np.int64))
        self.device_ = settings["device"]
        self.members_ = members
        self.n_labeled_ = len(labeled)
        seeds = [_draw_seed(rng) for _ in members]
        self.label_counts_ = counts
        self.fallback_ = bool(np.count_nonzero(counts) < 2)
        if self.fallback_:
            # Same convention as SklearnClassifier: one constant warning per fit.
            warnings.warn(_FALLBACK_MESSAGE, FallbackWarning, stacklevel=3)
            total = counts.sum()
            self.class_prior_ = (
                counts / total if total > 0 else np.full(len(classes), 1 / len(classes))
            )
            self.n_epochs_ = np.zeros(len(members), dtype=np.int64)
            self.loss_curves_ = [[] for _ in members]
            self.validation_loss_curves_ = [[] for _ in members]
            return rng
        self.class_prior_ = None
        train, val = _split(y_idx, settings["validation_fraction"], rng)
        X_lab = X[labeled]
        X_val = None if val is None else X_lab[val]
        y_val = None if val is None else y_idx[val]
        settings["n_classes"] = len(classes)
        curves = [
            _train_module(
                member,
                X_lab[train],
                y_idx[train],
                X_val,
                y_val,
                seed=seed,
                settings={**settings, "dtype": _module_dtype(member)},
            )
            for member, seed in zip(members, seeds, strict=True)
        ]
        self.n_epochs_ = np.array([c["n_epochs"] for c in curves], dtype=np.int64)
        self.loss_curves_ = [c["loss_curve"] for c in curves]
        self.validation_loss_curves_ = [c["validation_loss_curve"] for c in curves]
        return rng

    # ---------------------------------------------------------- prediction
    def _constant(self, n: int, k: int | None = None) -> np.ndarray:
        probs = np.broadcast_to(self.class_prior_, (n, self.n_classes_))
        if k is not None:
            probs = np.broadcast_to(probs, (k, n, self.n_classes_))
        return np.array(probs, dtype=np.float64)

    def _forward_proba(self, member: nn.Module, X: np.ndarray) -> np.ndarray:
        """Deterministic (dropout off) probabilities of one member, (N, C)."""
        out = np.empty((len(X), self.n_classes_), dtype=np.float64)
        dtype = _module_dtype(member)
        bs = check_positive_int(self.inference_batch_size, "inference_batch_size")
        with torch.no_grad(), _eval_mode(member):
            for start, stop in _batches(len(X), bs):
                xb = _to_tensor(X[start:stop], dtype, self.device_)
                out[start:stop] = _softmax64(member(xb), self.n_classes_)
        return out

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample under :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Inputs.

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class MCDropoutClassifier(_TorchClassifierBase):
    """A torch network whose posterior samples are consistent MC-dropout passes.

    ``fit`` trains a deep copy of ``module`` (re-initialised from
    ``random_state``) with cross-entropy on the labeled samples, early stopping
    on a held-out part of them. :meth:`predict_proba` is the deterministic
    network (dropout off); :meth:`sample_proba` draws ``n_samples`` dropout
    masks per layer and applies mask ``k`` to every sample, so the result is a
    proper ensemble of ``n_samples`` sub-networks for (Batch)BALD. See the
    module docstring for how the masks are applied.

    Parameters
    ----------
    module : torch.nn.Module
        Network mapping a batch ``(B, *input_shape)`` to logits ``(B, C)`` (or
        log-probabilities), with at least one ``nn.Dropout`` /
        ``nn.Dropout1d/2d/3d`` layer with ``p > 0``. It is never modified.
        :func:`make_mlp` builds one for tabular data.
    n_mc_samples : int, default=20
        Default number of MC-dropout samples of :meth:`sample_proba`.
    """

    __doc__ += (
        _COMMON_PARAMS
        + """
    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (in ``eval()`` mode).
    classes_ : numpy.ndarray of shape (n_classes,)
        Sorted class labels.
    fallback_ : bool
        Whether fewer than two classes were labeled; the estimator then skips
        training, issues one :class:`batchbald.classifier.FallbackWarning` and
        predicts ``class_prior_`` for every sample and MC sample.
    label_counts_ : numpy.ndarray of float, shape (n_classes,)
        Number of labeled samples per class.
    class_prior_ : numpy.ndarray of shape (n_classes,) or None
        The labeled class frequencies (uniform without labels) when
        ``fallback_``; ``None`` otherwise.
    n_epochs_ : int
        Epochs trained.
    loss_curve_, validation_loss_curve_ : list of float
        Mean training / validation cross-entropy per epoch (the latter empty
        without validation data).
    mc_seed_ : int
        Seed of the dropout masks :meth:`sample_proba` uses by default.

    Examples
    --------
    >>> from batchbald.deep import MCDropoutClassifier, make_mlp
    >>> clf = MCDropoutClassifier(make_mlp(64, 10), random_state=0)  # doctest: +SKIP
    >>> clf.fit(X, y).sample_proba(X_pool, n_samples=20).shape  # doctest: +SKIP
    (20, n_pool, 10)
    """
    )

    def __init__(
        self,
        module,
        *,
        classes=None,
        missing_label=MISSING_LABEL,
        n_mc_samples=20,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=200,
        batch_size=64,
        validation_fraction=0.1,
        patience=20,
        warm_start=False,
        device="auto",
        inference_batch_size=1024,
        random_state=None,
    ):
        self.module = module
        self.classes = classes
        self.missing_label = missing_label
        self.n_mc_samples = n_mc_samples
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state

    def fit(self, X, y) -> MCDropoutClassifier:
        """Train the network on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Real-valued inputs (converted to the network's dtype batch by batch).
        y : array-like of shape (n_samples,)
            Labels, ``missing_label`` for unlabeled samples.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On labels outside ``classes``, a network without dropout, wrong
            logit shapes or invalid parameters.
        """
        module = _check_module(self.module)
        check_positive_int(self.n_mc_samples, "n_mc_samples")
        if not any(layer.p > 0 for layer in _dropout_layers(module)):
            raise ValueError(
                "module must contain an nn.Dropout (or nn.Dropout1d/2d/3d) layer "
                "with p > 0 for MC dropout; use DeepEnsembleClassifier for networks "
                "without dropout."
            )
        rng = self._fit(X, y, [module])
        self.module_ = self.members_[0]
        self.n_epochs_ = int(self.n_epochs_[0])
        self.loss_curve_ = self.loss_curves_[0]
        self.validation_loss_curve_ = self.validation_loss_curves_[0]
        del self.loss_curves_, self.validation_loss_curves_
        self.mc_seed_ = _draw_seed(rng)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the deterministic network (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Inputs.

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1.
        """
        X = self._check_X_fitted(X)
        if self.class_prior_ is not None:
            return self._constant(len(X))
        return self._forward_proba(self.module_, X)

    def sample_proba(self, X, n_samples=None, random_state=None) -> np.ndarray:
        """Class probabilities under ``n_samples`` consistent dropout masks.

        Mask ``k`` of every dropout layer is shared by all rows of ``X`` and all
        inference batches, and does not depend on ``n_samples`` (the first
        ``k`` samples of a larger call equal a smaller call) or on
        ``inference_batch_size``.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, *input_shape)
            Inputs.
        n_samples : int or None, default=None
            Number of MC-dropout samples ``K``; ``None`` uses ``n_mc_samples``.
        random_state : None, int or numpy.random.RandomState, default=None
            ``None`` uses the masks fixed at ``fit`` (seed ``mc_seed_``), so
            repeated calls, e.g. on parts of a pool, are consistent with each
            other. Otherwise the masks are seeded from
            ``check_random_state(random_state)`` (a ``RandomState`` instance gives
            fresh masks on every call).

        Returns
        -------
        numpy.ndarray of float64, shape (K, n_samples_X, n_classes)
            ``probs_K_N_C``; rows sum to 1.
        """
        X = self._check_X_fitted(X)
        k_total = check_positive_int(
            self.n_mc_samples if n_samples is None else n_samples, "n_samples"
        )
        if self.class_prior_ is not None:
            return self._constant(len(X), k_total)
        seed = (
            self.mc_seed_
            if random_state is None
            else _draw_seed(check_random_state(random_state))
        )
        module = self.module_
        masks = _ConsistentMasks(seed)
        dtype = _module_dtype(module)
        bs = check_positive_int(self.inference_batch_size, "inference_batch_size")
        out = np.empty((k_total, len(X), self.n_classes_), dtype=np.float64)
        with (
            torch.no_grad(),
            _eval_mode(module),
            _dropout_hooks(_dropout_layers(module), masks),
        ):
            for start, stop in _batches(len(X), bs):
                xb = _to_tensor(X[start:stop], dtype, self.device_)
                for k in range(k_total):
                    masks.k = k
                    out[k, start:stop] = _softmax64(module(xb), self.n_classes_)
        return out


class DeepEnsembleClassifier(_TorchClassifierBase):
    """An ensemble of independently initialised and trained torch networks.

    Every member is a deep copy of a network re-initialised from its own seed
    (drawn from ``random_state``) and trained with its own shuffling and
    dropout masks on the same train/validation split; each stops early on its
    own. :meth:`sample_proba` returns one row of probabilities per member and
    :meth:`predict_proba` their mean.

    Parameters
    ----------
    module : torch.nn.Module, sequence of torch.nn.Module or callable
        The members' architecture: one network copied ``n_members`` times, one
        network per member (architectures may differ), or a factory called
        without arguments ``n_members`` times. Each network maps a batch
        ``(B, *input_shape)`` to logits ``(B, C)``; none is modified.
    n_members : int or None, default=None
        Ensemble size; ``None`` means ``len(module)`` for a sequence and 5
        otherwise. With a sequence it must equal ``len(module)``.
    """

    __doc__ += (
        _COMMON_PARAMS
        + """
    Attributes
    ----------
    members_ : list of torch.nn.Module
        The trained networks (in ``eval()`` mode).
    n_members_ : int
        Ensemble size.
    classes_, fallback_, label_counts_, class_prior_
        As in :class:`MCDropoutClassifier`.
    n_epochs_ : numpy.ndarray of int, shape (n_members,)
        Epochs trained per member.
    loss_curves_, validation_loss_curves_ : list of list of float
        Per-member loss curves, see :class:`MCDropoutClassifier`.
    """
    )

    def __init__(
        self,
        module,
        *,
        n_members=None,
        classes=None,
        missing_label=MISSING_LABEL,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=200,
        batch_size=64,
        validation_fraction=0.1,
        patience=20,
        warm_start=False,
        device="auto",
        inference_batch_size=1024,
        random_state=None,
    ):
        self.module = module
        self.n_members = n_members
        self.classes = classes
        self.missing_label = missing_label
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state

    def _templates(self) -> list:
        module, n_members = self.module, self.n_members
        if n_members is not None:
            n_members = check_positive_int(n_members, "n_members")
        if isinstance(module, nn.Module):
            return [_check_module(module)] * (5 if n_members is None else n_members)
        if isinstance(module, Sequence) and not isinstance(module, str):
            if len(module) == 0:
                raise ValueError("module must not be an empty sequence.")
            if n_members is not None and n_members != len(module):
                raise ValueError(
                    f"n_members={n_members} contradicts the {len(module)} modules "
                    "given; pass n_members=None or a matching number."
                )
            return [_check_module(m, f"module[{i}]") for i, m in enumerate(module)]
        if callable(module):
            n = 5 if n_members is None else n_members
            return [_check_module(module(), "module()") for _ in range(n)]
        raise TypeError(
            "module must be a torch.nn.Module, a sequence of them or a callable "
            f"returning one; got {type(module).__name__}."
        )

    def fit(self, X, y) -> DeepEnsembleClassifier:
        """Train every member on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X, y
            See :meth:`MCDropoutClassifier.fit`.

        Returns
        -------
        self
        """
        self._fit(X, y, self._templates())
        self.n_members_ = len(self.members_)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' class probabilities (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape)
            Inputs.

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1.
        """
        return self.sample_proba(X).mean(axis=0)

    def sample_proba(self, X, n_samples=None) -> np.ndarray:
        """Every member's class probabilities (dropout off).

        Parameters
        ----------
        X : array-like of shape (n_samples_X, *input_shape)
            Inputs.
        n_samples : int or None, default=None
            The number of posterior samples asked for; an ensemble has exactly
            ``n_members_`` of them, so this must be ``None`` or ``n_members_``
            (it exists so the estimator fits
            ``sample_predictions_dict={"n_samples": K}``).

        Returns
        -------
        numpy.ndarray of float64, shape (n_members, n_samples_X, n_classes)
            ``probs_K_N_C``; rows sum to 1.
        """
        X = self._check_X_fitted(X)
        if n_samples is not None:
            k = check_positive_int(n_samples, "n_samples")
            if k != self.n_members_:
                raise ValueError(
                    f"n_samples={k} differs from the ensemble's n_members_="
                    f"{self.n_members_}; a deep ensemble has one sample per member "
                    "(pass None or n_members_)."
                )
        if self.class_prior_ is not None:
            return self._constant(len(X), self.n_members_)
        return np.stack([self._forward_proba(m, X) for m in self.members_])


def make_mlp(
    n_features: int,
    n_classes: int,
    hidden: Sequence[int] = (128, 128),
    dropout: float = 0.5,
    random_state=None,
) -> nn.Sequential:
    """A multilayer perceptron with ReLU and dropout after every hidden layer.

    ``Linear(n_features, h1) -> ReLU -> Dropout(dropout) -> ... ->
    Linear(h_last, n_classes)``, returning logits. With the defaults it suits
    small tabular problems such as scikit-learn's digits (64 features, 10
    classes) with :class:`MCDropoutClassifier`'s default training settings.

    Parameters
    ----------
    n_features : int
        Input size.
    n_classes : int
        Output size, at least 2.
    hidden : sequence of int, default=(128, 128)
        Hidden layer widths; empty gives (multinomial) logistic regression,
        which has no dropout layer.
    dropout : float in [0, 1), default=0.5
        Dropout probability after each hidden layer.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the initial weights (the classifiers re-initialise them in
        ``fit`` anyway); torch's global generator is not used.

    Returns
    -------
    torch.nn.Sequential
    """
    n_features = check_positive_int(n_features, "n_features")
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    if isinstance(hidden, numbers.Integral) or not isinstance(hidden, Sequence):
        raise TypeError(
            f"hidden must be a sequence of positive integers; got {hidden!r}."
        )
    widths = [check_positive_int(h, "hidden[i]") for h in hidden]
    dropout = _check_real(dropout, "dropout", 0.0, 1.0, True)
    layers: list = []
    size = n_features
    for width in widths:
        layers += [
            nn.utils.skip_init(nn.Linear, size, width),
            nn.ReLU(),
            nn.Dropout(dropout),
        ]
        size = width
    layers.append(nn.utils.skip_init(nn.Linear, size, n_classes))
    net = nn.Sequential(*layers)
    _reset_parameters(net, _draw_seed(check_random_state(random_state)))
    return net
