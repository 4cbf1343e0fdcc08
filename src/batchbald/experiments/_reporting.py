"""Summaries of result records: labels to reach target accuracies, Markdown
tables and learning-curve plots."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_STRATEGY_COLORS = {
    "batchbald": "tab:blue",
    "bald": "tab:orange",
    "powerbald": "tab:green",
    "softmaxbald": "tab:purple",
    "softrankbald": "tab:brown",
    "entropy": "tab:pink",
    "random": "0.35",
}


def _strategies_in(records) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.setdefault(r["strategy"], None)
    return list(seen)


def _by_cycle(records, strategy: str) -> dict[int, list[dict]]:
    """The rows of ``strategy`` grouped by cycle, each group in record order."""
    by_cycle: dict[int, list[dict]] = {}
    for r in records:
        if r["strategy"] == strategy:
            by_cycle.setdefault(r["cycle"], []).append(r)
    return by_cycle


def _median_labels(by_cycle, cycles) -> np.ndarray:
    """Median ``n_labels`` over seeds at each of ``cycles``."""
    return np.array([np.median([r["n_labels"] for r in by_cycle[c]]) for c in cycles])


def _plot_strategy_line(ax, i: int, strategy: str, n, mid) -> str:
    """Draw one strategy's line in its fixed colour and return the colour."""
    color = _STRATEGY_COLORS.get(strategy, f"C{i}")
    ax.plot(n, mid, marker="o", ms=3.5, lw=2, color=color, label=strategy)
    return color


def _check_targets(targets) -> list[float]:
    if isinstance(targets, numbers.Real):
        targets = [targets]
    out = []
    for t in targets:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise ValueError(f"targets must be accuracies in (0, 1]; got {t!r}.")
        if not 0 < float(t) <= 1:
            raise ValueError(f"targets must be accuracies in (0, 1]; got {t!r}.")
        out.append(float(t))
    if not out:
        raise ValueError("targets must not be empty.")
    return out


def labels_to_reach(records, targets=(0.8, 0.85, 0.9)) -> list[dict]:
    """Labels each strategy needs to first reach each target accuracy.

    For every (strategy, seed) the number of labels is that of the first
    cycle whose test accuracy is at least the target; a seed that never gets
    there counts as infinitely many labels, and the median is taken over seeds
    (the mean of the two middle values for an even number of seeds). A median
    that involves an unreached seed is reported as not reached (``None``).

    Parameters
    ----------
    records : iterable of dict
        Rows with at least ``strategy``, ``seed``, ``n_labels``, ``accuracy``.
    targets : float or sequence of float, default=(0.8, 0.85, 0.9)
        Target accuracies in (0, 1].

    Returns
    -------
    list of dict
        One row per (strategy, target) with ``strategy``, ``target``,
        ``median_labels`` (float or None when not reached), ``n_reached``,
        ``n_seeds`` and ``max_labels`` (the most labels any run saw).
    """
    targets = _check_targets(targets)
    records = list(records)
    out = []
    for strategy in _strategies_in(records):
        runs: dict[int, list[tuple[int, float]]] = {}
        for r in records:
            if r["strategy"] == strategy:
                runs.setdefault(r["seed"], []).append((r["n_labels"], r["accuracy"]))
        max_labels = max(n for run in runs.values() for n, _ in run)
        for target in targets:
            needed = []
            for run in runs.values():
                hits = [n for n, acc in sorted(run) if acc >= target]
                needed.append(float(hits[0]) if hits else math.inf)
            median = float(np.median(needed))
            out.append(
                {
                    "strategy": strategy,
                    "target": target,
                    "median_labels": None if math.isinf(median) else median,
                    "n_reached": int(sum(not math.isinf(v) for v in needed)),
                    "n_seeds": len(needed),
                    "max_labels": int(max_labels),
                }
            )
    return out


