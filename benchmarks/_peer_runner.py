"""Child process of ``bench_selection.py``: one implementation, one input file.

Run as ``python benchmarks/_peer_runner.py --impl NAME --input FILE.npy ...``.
It speaks JSON lines on stdout, one event per line, flushed as they happen, so
the parent can enforce a per-run wall-clock limit and salvage finished repeats:

``{"event": "setup", ...}``
    after the library import, loading the input and converting it to the
    implementation's native layout (none of which is timed as selection).
``{"event": "start", "repeat": i}``
    just before repeat ``i``'s selection call starts.
``{"event": "done", "repeat": i, "seconds": ..., "peak_rss": ..., ...}``
    the selection call's wall time, memory and chosen indices.
``{"event": "error", "status": "OOM" | "error", "message": ...}``
    the implementation raised; the process then exits with status 3.

Memory: ``rss_before`` is the resident set size right before the call (the
input in the implementation's layout plus the interpreter and libraries).
Before each repeat the kernel's high-water mark is reset (``clear_refs`` 5),
so ``peak_rss`` is the high-water mark reached during that call (the same
figure ``getrusage(RUSAGE_SELF).ru_maxrss`` reports), and ``peak_beyond_input
= peak_rss - rss_before`` is what the selection itself added. Where the reset
is not permitted, ``peak_rss`` also covers loading (``hwm_reset`` is false).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

OOM_MARKERS = (
    "can't allocate memory",
    "not enough memory",
    "unable to allocate",
    "out of memory",
    "bad_alloc",
    "cannot allocate memory",
)


def _emit(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    value = _status_kib("VmRSS")
    if value is None:  # not Linux: fall back to the high-water mark
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return value


def peak_bytes() -> int:
    value = _status_kib("VmHWM")
    if value is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return value


def reset_peak() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# Adapters. Each has ``load()`` (import the library, untimed), ``prepare(probs)``
# (convert the shared (K, N, C) array to the native layout, untimed) and
# ``run(state, b, M, seed)`` returning (indices in selection order, scores).
# --------------------------------------------------------------------------


class BatchBALDAdapter:
    """batchbald: ``select_batch(probs_K_N_C, b, n_samples=M, ...)``, native."""

    torch_input = False
    lazy = None  # select_batch's default: lazy greedy
    device = None  # --device: select_batch(..., device=...); tensors moved there

    def load(self):
        import inspect

        from batchbald.engine import select_batch

        self.select_batch = select_batch
        # The spec'd call; ``progress`` is passed only where the engine has it.
        self.extra = {"max_memory": None}
        if "progress" in inspect.signature(select_batch).parameters:
            self.extra["progress"] = False

    def prepare(self, probs_K_N_C):
        if self.torch_input:
            import torch

            tensor = torch.from_numpy(probs_K_N_C)  # zero-copy view
            return tensor if self.device is None else tensor.to(self.device)
        return probs_K_N_C

    def run(self, state, b, M, seed):
        extra = dict(self.extra, lazy=self.lazy)
        if self.device is not None:
            extra["device"] = self.device
        res = self.select_batch(state, b, n_samples=M, random_state=seed, **extra)
        N, n_scored = state.shape[1], getattr(res, "n_scored", None)
        if n_scored and len(res.indices) > 1:  # share of the gains after step 1
            share = (n_scored - N) / ((len(res.indices) - 1) * N)
            self.last_note = f"scored {share:.0%} of pairs"
        return np.asarray(res.indices).tolist(), np.asarray(res.gains).tolist()


class BatchBALDTorchAdapter(BatchBALDAdapter):
    """batchbald on a torch CPU tensor (``torch.from_numpy`` of the input)."""

    torch_input = True


class BatchBALDFullAdapter(BatchBALDAdapter):
    """batchbald with ``lazy=False``: every gain at every step (full scan)."""

    lazy = False


class SkactivemlAdapter:
    """scikit-activeml ``batch_bald(probas (K, N, C), b, n_MC_samples=M)``.

    Returns utilities of shape (b, N); step i chose ``nanargmax`` of row i
    (earlier picks are NaN in later rows). It clips the input in place
    (``np.clip(..., out=...)`` on a view), so it gets its own writable copy,
    which is what ``np.load`` gives the child anyway.
    """

    def load(self):
        from skactiveml.pool._bald import batch_bald

        self.batch_bald = batch_bald

    def prepare(self, probs_K_N_C):
        return probs_K_N_C

    def run(self, state, b, M, seed):
        utilities_B_N = self.batch_bald(
            state, int(b), n_MC_samples=int(M), random_state=int(seed)
        )
        indices = [int(np.nanargmax(row)) for row in utilities_B_N]
        scores = [float(np.nanmax(row)) for row in utilities_B_N]
        return indices, scores


class ReduxAdapter:
    """batchbald_redux ``get_batchbald_batch(log_probs (N, K, C) tensor, ...)``.

    Takes log-probabilities with samples first; computes in ``dtype``
    (float64 here, its default of None would mean float32). Sampling uses
    torch's global generator, seeded before each call. ``num_samples`` is the
    total M (it draws M // K configurations per member).
    """

    def load(self):
        import torch
        from batchbald_redux.batchbald import get_batchbald_batch

        self.torch = torch
        self.get_batchbald_batch = get_batchbald_batch

    def prepare(self, probs_K_N_C):
        log_probs_N_K_C = np.ascontiguousarray(np.log(probs_K_N_C).transpose(1, 0, 2))
        return self.torch.from_numpy(log_probs_N_K_C)

    def run(self, state, b, M, seed):
        self.torch.manual_seed(seed)
        cand = self.get_batchbald_batch(
            state, int(b), int(M), dtype=self.torch.double, device="cpu"
        )
        return [int(i) for i in cand.indices], [float(s) for s in cand.scores]


class BaalAdapter:
    """baal ``BatchBALD(num_samples=b - 1, num_draw=M // K).get_ranks(preds)``.

    ``preds`` are probabilities of shape (N, C, K) (classes before members).
    ``num_draw`` is drawn per member, so M total configurations means
    ``num_draw = M // K``. baal starts from the BALD argmax and then runs
    ``num_samples`` greedy steps, so ``num_samples = b - 1`` gives b picks
    (it may stop earlier once its scores fall below 0.1 nats).

    baal returns one score per sample (0 where not picked), not the order of
    selection, and its scores are H(y_batch, y_n) - H(y_n | w) (the batch's
    conditional entropy is never subtracted), so they grow along the batch:
    ranking by score puts the first pick (the BALD argmax) last. The order is
    recovered without touching baal's code: ``reduction`` may be a callable,
    applied to each step's score vector, which baal then masks in place and
    takes the argmax of; an identity ``reduction`` that keeps a reference to
    each vector lets us read every step's winner afterwards.
    Sampling uses torch's and numpy's global generators, seeded per call.
    """

    def load(self):
        import torch
        from baal.active.heuristics import BatchBALD

        self.torch = torch
        self.BatchBALD = BatchBALD

    def prepare(self, probs_K_N_C):
        self.K = probs_K_N_C.shape[0]
        return np.ascontiguousarray(probs_K_N_C.transpose(1, 2, 0))

    def run(self, state, b, M, seed):
        self.torch.manual_seed(seed)
        np.random.seed(seed)  # noqa: NPY002  (baal draws from numpy's global RNG)
        seen = []

        def recording_identity(scores):
            seen.append(scores)
            return scores

        heuristic = self.BatchBALD(
            num_samples=int(b) - 1,
            num_draw=max(1, M // self.K),
            reduction=recording_identity,
        )
        _, scores_N = heuristic.get_ranks(state)
        # seen: [BALD scores, one vector per greedy step..., final scores]
        steps = seen[1:-1]
        history = [int(np.argsort(seen[0])[-1])]  # baal's own first pick
        history += [int(np.argmax(v)) for v in steps]
        picked = [int(i) for i in np.flatnonzero(scores_N)]
        self.last_note = None
        if sorted(history) != sorted(picked) and len(picked) == len(history):
            self.last_note = "order recovery mismatch"  # should never happen
        if len(history) < b:
            self.last_note = f"baal stopped early after {len(history)} picks"
        return history[:b], [float(scores_N[i]) for i in history[:b]]


ADAPTERS = {
    "batchbald": BatchBALDAdapter,
    "batchbald-torch": BatchBALDTorchAdapter,
    "batchbald-full": BatchBALDFullAdapter,
    "skactiveml": SkactivemlAdapter,
    "redux": ReduxAdapter,
    "baal": BaalAdapter,
}


def _classify(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "OOM"
    text = f"{type(exc).__name__}: {exc}".lower()
    return "OOM" if any(m in text for m in OOM_MARKERS) else "error"


def _versions() -> dict:
    out = {}
    for mod in ("numpy", "torch"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", "?")
    if "torch" in sys.modules:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", required=True, choices=sorted(ADAPTERS))
    p.add_argument("--input", required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--n-samples", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument(
        "--mem-limit", type=int, default=0, help="RLIMIT_AS in bytes (0: none)"
    )
    p.add_argument(
        "--device",
        default=None,
        help="batchbald only: run on this torch device (torch input moved there)",
    )
    args = p.parse_args(argv)

    if args.mem_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.mem_limit, args.mem_limit))

    adapter = ADAPTERS[args.impl]()
    if args.device is not None and isinstance(adapter, BatchBALDAdapter):
        adapter.device = args.device
    try:
        t0 = time.perf_counter()
        adapter.load()
        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        probs_K_N_C = np.load(args.input)  # a private, writable, in-memory copy
        load_s = time.perf_counter() - t0
        input_bytes = int(probs_K_N_C.nbytes)
        rss_loaded = rss_bytes()
        t0 = time.perf_counter()
        state = adapter.prepare(probs_K_N_C)
        if state is not probs_K_N_C and args.impl not in ("batchbald-torch",):
            del probs_K_N_C  # keep only the native layout in memory
        prepare_s = time.perf_counter() - t0
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _emit(
            event="error",
            status=_classify(exc),
            stage="setup",
            message=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return 3

    _emit(
        event="setup",
        impl=args.impl,
        import_s=import_s,
        load_s=load_s,
        prepare_s=prepare_s,
        input_bytes=input_bytes,
        rss_loaded=rss_loaded,
        rss_prepared=rss_bytes(),
        versions=_versions(),
    )

    for i in range(args.repeats):
        hwm_reset = reset_peak()
        rss_before = rss_bytes()
        _emit(event="start", repeat=i)
        try:
            t0 = time.perf_counter()
            indices, scores = adapter.run(
                state, args.batch_size, args.n_samples, args.seed
            )
            seconds = time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            _emit(
                event="error",
                status=_classify(exc),
                stage=f"repeat {i}",
                message=f"{type(exc).__name__}: {exc}"[:2000],
            )
            return 3
        peak = peak_bytes()
        _emit(
            event="done",
            repeat=i,
            seconds=seconds,
            rss_before=rss_before,
            peak_rss=peak,
            peak_beyond_input=peak - rss_before,
            hwm_reset=hwm_reset,
            ru_maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            indices=indices,
            scores=scores,
            note=getattr(adapter, "last_note", None),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
