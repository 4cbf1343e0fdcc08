"""Information-theoretic quantities over ensemble predictions.

Every function here is pure: it reads probability arrays, never modifies them,
prints nothing and keeps no state. Arrays follow one axis order,

- ``probs_K_N_C``: member ``k``'s predicted probability of class ``c`` for
  sample ``n`` (K ensemble members or MC samples, N samples, C classes);
- ``log_joint_K_M``: for each member ``k``, the log-probability it assigns to
  the ``m``-th *configuration* (one joint labelling ``y_A`` of a set ``A`` of
  already selected samples);
- ``weights_M``: the weight of each configuration in an estimate of an
  expectation over ``y_A``.

Entropies are in nats. With members equally likely a posteriori, the BALD
score of a sample is ``I(y; w) = H(mean_k p_k) - mean_k H(p_k)`` and the
BatchBALD score of a set ``A`` is ``I(y_A; w) = H(y_A) - sum_{i in A} mean_k
H(p_k(y_i))``.

A set of configurations represents the distribution of ``y_A`` either exactly
(all ``C**|A|`` labellings, each weighted by its probability) or by sampling
(``M`` labellings drawn from the joint, Kirsch et al. 2019). In both cases the
conditional entropy of a new sample given ``y_A`` is the weighted average over
configurations of the entropy of its posterior predictive, see
:func:`~batchbald.configurations.conditional_entropy`; this is the quantity the
greedy BatchBALD step maximises (minus the sample's expected entropy).

The configuration machinery and the joint entropies live in
:mod:`batchbald.configurations`; their names are re-exported here.
"""

from __future__ import annotations

import importlib
import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from ._devices import is_torch_tensor
from ._validation import Interval, check_params, validate_params

if TYPE_CHECKING:
    from .configurations import (
        MAX_EXACT_CONFIGURATIONS,
        conditional_entropy,
        conditional_mutual_information,
        configuration_weights,
        enumerate_configurations,
        extend_configurations,
        joint_entropy_exact,
        joint_entropy_sampled,
        posterior_weights,  # noqa: F401  (importable, not in __all__)
        sample_configurations,
    )

__all__ = [
    "DEFAULT_EPS",
    "EPS_CONSTRAINT",
    "MAX_EXACT_CONFIGURATIONS",
    "PROBABILITY_ATOL",
    "bald_scores",
    "check_probabilities",
    "conditional_entropy",
    "conditional_mutual_information",
    "configuration_weights",
    "entropy",
    "enumerate_configurations",
    "expected_entropy",
    "extend_configurations",
    "joint_entropy_exact",
    "joint_entropy_sampled",
    "member_votes",
    "predictive_entropy",
    "sample_configurations",
    "smooth_probabilities",
]

#: Default floor applied to probabilities inside the logarithms of entropies.
#: 0 means none: ``0 log 0`` counts as 0 exactly, and configurations that a
#: member rules out get log-likelihood ``-inf`` (see
#: :func:`~batchbald.configurations.extend_configurations`).
DEFAULT_EPS = 0.0

# Validation reads the input in slices of about this many bytes, so that its
# temporaries stay small next to any working-memory budget (memory-mapped
# input included).
_VALIDATION_CHUNK_BYTES = 4 * 2**20

#: Tolerance on the sums over the class axis of :func:`check_probabilities`.
PROBABILITY_ATOL = 1e-3

#: Declaration of the engine's ``eps``: a log floor in [0, 0.1).
EPS_CONSTRAINT = [Interval(numbers.Real, 0, 0.1, closed="left")]
# The pure functions accept any floor below 1.
_LOG_FLOOR = [Interval(numbers.Real, 0, 1, closed="left")]

# Configurations of a selected set live in batchbald.configurations (which
# imports this module); its public names (its __all__) stay importable from
# here, loaded on first use so that either module can be imported first.


def __getattr__(name: str):
    if not name.startswith("__"):
        module = importlib.import_module(".configurations", __package__)
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def check_eps(eps) -> float:
    """Validate the log floor ``eps``: a real number in [0, 0.1)."""
    check_params({"eps": eps}, {"eps": EPS_CONSTRAINT})
    return float(eps)


