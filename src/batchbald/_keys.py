"""Random keys that depend only on (seed, pool index).

The tie-breaking keys of top-k and the Gumbel noise of stochastic batch
acquisition are drawn per pool index from a counter-based generator
(SplitMix64 of the seed and the index) instead of one stream over the whole
pool. A chunk of the pool can then draw its own share without knowing the
rest, and a selection split over many chunks, or many machines, equals the
one made in memory. The seed itself comes from the caller's random state.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

#: Streams of keys drawn from one seed.
TIES, GUMBEL = 0, 1


def draw_seed(rng: np.random.RandomState) -> int:
    """A 62-bit seed drawn from the caller's generator (two draws)."""
    hi = int(rng.randint(0, 2**31))
    lo = int(rng.randint(0, 2**31))
    return (hi << 31) | lo


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def hashed(seed: int, stream: int, idx_n) -> np.ndarray:
    """64-bit keys, one per index, shape of ``idx_n``, dtype uint64."""
    base = _splitmix64(np.array([seed ^ (stream << 62)], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _splitmix64(np.asarray(idx_n, dtype=np.uint64) + base[0])


def gumbel(seed: int, idx_n) -> np.ndarray:
    """Standard Gumbel noise, one value per index, float64."""
    bits = hashed(seed, GUMBEL, idx_n) >> np.uint64(11)
    u = (bits.astype(np.float64) + 0.5) * 2.0**-53  # in (0, 1)
    return -np.log(-np.log(u))


def order(values_n, seed: int, idx_n) -> np.ndarray:
    """Positions sorting ``values_n`` decreasingly, ties by the random keys."""
    return np.lexsort((hashed(seed, TIES, idx_n), -np.asarray(values_n)))
