"""Member probabilities ``probs_K_N_C`` from ensembles of classifiers.

BALD and BatchBALD need, for every candidate sample, the class probabilities
predicted by each of ``K`` posterior samples (ensemble members, MC-dropout
passes, ...). :func:`ensemble_probas` extracts them, shaped (K, N, C), from

1. a :class:`~batchbald.classifier.SklearnClassifier` around a
   ``BaggingClassifier``, ``RandomForestClassifier`` or ``ExtraTreesClassifier``;
2. one of these scikit-learn ensembles itself;
3. a list or tuple of classifiers, each one member;
4. any estimator with a method returning (K, N, C) probabilities, named by
   ``sample_predictions_method_name`` (for example an MC-dropout network's
   ``sample_proba(X, n_samples=K)``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
)
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .classifier import (
    SklearnClassifier,
    _check_classes,
    _check_labels,
    _check_missing_label,
    _check_sample_weight,
    _check_X,
    _same_missing_label,
)
from .information import check_probabilities
from .utils import MISSING_LABEL, check_positive_int

__all__ = ["ENSEMBLE_TYPES", "bagging_ensemble", "ensemble_probas"]

#: scikit-learn ensembles whose fitted members :func:`ensemble_probas` reads.
ENSEMBLE_TYPES = (BaggingClassifier, RandomForestClassifier, ExtraTreesClassifier)

_ACCEPTED = (
    "a SklearnClassifier around a BaggingClassifier, RandomForestClassifier or "
    "ExtraTreesClassifier; one of these scikit-learn ensembles; a non-empty "
    "list or tuple of classifiers; or an estimator with the method named by "
    "sample_predictions_method_name"
)


def ensemble_probas(
    ensemble,
    X_cand,
    *,
    X=None,
    y=None,
    fit: bool = False,
    sample_weight=None,
    classes=None,
    missing_label=MISSING_LABEL,
    sample_predictions_method_name: str | None = None,
    sample_predictions_dict: Mapping | None = None,
) -> tuple[np.ndarray, object]:
    """Class probabilities of every ensemble member for the candidates.

    Parameters
    ----------
    ensemble : estimator, list or tuple
        What to read the members from; one of

        - a :class:`~batchbald.classifier.SklearnClassifier` whose estimator is
          a ``BaggingClassifier``, ``RandomForestClassifier`` or
          ``ExtraTreesClassifier``. When it fell back (fewer than two classes
          labeled) there are no members: the result then holds ``n_estimators``
          copies of its fallback prediction, so BALD scores are 0;
        - a bare ``BaggingClassifier``, ``RandomForestClassifier`` or
          ``ExtraTreesClassifier`` (fitted on the labeled samples only);
        - a non-empty list or tuple of classifiers, one per member. When
          fitting, members that handle missing labels (a ``SklearnClassifier``
          or any estimator with a ``missing_label`` parameter) get the full
          ``y``; the others get the labeled samples only;
        - any estimator with a method named ``sample_predictions_method_name``
          (fitted like a list member).
    X_cand : array-like of shape (n_candidates, n_features)
        The samples to predict. For a ``sample_predictions`` method or a list
        of members, any shape ``(n_candidates, ...)`` (e.g. images) is allowed.
    X : array-like of shape (n_samples, n_features), default=None
        Training features; required when ``fit=True``, ignored otherwise.
    y : array-like of shape (n_samples,), default=None
        Training labels with ``missing_label`` for unlabeled samples; required
        when ``fit=True``, ignored otherwise.
    fit : bool, default=False
        If True, a clone of ``ensemble`` (of each member for a list) is fitted
        on ``(X, y)`` and returned; ``ensemble`` itself is never modified. If
        False, ``ensemble`` must already be fitted.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights passed to the fit (labeled entries only for estimators that do
        not handle missing labels); ignored when ``fit=False``.
    classes : array-like of shape (n_classes,), default=None
        Column order of the result. ``None`` uses the ensemble's ``classes_``
        (for a list: the members' common ``classes_``, else their sorted
        union; with ``fit=True`` the classes of ``y``). Classes an estimator
        never saw get probability 0. When fitting, a ``SklearnClassifier``
        (or member) whose ``classes`` parameter is ``None`` gets this value.
    missing_label : scalar, default=np.nan
        The value that marks an unlabeled sample in ``y``. Must equal the
        ``missing_label`` parameter of the estimators that have one.
    sample_predictions_method_name : str, default=None
        Name of a method of ``ensemble`` called as
        ``method(X_cand, **sample_predictions_dict)`` that returns (K, N, C)
        probabilities (a numpy array or a CPU torch tensor). Takes precedence
        over the other kinds of ``ensemble``.
    sample_predictions_dict : dict, default=None
        Keyword arguments for that method, e.g. ``{"n_samples": 20}``; only
        valid together with ``sample_predictions_method_name``.

    Returns
    -------
    probs_K_N_C : numpy.ndarray of float32 or float64, shape (K, n_candidates, C)
        Member ``k``'s probability of class ``c`` for candidate ``n``; rows sum
        to 1. float32 predictions (of a ``sample_predictions_method_name``)
        are kept in float32, without a copy when already in class order;
        everything else is float64.
    fitted_ensemble : estimator, list or tuple
        The fitted clone when ``fit=True`` (a list or tuple of fitted clones
        for a list or tuple), else ``ensemble`` itself.

    Raises
    ------
    TypeError
        If ``ensemble`` is of none of the accepted kinds, or on ill-typed
        parameters.
    ValueError
        On inconsistent inputs (missing ``X``/``y`` with ``fit=True``, labels
        outside ``classes``, feature counts that differ, predictions of the
        wrong shape, ``sample_predictions_dict`` without a method name).
    sklearn.exceptions.NotFittedError
        If ``fit=False`` and ``ensemble`` is not fitted (a ``ValueError``).
    """
    # -- parameters --------------------------------------------------------
    if not isinstance(fit, (bool, np.bool_)):
        raise TypeError(f"fit must be a bool; got {type(fit).__name__} {fit!r}.")
    fit = bool(fit)
    _check_missing_label(missing_label)
    method_name = sample_predictions_method_name
    if method_name is None and sample_predictions_dict is not None:
        raise ValueError(
            "sample_predictions_dict was given but sample_predictions_method_name "
            "is None; name the method that takes these keyword arguments, e.g. "
            "sample_predictions_method_name='sample_proba'."
        )
    if method_name is not None and not isinstance(method_name, str):
        raise TypeError(
            "sample_predictions_method_name must be a str or None; got "
            f"{type(method_name).__name__} {method_name!r}."
        )
    if sample_predictions_dict is not None and not isinstance(
        sample_predictions_dict, Mapping
    ):
        raise TypeError(
            "sample_predictions_dict must be a dict of keyword arguments or None; "
            f"got {type(sample_predictions_dict).__name__} "
            f"{sample_predictions_dict!r}."
        )
    kind = _kind(ensemble, method_name)
    # Members reading feature subsets need 2-D X; a sample_predictions method
    # (e.g. a network on images) or list members may take (n_samples, ...).
    allow_nd = kind in ("method", "list")
    X_cand = _check_X(X_cand, "X_cand", allow_nd=allow_nd)
    if X_cand.shape[0] == 0:
        raise ValueError("X_cand must hold at least one sample; got 0 rows.")
    if classes is not None:
        classes = _check_classes(classes, missing_label)

    # -- fitting -----------------------------------------------------------
    fit_classes = None
    if fit:
        if X is None or y is None:
            raise ValueError(
                "fit=True needs the training data: X and y must not be None; got "
                f"X={'None' if X is None else 'an array'} and "
                f"y={'None' if y is None else 'an array'}."
            )
        X = _check_X(X, "X", allow_nd=allow_nd)
        members = enumerate(ensemble) if kind == "list" else [(None, ensemble)]
        for i, member in members:
            name = "ensemble" if i is None else f"ensemble[{i}]"
            _check_same_missing_label(member, missing_label, name)
        # Estimators that handle missing labels validate y once more
        # themselves (they may know the classes even when nothing is labeled).
        labeled, codes, fit_classes = _check_labels(
            y, X.shape[0], classes, missing_label, require_classes=False
        )
        w = _check_sample_weight(sample_weight, X.shape[0])
        data = _TrainingData(
            X, y, w, labeled, codes, fit_classes, classes, missing_label
        )
        if kind == "list":
            fitted = type(ensemble)(
                _fit_member(m, data, f"ensemble[{i}]") for i, m in enumerate(ensemble)
            )
        else:
            fitted = _fit_member(ensemble, data, "ensemble")
    else:
        fitted = ensemble
        if kind == "list":
            for i, member in enumerate(ensemble):
                _check_fitted(member, f"ensemble[{i}]")
        elif kind != "method" or hasattr(ensemble, "fit"):
            _check_fitted(ensemble, "ensemble")

    # -- prediction --------------------------------------------------------
    if kind == "method":
        probs = _method_probas(
            fitted, X_cand, method_name, sample_predictions_dict, classes
        )
    elif kind == "wrapper":
        probs = _wrapper_probas(fitted, X_cand, classes)
    elif kind == "sklearn":
        probs = _sklearn_ensemble_probas(fitted, X_cand, classes)
    else:
        probs = _list_probas(fitted, X_cand, classes, fit_classes)
    # float32 predictions stay float32: a float64 copy of a large pool would
    # double the input and break the engine's max_memory budget.
    probs = np.ascontiguousarray(probs, dtype=np.result_type(probs.dtype, np.float32))
    check_probabilities(probs, name="probs_K_N_C")
    return probs, fitted


def bagging_ensemble(
    estimator, n_estimators: int = 10, *, classes=None, random_state=None
) -> SklearnClassifier:
    """A bagging ensemble that tolerates missing labels, as in the seed example.

    ``SklearnClassifier(BaggingClassifier(SklearnClassifier(estimator)))``: the
    outer wrapper fits on the labeled samples only (predicting class
    frequencies while fewer than two classes are labeled), and the wrapped
    members do the same for bootstrap samples that hold a single class.

    Parameters
    ----------
    estimator : scikit-learn classifier
        The member model (cloned for every member).
    n_estimators : int, default=10
        Number of members ``K``.
    classes : array-like of shape (n_classes,), default=None
        All classes, so that predictions have a column for each from the
        start (see :class:`~batchbald.classifier.SklearnClassifier`).
    random_state : None, int or numpy.random.RandomState, default=None
        Passed to the two wrappers and to the bagging classifier.

    Returns
    -------
    batchbald.classifier.SklearnClassifier
        Unfitted; its members are what :func:`ensemble_probas` reads.
    """
    n_estimators = check_positive_int(n_estimators, "n_estimators")
    member = SklearnClassifier(estimator, random_state=random_state)
    bagging = BaggingClassifier(
        member, n_estimators=n_estimators, random_state=random_state
    )
    return SklearnClassifier(bagging, classes=classes, random_state=random_state)


# ---------------------------------------------------------------------------
# Dispatch and fitting
# ---------------------------------------------------------------------------


def _kind(ensemble, method_name) -> str:
    if method_name is not None:
        method = getattr(ensemble, method_name, None)
        if not callable(method) or isinstance(ensemble, type):
            raise TypeError(
                f"ensemble must have a method named {method_name!r} "
                "(sample_predictions_method_name); got "
                f"{type(ensemble).__name__} {ensemble!r}, which has none."
            )
        return "method"
    if isinstance(ensemble, SklearnClassifier):
        if not isinstance(ensemble.estimator, ENSEMBLE_TYPES):
            raise TypeError(
                "ensemble is a SklearnClassifier around "
                f"{type(ensemble.estimator).__name__}, which has no members; "
                f"accepted are {_ACCEPTED}."
            )
        return "wrapper"
    if isinstance(ensemble, ENSEMBLE_TYPES):
        return "sklearn"
    if isinstance(ensemble, (list, tuple)):
        if len(ensemble) == 0:
            raise ValueError(
                f"ensemble is an empty {type(ensemble).__name__}; a list or tuple "
                "needs at least one classifier."
            )
        for i, member in enumerate(ensemble):
            if (
                isinstance(member, type)
                or not hasattr(member, "fit")
                or not (hasattr(member, "predict_proba") or hasattr(member, "predict"))
            ):
                raise TypeError(
                    f"ensemble[{i}] must be a classifier instance with fit and "
                    f"predict_proba (or predict); got {type(member).__name__} "
                    f"{member!r}."
                )
        return "list"
    raise TypeError(
        f"ensemble must be {_ACCEPTED}; got {type(ensemble).__name__} {ensemble!r}."
    )


class _TrainingData:
    """The validated training data shared by the members' fits."""

    def __init__(self, X, y, w, labeled, codes, fit_classes, classes, missing_label):
        self.X = X
        self.y = y
        self.w = w
        self.labeled = labeled
        self.y_labeled = fit_classes[codes]
        self.classes = classes
        self.missing_label = missing_label