@validate_params(
    {
        "name": [str],
        "ndim": [Interval(numbers.Integral, 1, None, closed="left")],
        "atol": [Interval(numbers.Real, 0, None, closed="left")],
    }
)
def check_probabilities(
    probs, name: str = "probs_K_N_C", ndim: int = 3, atol: float = PROBABILITY_ATOL
):
    """Validate an array of class probabilities without copying it.

    The entries are read in slices of a few MiB along the sample axis, so a
    memory-mapped array is checked in bounded memory.

    Parameters
    ----------
    probs : array-like or torch.Tensor
        Probabilities whose last axis runs over classes. A torch tensor is
        checked on its own device and must hold floating-point numbers.
    name : str, default="probs_K_N_C"
        Name of the parameter, used in error messages.
    ndim : int, default=3
        Required number of dimensions.
    atol : float, default=1e-3
        Tolerance on the sums over the last axis, which must equal 1.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        ``probs`` as a floating-point array (a view, of the mapped file too,
        when it already was one; integers become float64), or the tensor
        itself.

    Raises
    ------
    ValueError
        On the wrong number of dimensions, an empty axis, NaN or infinite
        entries, negative entries, rows that do not sum to 1, or a tensor on
        torch's meta device.
    TypeError
        If ``probs`` is not numeric.
    """
    if is_torch_tensor(probs):
        return _check_tensor(probs, name, ndim, atol)
    arr = np.asarray(probs)
    if arr.dtype.kind not in "fiu" or arr.dtype.kind == "b":
        raise TypeError(
            f"{name} must hold real numbers (probabilities); got dtype {arr.dtype}."
        )
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    _check_shape(arr.shape, name, ndim)
    for start, stop in _chunks(arr.shape, ndim, arr.dtype.itemsize):
        part = arr[:, start:stop] if ndim == 3 else arr[start:stop]
        sums = part.sum(axis=-1, dtype=np.float64)
        _check_values(
            float(part.min()), float(part.max()), sums, name, start, stop, atol
        )
    return arr


def _check_tensor(probs, name: str, ndim: int, atol: float):
    import torch

    if probs.device.type == "meta":
        raise ValueError(
            f"{name} is a tensor on torch's meta device, which holds no values; "
            "pass a tensor on the CPU or a CUDA device."
        )
    if not torch.is_floating_point(probs):
        raise TypeError(
            f"{name} must hold floating-point probabilities; got {probs.dtype}."
        )
    _check_shape(tuple(probs.shape), name, ndim)
    for start, stop in _chunks(tuple(probs.shape), ndim, probs.element_size()):
        part = probs[:, start:stop] if ndim == 3 else probs[start:stop]
        sums = part.sum(dim=-1, dtype=torch.float64).cpu().numpy()
        _check_values(
            float(part.min()), float(part.max()), sums, name, start, stop, atol
        )
    return probs


def _check_shape(shape: tuple, name: str, ndim: int) -> None:
    if len(shape) != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions "
            f"({_axes_description(ndim)}); got shape {shape}."
        )
    if 0 in shape:
        raise ValueError(f"{name} must not have an empty axis; got shape {shape}.")


