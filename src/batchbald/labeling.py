"""Which rows of a table to label next: the pipeline of ``batchbald query``.

:func:`prepare` turns a :class:`~batchbald.tables.CsvTable` into standardised
features, class codes and the unlabeled rows; :func:`choose_batch` fits a model
of :mod:`batchbald.models` on the labeled rows (its cost checked first) and
chooses the batch, or a diverse cold-start batch (:mod:`batchbald.coldstart`)
while fewer than two classes are labeled. Nothing here prints: what a user
should hear is passed to ``notify``, one sentence per call.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported lazily: ``batchbald query --help`` stays fast
    import numpy as np

    from .tables import CsvTable

from .registry import STRATEGY_NAMES, gain_column, select_from_probabilities

__all__ = [
    "METHODS",
    "SCORE_COLUMN",
    "BatchChoice",
    "LabelingProblem",
    "choose_batch",
    "prepare",
]

#: Selection rules of :func:`choose_batch` (those of :mod:`batchbald.registry`)
#: -> the name of their score column.
SCORE_COLUMN: dict[str, str] = {name: gain_column(name) for name in STRATEGY_NAMES}
METHODS = tuple(SCORE_COLUMN)

Notify = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default ``notify``: drop the message."""


@dataclass
class LabelingProblem:
    """A table as the selection sees it.

    Attributes
    ----------
    Z : numpy.ndarray of shape (n_rows, n_features)
        Standardised features.
    y : numpy.ndarray of shape (n_rows,)
        Class codes ``0 .. C - 1`` as floats, ``NaN`` for unlabeled rows.
    classes : list of str
        The labels of the codes (numbers in numeric order, then text).
    unlabeled : numpy.ndarray of int
        The unlabeled rows.
    feature_names : list of str
        One per column of ``Z``.
    """

    Z: np.ndarray
    y: np.ndarray
    classes: list[str]
    unlabeled: np.ndarray
    feature_names: list[str] = field(default_factory=list)


@dataclass
class BatchChoice:
    """The result of :func:`choose_batch`.

    Attributes
    ----------
    rows : numpy.ndarray of int
        Chosen rows of the table (0-based), in the order chosen.
    scores : numpy.ndarray of float
        Per row: the step's gain (batchbald), the BALD score (bald, powerbald,
        random) or the entropy (entropy) in nats; NaN for a cold start.
    mean_probs : numpy.ndarray of shape (len(rows), C) or None
        The members' mean prediction for each chosen row; None for a cold
        start.
    model : str or None
        The model fitted (None for a cold start).
    selection : batchbald.engine.BatchSelection or None
        The engine's result (joint information, saturation); None for a
        cold start.
    n_members : int
        K, the members the selection used.
    drawn_bald : numpy.ndarray of float or None
        BatchBALD only: per row, the BALD score (of what the selection
        scored) of a row drawn PowerBALD-style once the batch saturated, why
        it was drawn although its gain is about 0; NaN for the rows chosen
        greedily. None when nothing was drawn.
    """

    rows: np.ndarray
    scores: np.ndarray
    mean_probs: np.ndarray | None = None
    model: str | None = None
    selection: Any = None
    n_members: int = 0
    drawn_bald: np.ndarray | None = None


def _sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def prepare(
    table: CsvTable,
    label_column: str,
    *,
    features: str | None = None,
    exclude: str | None = None,
    one_hot: bool = True,
    max_memory: int | None = None,
    notify: Notify = _quiet,
) -> LabelingProblem:
    """Features, labels and unlabeled rows of ``table``.

    ``features``/``exclude`` are comma-separated column names (see
    :func:`batchbald.features.feature_columns`); ``one_hot`` and
    ``max_memory`` are those of :func:`batchbald.features.encode_features`.
    ``notify`` hears about one-hot encoded and ID-like columns.
    """
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from .features import encode_features, feature_columns, id_like_columns

    labels = [v.strip() for v in table.column(label_column)]
    cols = feature_columns(table, label_column, features, exclude)
    if not table.rows:
        raise ValueError(f"{table.name} has a header but no data rows.")
    feats = encode_features(table, cols, one_hot, max_memory)
    if feats.encoded:
        notify(
            "one-hot encoding non-numeric column(s): "
            + ", ".join(f"{c} ({len(v)} values)" for c, v in feats.encoded.items())
        )
    for c in id_like_columns(feats.encoded, len(table.rows)):
        notify(
            f"warning: column {c!r} has {len(feats.encoded[c])} distinct values, "
            f"like an ID; leave it out with --exclude {c}."
        )
    classes = sorted({v for v in labels if v}, key=_sort_key)
    codes = {c: k for k, c in enumerate(classes)}
    y = np.array([codes[v] if v else np.nan for v in labels], dtype=np.float64)
    unlabeled = np.flatnonzero(np.isnan(y))
    Z = StandardScaler().fit_transform(feats.X)
    return LabelingProblem(Z, y, classes, unlabeled, feats.names)


def _cold_start(pb, method, batch_size, rng, notify) -> BatchChoice:
    import numpy as np

    from .coldstart import diverse_batch

    if method == "random":  # random needs no model
        rows = pb.unlabeled[rng.permutation(len(pb.unlabeled))[:batch_size]]
        return BatchChoice(rows, np.full(len(rows), np.nan))
    why = (
        "no row is labeled yet"
        if not pb.classes
        else f"only one class ({pb.classes[0]!r}) is labeled so far"
    )
    notify(
        f"{why}, so no model can rank the rows: choosing a diverse batch "
        "instead (k-means++ seeding over the standardised features"
        + (", away from the labeled rows" if pb.classes else "")
        + f"), not {method}. Label it and run again."
    )
    labeled = np.flatnonzero(~np.isnan(pb.y))
    rows = diverse_batch(pb.Z, pb.unlabeled, labeled, batch_size, rng)
    return BatchChoice(rows, np.full(len(rows), np.nan))


