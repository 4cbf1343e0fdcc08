"""Ensemble adapters: how to fit an ensemble and read its members' predictions.

:func:`select_adapter` looks at what the user passed once and returns an
:class:`EnsembleAdapter`; :func:`batchbald.ensembles.ensemble_probas` then only
calls its :meth:`~EnsembleAdapter.fit` (or
:meth:`~EnsembleAdapter.check_fitted`) and
:meth:`~EnsembleAdapter.member_probas`. Every adapter places the members'
predictions onto the requested classes through
:func:`batchbald._labels.probas_on_classes`, the helper that
:meth:`SklearnClassifier.predict_proba
<batchbald.classifier.SklearnClassifier.predict_proba>` uses too.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import (
    BaggingClassifier,
    ExtraTreesClassifier,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from ._arrays import check_feature_names, n_rows, take_rows, to_numeric_array
from ._estimators import (
    check_fitted,
    clone_or_copy,
    estimator_params,
    is_classifier_like,
)
from ._labels import (
    common_classes,
    probas_on_classes,
    same_missing_label,
    target_classes,
)
from .classifier import SklearnClassifier
from .information import check_probabilities

__all__ = [
    "ENSEMBLE_TYPES",
    "EnsembleAdapter",
    "TrainingData",
    "fit_estimator",
    "select_adapter",
]

#: scikit-learn ensembles whose fitted members are read one by one.
ENSEMBLE_TYPES = (BaggingClassifier, RandomForestClassifier, ExtraTreesClassifier)

ACCEPTED = (
    "a BaggingClassifier, RandomForestClassifier or ExtraTreesClassifier, bare, "
    "in a SklearnClassifier or as the last step of a Pipeline; a non-empty "
    "list or tuple of classifiers; or an estimator (or a Pipeline ending in "
    "one) with the method named by sample_predictions_method_name"
)


@dataclass
class TrainingData:
    """The validated training data shared by the fits of one call."""

    X: object
    y: object
    w: np.ndarray | None
    labeled: np.ndarray
    y_labeled: np.ndarray
    fit_classes: np.ndarray
    classes: np.ndarray | None
    missing_label: object


# ---------------------------------------------------------------------------
# Fitting one estimator
# ---------------------------------------------------------------------------


def final_step(estimator) -> tuple[str, object]:
    """The estimator that receives the labels, and its parameter prefix.

    A Pipeline is unwrapped to its last step (recursively), so that
    ``missing_label``, ``classes`` and ``sample_weight`` reach the classifier
    at its end (``"step__classes"``).
    """
    prefix = ""
    while isinstance(estimator, Pipeline) and estimator.steps:
        step_name, estimator = estimator.steps[-1]
        prefix += f"{step_name}__"
    return prefix, estimator


def handles_missing_labels(estimator) -> bool:
    """Whether ``estimator`` (a Pipeline's last step) takes unlabeled samples."""
    final = final_step(estimator)[1]
    return isinstance(final, SklearnClassifier) or "missing_label" in (
        estimator_params(final)
    )


def check_same_missing_label(estimator, missing_label, name: str) -> None:
    """An estimator's own ``missing_label`` must mark the same samples."""
    params = estimator_params(final_step(estimator)[1])
    if "missing_label" in params and not same_missing_label(
        params["missing_label"], missing_label
    ):
        raise ValueError(
            f"missing_label={missing_label!r} differs from the missing_label "
            f"parameter of {name} ({params['missing_label']!r}); they must agree."
        )


def fit_estimator(estimator, data: TrainingData, name: str):
    """Fit a copy of ``estimator`` (clone, else deepcopy); never touch it.

    Estimators that handle missing labels (a ``SklearnClassifier``, anything
    with a ``missing_label`` parameter, a Pipeline ending in one) get every
    sample; the others get the labeled samples only.
    """
    model = clone_or_copy(estimator)
    prefix, final = final_step(model)
    params = estimator_params(final)
    if data.classes is not None and "classes" in params and params["classes"] is None:
        model.set_params(**{f"{prefix}classes": data.classes})
    if handles_missing_labels(model):
        X_fit, y_fit, w_fit = data.X, data.y, data.w
    else:
        if not data.labeled.any():
            raise ValueError(
                f"{name} ({type(model).__name__}) cannot be fitted: y has no "
                "labeled samples. Wrap it in batchbald.classifier.SklearnClassifier "
                "to predict uniform probabilities until labels arrive."
            )
        X_fit, y_fit = take_rows(data.X, data.labeled), data.y_labeled
        w_fit = None if data.w is None else data.w[data.labeled]
    if w_fit is None:
        model.fit(X_fit, y_fit)
    elif has_fit_parameter(final, "sample_weight"):
        model.fit(X_fit, y_fit, **{f"{prefix}sample_weight": w_fit})
    else:
        raise TypeError(
            f"sample_weight was given but {name} ({type(final).__name__}) does not "
            "accept sample_weight in fit; pass sample_weight=None."
        )
    return model


# ---------------------------------------------------------------------------
# The adapters
# ---------------------------------------------------------------------------


class EnsembleAdapter(abc.ABC):
    """How to fit one kind of ensemble and read its members.

    Parameters
    ----------
    estimator : object
        The ensemble; replaced by its fitted copy in :meth:`fit`.
    name : str, default="ensemble"
        How to name it in error messages.
    """

    #: Whether X may have more than two dimensions (images, sequences).
    allow_nd = False

    def __init__(self, estimator, name: str = "ensemble"):
        self.estimator = estimator
        self.name = name

    def estimators(self) -> Iterator[tuple[str, object]]:
        """``(name, estimator)`` of what gets fitted (for parameter checks)."""
        yield self.name, self.estimator

    def fit(self, data: TrainingData):
        """Fit a copy of the ensemble on ``data``; return (and keep) it."""
        self.estimator = fit_estimator(self.estimator, data, self.name)
        return self.estimator

    def check_fitted(self) -> None:
        """Raise ``NotFittedError`` unless the ensemble is fitted."""
        check_fitted(self.estimator, self.name)

    @abc.abstractmethod
    def member_probas(self, X_cand, classes: np.ndarray | None) -> np.ndarray:
        """``probs_K_N_C`` of the fitted members, columns ``classes`` (or own)."""


class MembersAdapter(EnsembleAdapter):
    """A bare ``BaggingClassifier``, ``RandomForestClassifier`` or ``ExtraTrees``."""

    def member_probas(self, X_cand, classes):
        ens = self.estimator
        check_feature_names(ens, X_cand, self.name)
        _, lookup = target_classes(ens.classes_, classes, self.name)
        X_arr = to_numeric_array(X_cand)
        ens_classes = np.asarray(ens.classes_)

        def decode(encoded):
            # Bagging and forests fit their members on class indices.
            return ens_classes[np.asarray(encoded).astype(np.intp)]

        members = ens.estimators_
        features = getattr(ens, "estimators_features_", None)
        probs_K_N_C = np.empty((len(members), n_rows(X_arr), len(lookup)))
        for k, member in enumerate(members):
            X_k = X_arr if features is None else X_arr[:, features[k]]
            probs_K_N_C[k] = probas_on_classes(
                member, X_k, lookup, name=f"{self.name}.estimators_[{k}]", decode=decode
            )
        return probs_K_N_C


def n_members(estimator) -> int:
    """``n_estimators`` of the ensemble inside wrappers and Pipelines."""
    while True:
        estimator = final_step(estimator)[1]
        if not isinstance(estimator, SklearnClassifier):
            break
        estimator = estimator.estimator
    return int(estimator_params(estimator).get("n_estimators", 1))


class WrapperAdapter(EnsembleAdapter):
    """A ``SklearnClassifier`` around an ensemble (or a Pipeline ending in one).

    When it fell back (fewer than two classes labeled) there are no members:
    ``n_estimators`` copies of the fallback prediction stand in for them.
    """

    def member_probas(self, X_cand, classes):
        wrapper = self.estimator
        check_feature_names(wrapper, X_cand, self.name)
        target, lookup = target_classes(wrapper.classes_, classes, self.name)
        if wrapper.estimator_ is None:
            probs_N_C = probas_on_classes(wrapper, X_cand, lookup, name=self.name)
            shape = (n_members(wrapper.estimator), *probs_N_C.shape)
            return np.broadcast_to(probs_N_C, shape).copy()
        inner = select_adapter(wrapper.estimator_, name=f"{self.name}.estimator_")
        return inner.member_probas(X_cand, target)


class ListAdapter(EnsembleAdapter):
    """A list or tuple of classifiers, one member each."""

    allow_nd = True

    def __init__(self, estimator, name: str = "ensemble"):
        super().__init__(estimator, name)
        self.fit_classes: np.ndarray | None = None

    def estimators(self):
        for i, member in enumerate(self.estimator):
            yield f"{self.name}[{i}]", member

    def fit(self, data):
        fitted = (fit_estimator(m, data, name) for name, m in self.estimators())
        self.estimator = type(self.estimator)(fitted)
        self.fit_classes = data.fit_classes
        return self.estimator

    def check_fitted(self):
        for name, member in self.estimators():
            check_fitted(member, name)

    def member_probas(self, X_cand, classes):
        for name, member in self.estimators():
            check_feature_names(member, X_cand, name)
            if not hasattr(member, "classes_"):
                raise TypeError(
                    f"{name} ({type(member).__name__}) has no classes_ after "
                    "fitting; members must be classifiers."
                )
        if classes is not None:
            own = classes
        elif self.fit_classes is not None and len(self.fit_classes) > 0:
            own = self.fit_classes
        else:
            own = common_classes([np.asarray(m.classes_) for m in self.estimator])
        _, lookup = target_classes(own, classes, self.name)
        return np.stack(
            [
                probas_on_classes(member, X_cand, lookup, name=name)
                for name, member in self.estimators()
            ]
        )


class MethodAdapter(EnsembleAdapter):
    """An estimator with a method returning (K, N, C) member probabilities."""

    allow_nd = True

    def __init__(
        self, estimator, name: str, method_name: str, method_kwargs: Mapping | None
    ):
        super().__init__(estimator, name)
        self.method_name = method_name
        self.method_kwargs = dict(method_kwargs or {})

    def check_fitted(self):
        if hasattr(self.estimator, "fit"):
            check_fitted(self.estimator, self.name)

    def member_probas(self, X_cand, classes):
        method = getattr(self.estimator, self.method_name)
        output = method(X_cand, **self.method_kwargs)
        if hasattr(output, "detach"):  # a torch tensor
            output = output.detach().cpu().numpy()
        label = f"the output of {self.name}.{self.method_name}"
        probs_K_N_C = check_probabilities(output, name=label)
        n = n_rows(X_cand)
        if probs_K_N_C.shape[1] != n:
            raise ValueError(
                f"{label} must have shape (K, n_candidates={n}, C); got "
                f"{probs_K_N_C.shape}."
            )
        return self._onto_classes(probs_K_N_C, classes, label)

    def _onto_classes(self, probs_K_N_C, classes, label):
        n_out = probs_K_N_C.shape[2]
        own = getattr(self.estimator, "classes_", None)
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
                f"{label} has {n_out} classes but {self.name}.classes_ has {len(own)}."
            )
        target, lookup = target_classes(own, classes, self.name)
        columns = [lookup[c] for c in own.tolist()]
        if columns == list(range(len(target))):  # already in order: no copy
            return probs_K_N_C
        dtype = np.result_type(probs_K_N_C.dtype, np.float32)
        out = np.zeros((*probs_K_N_C.shape[:2], len(target)), dtype=dtype)
        out[:, :, columns] = probs_K_N_C
        return out


