"""Learning-curve experiments: strategies x seeds of pool-based active learning.

:func:`run_experiment` runs, for every seed and every strategy, the loop

1. label an initial set (class-balanced or uniformly random),
2. train a fresh model on the labelled pool samples and record its test
   accuracy,
3. let the strategy pick the next batch from the unlabelled pool, reveal those
   labels, and go back to 2 until the number of cycles or the label budget is
   used up.

The result is an :class:`ExperimentResult`: a tidy table with one row per
(strategy, seed, cycle) that can be written as JSON and CSV, summarised as a
Markdown table of the labels needed to reach target accuracies, and drawn as
learning curves.

Randomness. Everything random derives from the seed through
``numpy.random.SeedSequence(seed)``, split into three independent streams: the
initial labelled set, the per-cycle model seeds, and the strategy's own random
state. The first two do not depend on the strategy, so for one seed all
strategies start from the same labelled set and the model of cycle ``c`` starts
from the same initial weights (common random numbers, which makes the
comparison between strategies less noisy); a run is reproducible from its seed
alone and does not depend on which other strategies or seeds are run.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import json
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import Dataset
from .utils import check_positive_int

__all__ = [
    "MODELS",
    "RECORD_FIELDS",
    "STRATEGIES",
    "ExperimentResult",
    "initial_indices",
    "labels_to_reach",
    "labels_to_reach_markdown",
    "load_result",
    "make_model",
    "make_strategy",
    "plot_learning_curves",
    "run_experiment",
]

#: Strategy names accepted by :func:`run_experiment` and the CLI, and the class
#: of :mod:`batchbald.pool` each one stands for.
STRATEGIES: dict[str, str] = {
    "batchbald": "BatchBALD",
    "bald": "GreedyBALD",
    "powerbald": "PowerBALD",
    "softmaxbald": "SoftmaxBALD",
    "softrankbald": "SoftrankBALD",
    "entropy": "EntropySampling",
    "random": "RandomSampling",
}

#: Model names accepted by :func:`make_model`, with a one-line description.
MODELS: dict[str, str] = {
    "mc-dropout": "MC-dropout MLP from batchbald.deep (needs torch); K = MC samples",
    "bagging-logreg": "bagging of K logistic regressions (scikit-learn)",
    "bagging-mlp": "bagging of K small scikit-learn MLPs",
}

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

_INITIAL_METHODS = ("balanced", "random")
_STRATEGY_COLORS = {
    "batchbald": "tab:blue",
    "bald": "tab:orange",
    "powerbald": "tab:green",
    "softmaxbald": "tab:purple",
    "softrankbald": "tab:brown",
    "entropy": "tab:pink",
    "random": "0.35",
}


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------
def initial_indices(y, n_initial: int, method: str = "balanced", random_state=None):
    """Choose the initially labelled pool samples.

    Parameters
    ----------
    y : array-like of int, shape (n_pool,)
        True pool labels ``0 .. C - 1``.
    n_initial : int
        Number of samples to label.
    method : {"balanced", "random"}, default="balanced"
        ``"balanced"``: ``n_initial // C`` samples of every class (as the
        paper's 2 per class), the remainder from randomly chosen distinct
        classes; ``"random"``: uniformly without replacement.
    random_state : None, int or numpy.random.RandomState, default=None
        See :func:`batchbald.utils.check_random_state`.

    Returns
    -------
    numpy.ndarray of int, shape (n_initial,)
        Sorted pool indices.
    """
    from .utils import check_random_state

    y = np.asarray(y)
    n_initial = check_positive_int(n_initial, "n_initial")
    if method not in _INITIAL_METHODS:
        raise ValueError(
            f"initial_method must be one of {_INITIAL_METHODS}; got {method!r}."
        )
    if n_initial > len(y):
        raise ValueError(
            f"n_initial must be at most the pool size {len(y)}; got {n_initial}."
        )
    rng = check_random_state(random_state)
    if method == "random":
        return np.sort(rng.choice(len(y), size=n_initial, replace=False))
    classes = np.unique(y)
    per_class, extra = divmod(n_initial, len(classes))
    counts = np.full(len(classes), per_class)
    counts[rng.choice(len(classes), size=extra, replace=False)] += 1
    chosen = []
    for c, k in zip(classes, counts, strict=True):
        members = np.flatnonzero(y == c)
        if k > len(members):
            raise ValueError(
                f"a balanced initial set of {n_initial} needs {k} samples of class "
                f"{c!r}, but the pool has only {len(members)}; use "
                "initial_method='random' or a smaller n_initial."
            )
        chosen.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


@dataclass
class _ModelSpec:
    """How to build a fresh model and what the ensemble strategies need to know."""

    factory: Callable[[int], object]
    strategy_kwargs: dict = field(default_factory=dict)


def _deep_model_spec(n_features, n_classes, n_samples_K, params) -> _ModelSpec:
    try:
        deep = importlib.import_module("batchbald.deep")
    except ImportError as exc:  # torch missing
        raise ImportError(
            "model='mc-dropout' needs PyTorch; install the extra with "
            'pip install "batchbald[torch]" (or pick a bagging model).'
        ) from exc
    params = dict(params)
    mlp_kwargs = {k: params.pop(k) for k in ("hidden", "dropout") if k in params}
    if isinstance(mlp_kwargs.get("hidden"), numbers.Integral):
        mlp_kwargs["hidden"] = (mlp_kwargs["hidden"],)

    def factory(seed: int):
        module = deep.make_mlp(n_features, n_classes, random_state=seed, **mlp_kwargs)
        return deep.MCDropoutClassifier(
            module,
            classes=np.arange(n_classes),
            n_mc_samples=n_samples_K,
            random_state=seed,
            **params,
        )

    return _ModelSpec(
        factory,
        {
            "sample_predictions_method_name": "sample_proba",
            "sample_predictions_dict": {"n_samples": n_samples_K},
        },
    )


def make_model(
    model: str,
    n_features: int,
    n_classes: int,
    n_samples_K: int = 20,
    model_params: dict | None = None,
) -> _ModelSpec:
    """Recipe for the model an experiment retrains every cycle.

    Parameters
    ----------
    model : {"mc-dropout", "bagging-logreg", "bagging-mlp"}
        See :data:`MODELS`.
    n_features, n_classes : int
        Input and output sizes.
    n_samples_K : int, default=20
        Number of posterior samples the strategies see: MC-dropout forward
        passes, or bagging members.
    model_params : dict, optional
        Extra arguments: for ``"mc-dropout"`` the MLP's ``hidden`` (an int or
        a sequence of widths) and ``dropout`` (see
        :func:`batchbald.deep.make_mlp`) and any keyword of
        :class:`batchbald.deep.MCDropoutClassifier` (``max_epochs``, ``lr``,
        ``patience``, ``validation_fraction``, ...); for the bagging models
        keywords of the base estimator (e.g. ``C`` or ``hidden_layer_sizes``).

    Returns
    -------
    object
        With ``factory(seed) -> estimator`` (an unfitted, missing-label aware
        classifier) and ``strategy_kwargs`` (keywords the ensemble strategies
        need to draw posterior samples from it).
    """
    n_samples_K = check_positive_int(n_samples_K, "n_samples_K")
    params = dict(model_params or {})
    if model == "mc-dropout":
        return _deep_model_spec(n_features, n_classes, n_samples_K, params)
    if model not in MODELS:
        raise ValueError(
            f"unknown model {model!r}; choose from {', '.join(MODELS)} "
            "(or pass a callable seed -> estimator)."
        )
    from sklearn.ensemble import BaggingClassifier

    from .classifier import SklearnClassifier

    if model == "bagging-logreg":
        from sklearn.linear_model import LogisticRegression

        params.setdefault("max_iter", 500)
        base_cls = LogisticRegression
    else:
        from sklearn.neural_network import MLPClassifier

        params.setdefault("hidden_layer_sizes", (64,))
        params.setdefault("max_iter", 300)
        base_cls = MLPClassifier

    def factory(seed: int):
        base = base_cls(**params)
        if "random_state" in base.get_params():
            base.set_params(random_state=seed)
        bagging = BaggingClassifier(base, n_estimators=n_samples_K, random_state=seed)
        return SklearnClassifier(
            bagging, classes=np.arange(n_classes), random_state=seed
        )

    return _ModelSpec(factory, {})


def make_strategy(name: str, random_state, strategy_kwargs=None, params=None):
    """Build the query strategy called ``name`` (a key of :data:`STRATEGIES`).

    Parameters
    ----------
    name : str
        Strategy name.
    random_state : numpy.random.RandomState
        The strategy's own random state.
    strategy_kwargs : dict, optional
        Keywords from the model (how to draw posterior samples); passed only
        where the strategy's constructor accepts them.
    params : dict, optional
        Keywords the caller chose for this strategy (e.g. ``n_MC_samples``,
        ``beta``); always passed, so a misspelt one is an error.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}."
        )
    from . import pool

    cls = getattr(pool, STRATEGIES[name])
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in (strategy_kwargs or {}).items() if k in accepted}
    kwargs.update(params or {})
    return cls(random_state=random_state, **kwargs)


