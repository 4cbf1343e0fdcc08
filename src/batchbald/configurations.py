"""Configurations of a selected set, and the entropies that depend on them.

A *configuration* is one joint labelling ``y_A`` of a set ``A`` of already
selected samples. Arrays follow the axis order of
:mod:`batchbald.information`:

- ``log_joint_K_M``: for each member ``k``, the log-probability it assigns to
  the ``m``-th configuration;
- ``weights_M``: the weight of each configuration in an estimate of an
  expectation over ``y_A``.

A set of configurations represents the distribution of ``y_A`` either exactly
(all ``C**|A|`` labellings, each weighted by its probability) or by sampling
(``M`` labellings drawn from the joint, Kirsch et al. 2019). In both cases the
conditional entropy of a new sample given ``y_A`` is the weighted average over
configurations of the entropy of its posterior predictive, see
:func:`conditional_entropy`; this is the quantity the greedy BatchBALD step
maximises (minus the sample's expected entropy).

Every function here is pure. :mod:`batchbald.information` re-exports the
public names, so ``from batchbald.information import joint_entropy_exact``
keeps working.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import logsumexp, softmax

from ._validation import Interval, renamed_parameter, validate_params
from .information import _LOG_FLOOR, check_probabilities, entropy
from .utils import check_positive_int, check_random_state

__all__ = [
    "MAX_EXACT_CONFIGURATIONS",
    "conditional_entropy",
    "conditional_mutual_information",
    "configuration_weights",
    "enumerate_configurations",
    "extend_configurations",
    "joint_entropy_exact",
    "joint_entropy_sampled",
    "posterior_weights",
    "sample_configurations",
]

#: Largest number of configurations :func:`joint_entropy_exact` enumerates.
MAX_EXACT_CONFIGURATIONS = 2**22

_M = [Interval(numbers.Integral, 1, None, closed="left")]


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