def _params(estimator) -> dict:
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    try:
        return get_params(deep=False)
    except TypeError:  # pragma: no cover - unusual get_params
        return {}


def _handles_missing_labels(estimator) -> bool:
    return isinstance(estimator, SklearnClassifier) or "missing_label" in _params(
        estimator
    )


def _check_same_missing_label(estimator, missing_label, name: str) -> None:
    """An estimator's own ``missing_label`` must mark the same samples."""
    params = _params(estimator)
    if "missing_label" in params and not _same_missing_label(
        params["missing_label"], missing_label
    ):
        raise ValueError(
            f"missing_label={missing_label!r} differs from the missing_label "
            f"parameter of {name} ({params['missing_label']!r}); they must agree."
        )


def _fit_member(estimator, data: _TrainingData, name: str):
    """Fit a clone of ``estimator``; never touch ``estimator`` itself."""
    model = (
        clone(estimator)
        if hasattr(estimator, "get_params")
        else copy.deepcopy(estimator)
    )
    params = _params(model)
    if data.classes is not None and "classes" in params and params["classes"] is None:
        model.set_params(classes=data.classes)
    if _handles_missing_labels(model):
        X_fit, y_fit, w_fit = data.X, data.y, data.w
    else:
        if not data.labeled.any():
            raise ValueError(
                f"{name} ({type(model).__name__}) cannot be fitted: y has no "
                "labeled samples. Wrap it in batchbald.classifier.SklearnClassifier "
                "to predict uniform probabilities until labels arrive."
            )
        X_fit, y_fit = data.X[data.labeled], data.y_labeled
        w_fit = None if data.w is None else data.w[data.labeled]
    if w_fit is None:
        model.fit(X_fit, y_fit)
    elif has_fit_parameter(model, "sample_weight"):
        model.fit(X_fit, y_fit, sample_weight=w_fit)
    else:
        raise TypeError(
            f"sample_weight was given but {name} ({type(model).__name__}) does not "
            "accept sample_weight in fit; pass sample_weight=None."
        )
    return model


