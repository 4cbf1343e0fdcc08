""":class:`ExperimentResult`, its files (JSON, CSV, Markdown, PNG) and
:func:`load_result`."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import atomic_write
from ._reporting import (
    _by_cycle,
    _fmt_labels,
    _plot_duplicates,
    _strategies_in,
    labels_to_reach,
    labels_to_reach_markdown,
    plot_learning_curves,
)

#: Columns of the result table, in order.
RECORD_FIELDS: tuple[str, ...] = (
    "strategy",
    "seed",
    "cycle",
    "n_labels",
    "accuracy",
    "query_time_s",
    "fit_time_s",
    "n_distinct",
)


def output_paths(out_dir, name: str, figure=None) -> dict[str, Path]:
    """The files :meth:`ExperimentResult.save` writes for ``out_dir`` and ``name``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder.
    name : str
        The file name stem.
    figure : str or pathlib.Path, optional
        The PNG's path; ``out_dir/learning_curve_<name>.png`` when None.

    Returns
    -------
    dict
        ``{"json": path, "csv": path, "markdown": path, "figure": path}``.
    """
    out_dir = Path(out_dir)
    return {
        "json": out_dir / f"experiment_{name}.json",
        "csv": out_dir / f"experiment_{name}.csv",
        "markdown": out_dir / f"experiment_{name}.md",
        "figure": (
            Path(figure)
            if figure is not None
            else out_dir / f"learning_curve_{name}.png"
        ),
    }


def _check_overwrite(path: Path, overwrite: bool) -> None:
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False; got {overwrite!r}.")
    if not overwrite and path.exists():
        raise ValueError(
            f"file {str(path)!r} already exists; refusing to overwrite it. Pass "
            "overwrite=True to replace it, or choose another name or folder."
        )


def _config(config: dict, key: str, old_key: str):
    """``config[key]``, or its name before the M/K renaming in older files."""
    return config.get(key, config.get(old_key))


def _setup_lines(c: dict) -> list[str]:
    """The set-up bullet list of the Markdown report (none without a config)."""
    if not c:
        return []
    from ..engine import DEFAULT_N_SAMPLES

    M = _config(c, "n_configurations", "n_MC_samples") or (
        f"{DEFAULT_N_SAMPLES} (BatchBALD's default)"
    )
    lines = [
        f"- data: {c.get('dataset_description', '')}",
        f"- model: {c.get('model')} {c.get('model_params') or ''}".rstrip(),
        f"- K (posterior samples) = {_config(c, 'n_members', 'n_samples_K')}, "
        f"M (BatchBALD configurations) = {M}",
        f"- initial labelled set: {c.get('n_initial')} "
        f"({c.get('initial_method')}); batch size {c.get('batch_size')}; "
        f"{c.get('n_cycles')} cycles",
        f"- seeds: {c.get('seeds')}",
    ]
    if "wall_time_s" in c:
        lines.append(f"- total wall time: {c['wall_time_s']:.0f} s")
    return [*lines, ""]


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return _json_value(float(v))
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return v


@dataclass
class ExperimentResult:
    """The outcome of :func:`run_experiment`.

    Attributes
    ----------
    records : list of dict
        One row per (strategy, seed, cycle) with the columns of
        :data:`RECORD_FIELDS`: ``n_labels`` labels were used to train the model
        whose test ``accuracy`` is recorded; ``query_time_s`` is the wall time
        of the query that acquired this cycle's batch (NaN at cycle 0),
        ``fit_time_s`` that of training; ``n_distinct`` counts the distinct
        original samples among the labels for repeated data sets (None
        otherwise).
    config : dict
        The experiment's parameters, data set description and total wall time.
    queries : list of dict
        The pool indices labelled at each cycle, one dict per (strategy, seed,
        cycle) with ``strategy``, ``seed``, ``cycle`` and ``indices``: the
        initial set at cycle 0, then the batch whose labels the model of that
        cycle was the first to use. Saved in the JSON file only.
    """

    records: list[dict]
    config: dict = field(default_factory=dict)
    queries: list[dict] = field(default_factory=list)

    @property
    def strategies(self) -> list[str]:
        """Strategy labels in the order they were run."""
        return _strategies_in(self.records)

    def labels_to_reach(self, targets=(0.8, 0.85, 0.9)) -> list[dict]:
        """See :func:`labels_to_reach`."""
        return labels_to_reach(self.records, targets)

    def accuracy_table(self) -> list[dict]:
        """Median, 25th and 75th percentile of accuracy per strategy and cycle."""
        out = []
        for strategy in self.strategies:
            by_cycle = _by_cycle(self.records, strategy)
            for cycle in sorted(by_cycle):
                rs = by_cycle[cycle]
                acc = np.array([r["accuracy"] for r in rs])
                qt = np.array([r["query_time_s"] for r in rs], dtype=float)
                out.append(
                    {
                        "strategy": strategy,
                        "cycle": cycle,
                        "n_labels": float(np.median([r["n_labels"] for r in rs])),
                        "median": float(np.median(acc)),
                        "q25": float(np.percentile(acc, 25)),
                        "q75": float(np.percentile(acc, 75)),
                        "mean": float(acc.mean()),
                        "query_time_s": float(np.mean(qt)) if cycle else math.nan,
                    }
                )
        return out

    def to_markdown(self, targets=(0.8, 0.85, 0.9)) -> str:
        """A Markdown report: set-up, labels to reach targets, accuracy by cycle."""
        c = self.config
        n_seeds = len({r["seed"] for r in self.records})
        lines = [f"# Active-learning experiment: {c.get('dataset', '?')}", ""]
        lines += _setup_lines(c)
        lines += [
            "## Labels needed to reach a test accuracy",
            "",
            f"Median over {n_seeds} seeds of the number of labels (initial set "
            "included) at the first cycle whose test accuracy reaches the target; "
            "'not reached' means the median run did not get there within the "
            "labels of the experiment.",
            "",
            labels_to_reach_markdown(self.records, targets),
            "## Test accuracy by number of labels",
            "",
            f"Median over {n_seeds} seeds, [25th-75th percentile].",
            "",
        ]
        lines += self._accuracy_lines()
        lines += self._cost_lines()
        if any(r.get("n_distinct") is not None for r in self.records):
            lines += self._duplicate_lines()
        return "\n".join(lines) + "\n"

    def _accuracy_lines(self) -> list[str]:
        table = self.accuracy_table()
        cycles = sorted({r["cycle"] for r in table})
        if len(cycles) > 12:
            picks = np.unique(np.linspace(0, len(cycles) - 1, 12).round().astype(int))
            cycles = [cycles[i] for i in picks]
        n_of = {r["cycle"]: r["n_labels"] for r in table}
        by_key = {(r["strategy"], r["cycle"]): r for r in table}
        lines = [
            "| strategy | " + " | ".join(_fmt_labels(n_of[c]) for c in cycles) + " |",
            "|" + "---|" * (len(cycles) + 1),
        ]
        for s in self.strategies:
            cells = []
            for cyc in cycles:
                r = by_key.get((s, cyc))
                cells.append(
                    ""
                    if r is None
                    else f"{r['median']:.3f} [{r['q25']:.3f}-{r['q75']:.3f}]"
                )
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        return lines

    def _cost_lines(self) -> list[str]:
        lines = [
            "",
            "## Cost",
            "",
            "| strategy | mean query time (s) | mean fit time (s) |",
            "|---|---|---|",
        ]
        for s in self.strategies:
            rs = [r for r in self.records if r["strategy"] == s]
            qt = [r["query_time_s"] for r in rs if r["cycle"] > 0]
            ft = [r["fit_time_s"] for r in rs]
            q = f"{np.mean(qt):.3f}" if qt else "-"
            lines.append(f"| {s} | {q} | {np.mean(ft):.3f} |")
        return lines

    def _duplicate_lines(self) -> list[str]:
        lines = [
            "",
            "## Duplicates",
            "",
            "Distinct original images among the labels at the end (median over "
            "seeds), out of the labels acquired:",
            "",
            "| strategy | labels | distinct originals |",
            "|---|---|---|",
        ]
        for s in self.strategies:
            rs = [r for r in self.records if r["strategy"] == s]
            last = max(r["cycle"] for r in rs)
            end = [r for r in rs if r["cycle"] == last]
            n_lab = float(np.median([r["n_labels"] for r in end]))
            n_dis = float(np.median([r["n_distinct"] for r in end]))
            lines.append(f"| {s} | {_fmt_labels(n_lab)} | {_fmt_labels(n_dis)} |")
        return lines

    def to_json(self, path, *, overwrite: bool = False) -> Path:
        """Write the config, records, labels to reach and queries as JSON.

        Parameters
        ----------
        path : str or pathlib.Path
            The file to write (atomically: a temporary file moved into place).
        overwrite : bool, default=False
            Replace an existing file; if False and ``path`` exists, nothing is
            written and ``ValueError`` is raised.

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        _check_overwrite(path, overwrite)
        payload = {
            "config": _json_value(self.config),
            "records": [_json_value(r) for r in self.records],
            "labels_to_reach": _json_value(self.labels_to_reach()),
            "queries": _json_value(self.queries),
        }
        data = (json.dumps(payload, indent=1) + "\n").encode("utf-8")
        return atomic_write(path, data, overwrite=overwrite)

    def to_csv(self, path, *, overwrite: bool = False) -> Path:
        """Write the records as CSV with the columns of :data:`RECORD_FIELDS`.

        ``path`` and ``overwrite`` are as in :meth:`to_json`.
        """
        path = Path(path)
        _check_overwrite(path, overwrite)
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=RECORD_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in self.records:
            writer.writerow(
                {
                    k: (
                        ""
                        if v is None or (isinstance(v, float) and math.isnan(v))
                        else v
                    )
                    for k, v in r.items()
                }
            )
        data = buffer.getvalue().encode("utf-8")
        return atomic_write(path, data, overwrite=overwrite)

    def plot(
        self,
        path=None,
        *,
        center: str = "mean",
        band: str | None = "iqr",
        targets=(0.8, 0.85, 0.9),
        show_distinct: bool | None = None,
        dpi: int = 120,
        overwrite: bool = False,
    ):
        """Draw the learning curves (and, for repeated data, the duplicates).

        Parameters
        ----------
        path : str or Path, optional
            Save the figure there (PNG by extension, written atomically).
        center, band, targets
            See :func:`plot_learning_curves`.
        show_distinct : bool, optional
            Add a panel with the labels spent on copies of already labelled
            originals; by default when the records have ``n_distinct``.
        dpi : int, default=120
            Resolution of the saved figure.
        overwrite : bool, default=False
            Replace an existing file at ``path``; if False and it exists,
            ``ValueError`` is raised before drawing.

        Returns
        -------
        matplotlib.figure.Figure
        """
        if path is not None:
            path = Path(path)
            _check_overwrite(path, overwrite)
        if show_distinct is None:
            show_distinct = any(r.get("n_distinct") is not None for r in self.records)
        ncols = 2 if show_distinct else 1
        size = (6.5 * ncols, 4.8)
        if path is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=size, layout="constrained")
        else:
            # No pyplot: saving to a file must not need (or change) a GUI backend.
            from matplotlib.figure import Figure

            fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False)
        c = self.config
        title = None
        if c:
            title = (
                f"{c.get('dataset')}, {c.get('model')}, batch {c.get('batch_size')}, "
                f"K={_config(c, 'n_members', 'n_samples_K')}"
            )
        plot_learning_curves(
            self.records,
            axes[0, 0],
            center=center,
            band=band,
            targets=targets,
            title=title,
        )
        if show_distinct:
            _plot_duplicates(self.records, axes[0, 1], center=center)
        if path is not None:
            atomic_write(
                path,
                lambda tmp: fig.savefig(tmp, dpi=dpi),
                overwrite=overwrite,
                keep_suffix=True,
            )
        return fig

    def save(
        self,
        out_dir,
        name: str | None = None,
        *,
        figure=None,
        targets=(0.8, 0.85, 0.9),
        center: str = "mean",
        band: str | None = "iqr",
        overwrite: bool = False,
    ) -> dict[str, Path]:
        """Write JSON, CSV, Markdown and PNG into ``out_dir``.

        Files are ``experiment_<name>.json``, ``.csv``, ``.md`` and
        ``learning_curve_<name>.png`` (``name`` defaults to the data set's
        name; see :func:`output_paths`); ``figure`` overrides the PNG's path.
        ``targets`` go to :meth:`to_markdown` and :meth:`plot`, ``center`` and
        ``band`` to :meth:`plot`. Missing folders are created. Every file is
        written atomically.

        Parameters
        ----------
        overwrite : bool, default=False
            Replace existing files. If False and any of the four files exists,
            ``ValueError`` naming it is raised before anything is written.

        Returns
        -------
        dict
            ``{"json": path, "csv": path, "markdown": path, "figure": path}``.
        """
        name = name or self.config.get("dataset") or "result"
        paths = output_paths(out_dir, name, figure)
        if paths["figure"].resolve() in {
            p.resolve() for k, p in paths.items() if k != "figure"
        }:
            raise ValueError(
                f"figure {str(paths['figure'])!r} is also the path of another "
                "output; choose another figure path."
            )
        for path in paths.values():
            _check_overwrite(path, overwrite)
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        self.to_json(paths["json"], overwrite=overwrite)
        self.to_csv(paths["csv"], overwrite=overwrite)
        markdown = self.to_markdown(targets).encode("utf-8")
        atomic_write(paths["markdown"], markdown, overwrite=overwrite)
        self.plot(
            paths["figure"],
            targets=targets,
            center=center,
            band=band,
            overwrite=overwrite,
        )
        return paths


def load_result(path) -> ExperimentResult:
    """Read an :class:`ExperimentResult` back from its JSON file."""
    payload = json.loads(Path(path).read_text())
    records = []
    for r in payload["records"]:
        r = dict(r)
        if r.get("query_time_s") is None:
            r["query_time_s"] = math.nan
        records.append(r)
    return ExperimentResult(
        records, payload.get("config", {}), payload.get("queries", [])
    )