class PipelineAdapter(EnsembleAdapter):
    """A Pipeline: its preprocessing, then each member of its last step.

    The candidates are transformed once by the steps before the last; the
    last step's adapter (an ensemble, a wrapper or a sample-predictions
    method) reads the members on the result.
    """

    allow_nd = True

    def __init__(self, estimator, name: str, final: EnsembleAdapter):
        super().__init__(estimator, name)
        self.final = final

    def fit(self, data):
        super().fit(data)
        self.final.estimator = self.estimator.steps[-1][1]
        return self.estimator

    def _transformers(self) -> Iterator[tuple[str, object]]:
        for step_name, step in self.estimator.steps[:-1]:
            if step is not None and not isinstance(step, str):  # "passthrough"
                yield f"{self.name}[{step_name!r}]", step

    def check_fitted(self):
        # As Pipeline does, only the last step is checked; but by our own
        # check, since Pipeline's asks for scikit-learn tags that a user's
        # estimator may not have.
        self.final.check_fitted()

    def member_probas(self, X_cand, classes):
        Xt = X_cand
        for _, step in self._transformers():
            Xt = step.transform(Xt)
        return self.final.member_probas(Xt, classes)


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------


def has_members(estimator) -> bool:
    """An ensemble whose members can be read, possibly wrapped or piped."""
    if isinstance(estimator, ENSEMBLE_TYPES):
        return True
    if isinstance(estimator, SklearnClassifier):
        return has_members(estimator.estimator)
    if isinstance(estimator, Pipeline) and estimator.steps:
        return has_members(estimator.steps[-1][1])
    return False


