"""The labeling loop: the current batch, answers, skip, undo, and the worker.

:class:`LabelingSession` holds what the page shows. Every answer is saved by
the source before the call returns (so the page's "saved" follows the file's
``fsync``). When every item of the batch is answered or skipped, a
background thread retrains the model on the labels so far and chooses the
next batch; meanwhile the page stays usable (review, undo). A result computed
from labels that changed since (an undo, a relabel) is thrown away and the
work restarts. All methods are thread-safe.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..tables import safe_cell
from . import _backend
from .sources import check_label

__all__ = ["LabelingSession"]

_OPEN, _SAVED, _SKIPPED = "open", "saved", "skipped"


def _quiet(message: str) -> None:
    """The default ``notify``: drop the message."""


@dataclass
class _Job:
    """One retrain-and-choose run over the labels of ``version``."""

    version: int
    labels: list[str]
    classes: list[str]
    exclude: set[int]
    cancelled: bool = False
    stage: str = "starting"
    fraction: float = 0.0
    result: dict | None = None
    started: float = field(default_factory=time.monotonic)


class LabelingSession:
    """Labeling state over a source (:class:`~batchbald.app.sources.TableSource`
    or :class:`~batchbald.app.images.ImageSource`).

    Parameters
    ----------
    source : TableSource or ImageSource
        The items, their features and the file their labels are saved to.
    classes : sequence of str, default=()
        Classes to offer first (in this order), before any label is given.
    model : str or None, default=None
        One of :data:`batchbald._names.MODELS`; None:
        :data:`batchbald.models.DEFAULT_MODEL`, or the scalable model when that
        would not fit the table (``notify`` says why). The cost is checked for
        every item labeled (:func:`batchbald.app._backend.check_model`): a
        model that would exceed the memory budget is refused with
        ``ValueError``.
    method : str, default="batchbald"
        One of :data:`batchbald.app._backend.METHODS`.
    batch_size : int, default=5
    n_members : int, default=10
        Ensemble members K (MC-dropout samples for ``mc-dropout``).
    seed : int, default=0
    notify : callable, default=None
        Hears about a model switched or slow (one sentence per call).
    """

    def __init__(
        self,
        source,
        classes=(),
        model: str | None = None,
        method: str = "batchbald",
        batch_size: int = 5,
        n_members: int = 10,
        seed: int = 0,
        notify=None,
    ):
        self.source = source
        self.method = method
        self.batch_size, self.n_members, self.seed = batch_size, n_members, seed
        given = [safe_cell(check_label(c)) for c in classes]
        if len(set(given)) != len(given):
            raise ValueError("--classes names a class twice.")
        self.classes = given + [
            c for c in _backend.sort_classes(source.labels) if c not in given
        ]
        self.model = _backend.check_model(
            model, source.Z, self.classes, n_members, notify or _quiet
        )
        self._lock = threading.RLock()
        self.batch: list[dict] = []
        self.batch_number = 0
        self.batch_note = ""
        self.history: list[dict] = []
        self.undo_stack: list[dict] = []
        self.skipped: set[int] = set()
        self.n_saved = 0
        self.version = 0  # of the labels: a worker result is for one version
        self.revision = 0  # of the state: the page ignores older replies
        self.id = secrets.token_hex(8)
        self.finished = False
        self.error: str | None = None
        self._job: _Job | None = None
        self._threads: list[threading.Thread] = []
        self._pending: dict | None = None

    # -- public API (called by the server) ---------------------------------
    def start(self) -> None:
        """Choose the first batch in the background."""
        with self._lock:
            self._advance()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until a batch is shown or everything is labeled (for tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if (
                    self.error
                    or self.finished
                    or any(it["status"] == _OPEN for it in self.batch)
                ):
                    return True
            time.sleep(0.02)
        return False

    def label(self, index: int, label: str) -> dict:
        """Save ``label`` for item ``index`` of the current batch; the state."""
        label = check_label(label)
        with self._lock:
            item = self._item(index)
            previous = {"status": item["status"], "label": item["label"]}
            stored = self.source.set_label(index, label)
            self.undo_stack.append({"index": index, "item": item, **previous})
            item["status"], item["label"] = _SAVED, stored
            self.n_saved += 1
            if stored not in self.classes:
                self.classes.append(stored)
            self.skipped.discard(index)
            self._changed()
            return self.state()

    def skip(self, index: int) -> dict:
        """Leave item ``index`` unlabeled for this session; the state."""
        with self._lock:
            item = self._item(index)
            if item["status"] == _SAVED:
                raise ValueError(
                    f"item {index} is already labeled {item['label']!r}; undo "
                    "first to skip it."
                )
            self.undo_stack.append(
                {"index": index, "item": item, "status": item["status"], "label": ""}
            )
            item["status"] = _SKIPPED
            self.skipped.add(index)
            self.revision += 1
            self._advance()
            return self.state()

    def undo(self) -> dict:
        """Take back the last answer or skip of this session; the state."""
        with self._lock:
            if not self.undo_stack:
                raise ValueError("nothing to undo in this session.")
            entry = self.undo_stack[-1]
            item, index = entry["item"], entry["index"]
            if item["status"] == _SAVED:
                prev = entry["label"] if entry["status"] == _SAVED else ""
                self.source.set_label(index, prev)  # may raise: stack kept
            self.undo_stack.pop()
            item["status"], item["label"] = entry["status"], entry["label"]
            self.skipped.discard(index)
            if entry["status"] == _SKIPPED:
                self.skipped.add(index)
            if all(it is not item for it in self.batch):  # an earlier batch's
                self.batch.insert(0, item)
            self._changed()
            return self.state()

    def close(self, timeout: float = 0.0) -> bool:
        """Stop the worker's result from being used and release the file lock.

        Waits up to ``timeout`` seconds for worker threads to finish; returns
        whether none is still running (a model fit cannot be interrupted).
        """
        with self._lock:
            if self._job is not None:
                self._job.cancelled = True
            threads = list(self._threads)
        self.source.close()
        end = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    # -- state ---------------------------------------------------------------
    def state(self) -> dict:
        """Everything the page shows, as JSON-ready values."""
        with self._lock:
            labels = self.source.labels
            counts = {c: 0 for c in self.classes}
            for v in labels:
                if v:
                    counts[v] = counts.get(v, 0) + 1
            job = self._job
            backup = self.source.file.backup
            return {
                "session": self.id,
                "revision": self.revision,
                "kind": self.source.kind,
                "name": self.source.name,
                "file": str(self.source.path),
                "backup": None if backup is None else str(backup),
                "columns": self.source.columns(),
                "model": self.model,
                "method": self.method,
                "batch_size": self.batch_size,
                "classes": list(self.classes),
                "counts": counts,
                "n_items": self.source.n_items,
                "n_labeled": sum(1 for v in labels if v),
                "n_saved": self.n_saved,
                "can_undo": bool(self.undo_stack),
                "batch_number": self.batch_number,
                "batch_note": self.batch_note,
                "batch": [self._view(it) for it in self.batch],
                "history": [dict(h) for h in self.history],
                "worker": None
                if job is None or job.result is not None
                else {
                    "stage": job.stage,
                    "fraction": job.fraction,
                    "seconds": round(time.monotonic() - job.started, 1),
                },
                "finished": self.finished,
                "error": self.error,
            }

    def _view(self, item: dict) -> dict:
        out = {k: item[k] for k in ("index", "rank", "gain", "predicted", "status")}
        out["probability"] = item["probability"]
        out["drawn_bald"] = item.get("drawn_bald")
        out["label"] = item["label"]
        out["view"] = self.source.item_view(item["index"])
        return out

    # -- internals (called with the lock held) --------------------------------
    def _item(self, index) -> dict:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"item must be an integer; got {index!r}.")
        for item in self.batch:
            if item["index"] == index:
                return item
        raise ValueError(f"item {index} is not in the current batch.")

    def _changed(self) -> None:
        self.revision += 1
        self.version += 1
        self.finished = False
        self._advance()

    def _advance(self) -> None:
        """Promote a ready batch, or start the worker, when the batch is done."""
        if any(it["status"] == _OPEN for it in self.batch):
            return
        pending = self._pending
        if pending is not None and pending["version"] == self.version:
            self._pending = None
            self._promote(pending)
            return
        job = self._job
        running = job is not None and job.result is None and not job.cancelled
        if running and job is not None and job.version == self.version:
            return  # already working on these labels
        if self.finished:
            return
        if job is not None:
            job.cancelled = True
        exclude = {it["index"] for it in self.batch} | set(self.skipped)
        self._job = _Job(
            self.version, list(self.source.labels), list(self.classes), exclude
        )
        thread = threading.Thread(
            target=self._work, args=(self._job,), name="batchbald-label", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _promote(self, result: dict) -> None:
        self.revision += 1
        if not result["items"]:
            self.finished = True
            return
        self.batch = result["items"]
        self.batch_number += 1
        self.batch_note = result["note"]
        stats = result["stats"]
        stats["batch"] = self.batch_number
        self.history.append(stats)

    # -- the worker (runs without the lock, publishes with it) ----------------
    def _work(self, job: _Job) -> None:
        try:
            result = self._compute(job)
        except Exception as exc:  # shown on the page; the session goes on
            with self._lock:
                if self._job is job:
                    self.error = f"choosing the next batch failed: {exc}"
                    self._job = None
                    self.revision += 1
            return
        with self._lock:
            job.result = result
            if job.cancelled or self._job is not job:
                return
            self.error = None
            self._pending = result
            self._advance()
        if result["stats"].get("accuracy_pending"):
            self._cross_validate(job, result)

    def _compute(self, job: _Job) -> dict:
        labels, classes = job.labels, job.classes
        candidates = np.asarray(
            [i for i, v in enumerate(labels) if not v and i not in job.exclude],
            dtype=np.intp,
        )
        labeled = np.asarray([i for i, v in enumerate(labels) if v], dtype=np.intp)
        stats: dict = {"n_labels": len(labeled), "accuracy": None, "information": None}
        if len(candidates) == 0:
            return {"version": job.version, "items": [], "note": "", "stats": stats}
        b = min(self.batch_size, len(candidates))
        code = {c: k for k, c in enumerate(classes)}
        y = np.asarray([code[labels[i]] for i in labeled], dtype=np.int64)
        if len(set(y.tolist())) < 2:
            return self._cold_start(job, candidates, labeled, b, stats)
        job.stage, job.fraction = f"fitting {self.model} on {len(labeled)} labels", 0.05
        Z = self.source.Z
        probs = _backend.member_probas(
            self.model,
            Z[labeled],
            y,
            Z[candidates],
            len(classes),
            self.n_members,
            self.seed,
        )
        if job.cancelled:
            return {"version": job.version, "items": [], "note": "", "stats": stats}
        job.stage, job.fraction = f"choosing {b} items ({self.method})", 0.5

        def step(k: int) -> None:
            job.fraction = 0.5 + 0.5 * (k + 1) / b

        # a scikit-learn ensemble's members vote, as in BatchBALD.query
        positions, gains, drawn = _backend.choose(
            probs, self.method, b, self.seed, step,
            member_votes=self.model != "mc-dropout",
        )  # fmt: skip
        items = _chosen_items(candidates, classes, probs, positions, gains, drawn)
        stats["information"] = (
            float(np.sum(gains)) if self.method == "batchbald" else None
        )
        stats["score"] = float(np.sum(gains))
        stats["accuracy_pending"] = True
        note = _NOTES[self.method]
        if drawn is not None:
            note += (
                "; once the members' information was spent, the rest were drawn "
                "in proportion to their BALD scores"
            )
        return {"version": job.version, "items": items, "note": note, "stats": stats}

    def _cold_start(self, job, candidates, labeled, b, stats) -> dict:
        job.stage, job.fraction = "choosing a diverse first batch", 0.5
        if self.method == "random":
            rng = np.random.RandomState(self.seed)
            rows = candidates[rng.permutation(len(candidates))[:b]]
            note = "chosen at random (no model until two classes are labeled)"
        else:
            rows = _backend.diverse_batch(
                self.source.Z, candidates, labeled, batch_size=b, random_state=self.seed
            )
            note = (
                "cold start: fewer than two classes are labeled, so no model can "
                "rank the items yet; this is a diverse batch (k-means++ seeding "
                "over the features"
                + (", away from the labeled items)" if len(labeled) else ")")
            )
        items = [_new_item(int(r), k, None, None, None) for k, r in enumerate(rows, 1)]
        return {"version": job.version, "items": items, "note": note, "stats": stats}

    def _cross_validate(self, job: _Job, result: dict) -> None:
        stats = result["stats"]
        with self._lock:
            job.stage = "cross-validating"
        labels, classes = job.labels, job.classes
        labeled = np.asarray([i for i, v in enumerate(labels) if v], dtype=np.intp)
        code = {c: k for k, c in enumerate(classes)}
        y = np.asarray([code[labels[i]] for i in labeled], dtype=np.int64)
        try:
            acc = _backend.cross_val_accuracy(
                self.model,
                self.source.Z[labeled],
                y,
                len(classes),
                self.n_members,
                self.seed,
            )
        except Exception:  # the chart goes without this point
            acc = None
        with self._lock:
            stats["accuracy"] = acc
            stats.pop("accuracy_pending", None)
            self.revision += 1


# What a batch chosen by each method is, shown above it.
_NOTES = {
    "batchbald": "chosen by BatchBALD; gain = each step's joint information",
    "bald": "the highest BALD scores; gain = BALD score",
    "powerbald": "sampled by PowerBALD; gain = BALD score",
    "entropy": "the highest predictive entropies; gain = entropy",
    "random": "chosen at random; gain = BALD score",
}


def _chosen_items(candidates, classes, probs, positions, gains, drawn) -> list[dict]:
    """The batch's items in the order chosen: each candidate with its gain,
    the members' mean prediction and, for a pick BatchBALD drew after the
    batch saturated, the BALD score it was drawn for (``drawn``, NaN
    elsewhere; see :func:`batchbald.app._backend.choose`)."""
    mean = probs.mean(axis=0)
    items = []
    for rank, (p, g) in enumerate(zip(positions, gains, strict=True), 1):
        k = int(mean[p].argmax())
        item = _new_item(
            int(candidates[p]), rank, float(g), classes[k], float(mean[p, k])
        )
        if drawn is not None and not np.isnan(drawn[rank - 1]):
            item["drawn_bald"] = float(drawn[rank - 1])
        items.append(item)
    return items


def _new_item(index, rank, gain, predicted, probability) -> dict:
    return {
        "index": index,
        "rank": rank,
        "gain": gain,
        "predicted": predicted,
        "probability": probability,
        "status": _OPEN,
        "label": "",
        "drawn_bald": None,
    }