def _fmt_labels(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def labels_to_reach_markdown(records, targets=(0.8, 0.85, 0.9)) -> str:
    """Markdown table of :func:`labels_to_reach`: strategies down, targets across.

    A cell reads ``60`` when every seed reached the target, ``60 (4/5 seeds)``
    when the median did but some seeds did not, and ``not reached (2/5 seeds)``
    when the median did not within the labels of the run.
    """
    rows = labels_to_reach(records, targets)
    targets = _check_targets(targets)
    strategies = _strategies_in(rows)
    head = "| strategy | " + " | ".join(f"{t:.0%} accuracy" for t in targets) + " |"
    lines = [head, "|" + "---|" * (len(targets) + 1)]
    for s in strategies:
        cells = []
        for t in targets:
            r = next(r for r in rows if r["strategy"] == s and r["target"] == t)
            seeds = f"{r['n_reached']}/{r['n_seeds']} seeds"
            if r["median_labels"] is None:
                cells.append(f"not reached ({seeds})")
            elif r["n_reached"] < r["n_seeds"]:
                cells.append(f"{_fmt_labels(r['median_labels'])} ({seeds})")
            else:
                cells.append(_fmt_labels(r["median_labels"]))
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _curves(records, center: str = "mean", band: str | None = "iqr"):
    """Per strategy: n_labels, centre and band over seeds (by cycle)."""
    if center not in ("mean", "median"):
        raise ValueError(f"center must be 'mean' or 'median'; got {center!r}.")
    if band not in ("iqr", "minmax", "std", None):
        raise ValueError(f"band must be 'iqr', 'minmax', 'std' or None; got {band!r}.")
    out = {}
    for strategy in _strategies_in(records):
        by_cycle = _by_cycle(records, strategy)
        cycles = sorted(by_cycle)
        n = _median_labels(by_cycle, cycles)
        accs = [np.array([r["accuracy"] for r in by_cycle[c]]) for c in cycles]
        mid = np.array([a.mean() if center == "mean" else np.median(a) for a in accs])
        if band == "iqr":
            lo = np.array([np.percentile(a, 25) for a in accs])
            hi = np.array([np.percentile(a, 75) for a in accs])
        elif band == "minmax":
            lo = np.array([a.min() for a in accs])
            hi = np.array([a.max() for a in accs])
        elif band == "std":
            lo = mid - np.array([a.std() for a in accs])
            hi = mid + np.array([a.std() for a in accs])
        else:
            lo = hi = None  # type: ignore[assignment]
        out[strategy] = (n, mid, lo, hi)
    return out


_BAND_TEXT = {
    "iqr": "band: 25-75th percentile",
    "minmax": "band: min-max",
    "std": "band: +-1 std",
    None: "",
}


def plot_learning_curves(
    records,
    ax=None,
    *,
    center: str = "mean",
    band: str | None = "iqr",
    targets=(),
    title: str | None = None,
) -> Axes:
    """Draw test accuracy against the number of labels, one line per strategy.

    Parameters
    ----------
    records : iterable of dict
        Result rows (see :data:`RECORD_FIELDS`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    center : {"mean", "median"}, default="mean"
        The line: mean or median over seeds.
    band : {"iqr", "minmax", "std", None}, default="iqr"
        The shaded spread over seeds.
    targets : sequence of float, default=()
        Accuracies to mark with faint horizontal lines.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    records = list(records)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    n_seeds = len({r["seed"] for r in records})
    for i, (strategy, (n, mid, lo, hi)) in enumerate(
        _curves(records, center, band).items()
    ):
        color = _plot_strategy_line(ax, i, strategy, n, mid)
        if lo is not None:
            ax.fill_between(n, lo, hi, color=color, alpha=0.18, lw=0)
    for t in targets:
        ax.axhline(t, color="0.6", lw=0.8, ls=":", zorder=0)
    ax.set_xlabel("number of labelled samples")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    note = f"line: {center} over {n_seeds} seed{'s' * (n_seeds != 1)}"
    if band:
        note += f"; {_BAND_TEXT[band]}"
    # learning curves rise from the lower left, so the upper left stays free
    ax.legend(loc="upper left", title=note, title_fontsize="small", fontsize="small")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def _plot_duplicates(records, ax, center="mean"):
    """Labels spent on copies of already labelled originals, per strategy."""
    for i, strategy in enumerate(_strategies_in(records)):
        by_cycle = _by_cycle(records, strategy)
        cycles = sorted(by_cycle)
        n = _median_labels(by_cycle, cycles)
        d = [
            np.array(
                [r["n_labels"] - r["n_distinct"] for r in by_cycle[c]], dtype=float
            )
            for c in cycles
        ]
        mid = [x.mean() if center == "mean" else np.median(x) for x in d]
        _plot_strategy_line(ax, i, strategy, n, mid)
    ax.set_xlabel("number of labelled samples")
    ax.set_ylabel("labels spent on copies (labels - distinct originals)")
    ax.set_title(f"duplicates acquired ({center} over seeds)", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