def _check_fitted(estimator, name: str) -> None:
    check_is_fitted(
        estimator,
        msg=(
            f"{name} ({type(estimator).__name__}) is not fitted yet: fit it first, "
            "or pass fit=True together with X and y."
        ).replace("%", "%%"),
    )


# ---------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------


def _target(own_classes, classes, name: str) -> tuple[np.ndarray, dict]:
    """Columns of the result and a label -> column lookup."""
    own = np.asarray(own_classes)
    if classes is None:
        target = own
    else:
        target = classes
        known = set(target.tolist())
        extra = [c for c in own.tolist() if c not in known]
        if extra:
            raise ValueError(
                f"{name} knows classes {extra!r} that are not in classes="
                f"{target.tolist()!r}; classes must include all of {name}'s "
                "classes_."
            )
    return target, {c: i for i, c in enumerate(target.tolist())}


def _check_n_features(estimator, X_cand, name: str) -> None:
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and X_cand.ndim == 2 and X_cand.shape[1] != n_features:
        raise ValueError(
            f"X_cand has {X_cand.shape[1]} features, but {name} was fitted with "
            f"{n_features} features."
        )


def _member_probas(
    member, X_k, labels_of, lookup: dict, n_classes: int, name: str
) -> np.ndarray:
    """One member's (N, C) probabilities over the target columns.

    ``labels_of`` turns the member's class values (its ``classes_`` entries or
    predictions) into labels of the target classes.
    """
    n = X_k.shape[0]
    out = np.zeros((n, n_classes), dtype=np.float64)
    if hasattr(member, "predict_proba"):
        member_labels = labels_of(np.asarray(member.classes_)).tolist()
        try:
            columns = [lookup[c] for c in member_labels]
        except KeyError as exc:
            raise ValueError(
                f"{name} predicts class {exc.args[0]!r}, which is not among the "
                f"classes {list(lookup)!r}."
            ) from None
        probs = np.asarray(member.predict_proba(X_k), dtype=np.float64)
        if probs.shape != (n, len(columns)):
            raise ValueError(
                f"{name}.predict_proba returned shape {probs.shape}; expected "
                f"({n}, {len(columns)}) to match its classes_."
            )
        out[:, columns] = probs
    else:  # hard votes
        predictions = labels_of(np.asarray(member.predict(X_k))).tolist()
        try:
            columns = [lookup[p] for p in predictions]
        except KeyError as exc:
            raise ValueError(
                f"{name} predicts class {exc.args[0]!r}, which is not among the "
                f"classes {list(lookup)!r}."
            ) from None
        out[np.arange(n), columns] = 1.0
    return out


