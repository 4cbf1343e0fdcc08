"""Lazy re-scoring rounds of the greedy loop and their cheap upper bounds.

Used by :class:`batchbald._greedy._GreedyRun`: each step scores just enough
candidates to know its best gain, closing the others with upper bounds: their
last gain, the members' remaining entropy, the gains on the configurations
that carry most of the remaining entropy plus the entropy of the others
(:class:`TruncatedConfigurations`), and the gains on grouped configurations
(:func:`grouped_configurations`).
"""

from __future__ import annotations

import numpy as np

from ._kernels import _single_threaded_blas
from ._rows import unique_rows
from .information import entropy

# Least first block of a lazy re-scoring round; the blocks after it grow
# _GROWTH-fold, and a block that would hold at least 1/_GROWTH of the
# candidates still open takes them all (the next would hold them anyway).
_FIRST_BLOCK = 64
_GROWTH = 4
# Added to the float32 upper bounds of lazy rounds, which may round below the
# exact bound by about 1e-6 nats.
_GROUPED_SLACK = 5e-6
# Stages of the truncated bounds: the configurations left out carry at most
# these fractions of the best gain found so far in remaining entropy, so the
# first stage closes the candidates whose gain is below about 3/4 of the
# best, the second those below about 19/20 of it.
_TRUNCATED_FRACTIONS = (0.25, 0.05)
# A truncated stage runs only when it keeps at most this share of the
# configurations (its cost is about that share of a full score).
_TRUNCATED_MAX_SHARE = 0.4
# Per-candidate cost of a scoring pass beyond its configurations, in
# configurations (reading the probabilities, the members' entropies).
_FIXED_COST = 32
# Candidates on which a stage is tried before it runs on a large block.
_PROBE = 256
# Fixed cost of one scoring call (the thread pool, the BLAS switch, casting
# the configurations), in the same units (a configuration times a
# candidate, about 1e-8 s on one core; a call costs 0.1 to 0.4 ms): the
# first block of a lazy round costs at least this much to score.
_CALL_COST = 2**15


class TruncatedConfigurations:
    """Upper bounds from the configurations that carry the most entropy.

    Each configuration's term of the estimate is a mutual information,
    ``0 <= I(y_n; w | m) <= H(post_m)``, so for any subset ``S`` of the
    configurations::

        sum_{m in S} w_m I_m(n)  <=  I(y_n; w | y_A)
            <=  sum_{m in S} w_m I_m(n) + sum_{m not in S} w_m H(post_m)

    Keeping the configurations of largest ``w_m H(post_m)`` makes the
    remainder small at a fraction of the cost of a full score.

    Parameters
    ----------
    post_M_K : numpy.ndarray of shape (M, K)
        Posterior over members given each configuration.
    weights_M : numpy.ndarray of shape (M,)
        Configuration weights.
    """

    def __init__(self, post_M_K: np.ndarray, weights_M: np.ndarray):
        self.post_M_K, self.weights_M = post_M_K, weights_M
        entropy_M = np.asarray(weights_M, dtype=np.float64) * entropy(post_M_K)
        self.order_M = np.argsort(-entropy_M, kind="stable")
        # rest_k[k]: entropy left out when the first k of the order are kept
        # (summed from the smallest up, so it falls exactly to 0).
        tail = np.cumsum(entropy_M[self.order_M][::-1])[::-1]
        self.rest_k = np.concatenate([tail, [0.0]])

    def keep(self, tau: float) -> int:
        """Fewest configurations whose remainder is at most ``tau`` nats."""
        return int(np.searchsorted(-self.rest_k, -tau, side="left"))

    def subset(self, k: int) -> tuple[np.ndarray, np.ndarray, float]:
        """(post_k_K, weights_k, remainder) of the ``k`` configurations of
        largest entropy, in their original order."""
        keep = np.sort(self.order_M[:k])
        return self.post_M_K[keep], self.weights_M[keep], float(self.rest_k[k])

    def stages(self, best: float) -> list[tuple[int, int]]:
        """(index in ``_TRUNCATED_FRACTIONS``, size) of the truncated stages
        worth running once ``best`` is known: each keeps more configurations
        than the one before and at most ``_TRUNCATED_MAX_SHARE`` of them."""
        M = len(self.weights_M)
        sizes: list[tuple[int, int]] = []
        for i, fraction in enumerate(_TRUNCATED_FRACTIONS):
            k = self.keep(fraction * max(best, 0.0))
            if 0 < k <= _TRUNCATED_MAX_SHARE * M and (not sizes or k > sizes[-1][1]):
                sizes.append((i, k))
        return sizes


