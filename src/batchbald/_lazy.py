"""Lazy re-scoring rounds of the greedy loop and their grouped upper bounds.

Used by :class:`batchbald._greedy._GreedyRun`: each step scores just enough
candidates to know its best gain, closing the others with upper bounds (their
last gain, the members' remaining entropy, and the gains on grouped
configurations).
"""

from __future__ import annotations

import numpy as np

from ._rows import unique_rows

# First block size of a lazy re-scoring round; it doubles every round.
_FIRST_BLOCK = 64
# Added to the float32 grouped upper bounds of lazy rounds, which may round
# below the exact bound by about 1e-6 nats.
_GROUPED_SLACK = 5e-6


def lazy_round(scorer, post_M_K, weights_M, bounds_N, available_N, *, cap, margin):
    """Score just enough candidates to know the step's best (see module doc).

    A candidate stays closed while its bound (its last gain, or its BALD
    score) cannot beat the best fresh gain by more than the margin. No gain
    exceeds the members' remaining entropy ``H(w | y_A)`` either, which
    closes every candidate at once when the ensemble is nearly identified.
    ``cap`` is that entropy; ``margin`` is negative in the exact regime
    (``-_greedy._REFINE_TOL``: near-ties are all scored) and positive in the
    sampled one (``_greedy._F32_TIE_TOL``: candidates that close count as ties
    of the best already found). After the first block, each block's
    bounds are first tightened with the configurations merged by their most
    likely member (:func:`grouped_configurations`, an upper bound at a
    fraction of the cost) and only the candidates still open are scored.
    Returns the scored indices and gains.
    """
    grouped = grouped_configurations(post_M_K, weights_M)
    fresh_N = np.zeros_like(available_N)
    idx_parts, gain_parts = [], []
    best = -np.inf
    block = _FIRST_BLOCK
    while True:
        if idx_parts and cap <= best + margin:
            break
        open_N = available_N & ~fresh_N & (bounds_N > best + margin)
        open_idx = np.flatnonzero(open_N)
        if len(open_idx) == 0:
            break
        if len(open_idx) > block:
            top = np.argpartition(-bounds_N[open_idx], block - 1)[:block]
            open_idx = np.sort(open_idx[top])
        if grouped is not None and idx_parts:
            # Tighten the bounds with the grouped configurations first; only
            # the candidates still open get the full estimate.
            upper = scorer.conditional_mi(open_idx, *grouped) + _GROUPED_SLACK
            bounds_N[open_idx] = np.minimum(bounds_N[open_idx], upper)
            open_idx = open_idx[bounds_N[open_idx] > best + margin]
            if len(open_idx) == 0:
                block *= 2
                continue
        gain = scorer.conditional_mi(open_idx, post_M_K, weights_M)
        fresh_N[open_idx] = True
        idx_parts.append(open_idx)
        gain_parts.append(gain)
        best = max(best, float(gain.max()))
        block *= 2
    return np.concatenate(idx_parts), np.concatenate(gain_parts)


def grouped_configurations(post_M_K: np.ndarray, weights_M: np.ndarray):
    """Configurations merged into groups of similar posteriors, or None when
    that would not make at least four times fewer.

    The conditional mutual information ``I(y_n; w)`` is concave in the
    distribution over members, so replacing a group's posteriors by their
    weighted mean can only raise the estimate: scoring the merged groups
    gives an upper bound on every gain at a fraction ``G / M`` of the cost.
    A group is the set of configurations that agree on which members hold at
    least half of the largest posterior (so that posteriors spread evenly
    over the same members merge); when that makes too many groups, the
    configurations that share their most likely member.
    """
    M, K = post_M_K.shape
    if M < 4 * K:
        return None
    top_M_K = post_M_K >= 0.5 * post_M_K.max(axis=1, keepdims=True)
    _, group_M = unique_rows(top_M_K)
    n_groups = int(group_M.max()) + 1
    if 4 * n_groups > M:
        group_M, n_groups = np.argmax(post_M_K, axis=1), K
    weights_G = np.bincount(group_M, weights=weights_M, minlength=n_groups)
    sums_G_K = np.zeros((n_groups, K))
    np.add.at(sums_G_K, group_M, weights_M[:, None] * post_M_K)
    used = weights_G > 0
    return sums_G_K[used] / weights_G[used, None], weights_G[used]