def _chunks(shape: tuple, ndim: int, itemsize: int):
    """(start, stop) slices of the sample axis of about the chunk budget."""
    if ndim == 1:
        yield 0, shape[0]
        return
    axis = 1 if ndim == 3 else 0
    n = shape[axis]
    per_sample = itemsize * math.prod(shape) // n
    step = max(1, _VALIDATION_CHUNK_BYTES // per_sample)
    for start in range(0, n, step):
        yield start, min(n, start + step)


def _check_values(lo, hi, sums, name, start, stop, atol) -> None:
    """Raise on non-finite or negative entries or rows not summing to 1."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"{name} contains NaN or infinite values; probabilities must be "
            "finite numbers in [0, 1]."
        )
    if lo < 0:
        raise ValueError(
            f"{name} contains negative values (minimum {lo:.3g}); "
            "probabilities must lie in [0, 1]. Pass probabilities, not logits "
            "or log-probabilities."
        )
    err = np.abs(sums - 1.0)
    bad = err > atol
    if bad.any():
        worst = sums.ravel()[np.argmax(err.ravel())]
        raise ValueError(
            f"{name} has rows over the class axis that do not sum to 1 "
            f"({int(bad.sum())} of them in samples {start}..{stop - 1}, e.g. a "
            f"sum of {worst:.6g}); each row must be a probability distribution."
        )


def _axes_description(ndim: int) -> str:
    return {
        3: "members K, samples N, classes C",
        2: "samples N, classes C",
        1: "classes C",
    }.get(ndim, f"{ndim} axes")


# --------------------------------------------------------------------------
# entropies and BALD
# --------------------------------------------------------------------------
def _log_floor(dtype, eps: float) -> float:
    return max(float(eps), float(np.finfo(dtype).tiny))


@validate_params({"eps": _LOG_FLOOR, "axis": [Interval(numbers.Integral, None, None)]})
def entropy(probs_C, eps: float = 0.0, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats along ``axis``.

    Parameters
    ----------
    probs_C : array-like of shape (..., C)
        Probabilities along ``axis``.
    eps : float, default=0.0
        Floor applied to the probabilities inside the logarithm only (the
        factor in front stays exact). With 0, ``0 * log 0`` counts as 0.
    axis : int, default=-1
        The class axis.

    Returns
    -------
    numpy.ndarray of float64
        The entropies, with ``axis`` removed.
    """
    p = np.asarray(probs_C, dtype=np.float64)
    floor = _log_floor(p.dtype, eps)
    return -np.sum(p * np.log(np.maximum(p, floor)), axis=axis)


@validate_params({"eps": _LOG_FLOOR})
def expected_entropy(probs_K_N_C, eps: float = 0.0) -> np.ndarray:
    """Mean over members of each member's predictive entropy, ``E_w H(y|w)``.

    Parameters
    ----------
    probs_K_N_C : array-like of shape (K, N, C)
        Member probabilities.
    eps : float, default=0.0
        See :func:`entropy`.

    Returns
    -------
    numpy.ndarray of shape (N,)
    """
    return entropy(probs_K_N_C, eps).mean(axis=0)


@validate_params({"eps": _LOG_FLOOR})
def predictive_entropy(probs_K_N_C, eps: float = 0.0) -> np.ndarray:
    """Entropy of the ensemble's mean prediction, ``H(y)``, shape (N,).

    Parameters are those of :func:`expected_entropy`.
    """
    return entropy(np.asarray(probs_K_N_C, dtype=np.float64).mean(axis=0), eps)


@validate_params({"eps": _LOG_FLOOR})
def bald_scores(probs_K_N_C, eps: float = 0.0) -> np.ndarray:
    """BALD scores ``I(y_n; w) = H(y_n) - E_w H(y_n | w)`` in nats.

    Parameters are those of :func:`expected_entropy`.

    Returns
    -------
    numpy.ndarray of shape (N,)
        Non-negative up to rounding.
    """
    return predictive_entropy(probs_K_N_C, eps) - expected_entropy(probs_K_N_C, eps)


# --------------------------------------------------------------------------
# ensemble remedies
# --------------------------------------------------------------------------
@validate_params({})
def member_votes(probs) -> np.ndarray:
    """Each member's vote: the one-hot of its most likely class.

    Classes tied for the largest probability share the vote equally, so a
    member predicting uniformly stays uniform. BatchBALD on votes treats the
    members as hard classifiers (as query-by-committee does): a label then
    rules out the members that voted otherwise, and a sample all remaining
    members agree on, such as a copy of one already chosen, carries no
    information.

    Parameters
    ----------
    probs : array-like of shape (..., C)
        Probabilities over the last axis (never modified).

    Returns
    -------
    numpy.ndarray of shape (..., C)
        float32 for float32 input, float64 otherwise.
    """
    p = np.asarray(probs)
    dtype = np.float32 if p.dtype == np.float32 else np.float64
    out = np.empty(p.shape, dtype=dtype)
    flat_in = p.reshape(-1, p.shape[-1])
    flat_out = out.reshape(-1, p.shape[-1])
    rows = max(1, _VALIDATION_CHUNK_BYTES // (8 * p.shape[-1]))
    for start in range(0, len(flat_in), rows):
        part = flat_in[start : start + rows]
        top = part == part.max(axis=-1, keepdims=True)
        flat_out[start : start + rows] = top / top.sum(axis=-1, keepdims=True)
    return out


@validate_params({"label_noise": [Interval(numbers.Real, 0, 1, closed="left")]})
def smooth_probabilities(probs, label_noise: float) -> np.ndarray:
    """The label-noise likelihood ``(1 - e) p + e / C`` (a new float64 array).

    A label observed through a channel that replaces it, with probability
    ``e``, by a uniformly random class: no single label can then rule a
    member out completely. ``label_noise = 0`` returns the probabilities
    unchanged (as float64).

    Parameters
    ----------
    probs : array-like of shape (..., C)
        Probabilities over the last axis.
    label_noise : float
        ``e`` in [0, 1].

    Returns
    -------
    numpy.ndarray of float64, shape (..., C)
    """
    p = np.asarray(probs, dtype=np.float64)
    if label_noise == 0:
        return p.copy()
    return (1.0 - label_noise) * p + label_noise / p.shape[-1]
