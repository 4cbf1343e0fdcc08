"""The model registry: one name -> the ensemble that ``query``, ``experiment``
and the labeling app fit, with an estimate of what it costs.

The names and their descriptions are :data:`batchbald._names.MODELS`
(deprecated aliases in :data:`batchbald._names.MODEL_ALIASES` still work, with
a ``FutureWarning``). Each entry builds an unfitted, missing-label aware
classifier (``y`` holds ``NaN`` for unlabeled rows) whose members
:func:`batchbald.ensembles.ensemble_probas` reads, given the
:attr:`ModelSpec.predict_kwargs`.

Costs are estimates from the shape of the data, checked before fitting
(:func:`check_model_cost`): a Gaussian process on 100,000 rows needs hundreds
of GiB, and :func:`choose_model` switches from a preferred model that does not
fit to one that scales linearly in the rows.
"""

from __future__ import annotations

import importlib
import numbers
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._names import MODEL_ALIASES, MODELS

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "MODEL_ALIASES",
    "SCALABLE_MODEL",
    "ModelCost",
    "ModelSpec",
    "check_model_cost",
    "choose_model",
    "default_max_memory",
    "estimate_cost",
    "make_model",
    "predict_kwargs",
    "resolve_model_name",
]

#: The model ``batchbald query`` prefers on small tables.
DEFAULT_MODEL = "gp-bagging"
#: What :func:`choose_model` falls back to when the preferred model is too
#: costly: memory and time linear in the rows.
SCALABLE_MODEL = "logreg-bagging"
#: A preferred model estimated to take longer than this (seconds) is swapped
#: for :data:`SCALABLE_MODEL` by :func:`choose_model`.
MAX_DEFAULT_SECONDS = 120.0

# Gaussian-process classifier (scikit-learn, Laplace approximation, one
# binary GP per class when C > 2): peak memory of one fit about 8 n x n
# float64 arrays (measured with tracemalloc: n=1000, 3 classes: 61 MiB). Its
# time grows like n**3 and faster than that in practice (more optimiser
# steps): one binary GP took 0.33 s at n=1000 but 116 s at n=3000 on the
# shared 2-core development machine. The coefficient below is the larger
# figure's, so the estimate errs on the slow side.
_GP_SQUARE_ARRAYS = 8
_GP_SECONDS_PER_N3 = 4.5e-9


@dataclass(frozen=True)
class ModelCost:
    """What fitting a model is estimated to need.

    Attributes
    ----------
    memory_bytes : int
        Peak working memory of the fit (members are fitted one at a time).
    seconds : float or None
        Fitting time on one core, where the model's time grows faster than
        the rows (Gaussian processes); None where it is linear.
    """

    memory_bytes: int
    seconds: float | None = None


@dataclass
class ModelSpec:
    """An unfitted model and how to read its members.

    Attributes
    ----------
    name : str
        Its registry name.
    estimator : object
        The unfitted, missing-label aware classifier.
    predict_kwargs : dict
        Keywords of :func:`batchbald.ensembles.ensemble_probas` (and of the
        ensemble strategies of :mod:`batchbald.pool`) needed to draw its
        members' predictions; empty for scikit-learn ensembles.
    """

    name: str
    estimator: object
    predict_kwargs: dict = field(default_factory=dict)


def resolve_model_name(name: str) -> str:
    """The registry name for ``name``; an alias warns (``FutureWarning``),
    anything else unknown raises ``ValueError`` listing the names."""
    if name in MODELS:
        return name
    if name in MODEL_ALIASES:
        new = MODEL_ALIASES[name]
        warnings.warn(
            f"model name {name!r} is deprecated; use {new!r}.",
            FutureWarning,
            stacklevel=3,
        )
        return new
    raise ValueError(f"model must be one of {', '.join(MODELS)}; got {name!r}.")


# --------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------
def _bagging(base, n_classes, n_members, seed):
    from .ensembles import bagging_ensemble

    if "random_state" in base.get_params():
        base.set_params(random_state=seed)
    return bagging_ensemble(
        base, n_members, classes=np.arange(n_classes), random_state=seed
    )


def _gp(n_features, n_classes, n_members, seed, params):
    from sklearn.gaussian_process import GaussianProcessClassifier

    return _bagging(GaussianProcessClassifier(**params), n_classes, n_members, seed)


def _logreg(n_features, n_classes, n_members, seed, params):
    from sklearn.linear_model import LogisticRegression

    params.setdefault("max_iter", 1000)
    return _bagging(LogisticRegression(**params), n_classes, n_members, seed)


