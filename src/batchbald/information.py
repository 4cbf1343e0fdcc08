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
:func:`conditional_entropy`; this is the quantity the greedy BatchBALD step
maximises (minus the sample's expected entropy).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import logsumexp, softmax

from ._validation import Interval, check_params, renamed_parameter, validate_params
from .utils import check_positive_int, check_random_state

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
#: member rules out get log-likelihood ``-inf`` (see :func:`extend_configurations`).
DEFAULT_EPS = 0.0

#: Largest number of configurations :func:`joint_entropy_exact` enumerates.
MAX_EXACT_CONFIGURATIONS = 2**22

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
_M = [Interval(numbers.Integral, 1, None, closed="left")]


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
    if type(probs).__module__.startswith("torch") and type(probs).__name__ == "Tensor":
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
# configurations of a selected set
# --------------------------------------------------------------------------
def _log_probs(probs, eps: float) -> np.ndarray:
    """``log p`` with ``log 0 = -inf`` (eps = 0), or ``log max(p, eps)``."""
    p = np.asarray(probs, dtype=np.float64)
    if eps > 0:
        return np.log(np.maximum(p, eps))
    with np.errstate(divide="ignore"):
        return np.log(p)


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
        flat_out[start : start + rows] = top / top.sum(
            axis=-1, keepdims=True
        )
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


def enumerate_configurations(
    probs_K_B_C, eps: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """All ``C**B`` joint labellings of ``B`` samples, with exact weights.

    Parameters
    ----------
    probs_K_B_C : array-like of shape (K, B, C)
        Member probabilities of the selected samples (``B`` may be 0).
    eps : float, default=0.0
        Floor inside the logarithms of the likelihoods; with 0 (exact), a
        labelling that member ``k`` rules out gets ``-inf`` and a labelling
        that every member rules out has weight 0.

    Returns
    -------
    log_joint_K_M : numpy.ndarray of shape (K, C**B)
        ``log prod_i p_k(y_i = c_i)`` for each configuration, the last sample
        varying fastest.
    weights_M : numpy.ndarray of shape (C**B,)
        The probability of each configuration under the ensemble,
        ``mean_k prod_i p_k(y_i = c_i)``; it sums to 1.
    """
    probs = np.asarray(probs_K_B_C)
    K, B, C = probs.shape
    log_joint_K_M = np.zeros((K, 1))
    for i in range(B):
        log_joint_K_M, _ = extend_configurations(
            log_joint_K_M, probs[:, i, :], exact=True, eps=eps
        )
    return log_joint_K_M, configuration_weights(log_joint_K_M)


def configuration_weights(log_joint_K_M: np.ndarray) -> np.ndarray:
    """Probability of each configuration under the ensemble, shape (M,).

    ``mean_k exp(log_joint_K_M[k, m])``, computed stably; for enumerated
    configurations the weights sum to 1. Entries of ``-inf`` (labellings a
    member rules out) count as probability 0 exactly, and a column of
    ``-inf`` has weight 0.
    """
    log_joint = np.asarray(log_joint_K_M, dtype=np.float64)
    K = log_joint.shape[0]
    top_M = log_joint.max(axis=0)
    possible_M = np.isfinite(top_M)
    shift_M = np.where(possible_M, top_M, 0.0)
    total_M = np.exp(log_joint - shift_M).sum(axis=0)
    return np.where(possible_M, total_M * np.exp(shift_M) / K, 0.0)


def sample_configurations(
    probs_K_B_C, n_samples: int, random_state=None, eps: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n_samples`` joint labellings of ``B`` samples from the ensemble.

    Each configuration is drawn by picking a member ``k`` and then each label
    ``y_i ~ p_k(y_i)`` independently, which is a draw from the ensemble's
    joint predictive. Members are stratified: when ``n_samples >= K`` every
    member is picked ``n_samples // K`` or one more times, and the weights
    ``1 / (K * count_k)`` keep the estimate of any expectation unbiased; with
    fewer samples than members, members are drawn uniformly with weights
    ``1 / n_samples``.

    Parameters
    ----------
    probs_K_B_C : array-like of shape (K, B, C)
        Member probabilities of the selected samples.
    n_samples : int
        Number of configurations ``M``.
    random_state : None, int or numpy.random.RandomState, default=None
        Source of randomness, see :func:`batchbald.utils.check_random_state`.
    eps : float, default=0.0
        See :func:`entropy`.

    Returns
    -------
    log_joint_K_M : numpy.ndarray of shape (K, M)
        Each member's log-probability of each drawn configuration.
    weights_M : numpy.ndarray of shape (M,)
        Estimator weights, summing to 1.
    members_M : numpy.ndarray of int, shape (M,)
        The member each configuration was drawn from; pass it to
        :func:`extend_configurations` to extend the draws to another sample.
    """
    probs = np.asarray(probs_K_B_C)
    K, B, C = probs.shape
    M = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    if M >= K:
        counts_K = np.full(K, M // K)
        counts_K[rng.choice(K, size=M % K, replace=False)] += 1
        members_M = np.repeat(np.arange(K), counts_K)
        weights_M = 1.0 / (K * counts_K[members_M])
    else:
        members_M = rng.randint(0, K, size=M)
        weights_M = np.full(M, 1.0 / M)
    log_joint_K_M = np.zeros((K, M))
    for i in range(B):
        log_joint_K_M, _ = extend_configurations(
            log_joint_K_M,
            probs[:, i, :],
            exact=False,
            members_M=members_M,
            random_state=rng,
            eps=eps,
        )
    return log_joint_K_M, weights_M, members_M


def extend_configurations(
    log_joint_K_M,
    probs_K_C,
    *,
    exact: bool,
    members_M=None,
    random_state=None,
    eps: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Add one sample to a set of configurations.

    Parameters
    ----------
    log_joint_K_M : array-like of shape (K, M)
        Configurations of the selected set so far.
    probs_K_C : array-like of shape (K, C)
        Member probabilities of the sample to add.
    exact : bool
        If True, every configuration is split into ``C`` (the result has
        ``M * C`` columns, the new label varying fastest). If False, each
        configuration draws the new sample's label from its member
        ``members_M[m]`` and the result keeps ``M`` columns.
    members_M : array-like of int, shape (M,), optional
        Required when ``exact`` is False.
    random_state : None, int or numpy.random.RandomState, default=None
        Used when ``exact`` is False.
    eps : float, default=0.0
        See :func:`entropy`.

    Returns
    -------
    log_joint_K_M : numpy.ndarray
        The extended configurations (a new array).
    labels_M : numpy.ndarray of int or None
        The labels drawn for the new sample (None when ``exact``).
    """
    log_joint = np.asarray(log_joint_K_M, dtype=np.float64)
    log_p_K_C = _log_probs(probs_K_C, eps)
    K, M = log_joint.shape
    if exact:
        C = log_p_K_C.shape[1]
        out = log_joint[:, :, None] + log_p_K_C[:, None, :]
        return out.reshape(K, M * C), None
    if members_M is None:
        raise ValueError("members_M is required when exact=False.")
    rng = check_random_state(random_state)
    probs_M_C = np.asarray(probs_K_C, dtype=np.float64)[np.asarray(members_M)]
    cdf_M_C = np.cumsum(probs_M_C, axis=1)
    u_M = rng.random_sample(M) * cdf_M_C[:, -1]
    labels_M = np.minimum((cdf_M_C <= u_M[:, None]).sum(axis=1), cdf_M_C.shape[1] - 1)
    return log_joint + log_p_K_C[:, labels_M], labels_M


def posterior_weights(log_joint_K_M) -> np.ndarray:
    """Posterior over members given each configuration, shape (M, K).

    Row ``m`` is ``p(k | y_A = config_m)`` under a uniform prior over members;
    ``-inf`` log-likelihoods give posterior 0 exactly. A configuration that
    every member rules out (weight 0) gets the uniform prior as its row.
    """
    log_joint = np.asarray(log_joint_K_M, dtype=np.float64)
    possible_M = np.isfinite(log_joint.max(axis=0))
    if possible_M.all():
        return softmax(log_joint, axis=0).T
    post_K_M = np.full(log_joint.shape, 1.0 / log_joint.shape[0])
    post_K_M[:, possible_M] = softmax(log_joint[:, possible_M], axis=0)
    return post_K_M.T


def conditional_entropy(
    probs_K_N_C, log_joint_K_M, weights_M, eps: float = 0.0
) -> np.ndarray:
    """Conditional entropy ``H(y_n | y_A)`` of each sample given a selected set.

    ``H(y_n | y_A) = sum_m weights_m * H(sum_k p(k | config_m) p_k(y_n))``,
    exact when the configurations are enumerated, an unbiased estimate when
    they are sampled. This is the straightforward float64 reference; the
    selection engine evaluates the same expression in chunks.

    Parameters
    ----------
    probs_K_N_C : array-like of shape (K, N, C)
        Member probabilities of the samples to score.
    log_joint_K_M : array-like of shape (K, M)
        Configurations of the selected set (see :func:`enumerate_configurations`
        and :func:`sample_configurations`).
    weights_M : array-like of shape (M,)
        Their weights.
    eps : float, default=0.0
        See :func:`entropy`.

    Returns
    -------
    numpy.ndarray of shape (N,)
    """
    probs = np.asarray(probs_K_N_C, dtype=np.float64)
    K, N, C = probs.shape
    post_M_K = posterior_weights(log_joint_K_M)
    q_M_N_C = (post_M_K @ probs.reshape(K, N * C)).reshape(-1, N, C)
    return np.asarray(weights_M, dtype=np.float64) @ entropy(q_M_N_C, eps)


def conditional_mutual_information(
    probs_K_N_C, log_joint_K_M, weights_M, eps: float = 0.0
) -> np.ndarray:
    """Conditional mutual information ``I(y_n; w | y_A)`` of each sample.

    ``sum_m weights_m * [H(sum_k post_mk p_k(y_n)) - sum_k post_mk H(p_k(y_n))]``
    with ``post_mk = p(k | config_m)``: the BALD score of ``y_n`` under each
    configuration's posterior over members, averaged over configurations.
    With enumerated configurations this is exactly ``H(y_n | y_A) - E_w
    H(y_n | w)``, the greedy BatchBALD gain; with sampled configurations it is
    an unbiased estimate of it, never negative, and at most
    ``sum_m weights_m H(post_m)``.

    Parameters are those of :func:`conditional_entropy`.

    Returns
    -------
    numpy.ndarray of shape (N,)
    """
    probs = np.asarray(probs_K_N_C, dtype=np.float64)
    post_M_K = posterior_weights(log_joint_K_M)
    weights = np.asarray(weights_M, dtype=np.float64)
    member_entropy_K_N = entropy(probs, eps)
    return conditional_entropy(probs, log_joint_K_M, weights, eps) - (
        weights @ post_M_K @ member_entropy_K_N
    )


# --------------------------------------------------------------------------
# joint entropies
# --------------------------------------------------------------------------
@validate_params({"eps": _LOG_FLOOR})
def joint_entropy_exact(probs_K_B_C, eps: float = 0.0) -> float:
    """Exact joint entropy ``H(y_1, ..., y_B)`` by enumerating all labellings.

    Parameters
    ----------
    probs_K_B_C : array-like of shape (K, B, C)
        Member probabilities of the ``B`` samples.
    eps : float, default=0.0
        See :func:`entropy`.

    Returns
    -------
    float
        The joint entropy in nats.

    Raises
    ------
    ValueError
        If ``C**B`` exceeds :data:`MAX_EXACT_CONFIGURATIONS`; use
        :func:`joint_entropy_sampled` then.
    """
    probs = check_probabilities(probs_K_B_C, "probs_K_B_C")
    K, B, C = probs.shape
    if B * math.log(C) > math.log(MAX_EXACT_CONFIGURATIONS):
        raise ValueError(
            f"probs_K_B_C has C**B = {C}**{B} configurations, more than the "
            f"{MAX_EXACT_CONFIGURATIONS} that can be enumerated; use "
            "joint_entropy_sampled instead."
        )
    _, weights_M = enumerate_configurations(probs, eps)
    return float(entropy(weights_M, eps))


@validate_params(
    {
        "n_configurations": [*_M, None],
        "random_state": ["random_state"],
        "eps": _LOG_FLOOR,
        "n_samples": [*_M, None],
    }
)
def joint_entropy_sampled(
    probs_K_B_C,
    n_configurations: int | None = None,
    random_state=None,
    eps: float = 0.0,
    *,
    n_samples: int | None = None,
) -> float:
    """Unbiased Monte-Carlo estimate of ``H(y_1, ..., y_B)``.

    The first ``B - 1`` labels are sampled (:func:`sample_configurations`);
    the last one is summed over exactly, so the estimate is
    ``sum_m w_m [-log p(y_A^m) + H(y_B | y_A^m)]``, the importance-sampling
    estimator of Kirsch et al. (2019). Its standard error shrinks like
    ``1 / sqrt(n_configurations)``; with ``B = 1`` it is exact.

    Parameters
    ----------
    probs_K_B_C : array-like of shape (K, B, C)
        Member probabilities of the ``B`` samples.
    n_configurations : int, default=None
        Number of sampled configurations ``M`` (None: 1000).
    random_state : None, int or numpy.random.RandomState, default=None
        See :func:`batchbald.utils.check_random_state`.
    eps : float, default=0.0
        See :func:`entropy`.
    n_samples : int, default=None
        Deprecated alias of ``n_configurations`` (FutureWarning).

    Returns
    -------
    float
    """
    M = renamed_parameter(
        n_configurations, n_samples, "n_configurations", "n_samples",
        "joint_entropy_sampled",
    )  # fmt: skip
    probs = check_probabilities(probs_K_B_C, "probs_K_B_C")
    K = probs.shape[0]
    log_joint_K_M, weights_M, _ = sample_configurations(
        probs[:, :-1], 1000 if M is None else M, random_state, eps
    )
    neg_log_p_M = math.log(K) - logsumexp(log_joint_K_M, axis=0)
    cond_M = entropy(
        (posterior_weights(log_joint_K_M) @ np.asarray(probs[:, -1], np.float64)), eps
    )
    return float(weights_M @ (neg_log_p_M + cond_M))
