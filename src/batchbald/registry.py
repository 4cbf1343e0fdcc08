"""The one registry of query strategies.

Every strategy name the package accepts, in the library, in
:mod:`batchbald.experiments` and on the command line (``select``, ``query``,
``experiment`` and their ``--help``), is a key of
:data:`batchbald._names.STRATEGIES`; this module turns a name into its class
of :mod:`batchbald.pool` (:func:`strategy_class`, :func:`make_strategy`) and
runs it on saved member probabilities (:func:`select_from_probabilities`),
chunk by chunk so that a memory-mapped pool is never read whole.

Importing this module costs only the standard library; numpy, scikit-learn
and the strategies are imported when first used.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._names import STRATEGIES

if TYPE_CHECKING:
    from .engine import BatchSelection

__all__ = [
    "STRATEGY_NAMES",
    "check_strategy_name",
    "check_strategy_params",
    "gain_column",
    "is_targeted",
    "make_strategy",
    "select_from_probabilities",
    "strategy_class",
]

#: Every strategy name, in the order of :data:`batchbald._names.STRATEGIES`.
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)

# How select_from_probabilities scores and picks for each name: (scores, rule).
# Scores: "bald" (I(y; w)), "entropy" (H of the mean prediction), "epig"
# (E_x* I(y; y*)), or None (joint gains: BatchBALD's, or batch EPIG's with
# rule "greedy-epig"). Rule: "greedy" (joint BatchBALD), "topk", a
# select_stochastic mode, or "random". Kept equal to the classes of
# batchbald.pool by tests/test_registry.py.
_RULES: dict[str, tuple[str | None, str]] = {
    "batchbald": (None, "greedy"),
    "bald": ("bald", "topk"),
    "powerbald": ("bald", "power"),
    "softmaxbald": ("bald", "softmax"),
    "softrankbald": ("bald", "softrank"),
    "entropy": ("entropy", "topk"),
    "random": ("bald", "random"),
    "epig": ("epig", "topk"),
    "batchepig": (None, "greedy-epig"),
    "powerepig": ("epig", "power"),
    "softmaxepig": ("epig", "softmax"),
    "softrankepig": ("epig", "softrank"),
}
_STOCHASTIC = ("power", "softmax", "softrank")
#: The names that take M (``n_configurations``; ``n_MC_samples`` of the class).
_WITH_CONFIGURATIONS = ("batchbald", "batchepig")


def is_targeted(name: str) -> bool:
    """Whether strategy ``name`` scores the pool against target samples (EPIG)."""
    scores, rule = _RULES[check_strategy_name(name)]
    return scores == "epig" or rule == "greedy-epig"


def strategy_rule(name: str) -> tuple[str | None, str]:
    """``(scores, rule)`` of a strategy: the per-sample scores it ranks
    (``"bald"``, ``"entropy"``, ``"epig"`` or None for the greedy joint
    objectives) and how it picks (``"greedy"``, ``"greedy-epig"``, ``"topk"``,
    ``"power"``, ``"softmax"``, ``"softrank"`` or ``"random"``)."""
    return _RULES[check_strategy_name(name)]


def check_strategy_name(name: object, param: str = "strategy") -> str:
    """Return ``name`` if it is a registered strategy, else raise.

    Parameters
    ----------
    name : object
        The value to check.
    param : str, default="strategy"
        The parameter's name, for the message (``"--method"`` on the command
        line).

    Raises
    ------
    ValueError
        Naming the value and every valid name.
    """
    if not isinstance(name, str) or name not in STRATEGIES:
        raise ValueError(
            f"{param} must be one of {', '.join(STRATEGY_NAMES)}; got {name!r}."
        )
    return name


def strategy_class(name: str) -> type:
    """The class of :mod:`batchbald.pool` registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`batchbald._names.STRATEGIES`, e.g. ``"batchbald"``.

    Returns
    -------
    type
        E.g. :class:`batchbald.pool.BatchBALD`.
    """
    from . import pool

    return getattr(pool, STRATEGIES[check_strategy_name(name)][0])


def make_strategy(name: str, **params: Any) -> Any:
    """An unfitted strategy ``name`` built with ``params``.

    Parameters
    ----------
    name : str
        A registered strategy name (see :data:`STRATEGY_NAMES`).
    **params
        Constructor keywords, e.g. ``random_state=0``, ``beta=2.0``,
        ``n_MC_samples=500``; one the class does not take is an error.

    Returns
    -------
    object
        A strategy with the scikit-activeml ``query`` convention.

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For a keyword the strategy does not take, naming those it does.
    """
    cls = strategy_class(name)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(
            f"strategy {name!r} takes no parameter {', '.join(unknown)}; it takes "
            f"{', '.join(accepted)}."
        )
    return cls(**params)


def gain_column(name: str) -> str:
    """Name of the per-pick score a selection reports: ``gain_nats`` (the step's
    increase of the joint information, BatchBALD and batch EPIG),
    ``entropy_nats``, ``epig_nats`` or ``bald_nats`` (the pick's own score)."""
    scores, _ = _RULES[check_strategy_name(name)]
    return {None: "gain_nats", "entropy": "entropy_nats", "epig": "epig_nats"}.get(
        scores, "bald_nats"
    )


def check_strategy_params(
    method: str,
    beta: object = None,
    n_configurations: object = None,
    *,
    names: tuple[str, str] = ("beta", "n_configurations"),
) -> float | None:
    """Check the parameters that only some strategies take; returns ``beta``.

    Parameters
    ----------
    method : str
        A registered strategy name.
    member_votes : bool, default=False
        BatchBALD only: score the members' votes instead of their
        probabilities (see :class:`batchbald.pool.BatchBALD`; what ``query``
        does for a scikit-learn ensemble). BatchBALD completes a saturated
        batch PowerBALD-style, the strategy's default.
    beta : float, default=None
        Must be None unless ``method`` samples (powerbald, softmaxbald,
        softrankbald and their EPIG counterparts); then a number ``>= 0``.
    n_configurations : int, default=None
        Must be None unless ``method`` is ``"batchbald"`` or ``"batchepig"``.
    names : (str, str), default=("beta", "n_configurations")
        How the messages call the two (``("--beta", "--configurations")`` on
        the command line).

    Raises
    ------
    ValueError
        Naming the parameter, the value and what is valid.
    """
    check_strategy_name(method, "method")
    if n_configurations is not None and method not in _WITH_CONFIGURATIONS:
        raise ValueError(
            f"{names[1]} only applies to batchbald and batchepig; got {names[1]}="
            f"{n_configurations!r} for {method!r}."
        )
    if beta is None:
        return None
    if _RULES[method][1] not in _STOCHASTIC:
        sampled = ", ".join(n for n, (_, r) in _RULES.items() if r in _STOCHASTIC)
        raise ValueError(
            f"{names[0]} only applies to {sampled}; "
            f"got {names[0]}={beta!r} for {method!r}."
        )
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise ValueError(f"{names[0]} must be a number >= 0; got {beta!r}.")
    value = float(beta)
    if not value >= 0:
        raise ValueError(f"{names[0]} must be a number >= 0; got {beta!r}.")
    return value


def select_from_probabilities(
    probs_K_N_C: Any,
    method: str,
    batch_size: int,
    *,
    random_state: Any = None,
    n_configurations: int | None = None,
    beta: float | None = None,
    eps: float | None = None,
    max_memory: int | None = None,
    device: Any = None,
    callback: Callable[[int, int, float], None] | None = None,
    target_probs_K_T_C: Any = None,
    member_votes: bool = False,
) -> BatchSelection:
    """Choose a batch with strategy ``method`` from member probabilities.

    The same choices as ``make_strategy(method, random_state=random_state,
    ...).select(probs_K_N_C, batch_size)`` (for ``"random"``, as
    :class:`batchbald.pool.RandomSampling` with the same random state), but
    the pool's scores are computed chunk by chunk within ``max_memory``, so a
    memory-mapped pool larger than memory works. The EPIG methods (epig,
    batchepig, powerepig, softmaxepig, softrankepig) run their strategy's
    ``select(probs_K_N_C, target_probs_K_T_C, batch_size)`` and read the
    pool whole.

    Parameters
    ----------
    probs_K_N_C : array-like of shape (K, N, C)
        Member probabilities; a ``numpy.memmap`` is read in chunks.
    method : str
        A registered strategy name (see :data:`STRATEGY_NAMES`).
    batch_size : int
        Number of samples to choose; more than N chooses all, with a warning.
    random_state : None, int or numpy.random.RandomState, default=None
        Ties, sampling and the random baseline.
    n_configurations : int, default=None
        BatchBALD and batch EPIG only: joint labellings ``M`` once exact
        enumeration gets too large (None: 1000 for BatchBALD, 100 for batch
        EPIG).
    beta : float, default=None
        The sampling methods only (PowerBALD, SoftmaxBALD, SoftrankBALD and
        their EPIG counterparts): inverse temperature ``>= 0`` (None: 1.0).
    eps : float, default=None
        Floor inside logarithms (None: :data:`batchbald.information.DEFAULT_EPS`).
    max_memory : int, default=None
        Working-memory budget in bytes (None: the engine's 256 MiB).
    device : None or str, default=None
        Run the engine with torch on this device (``"cpu"``, ``"cuda"``); the
        EPIG methods run on numpy and refuse a device.
    callback : callable, default=None
        ``callback(step, index, gain)`` after every pick.
    target_probs_K_T_C : array-like of shape (K, T, C), default=None
        EPIG methods only: probabilities of the same ``K`` members for ``T``
        samples of the target input distribution. None: the pool stands for
        the targets (see :mod:`batchbald._pool_epig`).

    Returns
    -------
    batchbald.engine.BatchSelection
        ``indices`` in the order chosen and ``gains`` in nats: BatchBALD's
        and batch EPIG's per-step gains of the joint information, or each
        pick's own score (BALD, EPIG, or entropy for ``"entropy"``); see
        :func:`gain_column`.
    """

    from .information import DEFAULT_EPS

    beta = check_strategy_params(method, beta, n_configurations)
    eps = DEFAULT_EPS if eps is None else eps
    if is_targeted(method):
        sel = _select_targeted(
            probs_K_N_C,
            target_probs_K_T_C,
            method,
            batch_size,
            random_state=random_state,
            n_configurations=n_configurations,
            beta=beta,
            eps=eps,
            max_memory=max_memory,
            device=device,
        )
        return _report(sel, callback)
    if target_probs_K_T_C is not None:
        raise ValueError(
            f"target_probs_K_T_C only applies to the EPIG methods "
            f"({', '.join(n for n in STRATEGY_NAMES if is_targeted(n))}); got "
            f"target probabilities for {method!r}."
        )
    return _select_untargeted(
        probs_K_N_C,
        method,
        batch_size,
        random_state=random_state,
        n_configurations=n_configurations,
        beta=beta,
        eps=eps,
        max_memory=max_memory,
        device=device,
        callback=callback,
        member_votes=member_votes,
    )


def _select_untargeted(
    probs_K_N_C,
    method: str,
    batch_size: int,
    *,
    random_state,
    n_configurations,
    beta,
    eps: float,
    max_memory,
    device,
    callback,
    member_votes: bool,
) -> BatchSelection:
    """:func:`select_from_probabilities` for the methods without targets."""
    from . import engine
    from .utils import check_random_state

    if method == "batchbald":
        from .pool import BatchBALD

        if member_votes:
            from .pool import _member_votes

            probs_K_N_C = _member_votes(probs_K_N_C)
        return engine.select_batch(
            probs_K_N_C,
            batch_size,
            n_configurations=n_configurations,
            eps=eps,
            random_state=random_state,
            max_memory=max_memory,
            device=device,
            callback=callback,
            completion=BatchBALD().completion,
        )
    scores_kind, rule = _RULES[method]
    predictive_N, expected_N = engine.pool_entropies(
        probs_K_N_C, eps=eps, max_memory=max_memory, device=device
    )
    scores_N = predictive_N if scores_kind == "entropy" else predictive_N - expected_N
    rng = check_random_state(random_state)
    if rule == "topk":
        sel = engine.select_topk(scores_N, batch_size, rng)
    elif rule == "random":
        sel = engine.select_topk(rng.random_sample(len(scores_N)), batch_size, rng)
        sel = engine.BatchSelection(
            sel.indices, scores_N[sel.indices], None, sel.n_scored
        )
    else:
        sel = engine.select_stochastic(
            scores_N, batch_size, rule, 1.0 if beta is None else beta, rng
        )
    return _report(sel, callback)


def _report(sel: BatchSelection, callback) -> BatchSelection:
    """The selection without utilities, float64 gains, each pick reported."""
    import numpy as np

    from . import engine

    gains = np.asarray(sel.gains, dtype=np.float64)
    if callback is not None:
        for step, (i, g) in enumerate(zip(sel.indices, gains, strict=True)):
            callback(step, int(i), float(g))
    return engine.BatchSelection(sel.indices, gains, None, sel.n_scored)


def _select_targeted(
    probs_K_N_C, target_probs_K_T_C, method, batch_size, **options
) -> BatchSelection:
    """An EPIG method through its strategy's ``select``."""
    if options.pop("device") is not None:
        raise ValueError(
            f"device only applies to the BALD methods; {method!r} runs on numpy "
            "(pass device=None)."
        )
    params: dict[str, Any] = {
        "random_state": options["random_state"],
        "eps": options["eps"],
        "max_memory": options["max_memory"],
    }
    if options["n_configurations"] is not None:
        params["n_MC_samples"] = options["n_configurations"]
    if options["beta"] is not None:
        params["beta"] = options["beta"]
    strategy = make_strategy(method, **params)
    return strategy.select(probs_K_N_C, target_probs_K_T_C, batch_size)