def _mlp(n_features, n_classes, n_members, seed, params):
    from sklearn.neural_network import MLPClassifier

    params.setdefault("hidden_layer_sizes", (32,))
    params.setdefault("max_iter", 1000)
    return _bagging(MLPClassifier(**params), n_classes, n_members, seed)


def _rf(n_features, n_classes, n_members, seed, params):
    from sklearn.ensemble import RandomForestClassifier

    from .classifier import SklearnClassifier

    forest = RandomForestClassifier(n_estimators=n_members, random_state=seed, **params)
    return SklearnClassifier(forest, classes=np.arange(n_classes), random_state=seed)


def _mc_dropout(n_features, n_classes, n_members, seed, params):
    try:
        deep = importlib.import_module("batchbald.deep")
    except ImportError as exc:  # torch missing
        raise ImportError(
            "model 'mc-dropout' needs PyTorch; install the extra with "
            'pip install "batchbald[torch]" (or pick a scikit-learn model).'
        ) from exc
    mlp_kwargs = {k: params.pop(k) for k in ("hidden", "dropout") if k in params}
    if isinstance(mlp_kwargs.get("hidden"), numbers.Integral):
        mlp_kwargs["hidden"] = (mlp_kwargs["hidden"],)
    module = deep.make_mlp(n_features, n_classes, random_state=seed, **mlp_kwargs)
    return deep.MCDropoutClassifier(
        module,
        classes=np.arange(n_classes),
        n_mc_samples=n_members,
        random_state=seed,
        **params,
    )


_Builder = Callable[[int, int, int, int, dict], object]
_BUILDERS: dict[str, _Builder] = {
    "gp-bagging": _gp,
    "rf": _rf,
    "logreg-bagging": _logreg,
    "mlp-bagging": _mlp,
    "mc-dropout": _mc_dropout,
}


def predict_kwargs(name: str, n_members: int) -> dict:
    """Keywords of :func:`batchbald.ensembles.ensemble_probas` (and of the
    ensemble strategies) that read model ``name``'s ``n_members`` members."""
    name = resolve_model_name(name)
    if name == "mc-dropout":
        return {
            "sample_predictions_method_name": "sample_proba",
            "sample_predictions_dict": {"n_members": n_members},
        }
    return {}


def _check_sizes(n_features, n_classes, n_members) -> None:
    from .utils import check_positive_int

    check_positive_int(n_features, "n_features")
    check_positive_int(n_classes, "n_classes")
    check_positive_int(n_members, "n_members")


def make_model(
    name: str,
    *,
    n_features: int,
    n_classes: int,
    n_members: int = 10,
    random_state: int = 0,
    params: dict | None = None,
) -> ModelSpec:
    """Build the model called ``name`` for classes ``0 .. n_classes - 1``.

    Parameters
    ----------
    name : str
        A key of :data:`batchbald._names.MODELS` (or a deprecated alias).
    n_features : int
        Number of input features (used by ``mc-dropout``'s network).
    n_classes : int
        Number of classes ``C``.
    n_members : int, default=10
        Members ``K``: bagging estimators, trees, or MC-dropout samples.
    random_state : int, default=0
        Seed of the model (bootstrap samples, trees, initialisation).
    params : dict, default=None
        Keywords of the base estimator (e.g. ``C`` for ``logreg-bagging``,
        ``hidden_layer_sizes`` for ``mlp-bagging``, ``max_depth`` for ``rf``);
        for ``mc-dropout`` the network's ``hidden`` and ``dropout`` (see
        :func:`batchbald.deep.make_mlp`) and keywords of
        :class:`batchbald.deep.MCDropoutClassifier`. Defaults:
        ``logreg-bagging`` ``max_iter=1000``; ``mlp-bagging``
        ``hidden_layer_sizes=(32,), max_iter=1000``.

    Returns
    -------
    ModelSpec
    """
    name = resolve_model_name(name)
    _check_sizes(n_features, n_classes, n_members)
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, numbers.Integral)
        or not 0 <= random_state < 2**32
    ):
        raise ValueError(
            f"random_state must be an integer in [0, 2**32); got {random_state!r}."
        )
    estimator = _BUILDERS[name](
        int(n_features),
        int(n_classes),
        int(n_members),
        int(random_state),
        dict(params or {}),
    )
    return ModelSpec(name, estimator, predict_kwargs(name, int(n_members)))


