"""Synthetic ensemble pools of the selection benchmarks, one kind per function.

Every generator draws member probabilities ``probs_K_n_C`` (float64, rows
summing to one) for ``n`` pool samples from the caller's
``numpy.random.Generator``, so a pool generated chunk by chunk from one
stream is reproducible from its seed.

Kinds:

``mixed``
    :func:`synthetic_chunk`, the original benchmark pool: easy, ambiguous,
    contested and near-duplicate samples. The members' posterior collapses
    after about five picks, so lazy greedy skips almost everything.
``disagree``
    :func:`disagreeing_chunk`: members disagree on every sample with
    per-sample noise, so every sample tells a little about which member is
    right and the gains decay slowly (about 0.77, 0.62, 0.49, 0.35, 0.28,
    0.19, 0.12, 0.09, 0.05, 0.04 nats over 10 picks at N=10,000, K=20, C=10,
    M=1,000): the hard case for lazy evaluation.
``forest``
    :func:`forest_chunk`: a forest-like ensemble whose members are near
    one-hot votes, smoothed by a small per-member mass: large BALD scores and
    a posterior that collapses after two or three picks.
"""

from __future__ import annotations

import numpy as np

KIND_DOCS = {
    "mixed": """\
per sample n:
1. difficulty: mean class distribution ~ Dirichlet(alpha_n * 1_C) with alpha_n
   log-uniform in [0.05, 5] (confident ... ambiguous), floored at 1e-8;
2. disagreement: member logits = log(mean) + sigma_n * N(0, 1) noise per
   (member, class), sigma_n log-normal (median 0.3, log-sd 0.8, clipped to
   [0.01, 4]);
3. contested samples (20 %): two candidate classes, each member backs one
   (fair coin) with a boost ~ U(1, 4) nats, so members disagree on the label;
4. near duplicates (3 %): copies of another sample's member logits plus
   N(0, 0.02) noise, which BatchBALD should not pick twice and BALD top-b does;
softmax over classes in float64.""",
    "disagree": """\
per sample n: shared logits mu_n ~ N(0, 1) per class; member logits
mu_n + sigma_n * N(0, 1) per (member, class) with sigma_n ~ U(0.7, 1.4);
softmax over classes in float64. Every member disagrees with every other on
every sample, and the gains decay slowly.""",
    "forest": """\
per sample n: class distribution pi_n ~ Dirichlet(alpha_n * 1_C), alpha_n
log-uniform in [0.1, 2]; each member votes for one class drawn from pi_n and
puts 1 - delta on it and delta * Dirichlet(1_C) over all classes, delta
log-uniform in [1e-3, 5e-2] per (member, sample): near one-hot members, as a
random forest's trees are.""",
}


def synthetic_chunk(rng: np.random.Generator, K: int, n: int, C: int) -> np.ndarray:
    """Member probabilities (K, n, C) of the benchmark's synthetic ensemble:
    easy, ambiguous, contested (two camps of members) and near-duplicate
    samples, drawn from ``rng``."""
    alpha_n = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=(n, 1)))
    gam_n_C = rng.gamma(np.broadcast_to(alpha_n, (n, C)))
    mean_n_C = np.maximum(gam_n_C / gam_n_C.sum(1, keepdims=True), 1e-8)
    mean_n_C /= mean_n_C.sum(1, keepdims=True)
    sigma_n = np.clip(np.exp(rng.normal(np.log(0.3), 0.8, size=n)), 0.01, 4.0)
    logits_K_n_C = np.log(mean_n_C)[None] + sigma_n[None, :, None] * (
        rng.standard_normal((K, n, C))
    )
    contested = np.flatnonzero(rng.random(n) < 0.2)
    if contested.size and C > 1:
        first = rng.integers(0, C, size=contested.size)
        second = (first + rng.integers(1, C, size=contested.size)) % C
        pair = np.stack([first, second], axis=1)  # (n_contested, 2)
        camp_K_m = rng.integers(0, 2, size=(K, contested.size))
        boost_m = rng.uniform(1.0, 4.0, size=contested.size)
        cls_K_m = pair[np.arange(contested.size)[None, :], camp_K_m]
        k_idx = np.arange(K)[:, None]
        logits_K_n_C[k_idx, contested[None, :], cls_K_m] += boost_m[None, :]
    n_dup = int(round(0.03 * n))
    if n_dup and n > 1:
        dst = rng.choice(n, size=n_dup, replace=False)
        src = rng.integers(0, n, size=n_dup)
        src = np.where(src == dst, (src + 1) % n, src)
        logits_K_n_C[:, dst, :] = logits_K_n_C[:, src, :] + 0.02 * (
            rng.standard_normal((K, n_dup, C))
        )
    return _softmax(logits_K_n_C)


def disagreeing_chunk(rng: np.random.Generator, K: int, n: int, C: int) -> np.ndarray:
    """Member probabilities (K, n, C) that disagree on every sample.

    Shared logits ``mu_n ~ N(0, 1)`` per class plus member noise
    ``sigma_n * N(0, 1)`` with ``sigma_n ~ U(0.7, 1.4)`` per sample.
    """
    mu_1_n_C = rng.standard_normal((1, n, C))
    sigma_1_n_1 = rng.uniform(0.7, 1.4, size=(1, n, 1))
    logits_K_n_C = mu_1_n_C + sigma_1_n_1 * rng.standard_normal((K, n, C))
    return _softmax(logits_K_n_C)


def forest_chunk(rng: np.random.Generator, K: int, n: int, C: int) -> np.ndarray:
    """Near one-hot member probabilities (K, n, C), as a forest's trees vote.

    Each member votes for a class drawn from the sample's class distribution
    ``pi_n ~ Dirichlet(alpha_n)`` and keeps ``delta`` (log-uniform in
    [1e-3, 5e-2]) spread over the classes by ``Dirichlet(1_C)``.
    """
    alpha_n_1 = np.exp(rng.uniform(np.log(0.1), np.log(2.0), size=(n, 1)))
    pi_n_C = rng.gamma(np.broadcast_to(alpha_n_1, (n, C)))
    pi_n_C /= pi_n_C.sum(1, keepdims=True)
    u_K_n_1 = rng.random((K, n, 1))
    votes_K_n = np.minimum((u_K_n_1 > np.cumsum(pi_n_C, 1)[None]).sum(-1), C - 1)
    delta_K_n_1 = np.exp(rng.uniform(np.log(1e-3), np.log(5e-2), size=(K, n, 1)))
    probs_K_n_C = delta_K_n_1 * rng.dirichlet(np.ones(C), size=(K, n))
    vote = votes_K_n[..., None]
    np.put_along_axis(
        probs_K_n_C,
        vote,
        np.take_along_axis(probs_K_n_C, vote, -1) + (1.0 - delta_K_n_1),
        -1,
    )
    return probs_K_n_C


def _softmax(logits_K_n_C: np.ndarray) -> np.ndarray:
    logits_K_n_C = logits_K_n_C - logits_K_n_C.max(-1, keepdims=True)
    probs = np.exp(logits_K_n_C)
    probs /= probs.sum(-1, keepdims=True)
    return probs


KINDS = {
    "mixed": synthetic_chunk,
    "disagree": disagreeing_chunk,
    "forest": forest_chunk,
}


def rss_bytes() -> int:
    """This process's resident set size in bytes (0 if /proc does not report it)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
