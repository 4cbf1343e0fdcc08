"""The parts of EPIG's block kernel on one core, and the vote kernel's crossover.

Part 1 (always): on one pinned core with BLAS on one thread, the cost per
joint cell of each pass of one EPIG block of batchbald's default shape
(64 pool samples x 81 targets, K=20 members, C=10 classes: a 640 x 810
block), against this core's float32 matrix-product peak (a 2,000 x 2,000
product):

- the ``K``-deep product that forms the joints, and its share of the peak;
- numpy's float32 ``log2`` (what the kernel takes) and ``log``;
- the per-row BLAS dot products of the joints with their logarithms.

Part 2 (``--votes-crossover``): for one-hot ensembles of ``--n`` x ``--n``
samples, the time of ``epig_scores`` with the vote kernel and with the joint
kernel, for each C in ``--classes`` and K in ``--members``, next to
:func:`batchbald._epig_votes.use_votes`'s choice.

Example::

    python benchmarks/epig_kernel_parts.py --votes-crossover
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits


def _per_cell(fn, cells: int, seconds: float = 0.5) -> float:
    """Best time per cell (ns) of ``fn`` over repeats lasting ``seconds``."""
    fn()
    best, spent = np.inf, 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return best / cells * 1e9


def block_parts(K: int = 20, C: int = 10, n: int = 64, t: int = 81) -> None:
    from batchbald._epig_blocks import row_dots

    rng = np.random.default_rng(0)
    a = rng.random((2000, 2000), dtype=np.float32)
    b = rng.random((2000, 2000), dtype=np.float32)
    peak = 2 * 2000**3 / (_per_cell(lambda: a @ b, 1) * 1e-9) / 1e9
    rows = rng.random((n * C, K), dtype=np.float32) / K
    cols = rng.random((K, t * C), dtype=np.float32)
    joint = np.empty((n * C, t * C), dtype=np.float32)
    logs = np.empty_like(joint)
    cells = joint.size
    product = _per_cell(lambda: np.matmul(rows, cols, out=joint), cells)
    gflops = 2 * K / product
    print(f"block {n * C} x {t * C} (K={K}, C={C}), one core, ns per joint cell:")
    print(f"  product    {product:.3f}  ({gflops:.1f} GFLOP/s, "
          f"{gflops / peak:.0%} of the {peak:.1f} GFLOP/s peak)")  # fmt: skip
    print(f"  log2       {_per_cell(lambda: np.log2(joint, out=logs), cells):.3f}")
    print(f"  log        {_per_cell(lambda: np.log(joint, out=logs), cells):.3f}")
    print(f"  row dots   {_per_cell(lambda: row_dots(joint, logs), cells):.3f}")


def votes_crossover(n: int, classes, members) -> None:
    from batchbald import _epig_votes
    from batchbald.epig import epig_scores

    rng = np.random.default_rng(0)
    real = _epig_votes.use_votes
    print(f"one-hot ensembles, {n} x {n} samples, seconds of epig_scores:")
    print("|  C |   K | vote kernel | joint kernel | faster | use_votes |")
    for C in classes:
        for K in members:
            labels = rng.integers(0, C, size=(K, 2 * n))
            labels[K // 2 :] = labels[0]  # members that agree, as fitted ones do
            noise = rng.random((K, 2 * n)) < 0.2
            labels = np.where(noise, rng.integers(0, C, size=labels.shape), labels)
            votes = np.eye(C)[labels]
            pool, target = votes[:, :n], votes[:, n:]
            times = []
            for forced in (True, False):
                _epig_votes.use_votes = lambda K, C, forced=forced: forced
                try:
                    t0 = time.perf_counter()
                    epig_scores(pool, target, precise=False)
                    times.append(time.perf_counter() - t0)
                finally:
                    _epig_votes.use_votes = real
            faster = "votes" if times[0] < times[1] else "joint"
            print(f"| {C:2d} | {K:3d} | {times[0]:11.3f} | {times[1]:12.3f} | "
                  f"{faster:6s} | {real(K, C)!s:9s} |")  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--votes-crossover", action="store_true")
    p.add_argument("--n", type=int, default=600)
    p.add_argument("--classes", default="2,3,10")
    p.add_argument("--members", default="10,15,20,30,40,50,100,120,140,200")
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:1])
    with threadpool_limits(1):
        block_parts()
        if args.votes_crossover:
            votes_crossover(
                args.n,
                [int(c) for c in args.classes.split(",")],
                [int(k) for k in args.members.split(",")],
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