# --------------------------------------------------------------------------
# costs
# --------------------------------------------------------------------------
def default_max_memory() -> int:
    """Half the memory available now (``MemAvailable`` of ``/proc/meminfo``),
    else half the physical memory, else 4 GiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def estimate_cost(
    name: str, *, n_samples: int, n_features: int, n_classes: int, n_members: int
) -> ModelCost:
    """Estimated peak memory (and, for Gaussian processes, time) of fitting
    ``name`` on ``n_samples`` labeled rows.

    The figures are orders of magnitude from the algorithms' sizes: a
    Gaussian-process fit holds about 8 ``n x n`` float64 arrays and takes
    about ``4.5e-9 n**3`` s per binary GP (one per class when C > 2) and
    member (a pessimistic figure from one slow machine); the others hold a
    few copies of the ``n x d`` data plus their parameters (trees: about 2 n
    nodes each).
    """
    name = resolve_model_name(name)
    n, d, C, K = int(n_samples), int(n_features), int(n_classes), int(n_members)
    data = 8 * n * d
    if name == "gp-bagging":
        n_gps = C if C > 2 else 1
        seconds = _GP_SECONDS_PER_N3 * n**3 * n_gps * K
        return ModelCost(_GP_SQUARE_ARRAYS * 8 * n * n + 2 * data, seconds)
    if name == "rf":
        return ModelCost(data // 2 + K * 2 * n * (64 + 8 * C) + 2 * data)
    if name == "logreg-bagging":
        return ModelCost(2 * data + 8 * n * 4 * C + 8 * d * C * K)
    if name == "mlp-bagging":
        return ModelCost(2 * data + 8 * n * (3 * 32 + 2 * C))
    # mc-dropout: float32 data and activations of a (128, 128) MLP per batch
    return ModelCost(4 * n * d * 2 + 4 * n * C * K + 64 * 2**20)


def _fmt_bytes(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_model_cost(
    name: str,
    *,
    n_samples: int,
    n_features: int,
    n_classes: int,
    n_members: int,
    max_memory: int | None = None,
) -> ModelCost:
    """:func:`estimate_cost`, refusing a model whose memory exceeds the budget.

    ``max_memory`` None means :func:`default_max_memory`. Raises
    ``ValueError`` with the estimate and advice (a model that scales, fewer
    members or features) when the estimate exceeds it; returns the estimate.
    """
    name = resolve_model_name(name)
    cost = estimate_cost(
        name,
        n_samples=n_samples,
        n_features=n_features,
        n_classes=n_classes,
        n_members=n_members,
    )
    budget = default_max_memory() if max_memory is None else int(max_memory)
    if cost.memory_bytes > budget:
        others = [m for m in ("logreg-bagging", "rf") if m != name]
        raise ValueError(
            f"model {name!r} on {n_samples} labeled rows x {n_features} features "
            f"would need about {_fmt_bytes(cost.memory_bytes)} of memory (budget "
            f"{_fmt_bytes(budget)}); use a model whose cost grows linearly with "
            f"the rows ({' or '.join(others)}), or fewer features."
        )
    return cost


def choose_model(
    preferred: str = DEFAULT_MODEL,
    *,
    n_samples: int,
    n_features: int,
    n_classes: int,
    n_members: int,
    max_memory: int | None = None,
    max_seconds: float = MAX_DEFAULT_SECONDS,
) -> tuple[str, str | None]:
    """``preferred`` when it fits, else :data:`SCALABLE_MODEL`.

    Returns ``(name, reason)``: ``reason`` is None when ``preferred`` was
    kept, else a sentence saying why it was swapped (estimated memory over
    ``max_memory`` or time over ``max_seconds``). The result is still checked
    with :func:`check_model_cost` by the caller.
    """
    preferred = resolve_model_name(preferred)
    cost = estimate_cost(
        preferred,
        n_samples=n_samples,
        n_features=n_features,
        n_classes=n_classes,
        n_members=n_members,
    )
    budget = default_max_memory() if max_memory is None else int(max_memory)
    why = None
    if cost.memory_bytes > budget:
        why = (
            f"about {_fmt_bytes(cost.memory_bytes)} of memory "
            f"(budget {_fmt_bytes(budget)})"
        )
    elif cost.seconds is not None and cost.seconds > max_seconds:
        why = f"about {cost.seconds / 60:.0f} min to fit"
    if why is None or preferred == SCALABLE_MODEL:
        return preferred, None
    return SCALABLE_MODEL, (
        f"{preferred} on {n_samples} labeled rows would need {why}; using "
        f"{SCALABLE_MODEL} instead (pass --model to choose)"
    )