def _has_method(estimator, method_name) -> bool:
    return callable(getattr(estimator, method_name, None)) and not isinstance(
        estimator, type
    )


def _pipeline_adapter(pipeline, method_name, method_kwargs, name):
    last = pipeline.steps[-1][1] if pipeline.steps else None
    if method_name is None:
        usable = has_members(last)
    else:
        usable = _has_method(last, method_name)
    if not usable:
        wanted = "members" if method_name is None else f"method named {method_name!r}"
        raise TypeError(
            f"{name} is a Pipeline ending in {type(last).__name__}, which has no "
            f"{wanted}; accepted are {ACCEPTED}."
        )
    final = select_adapter(last, method_name, method_kwargs, name=f"{name}[-1]")
    return PipelineAdapter(pipeline, name, final)


def _list_adapter(ensemble, name) -> ListAdapter:
    if len(ensemble) == 0:
        raise ValueError(
            f"{name} is an empty {type(ensemble).__name__}; a list or tuple "
            "needs at least one classifier."
        )
    for i, member in enumerate(ensemble):
        if not is_classifier_like(member):
            raise TypeError(
                f"{name}[{i}] must be a classifier instance with fit and "
                f"predict_proba (or predict); got {type(member).__name__} "
                f"{member!r}."
            )
    return ListAdapter(ensemble, name)