def _query_takes_ensemble(strategy) -> bool:
    try:
        return "ensemble" in inspect.signature(strategy.query).parameters
    except (TypeError, ValueError):
        return True


def _check_strategies(strategies) -> list[tuple[str, object]]:
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    out = []
    for s in strategies:
        if isinstance(s, str):
            if s not in STRATEGIES:
                raise ValueError(
                    f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}."
                )
            out.append((s, s))
        elif isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str):
            if not callable(s[1]):
                raise TypeError(
                    f"a custom strategy must be (label, factory) with a callable "
                    f"factory(random_state=...); got {s!r}."
                )
            out.append(s)
        else:
            raise TypeError(
                f"strategies must be names (str) or (label, factory) pairs; got {s!r}."
            )
    labels = [label for label, _ in out]
    if not labels:
        raise ValueError("strategies must name at least one strategy.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"strategies contains duplicates: {labels}.")
    return out


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return list(range(check_positive_int(seeds, "seeds")))
    try:
        seeds = list(seeds)
    except TypeError:
        raise TypeError(
            f"seeds must be a number of seeds or a list of integers; got {seeds!r}."
        ) from None
    if not seeds:
        raise ValueError("seeds must not be empty.")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be integers >= 0; got {s!r} in {seeds}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds contains duplicates: {seeds}.")
    return [int(s) for s in seeds]


def _seed_streams(seed: int, n_cycles: int):
    init_ss, model_ss, strategy_ss = np.random.SeedSequence(seed).spawn(3)
    init_rng = np.random.RandomState(init_ss.generate_state(1)[0])
    model_seeds = np.random.RandomState(model_ss.generate_state(1)[0]).randint(
        0, 2**31 - 1, size=n_cycles + 1
    )
    strategy_rng = np.random.RandomState(strategy_ss.generate_state(1)[0])
    return init_rng, model_seeds, strategy_rng


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------
def run_experiment(
    dataset: Dataset,
    strategies: Sequence = ("batchbald", "bald", "random"),
    *,
    model: str | Callable = "bagging-logreg",
    seeds: int | Sequence[int] = 5,
    n_initial: int = 20,
    initial_method: str = "balanced",
    batch_size: int = 10,
    n_cycles: int | None = None,
    budget: int | None = None,
    n_samples_K: int = 20,
    n_MC_samples: int | None = None,
    model_params: dict | None = None,
    strategy_params: dict | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Run active-learning loops for several strategies and seeds.

    Parameters
    ----------
    dataset : Dataset
        Pool and test data (see :mod:`batchbald.datasets`).
    strategies : sequence, default=("batchbald", "bald", "random")
        Names from :data:`STRATEGIES` (a comma-separated string works too), or
        ``(label, factory)`` with ``factory(random_state=...)`` returning an
        object with a scikit-activeml-style ``query``.
    model : str or callable, default="bagging-logreg"
        A name from :data:`MODELS`, or ``factory(seed) -> estimator`` returning
        an unfitted classifier that ignores NaN labels in ``fit(X, y)`` and has
        ``predict``; for a custom model the strategies get no extra keywords
        (put them in ``strategy_params``).
    seeds : int or sequence of int, default=5
        The seeds ``0 .. seeds - 1``, or an explicit list.
    n_initial : int, default=20
        Size of the initial labelled set.
    initial_method : {"balanced", "random"}, default="balanced"
        See :func:`initial_indices`.
    batch_size : int, default=10
        Labels acquired per cycle (the last batch may be smaller to respect
        ``budget``).
    n_cycles : int, optional
        Number of acquisition cycles. Give ``n_cycles`` or ``budget``; with
        neither, 10 cycles.
    budget : int, optional
        Total number of labels (initial set included) to stop at.
    n_samples_K : int, default=20
        Posterior samples ``K``: MC-dropout passes or bagging members.
    n_MC_samples : int, optional
        Sampled label configurations ``M`` for BatchBALD's joint entropy
        (BatchBALD's own default when None).
    model_params : dict, optional
        See :func:`make_model`.
    strategy_params : dict, optional
        ``{strategy label: {keyword: value}}`` for extra constructor keywords,
        e.g. ``{"powerbald": {"beta": 1.0}}``.
    progress : bool, default=False
        Show a tqdm progress bar over all cycles.

    Returns
    -------
    ExperimentResult
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(
            "dataset must be a batchbald.datasets.Dataset (see from_arrays); got "
            f"{type(dataset).__name__}."
        )
    strategy_list = _check_strategies(strategies)
    seed_list = _check_seeds(seeds)
    batch_size = check_positive_int(batch_size, "batch_size")
    n_initial = check_positive_int(n_initial, "n_initial")
    n_pool = len(dataset.y_pool)
    if n_cycles is not None and budget is not None:
        raise ValueError("give n_cycles or budget, not both.")
    if budget is not None:
        budget = check_positive_int(budget, "budget", minimum=n_initial)
        budget = min(budget, n_pool)
        n_cycles = math.ceil((budget - n_initial) / batch_size)
    else:
        n_cycles = check_positive_int(
            10 if n_cycles is None else n_cycles, "n_cycles", minimum=0
        )
        budget = min(n_pool, n_initial + n_cycles * batch_size)
    strategy_params = dict(strategy_params or {})
    unknown = set(strategy_params) - {label for label, _ in strategy_list}
    if unknown:
        raise ValueError(
            f"strategy_params has keys {sorted(unknown)} that are not among the "
            f"strategies {[label for label, _ in strategy_list]}."
        )
    if callable(model):
        spec = _ModelSpec(model, {})
        model_name = getattr(model, "__name__", type(model).__name__)
    else:
        spec = make_model(
            model, dataset.n_features, dataset.n_classes, n_samples_K, model_params
        )
        model_name = model
    if n_MC_samples is not None:
        n_MC_samples = check_positive_int(n_MC_samples, "n_MC_samples")

    from . import __version__

    config = {
        "batchbald_version": __version__,
        "dataset": dataset.name,
        "dataset_description": dataset.description,
        "dataset_params": dataset.params,
        "n_pool": n_pool,
        "n_test": len(dataset.y_test),
        "n_classes": dataset.n_classes,
        "strategies": [label for label, _ in strategy_list],
        "model": model_name,
        "model_params": dict(model_params or {}),
        "seeds": seed_list,
        "n_initial": n_initial,
        "initial_method": initial_method,
        "batch_size": batch_size,
        "n_cycles": n_cycles,
        "budget": budget,
        "n_samples_K": n_samples_K,
        "n_MC_samples": n_MC_samples,
        "strategy_params": strategy_params,
    }

    from tqdm.auto import tqdm

    records: list[dict] = []
    queries: list[dict] = []
    t_start = time.perf_counter()
    total = len(seed_list) * len(strategy_list) * (n_cycles + 1)
    with tqdm(total=total, disable=not progress, desc="active learning") as bar:
        for seed in seed_list:
            for label, strategy_ref in strategy_list:
                bar.set_description(f"{label} seed {seed}")
                rows, picks = _run_one(
                    dataset,
                    label,
                    strategy_ref,
                    spec,
                    seed,
                    n_initial,
                    initial_method,
                    batch_size,
                    n_cycles,
                    budget,
                    n_MC_samples,
                    strategy_params.get(label, {}),
                    bar,
                )
                records.extend(rows)
                queries.extend(picks)
    config["wall_time_s"] = round(time.perf_counter() - t_start, 3)
    return ExperimentResult(records, config, queries)


def _run_one(
    dataset,
    label,
    strategy_ref,
    spec,
    seed,
    n_initial,
    initial_method,
    batch_size,
    n_cycles,
    budget,
    n_MC_samples,
    params,
    bar,
) -> tuple[list[dict], list[dict]]:
    init_rng, model_seeds, strategy_rng = _seed_streams(seed, n_cycles)
    X, y_true = dataset.X_pool, dataset.y_pool
    y = np.full(len(y_true), np.nan)
    start = initial_indices(y_true, n_initial, initial_method, init_rng)
    y[start] = y_true[start]
    if isinstance(strategy_ref, str):
        params = dict(params)
        if strategy_ref == "batchbald" and n_MC_samples is not None:
            params.setdefault("n_MC_samples", n_MC_samples)
        strategy = make_strategy(
            strategy_ref, strategy_rng, spec.strategy_kwargs, params
        )
    else:
        strategy = strategy_ref(random_state=strategy_rng, **params)
    with_ensemble = _query_takes_ensemble(strategy)
    groups = dataset.groups_pool

    rows = []
    picks = [{"strategy": label, "seed": seed, "cycle": 0, "indices": start.tolist()}]
    query_time = math.nan
    for cycle in range(n_cycles + 1):
        labeled = np.flatnonzero(~np.isnan(y))
        est = spec.factory(int(model_seeds[cycle]))
        t0 = time.perf_counter()
        est.fit(X, y)
        fit_time = time.perf_counter() - t0
        accuracy = float(
            np.mean(np.asarray(est.predict(dataset.X_test)) == dataset.y_test)
        )
        rows.append(
            {
                "strategy": label,
                "seed": seed,
                "cycle": cycle,
                "n_labels": len(labeled),
                "accuracy": accuracy,
                "query_time_s": query_time,
                "fit_time_s": fit_time,
                "n_distinct": None
                if groups is None
                else len(np.unique(groups[labeled])),
            }
        )
        bar.set_postfix(labels=len(labeled), acc=f"{accuracy:.3f}", refresh=False)
        bar.update(1)
        n_query = min(batch_size, budget - len(labeled), len(y) - len(labeled))
        if cycle == n_cycles or n_query <= 0:
            bar.update(n_cycles - cycle)
            break
        t0 = time.perf_counter()
        if with_ensemble:
            idx = strategy.query(X, y, est, fit_ensemble=False, batch_size=n_query)
        else:
            idx = strategy.query(X, y, batch_size=n_query)
        query_time = time.perf_counter() - t0
        idx = np.asarray(idx, dtype=np.int64).ravel()
        if (
            len(idx) != n_query
            or len(np.unique(idx)) != n_query
            or idx.min() < 0
            or idx.max() >= len(y)
            or not np.isnan(y[idx]).all()
        ):
            raise ValueError(
                f"strategy {label!r} returned {idx.tolist()}, which are not "
                f"{n_query} distinct indices of unlabelled pool samples."
            )
        y[idx] = y_true[idx]
        picks.append(
            {
                "strategy": label,
                "seed": seed,
                "cycle": cycle + 1,
                "indices": idx.tolist(),
            }
        )
    return rows, picks


# --------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------
def _strategies_in(records) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.setdefault(r["strategy"], None)
    return list(seen)


def _check_targets(targets) -> list[float]:
    if isinstance(targets, numbers.Real):
        targets = [targets]
    out = []
    for t in targets:
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 < t <= 1:
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
        by_cycle: dict[int, list[tuple[int, float]]] = {}
        for r in records:
            if r["strategy"] == strategy:
                by_cycle.setdefault(r["cycle"], []).append(
                    (r["n_labels"], r["accuracy"])
                )
        cycles = sorted(by_cycle)
        n = np.array([np.median([v[0] for v in by_cycle[c]]) for c in cycles])
        accs = [np.array([v[1] for v in by_cycle[c]]) for c in cycles]
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
            lo = hi = None
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
):
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
        color = _STRATEGY_COLORS.get(strategy, f"C{i}")
        ax.plot(n, mid, marker="o", ms=3.5, lw=2, color=color, label=strategy)
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
        by_cycle: dict[int, list[tuple[int, int]]] = {}
        for r in records:
            if r["strategy"] == strategy:
                by_cycle.setdefault(r["cycle"], []).append(
                    (r["n_labels"], r["n_labels"] - r["n_distinct"])
                )
        cycles = sorted(by_cycle)
        n = np.array([np.median([v[0] for v in by_cycle[c]]) for c in cycles])
        d = [np.array([v[1] for v in by_cycle[c]], dtype=float) for c in cycles]
        mid = [x.mean() if center == "mean" else np.median(x) for x in d]
        color = _STRATEGY_COLORS.get(strategy, f"C{i}")
        ax.plot(n, mid, marker="o", ms=3.5, lw=2, color=color, label=strategy)
    ax.set_xlabel("number of labelled samples")
    ax.set_ylabel("labels spent on copies (labels - distinct originals)")
    ax.set_title(f"duplicates acquired ({center} over seeds)", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")


# --------------------------------------------------------------------------
# the result object
# --------------------------------------------------------------------------
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
            by_cycle: dict[int, list[dict]] = {}
            for r in self.records:
                if r["strategy"] == strategy:
                    by_cycle.setdefault(r["cycle"], []).append(r)
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
        from .engine import DEFAULT_N_SAMPLES

        c = self.config
        n_seeds = len({r["seed"] for r in self.records})
        lines = [f"# Active-learning experiment: {c.get('dataset', '?')}", ""]
        if c:
            M = c.get("n_MC_samples") or f"{DEFAULT_N_SAMPLES} (BatchBALD's default)"
            lines += [
                f"- data: {c.get('dataset_description', '')}",
                f"- model: {c.get('model')} {c.get('model_params') or ''}".rstrip(),
                f"- K (posterior samples) = {c.get('n_samples_K')}, "
                f"M (BatchBALD configurations) = {M}",
                f"- initial labelled set: {c.get('n_initial')} "
                f"({c.get('initial_method')}); batch size {c.get('batch_size')}; "
                f"{c.get('n_cycles')} cycles",
                f"- seeds: {c.get('seeds')}",
            ]
            if "wall_time_s" in c:
                lines.append(f"- total wall time: {c['wall_time_s']:.0f} s")
            lines.append("")
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
        table = self.accuracy_table()
        cycles = sorted({r["cycle"] for r in table})
        if len(cycles) > 12:
            picks = np.unique(np.linspace(0, len(cycles) - 1, 12).round().astype(int))
            cycles = [cycles[i] for i in picks]
        n_of = {r["cycle"]: r["n_labels"] for r in table}
        lines.append(
            "| strategy | " + " | ".join(_fmt_labels(n_of[c]) for c in cycles) + " |"
        )
        lines.append("|" + "---|" * (len(cycles) + 1))
        for s in self.strategies:
            cells = []
            for cyc in cycles:
                r = next(
                    (r for r in table if r["strategy"] == s and r["cycle"] == cyc), None
                )
                cells.append(
                    ""
                    if r is None
                    else f"{r['median']:.3f} [{r['q25']:.3f}-{r['q75']:.3f}]"
                )
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## Cost",
            "",
            "| strategy | mean query time (s) | mean fit time (s) |",
        ]
        lines.append("|---|---|---|")
        distinct = any(r.get("n_distinct") is not None for r in self.records)
        for s in self.strategies:
            rs = [r for r in self.records if r["strategy"] == s]
            qt = [r["query_time_s"] for r in rs if r["cycle"] > 0]
            ft = [r["fit_time_s"] for r in rs]
            q = f"{np.mean(qt):.3f}" if qt else "-"
            lines.append(f"| {s} | {q} | {np.mean(ft):.3f} |")
        if distinct:
            lines += [
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
        return "\n".join(lines) + "\n"

    def to_json(self, path) -> Path:
        """Write the config, records, labels to reach and queries as JSON."""
        path = Path(path)
        payload = {
            "config": _json_value(self.config),
            "records": [_json_value(r) for r in self.records],
            "labels_to_reach": _json_value(self.labels_to_reach()),
            "queries": _json_value(self.queries),
        }
        path.write_text(json.dumps(payload, indent=1) + "\n")
        return path

    def to_csv(self, path) -> Path:
        """Write the records as CSV with the columns of :data:`RECORD_FIELDS`."""
        path = Path(path)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=RECORD_FIELDS, extrasaction="ignore")
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
        return path

    def plot(
        self,
        path=None,
        *,
        center: str = "mean",
        band: str | None = "iqr",
        targets=(0.8, 0.85, 0.9),
        show_distinct: bool | None = None,
        dpi: int = 120,
    ):
        """Draw the learning curves (and, for repeated data, the duplicates).

        Parameters
        ----------
        path : str or Path, optional
            Save the figure there (PNG by extension) and close it.
        center, band, targets
            See :func:`plot_learning_curves`.
        show_distinct : bool, optional
            Add a panel with the labels spent on copies of already labelled
            originals; by default when the records have ``n_distinct``.
        dpi : int, default=120
            Resolution of the saved figure.

        Returns
        -------
        matplotlib.figure.Figure
        """
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
                f"K={c.get('n_samples_K')}"
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
            fig.savefig(path, dpi=dpi)
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
    ) -> dict[str, Path]:
        """Write JSON, CSV, Markdown and PNG into ``out_dir``.

        Files are ``experiment_<name>.json``, ``.csv``, ``.md`` and
        ``learning_curve_<name>.png`` (``name`` defaults to the data set's
        name); ``figure`` overrides the PNG's path. ``targets`` go to
        :meth:`to_markdown` and :meth:`plot`, ``center`` and ``band`` to
        :meth:`plot`.

        Returns
        -------
        dict
            ``{"json": path, "csv": path, "markdown": path, "figure": path}``.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        name = name or self.config.get("dataset") or "result"
        paths = {
            "json": self.to_json(out_dir / f"experiment_{name}.json"),
            "csv": self.to_csv(out_dir / f"experiment_{name}.csv"),
        }
        md = out_dir / f"experiment_{name}.md"
        md.write_text(self.to_markdown(targets))
        paths["markdown"] = md
        fig_path = (
            Path(figure)
            if figure is not None
            else out_dir / f"learning_curve_{name}.png"
        )
        fig_path.parent.mkdir(parents=True, exist_ok=True)
        self.plot(fig_path, targets=targets, center=center, band=band)
        paths["figure"] = fig_path
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
