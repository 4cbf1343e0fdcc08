"""Building blocks of an experiment: initial sets, model and strategy factories,
argument checks and the per-seed random streams."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

from .. import registry
from .._names import MODELS as _NAMES_MODELS
from .._names import STRATEGIES as _REGISTERED
from ..utils import check_positive_int

#: Strategy names accepted by :func:`run_experiment` and the CLI (those of
#: :mod:`batchbald.registry`), and the class of :mod:`batchbald.pool` each one
#: stands for.
STRATEGIES: dict[str, str] = {name: cls for name, (cls, _) in _REGISTERED.items()}

#: Model names accepted by :func:`make_model` (those of :mod:`batchbald.models`),
#: with a one-line description.
MODELS: dict[str, str] = _NAMES_MODELS

_INITIAL_METHODS = ("balanced", "random")


def initial_indices(
    y, n_initial: int, method: str = "balanced", random_state=None
) -> np.ndarray:
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
    from ..utils import check_random_state

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
    model : str
        A name of :data:`MODELS` (those of :mod:`batchbald.models`:
        ``"mc-dropout"``, ``"logreg-bagging"``, ``"mlp-bagging"``, ``"rf"``,
        ``"gp-bagging"``); the old ``"bagging-logreg"`` and ``"bagging-mlp"``
        still work with a FutureWarning.
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
    from .. import models

    n_samples_K = check_positive_int(n_samples_K, "n_samples_K")
    if model not in models.MODELS and model not in models.MODEL_ALIASES:
        raise ValueError(
            f"unknown model {model!r}; choose from {', '.join(models.MODELS)} "
            "(or pass a callable seed -> estimator)."
        )
    name = models.resolve_model_name(model)  # deprecated aliases warn
    params = dict(model_params or {})
    # The experiments' historical defaults (the recorded learning curves).
    for key, value in _EXPERIMENT_DEFAULTS.get(name, {}).items():
        params.setdefault(key, value)
    models.make_model(  # build one now: bad names and parameters fail here
        name,
        n_features=n_features,
        n_classes=n_classes,
        n_members=n_samples_K,
        params=params,
    )

    def factory(seed: int):
        return models.make_model(
            name,
            n_features=n_features,
            n_classes=n_classes,
            n_members=n_samples_K,
            random_state=seed,
            params=params,
        ).estimator

    return _ModelSpec(factory, models.predict_kwargs(name, n_samples_K))


#: Base-estimator defaults of the experiments, which differ from the registry's.
_EXPERIMENT_DEFAULTS: dict[str, dict] = {
    "logreg-bagging": {"max_iter": 500},
    "mlp-bagging": {"hidden_layer_sizes": (64,), "max_iter": 300},
}


def _check_strategy_name(name) -> None:
    registry.check_strategy_name(name, "strategy")


def make_strategy(
    name: str, random_state, strategy_kwargs=None, params=None
) -> BaseEstimator:
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
    accepted = inspect.signature(registry.strategy_class(name)).parameters
    kwargs = {k: v for k, v in (strategy_kwargs or {}).items() if k in accepted}
    kwargs.update(params or {})
    return registry.make_strategy(name, random_state=random_state, **kwargs)


def _query_takes_ensemble(strategy) -> bool:
    try:
        return "ensemble" in inspect.signature(strategy.query).parameters
    except (TypeError, ValueError):
        return True


def _check_strategies(strategies) -> list[tuple[str, object]]:
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    out: list[tuple[str, object]] = []
    for s in strategies:
        if isinstance(s, str):
            _check_strategy_name(s)
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
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds must be integers >= 0; got {s!r} in {seeds}.")
        if s < 0:
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
