"""The active-learning loop: :func:`run_experiment` and the run of one seed."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .._names import MODEL_ALIASES
from .._progress import progress_bar
from ..datasets import Dataset
from ..utils import check_positive_int
from ._result import ExperimentResult
from ._setup import (
    _check_seeds,
    _check_strategies,
    _ModelSpec,
    _query_takes_ensemble,
    _seed_streams,
    initial_indices,
    make_model,
    make_strategy,
)


def run_experiment(
    dataset: Dataset,
    strategies: Sequence = ("batchbald", "bald", "random"),
    *,
    model: str | Callable = "logreg-bagging",
    seeds: int | Sequence[int] = 5,
    n_initial: int = 20,
    initial_method: str = "balanced",
    batch_size: int = 10,
    n_cycles: int | None = None,
    budget: int | None = None,
    n_members: int = 20,
    n_configurations: int | None = None,
    model_params: dict | None = None,
    strategy_params: dict | None = None,
    progress: bool = False,
    n_samples_K: int | None = None,
    n_MC_samples: int | None = None,
) -> ExperimentResult:
    """Run active-learning loops for several strategies and seeds.

    Parameters
    ----------
    dataset : Dataset
        Pool and test data (see :mod:`batchbald.datasets`).
    strategies : sequence, default=("batchbald", "bald", "random")
        Names from :data:`STRATEGIES` (a comma-separated string works too), or
        ``(label, factory)`` with ``factory(random_state=...)`` returning an
        object with a scikit-activeml-style ``query``. The EPIG strategies
        get no targets: the unlabelled pool stands for the target inputs
        (the pool and the test split are draws from one distribution here,
        and the test inputs stay unseen until the evaluation).
    model : str or callable, default="logreg-bagging"
        A model name (see :data:`batchbald._names.MODELS`; the old names
        ``bagging-logreg`` and ``bagging-mlp`` still work, with a
        ``FutureWarning``), or ``factory(seed) -> estimator`` returning
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
    n_members : int, default=20
        Posterior samples ``K``: MC-dropout passes or bagging members.
    n_configurations : int, optional
        Sampled label configurations ``M`` for BatchBALD's joint entropy
        (BatchBALD's own default when None). Batch EPIG keeps its own
        default (100); set it with ``strategy_params={"batchepig":
        {"n_MC_samples": M}}``.
    model_params : dict, optional
        See :func:`make_model`.
    strategy_params : dict, optional
        ``{strategy label: {keyword: value}}`` for extra constructor keywords,
        e.g. ``{"powerbald": {"beta": 1.0}}``.
    progress : bool, default=False
        Show a progress bar over all cycles (drawn only when stderr is a
        terminal).
    n_samples_K, n_MC_samples : int, optional
        Deprecated names of ``n_members`` and ``n_configurations`` (a
        ``FutureWarning``); they will be removed.

    Returns
    -------
    ExperimentResult
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(
            "dataset must be a batchbald.datasets.Dataset (see from_arrays); got "
            f"{type(dataset).__name__}."
        )
    n_members, n_configurations = _renamed(
        n_members, n_configurations, n_samples_K, n_MC_samples
    )
    strategy_list = _check_strategies(strategies)
    seed_list = _check_seeds(seeds)
    batch_size = check_positive_int(batch_size, "batch_size")
    n_initial = check_positive_int(n_initial, "n_initial")
    n_pool = len(dataset.y_pool)
    n_cycles, budget = _stopping(n_cycles, budget, n_initial, batch_size, n_pool)
    labels = [label for label, _ in strategy_list]
    strategy_params = _check_strategy_params(strategy_params, labels)
    n_members = check_positive_int(n_members, "n_members")
    spec, model_name = _model_spec(model, dataset, n_members, model_params)
    if n_configurations is not None:
        n_configurations = check_positive_int(n_configurations, "n_configurations")

    plan = _Plan(
        n_initial, initial_method, batch_size, n_cycles, budget, n_configurations
    )
    config = _config_record(dataset, labels, model_name, model_params, seed_list, plan)
    config.update(n_members=n_members, strategy_params=strategy_params)
    t_start = time.perf_counter()
    records, queries = _run_all(
        dataset, strategy_list, seed_list, spec, plan, strategy_params, progress
    )
    config["wall_time_s"] = round(time.perf_counter() - t_start, 3)
    return ExperimentResult(records, config, queries)


def _check_strategy_params(strategy_params, labels: list) -> dict:
    """A copy of ``strategy_params``, whose keys must be strategy labels."""
    strategy_params = dict(strategy_params or {})
    unknown = set(strategy_params) - set(labels)
    if unknown:
        raise ValueError(
            f"strategy_params has keys {sorted(unknown)} that are not among the "
            f"strategies {labels}."
        )
    return strategy_params


def _run_all(
    dataset, strategy_list, seed_list, spec, plan, strategy_params, progress
) -> tuple[list[dict], list[dict]]:
    """The records and queries of every (seed, strategy) run, in that order."""
    records: list[dict] = []
    queries: list[dict] = []
    total = len(seed_list) * len(strategy_list) * (plan.n_cycles + 1)
    with progress_bar(total, "active learning", enabled=progress) as bar:
        for seed in seed_list:
            for label, strategy_ref in strategy_list:
                bar.set_description(f"{label} seed {seed}")
                params = strategy_params.get(label, {})
                rows, picks = _run_one(
                    dataset, label, strategy_ref, spec, seed, plan, params, bar
                )
                records.extend(rows)
                queries.extend(picks)
    return records, queries


@dataclass(frozen=True)
class _Plan:
    """What every (seed, strategy) run of an experiment shares."""

    n_initial: int
    initial_method: str
    batch_size: int
    n_cycles: int
    budget: int
    n_configurations: int | None


def _config_record(dataset, labels, model_name, model_params, seeds, plan) -> dict:
    from .. import __version__

    return {
        "batchbald_version": __version__,
        "dataset": dataset.name,
        "dataset_description": dataset.description,
        "dataset_params": dataset.params,
        "n_pool": len(dataset.y_pool),
        "n_test": len(dataset.y_test),
        "n_classes": dataset.n_classes,
        "strategies": labels,
        "model": model_name,
        "model_params": dict(model_params or {}),
        "seeds": seeds,
        "n_initial": plan.n_initial,
        "initial_method": plan.initial_method,
        "batch_size": plan.batch_size,
        "n_cycles": plan.n_cycles,
        "budget": plan.budget,
        "n_members": None,
        "n_configurations": plan.n_configurations,
        "strategy_params": None,
    }


def _stopping(n_cycles, budget, n_initial: int, batch_size: int, n_pool: int):
    """``(n_cycles, budget)`` from whichever of the two was given."""
    if n_cycles is not None and budget is not None:
        raise ValueError("give n_cycles or budget, not both.")
    if budget is not None:
        budget = check_positive_int(budget, "budget", minimum=n_initial)
        budget = min(budget, n_pool)
        return math.ceil((budget - n_initial) / batch_size), budget
    n_cycles = check_positive_int(
        10 if n_cycles is None else n_cycles, "n_cycles", minimum=0
    )
    return n_cycles, min(n_pool, n_initial + n_cycles * batch_size)


def _renamed(n_members, n_configurations, n_samples_K, n_MC_samples):
    """``(n_members, n_configurations)``, taking the deprecated names."""
    for old, new, value in (
        ("n_samples_K", "n_members", n_samples_K),
        ("n_MC_samples", "n_configurations", n_MC_samples),
    ):
        if value is not None:
            warnings.warn(
                f"run_experiment({old}=...) is deprecated and will be removed; "
                f"use {new}=... instead.",
                FutureWarning,
                stacklevel=3,
            )
    if n_samples_K is not None:
        n_members = n_samples_K
    if n_MC_samples is not None:
        n_configurations = n_MC_samples
    return n_members, n_configurations


def resolve_model_name(model: str) -> str:
    """The current name of ``model``: deprecated aliases (``bagging-logreg``,
    ``bagging-mlp``) give their new name with a ``FutureWarning``."""
    if model in MODEL_ALIASES:
        warnings.warn(
            f"model {model!r} is deprecated and will be removed; use "
            f"{MODEL_ALIASES[model]!r} instead.",
            FutureWarning,
            stacklevel=3,
        )
        return MODEL_ALIASES[model]
    return model


def _model_spec(model, dataset, n_members, model_params) -> tuple[_ModelSpec, str]:
    if callable(model):
        return _ModelSpec(model, {}), getattr(model, "__name__", type(model).__name__)
    if not isinstance(model, str):
        raise TypeError(
            f"model must be a model name or a callable seed -> estimator; got "
            f"{model!r}."
        )
    name = resolve_model_name(model)
    args = (dataset.n_features, dataset.n_classes, n_members, model_params)
    return make_model(name, *args), name


def _pick(label, seed, cycle, indices) -> dict:
    """One entry of :attr:`ExperimentResult.queries`."""
    return {
        "strategy": label,
        "seed": seed,
        "cycle": cycle,
        "indices": indices.tolist(),
    }


def _strategy(strategy_ref, spec, rng, plan: _Plan, params):
    if not isinstance(strategy_ref, str):
        return strategy_ref(random_state=rng, **params)
    params = dict(params)
    if strategy_ref == "batchbald" and plan.n_configurations is not None:
        params.setdefault("n_MC_samples", plan.n_configurations)
    return make_strategy(strategy_ref, rng, spec.strategy_kwargs, params)


def _check_picks(idx, n_query: int, y, label) -> np.ndarray:
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
    return idx


def _run_one(
    dataset, label, strategy_ref, spec, seed, plan: _Plan, params, bar
) -> tuple[list[dict], list[dict]]:
    init_rng, model_seeds, strategy_rng = _seed_streams(seed, plan.n_cycles)
    X, y_true = dataset.X_pool, dataset.y_pool
    y = np.full(len(y_true), np.nan)
    start = initial_indices(y_true, plan.n_initial, plan.initial_method, init_rng)
    y[start] = y_true[start]
    strategy = _strategy(strategy_ref, spec, strategy_rng, plan, params)
    with_ensemble = _query_takes_ensemble(strategy)
    groups = dataset.groups_pool

    rows = []
    picks = [_pick(label, seed, 0, start)]
    query_time = math.nan
    for cycle in range(plan.n_cycles + 1):
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
        n_query = min(
            plan.batch_size, plan.budget - len(labeled), len(y) - len(labeled)
        )
        if cycle == plan.n_cycles or n_query <= 0:
            bar.update(plan.n_cycles - cycle)
            break
        t0 = time.perf_counter()
        if with_ensemble:
            idx = strategy.query(X, y, est, fit_ensemble=False, batch_size=n_query)
        else:
            idx = strategy.query(X, y, batch_size=n_query)
        query_time = time.perf_counter() - t0
        idx = _check_picks(idx, n_query, y, label)
        y[idx] = y_true[idx]
        picks.append(_pick(label, seed, cycle + 1, idx))
    return rows, picks