def select_adapter(
    ensemble,
    method_name: str | None = None,
    method_kwargs: Mapping | None = None,
    name: str = "ensemble",
) -> EnsembleAdapter:
    """The adapter for ``ensemble``, chosen once from what it is.

    Parameters
    ----------
    ensemble : object
        See :func:`batchbald.ensembles.ensemble_probas`.
    method_name : str, default=None
        The sample-predictions method; takes precedence over members.
    method_kwargs : mapping, default=None
        Keyword arguments of that method.
    name : str, default="ensemble"
        How to name ``ensemble`` in error messages.

    Raises
    ------
    TypeError
        If ``ensemble`` is of none of the accepted kinds.
    ValueError
        If it is an empty list or tuple.
    """
    if method_name is not None and _has_method(ensemble, method_name):
        return MethodAdapter(ensemble, name, method_name, method_kwargs)
    if isinstance(ensemble, Pipeline):
        return _pipeline_adapter(ensemble, method_name, method_kwargs, name)
    if method_name is not None:
        raise TypeError(
            f"{name} must have a method named {method_name!r} "
            "(sample_predictions_method_name); got "
            f"{type(ensemble).__name__} {ensemble!r}, which has none."
        )
    if isinstance(ensemble, SklearnClassifier):
        if not has_members(ensemble.estimator):
            raise TypeError(
                f"{name} is a SklearnClassifier around "
                f"{type(ensemble.estimator).__name__}, which has no members; "
                f"accepted are {ACCEPTED}."
            )
        return WrapperAdapter(ensemble, name)
    if isinstance(ensemble, ENSEMBLE_TYPES):
        return MembersAdapter(ensemble, name)
    if isinstance(ensemble, (list, tuple)):
        return _list_adapter(ensemble, name)
    raise TypeError(
        f"{name} must be {ACCEPTED}; got {type(ensemble).__name__} {ensemble!r}."
    )