def _model_name(model, pb, n_labeled, n_members, max_memory, notify) -> str:
    """``model`` (or the default that fits), its cost checked."""
    from . import models

    sizes = dict(
        n_samples=n_labeled,
        n_features=pb.Z.shape[1],
        n_classes=len(pb.classes),
        n_members=n_members,
    )
    if model is None:
        name, why = models.choose_model(
            models.DEFAULT_MODEL, max_memory=max_memory, **sizes
        )
        if why:
            notify(why + ".")
    else:
        name = models.resolve_model_name(model)
    cost = models.check_model_cost(name, max_memory=max_memory, **sizes)
    if cost.seconds is not None and cost.seconds > models.MAX_DEFAULT_SECONDS:
        notify(
            f"warning: fitting {name} is estimated to take about "
            f"{cost.seconds / 60:.0f} min; --model logreg-bagging or rf is faster."
        )
    return name


def _fit_probs(pb, name, n_members, seed, n_labeled, notify) -> np.ndarray:
    """Member probabilities of the unlabeled rows, (K, n_unlabeled, C)."""

    from . import models
    from .ensembles import ensemble_probas

    spec = models.make_model(
        name,
        n_features=pb.Z.shape[1],
        n_classes=len(pb.classes),
        n_members=n_members,
        random_state=seed,
    )
    notify(f"fitting {name} ({n_members} members) on {n_labeled} labeled rows ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probs, _ = ensemble_probas(
            spec.estimator,
            pb.Z[pb.unlabeled],
            X=pb.Z,
            y=pb.y,
            fit=True,
            **spec.predict_kwargs,
        )
    kinds = sorted({w.category.__name__ for w in caught})
    if kinds:
        notify(
            f"the model issued {len(caught)} warning(s) while fitting "
            f"({', '.join(kinds)}); with few labels that is common."
        )
    return probs


def _check(method, batch_size, n_members, seed) -> None:
    if method not in SCORE_COLUMN:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    for name, value in (("batch_size", batch_size), ("n_members", n_members)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < 1
        ):
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not (0 <= int(seed) < 2**32)
    ):
        raise ValueError(f"seed must be an integer in [0, 2**32); got {seed!r}.")


def choose_batch(
    problem: LabelingProblem,
    batch_size: int,
    *,
    method: str = "batchbald",
    model: str | None = None,
    n_members: int = 10,
    seed: int = 0,
    n_configurations: int | None = None,
    beta: float | None = None,
    max_memory: int | None = None,
    callback: Callable | None = None,
    notify: Notify = _quiet,
) -> BatchChoice:
    """Choose up to ``batch_size`` unlabeled rows of ``problem`` to label.

    Parameters
    ----------
    problem : LabelingProblem
        From :func:`prepare`; must have an unlabeled row.
    batch_size : int
        Rows to choose (at most the unlabeled ones are).
    method : str, default="batchbald"
        A key of :data:`SCORE_COLUMN`.
    model : str, default=None
        A model name of :mod:`batchbald.models`; None: its default, or the
        scalable model when that would not fit (``notify`` says so).
    n_members : int, default=10
        Members K of the ensemble.
    seed : int, default=0
        Seed of the model and of every random choice.
    n_configurations : int, default=None
        batchbald and batchepig: configurations M (None: the strategy's
        default).
    beta : float, default=None
        The sampling strategies' inverse temperature (None: 1).
    max_memory : int, default=None
        Budget in bytes for the model's cost check (None:
        :func:`batchbald.models.default_max_memory`).
    callback : callable, default=None
        Called after each pick (progress).
    notify : callable, default=None
        Receives a sentence for each thing worth telling the user.

    Returns
    -------
    BatchChoice
    """
    import numpy as np

    from .utils import check_random_state

    _check(method, batch_size, n_members, seed)
    pb = problem
    if len(pb.unlabeled) == 0:
        raise ValueError("every row is labeled; there is nothing to choose.")
    batch_size = min(int(batch_size), len(pb.unlabeled))
    if len(pb.classes) < 2:
        return _cold_start(pb, method, batch_size, check_random_state(seed), notify)
    if n_members < 2 and method in ("batchbald", "bald", "powerbald"):
        notify(
            f"warning: with --members {n_members} every BALD score is 0, so "
            f"--method {method} chooses arbitrarily; use --members 2 or more."
        )
    n_labeled = int(np.sum(~np.isnan(pb.y)))
    name = _model_name(model, pb, n_labeled, n_members, max_memory, notify)
    probs = _fit_probs(pb, name, n_members, seed, n_labeled, notify)
    # a scikit-learn ensemble's members vote (the BatchBALD remedy)
    votes = method == "batchbald" and name != "mc-dropout"
    sel = select_from_probabilities(
        probs,
        method,
        batch_size,
        random_state=seed,
        n_configurations=n_configurations,
        beta=beta,
        callback=callback,
        member_votes=votes,
    )
    chosen_K_b_C = np.asarray(probs[:, sel.indices, :])
    drawn = None
    if method == "batchbald":  # the rows its completion drew, with why
        from .saturation import drawn_bald_scores

        drawn = drawn_bald_scores(sel, chosen_K_b_C, votes)
    return BatchChoice(
        pb.unlabeled[sel.indices],
        sel.gains,
        chosen_K_b_C.mean(axis=0),
        name,
        sel,
        int(probs.shape[0]),
        drawn,
    )