def _fitted_members_probas(ens, X_cand, lookup, n_classes, name) -> np.ndarray:
    """Stack the members of a fitted bagging classifier or forest."""
    ens_classes = np.asarray(ens.classes_)

    def labels_of(encoded):
        # Bagging and forests fit their members on class indices.
        return ens_classes[np.asarray(encoded).astype(np.intp)]

    members = ens.estimators_
    features = getattr(ens, "estimators_features_", None)
    probs_K_N_C = np.empty((len(members), X_cand.shape[0], n_classes))
    for k, member in enumerate(members):
        X_k = X_cand if features is None else X_cand[:, features[k]]
        probs_K_N_C[k] = _member_probas(
            member, X_k, labels_of, lookup, n_classes, f"{name}.estimators_[{k}]"
        )
    return probs_K_N_C


def _wrapper_probas(wrapper: SklearnClassifier, X_cand, classes) -> np.ndarray:
    _check_n_features(wrapper, X_cand, "ensemble")
    target, lookup = _target(wrapper.classes_, classes, "ensemble")
    if wrapper.estimator_ is None:
        n_members = int(wrapper.estimator.get_params()["n_estimators"])
        probs_N_C = _member_probas(
            wrapper, X_cand, lambda v: v, lookup, len(target), "ensemble"
        )
        return np.broadcast_to(probs_N_C, (n_members, *probs_N_C.shape)).copy()
    return _fitted_members_probas(
        wrapper.estimator_, X_cand, lookup, len(target), "ensemble.estimator_"
    )


