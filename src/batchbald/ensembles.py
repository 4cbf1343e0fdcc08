"""Member probabilities ``probs_K_N_C`` from ensembles of classifiers.

BALD and BatchBALD need, for every candidate sample, the class probabilities
predicted by each of ``K`` posterior samples (ensemble members, MC-dropout
passes, ...). :func:`ensemble_probas` extracts them, shaped (K, N, C), from

1. a ``BaggingClassifier``, ``RandomForestClassifier`` or
   ``ExtraTreesClassifier``, bare or inside a
   :class:`~batchbald.classifier.SklearnClassifier`;
2. a scikit-learn ``Pipeline`` ending in one of these (its members are the
   preprocessing followed by each member), e.g.
   ``make_pipeline(StandardScaler(), RandomForestClassifier())``;
3. a list or tuple of classifiers, each one member;
4. any estimator (or a Pipeline ending in one) with a method returning
   (K, N, C) probabilities, named by ``sample_predictions_method_name`` (for
   example an MC-dropout network's ``sample_proba(X, n_samples=K)``).

``X`` may be a numpy array, a sparse matrix or a pandas DataFrame; a
DataFrame reaches the estimators as it is (so that column names work), its
rows taken by position. Estimators need not derive from scikit-learn's
``BaseEstimator``: ``fit`` and the prediction method are enough.

The kinds are handled by the adapters of :mod:`batchbald._adapters`, chosen
once by :func:`select_adapter`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.ensemble import BaggingClassifier

from ._adapters import (
    ENSEMBLE_TYPES,
    EnsembleAdapter,
    TrainingData,
    check_same_missing_label,
    select_adapter,
)
from ._arrays import check_X, n_rows
from ._labels import (
    check_classes,
    check_labels,
    check_missing_label,
    check_sample_weight,
)
from .classifier import SklearnClassifier
from .information import check_probabilities
from .utils import MISSING_LABEL, check_positive_int

__all__ = [
    "ENSEMBLE_TYPES",
    "EnsembleAdapter",
    "bagging_ensemble",
    "ensemble_probas",
    "select_adapter",
]


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
          ``ExtraTreesClassifier`` (or a Pipeline ending in one). When it fell
          back (fewer than two classes labeled) there are no members: the
          result then holds ``n_estimators`` copies of its fallback
          prediction, so BALD scores are 0;
        - a bare ``BaggingClassifier``, ``RandomForestClassifier`` or
          ``ExtraTreesClassifier`` (fitted on the labeled samples only);
        - a scikit-learn ``Pipeline`` whose last step is one of the above (or
          has the sample-predictions method): the candidates go through the
          preprocessing steps once, then through each member. It is fitted on
          every sample when its last step handles missing labels (a
          ``SklearnClassifier``), else on the labeled samples;
        - a non-empty list or tuple of classifiers, one per member. When
          fitting, members that handle missing labels (a ``SklearnClassifier``
          or any estimator with a ``missing_label`` parameter) get the full
          ``y``; the others get the labeled samples only;
        - any estimator with a method named ``sample_predictions_method_name``
          (fitted like a list member).

        Estimators need not derive from scikit-learn's ``BaseEstimator``:
        ``fit`` and ``predict_proba`` (or ``predict``, or the named method)
        are enough.
    X_cand : array-like, sparse matrix or DataFrame of shape \
(n_candidates, n_features)
        The samples to predict. For a ``sample_predictions`` method, a list of
        members or a Pipeline, any shape ``(n_candidates, ...)`` (e.g. images)
        is allowed. A DataFrame reaches the estimators as it is; where
        batchbald reads bagging or forest members itself, its columns must
        match the ensemble's ``feature_names_in_``.
    X : array-like, sparse matrix or DataFrame of shape (n_samples, \
n_features), default=None
        Training features; required when ``fit=True``, ignored otherwise.
        Rows of a DataFrame are taken by position (``.iloc``).
    y : array-like or Series of shape (n_samples,), default=None
        Training labels with ``missing_label`` for unlabeled samples (read by
        position; a nullable pandas dtype's ``<NA>`` counts as ``np.nan``);
        required when ``fit=True``, ignored otherwise.
    fit : bool, default=False
        If True, a copy of ``ensemble`` (of each member for a list) is fitted
        on ``(X, y)`` and returned; ``ensemble`` itself is never modified.
        The copy is ``sklearn.base.clone(ensemble)`` when that works (the
        estimator has ``get_params``), else ``copy.deepcopy(ensemble)``,
        whose ``fit`` must then start afresh. If False, ``ensemble`` must
        already be fitted: a scikit-learn estimator as ``check_is_fitted``
        says, any other object when it has an attribute ending in ``_`` or
        a ``__sklearn_is_fitted__`` method returning True.
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
    fit = _check_parameters(
        fit, missing_label, sample_predictions_method_name, sample_predictions_dict
    )
    adapter = select_adapter(
        ensemble, sample_predictions_method_name, sample_predictions_dict
    )
    X_cand = check_X(X_cand, "X_cand", allow_nd=adapter.allow_nd)
    if n_rows(X_cand) == 0:
        raise ValueError("X_cand must hold at least one sample; got 0 rows.")
    if classes is not None:
        classes = check_classes(classes, missing_label)
    if fit:
        data = _training_data(
            adapter, X, y, sample_weight, classes, missing_label, adapter.allow_nd
        )
        adapter.fit(data)
    else:
        adapter.check_fitted()
    probs = np.asarray(adapter.member_probas(X_cand, classes))
    # float32 predictions stay float32: a float64 copy of a large pool would
    # double the input and break the engine's max_memory budget.
    probs = np.ascontiguousarray(probs, dtype=np.result_type(probs.dtype, np.float32))
    check_probabilities(probs, name="probs_K_N_C")
    return probs, adapter.estimator


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
# Parameters and training data
# ---------------------------------------------------------------------------


def _check_parameters(fit, missing_label, method_name, method_kwargs) -> bool:
    if not isinstance(fit, (bool, np.bool_)):
        raise TypeError(f"fit must be a bool; got {type(fit).__name__} {fit!r}.")
    check_missing_label(missing_label)
    if method_name is None and method_kwargs is not None:
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
    if method_kwargs is not None and not isinstance(method_kwargs, Mapping):
        raise TypeError(
            "sample_predictions_dict must be a dict of keyword arguments or None; "
            f"got {type(method_kwargs).__name__} {method_kwargs!r}."
        )
    return bool(fit)


def _training_data(
    adapter: EnsembleAdapter, X, y, sample_weight, classes, missing_label, allow_nd
) -> TrainingData:
    """Validate ``X, y, sample_weight`` once for all the fits of the call."""
    if X is None or y is None:
        raise ValueError(
            "fit=True needs the training data: X and y must not be None; got "
            f"X={'None' if X is None else 'an array'} and "
            f"y={'None' if y is None else 'an array'}."
        )
    X = check_X(X, "X", allow_nd=allow_nd)
    for name, estimator in adapter.estimators():
        check_same_missing_label(estimator, missing_label, name)
    # Estimators that handle missing labels validate y once more themselves
    # (they may know the classes even when nothing is labeled).
    n_samples = n_rows(X)
    labeled, codes, fit_classes = check_labels(
        y, n_samples, classes, missing_label, require_classes=False
    )
    return TrainingData(
        X=X,
        y=y,
        w=check_sample_weight(sample_weight, n_samples),
        labeled=labeled,
        y_labeled=fit_classes[codes],
        fit_classes=fit_classes,
        classes=classes,
        missing_label=missing_label,
    )