class _Stages:
    """The cheap bounds of one lazy round, run from the cheapest up, each
    skipped where it does not pay.

    A stage of ``k`` configurations costs about ``k + _FIXED_COST`` per
    candidate; it pays when the share of candidates it closes, times the
    cost of what follows it (the next stage, or the full score), is above
    its own cost. On a large block, a stage first runs on an evenly spaced
    probe of ``_PROBE`` of the open candidates and on the others only if it
    paid on the probe (no random draw: the caller's generator is not used).
    """

    def __init__(self, truncated, grouped, M):
        self.truncated, self.grouped, self.M = truncated, grouped, M

    def plan(self, threshold):
        """(post, weights, rest, cost after) of the stages for this
        threshold, the cheapest first."""
        stages = [self.truncated.subset(k) for _, k in self.truncated.stages(threshold)]
        stages += [(*g, 0.0) for g in self.grouped]
        stages.sort(key=lambda stage: len(stage[1]))
        after = [len(stage[1]) for stage in stages] + [self.M]
        return [(*stage, cost) for stage, cost in zip(stages, after[1:], strict=False)]

    def tighten(self, scorer, open_idx, bounds_N, threshold):
        """Tighten the bounds of ``open_idx`` stage by stage; returns the
        candidates whose bound still exceeds ``threshold``."""
        for post_S_K, weights_S, rest, after in self.plan(threshold):
            if len(open_idx) == 0:
                break
            stage = (scorer, post_S_K, weights_S, rest, bounds_N, threshold)
            if len(open_idx) >= 4 * _PROBE:
                probe_n = np.zeros(len(open_idx), dtype=bool)
                probe_n[:: len(open_idx) // _PROBE] = True
                share = _bound(open_idx[probe_n], *stage) / np.count_nonzero(probe_n)
                if share * (after + _FIXED_COST) > len(weights_S) + _FIXED_COST:
                    _bound(open_idx[~probe_n], *stage)
            else:
                _bound(open_idx, *stage)
            open_idx = open_idx[bounds_N[open_idx] > threshold]
        return open_idx


def _bound(idx, scorer, post_S_K, weights_S, rest, bounds_N, threshold) -> int:
    """Lower ``bounds_N[idx]`` to the bound of one stage; returns how many
    of ``idx`` it closed (bound at most ``threshold``)."""
    upper = scorer.conditional_mi(idx, post_S_K, weights_S)
    upper += rest + _GROUPED_SLACK
    bounds_N[idx] = np.minimum(bounds_N[idx], upper)
    return int(np.count_nonzero(bounds_N[idx] <= threshold))


def lazy_round(
    scorer, post_M_K, weights_M, bounds_N, available_N, *, cap, margin, best=None,
    call_cost=_CALL_COST,
):  # fmt: skip
    """Score just enough candidates to know the step's best (see module doc).

    A candidate stays closed while its bound (its last gain, or its BALD
    score) cannot beat the best fresh gain by more than the margin. No gain
    exceeds the members' remaining entropy ``H(w | y_A)`` either, which
    closes every candidate at once when the ensemble is nearly identified.
    ``cap`` is that entropy; ``margin`` is ``-_greedy._REFINE_TOL`` in both
    regimes, so every candidate that could be the float64 best after
    re-scoring is scored (see ``_greedy._GreedyRun.greedy_choice``).

    The candidates of largest bound are scored in blocks (:func:`_blocks`):
    the first costs about ``call_cost`` (the fixed cost of a scoring call,
    see ``_CALL_COST``) or holds ``_FIRST_BLOCK`` candidates, the next grow
    ``_GROWTH``-fold, and a block that would hold ``1 / _GROWTH`` of the
    open candidates takes them all, so where few configurations make scoring
    cheap, or the bounds are loose, the round is one or two passes. After
    the first block, each block's bounds are first tightened with the cheap
    bounds (the truncated configurations, then the grouped ones) and only
    the candidates still open are scored. ``best``, when given, is a gain
    already found elsewhere (the Dask engine's probe of another block): the
    candidates are held against it from the first block on. Returns the
    scored indices and gains (possibly none when ``best`` is given).
    """
    stages = _Stages(
        TruncatedConfigurations(post_M_K, weights_M),
        grouping_levels(post_M_K, weights_M),
        len(weights_M),
    )
    fresh_N = np.zeros_like(available_N)
    idx_parts: list[np.ndarray] = []
    gain_parts: list[np.ndarray] = []
    known = best is not None
    best = -np.inf if best is None else float(best)
    first = max(_FIRST_BLOCK, -(-call_cost // (len(weights_M) + _FIXED_COST)))
    with _single_threaded_blas():  # one switch for the round's many calls
        for block in _blocks(first):
            if (idx_parts or known) and cap <= best + margin:
                break
            open_N = available_N & ~fresh_N & (bounds_N > best + margin)
            open_idx = np.flatnonzero(open_N)
            if len(open_idx) == 0:
                break
            if _GROWTH * block < len(open_idx):
                top = np.argpartition(-bounds_N[open_idx], block - 1)[:block]
                open_idx = np.sort(open_idx[top])
            if idx_parts or known:
                open_idx = stages.tighten(scorer, open_idx, bounds_N, best + margin)
                if len(open_idx) == 0:
                    continue
            gain = scorer.conditional_mi(open_idx, post_M_K, weights_M)
            fresh_N[open_idx] = True
            idx_parts.append(open_idx)
            gain_parts.append(gain)
            best = max(best, float(gain.max()))
    if not idx_parts:
        return np.empty(0, dtype=np.intp), np.empty(0)
    return np.concatenate(idx_parts), np.concatenate(gain_parts)


def _blocks(first: int):
    """Block sizes of a lazy round: ``first``, then ``_GROWTH``-fold."""
    block = first
    while True:
        yield block
        block *= _GROWTH


def grouped_configurations(
    post_M_K: np.ndarray,
    weights_M: np.ndarray,
    by: str = "top",
    top_share: float = 0.5,
    max_share: float = 0.25,
):
    """Configurations merged into groups of similar posteriors, or None when
    that would not make at least ``1 / max_share`` times fewer.

    The conditional mutual information ``I(y_n; w)`` is concave in the
    distribution over members, so replacing a group's posteriors by their
    weighted mean can only raise the estimate: scoring the merged groups
    gives an upper bound on every gain at a fraction ``G / M`` of the cost.
    With ``by="top"``, a group is the set of configurations that agree on
    which members hold at least ``top_share`` of the largest posterior (so
    that posteriors spread evenly over the same members merge; a larger
    share makes fewer, coarser groups); when that makes more than
    ``max_share * M`` groups, and with ``by="member"``, the configurations
    that share their most likely member (at most ``K`` groups).
    """
    M, K = post_M_K.shape
    if K > max_share * M:
        return None
    n_groups = M
    if by == "top":
        top_M_K = post_M_K >= top_share * post_M_K.max(axis=1, keepdims=True)
        _, group_M = unique_rows(top_M_K)
        n_groups = int(group_M.max()) + 1
    if n_groups > max_share * M:
        group_M, n_groups = np.argmax(post_M_K, axis=1), K
    weights_G = np.bincount(group_M, weights=weights_M, minlength=n_groups)
    sums_G_K = np.zeros((n_groups, K))
    np.add.at(sums_G_K, group_M, weights_M[:, None] * post_M_K)
    used = weights_G > 0
    return sums_G_K[used] / weights_G[used, None], weights_G[used]


def grouping_levels(post_M_K: np.ndarray, weights_M: np.ndarray) -> list:
    """The grouped configurations of a lazy round, coarse to fine: by most
    likely member, then by the members within 4/5 and within 1/2 of the
    largest posterior (each at most half as many groups as configurations,
    and each finer than the one before)."""
    levels = [
        grouped_configurations(post_M_K, weights_M, by="member"),
        grouped_configurations(post_M_K, weights_M, top_share=0.8, max_share=0.5),
        grouped_configurations(post_M_K, weights_M, top_share=0.5, max_share=0.5),
    ]
    out: list = []
    for level in levels:
        if level is not None and (not out or len(level[1]) > len(out[-1][1])):
            out.append(level)
    return out