def _sklearn_ensemble_probas(ens, X_cand, classes) -> np.ndarray:
    _check_n_features(ens, X_cand, "ensemble")
    target, lookup = _target(ens.classes_, classes, "ensemble")
    return _fitted_members_probas(ens, X_cand, lookup, len(target), "ensemble")


def _list_probas(members, X_cand, classes, fit_classes) -> np.ndarray:
    for i, member in enumerate(members):
        _check_n_features(member, X_cand, f"ensemble[{i}]")
        if not hasattr(member, "classes_"):
            raise TypeError(
                f"ensemble[{i}] ({type(member).__name__}) has no classes_ after "
                "fitting; members must be classifiers."
            )
    if classes is not None:
        own = classes
    elif fit_classes is not None and len(fit_classes) > 0:
        own = fit_classes
    else:
        own = _common_classes([np.asarray(m.classes_) for m in members])
    target, lookup = _target(own, classes, "ensemble")
    probs_K_N_C = np.empty((len(members), X_cand.shape[0], len(target)))
    for k, member in enumerate(members):
        probs_K_N_C[k] = _member_probas(
            member, X_cand, lambda v: v, lookup, len(target), f"ensemble[{k}]"
        )
    return probs_K_N_C


def _common_classes(classes_list: list[np.ndarray]) -> np.ndarray:
    """The members' classes_ when they agree, else their sorted union."""
    first = classes_list[0]
    if all(c.tolist() == first.tolist() for c in classes_list[1:]):
        return first
    union = sorted({v for c in classes_list for v in c.tolist()})
    return np.asarray(union)


def _method_probas(estimator, X_cand, method_name, method_kwargs, classes):
    output = getattr(estimator, method_name)(X_cand, **(method_kwargs or {}))
    if hasattr(output, "detach"):  # a torch tensor
        output = output.detach().cpu().numpy()
    label = f"the output of ensemble.{method_name}"
    probs_K_N_C = check_probabilities(output, name=label)
    if probs_K_N_C.shape[1] != X_cand.shape[0]:
        raise ValueError(
            f"{label} must have shape (K, n_candidates={X_cand.shape[0]}, C); got "
            f"{probs_K_N_C.shape}."
        )
    n_out = probs_K_N_C.shape[2]
    own = getattr(estimator, "classes_", None)
    if own is None:
        if classes is not None and len(classes) != n_out:
            raise ValueError(
                f"{label} has {n_out} classes but classes has {len(classes)}; "
                "the estimator has no classes_ to match them up."
            )
        return probs_K_N_C
    own = np.asarray(own)
    if len(own) != n_out:
        raise ValueError(
            f"{label} has {n_out} classes but ensemble.classes_ has {len(own)}."
        )
    target, lookup = _target(own, classes, "ensemble")
    columns = [lookup[c] for c in own.tolist()]
    if columns == list(range(len(target))):  # already in order: no copy
        return probs_K_N_C
    dtype = np.result_type(probs_K_N_C.dtype, np.float32)
    out = np.zeros((*probs_K_N_C.shape[:2], len(target)), dtype=dtype)
    out[:, :, columns] = probs_K_N_C
    return out
