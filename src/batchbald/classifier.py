"""A missing-label aware wrapper around scikit-learn classifiers.

In pool-based active learning ``y`` holds a label for the samples queried so far
and :data:`~batchbald.utils.MISSING_LABEL` for the rest. Plain scikit-learn
classifiers cannot be fitted on such a ``y``; :class:`SklearnClassifier` fits
them on the labeled samples only and predicts something sensible before at
least two classes have been labeled.

The wrapper works both around a scikit-learn ensemble (a ``BaggingClassifier``
or a forest) and as a member *inside* a ``BaggingClassifier``, which is how
scikit-activeml's gallery builds an ensemble of Gaussian process classifiers::

    rng = np.random.RandomState(0)
    clf = SklearnClassifier(
        BaggingClassifier(
            SklearnClassifier(GaussianProcessClassifier(), random_state=rng),
            random_state=rng,
        ),
        classes=[0, 1],
        random_state=rng,
    )
    clf.fit(X, np.full(len(X), np.nan))  # nothing labeled yet: uniform
"""

from __future__ import annotations

import contextvars
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from ._arrays import check_feature_names, check_X, is_dataframe, n_rows, take_rows
from ._estimators import clone_or_copy, estimator_params, is_classifier_like
from ._labels import (
    check_labels,
    check_sample_weight,
    class_lookup,
    probas_on_classes,
)
from ._labels import check_labels as _check_labels  # noqa: F401  (deep/_base.py)
from .utils import MISSING_LABEL, check_random_state

__all__ = ["FallbackWarning", "SklearnClassifier"]


class FallbackWarning(UserWarning):
    """Issued by :meth:`SklearnClassifier.fit` when it cannot fit its estimator.

    This happens while fewer than two classes carry a (positively weighted)
    label; the classifier then predicts the labeled class frequencies instead.
    One call of :meth:`SklearnClassifier.fit` issues at most one of these
    (nested wrappers, such as bagging members, report to the outermost one),
    and predictions never warn. The messages are constant strings (no counts
    or arrays in them), so they are easy to filter by message and cannot
    flood a log; the details live in fitted attributes. Use
    ``warnings.simplefilter("ignore", FallbackWarning)`` to silence them.
    """


#: Warning text when a SklearnClassifier falls back (kept constant on purpose).
FALLBACK_MESSAGE = (
    "SklearnClassifier: fewer than two classes are labeled, so the wrapped "
    "estimator was not fitted; predict_proba returns the labeled class "
    "frequencies (uniform when nothing is labeled) until the next fit. "
    "See the attributes label_counts_ and fallback_."
)

#: Warning text when members of the wrapped estimator fell back.
MEMBER_FALLBACK_MESSAGE = (
    "SklearnClassifier: some members of the wrapped estimator saw fewer than "
    "two classes (e.g. single-class bootstrap samples) and predict their class "
    "frequencies. See the attribute n_member_fallbacks_."
)

# While a SklearnClassifier fits its estimator, nested SklearnClassifiers
# (e.g. bagging members) report their fallbacks here instead of warning, so
# that one fit of the outer wrapper issues at most one warning. The variable is
# context-local and only set for the duration of that fit.
_MEMBER_FALLBACKS: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "batchbald_member_fallbacks", default=None
)

# ---------------------------------------------------------------------------
# The wrapper
# ---------------------------------------------------------------------------


class SklearnClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a scikit-learn classifier on the labeled samples only.

    Samples whose label equals ``missing_label`` are dropped before the wrapped
    ``estimator`` (a clone of it) is fitted. While fewer than two classes are
    labeled, the estimator is not fitted at all: :meth:`predict_proba` returns
    the labeled class frequencies over ``classes_`` (the uniform distribution
    when nothing is labeled), and :meth:`fit` issues one
    :class:`FallbackWarning`.

    Parameters
    ----------
    estimator : classifier
        The classifier to wrap (a scikit-learn classifier, a ``Pipeline``, or
        any object with ``fit``, ``classes_`` after fitting, and
        ``predict_proba`` or, for hard votes, ``predict``: predictions then
        become one-hot probabilities). :meth:`fit` fits a copy and never
        modifies it: ``sklearn.base.clone(estimator)`` when it can be cloned
        (it has ``get_params``), else ``copy.deepcopy(estimator)``.
    classes : array-like of shape (n_classes,), default=None
        All labels, in the order of the columns of :meth:`predict_proba`.
        ``None`` infers them (sorted) from the labeled ``y`` in :meth:`fit`;
        give them explicitly when ``y`` may have no labels yet.
    missing_label : scalar, default=np.nan
        The value that marks an unlabeled sample in ``y`` (np.nan, a number
        such as ``-1`` or a string such as ``"none"``).
    random_state : None, int or numpy.random.RandomState, default=None
        When not ``None`` and the wrapped estimator has a ``random_state``
        parameter set to ``None``, :meth:`fit` sets that parameter of the clone
        to an integer drawn from
        :func:`batchbald.utils.check_random_state` ``(random_state)``, making
        the fit reproducible (a shared ``RandomState`` advances by one draw per
        fit). An estimator whose ``random_state`` is already set keeps it.

    Attributes
    ----------
    classes_ : numpy.ndarray of shape (n_classes,)
        The classes; equal to ``classes`` when it was given.
    estimator_ : sklearn classifier or None
        The fitted clone of ``estimator``; ``None`` when :meth:`fit` fell back.
    fallback_ : bool
        Whether the last :meth:`fit` fell back to class frequencies.
    label_counts_ : numpy.ndarray of float, shape (n_classes,)
        Sum of the sample weights (the counts when unweighted) of the labeled
        samples of each class.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : numpy.ndarray of str, shape (n_features_in_,)
        The column names, when :meth:`fit` got a DataFrame whose column names
        are all strings (as in scikit-learn).
    n_member_fallbacks_ : int
        How many nested ``SklearnClassifier`` s (e.g. bagging members) fell back
        while the estimator was being fitted.
    estimators_ : list
        Read-only shortcut to ``estimator_.estimators_`` (the fitted members of
        a wrapped bagging classifier or forest).
    estimators_features_ : list of numpy.ndarray
        Read-only shortcut to ``estimator_.estimators_features_`` (bagging).

    Notes
    -----
    Warnings. One call of :meth:`fit` issues at most one
    :class:`FallbackWarning`, never :meth:`predict_proba`. Fallbacks of nested
    wrappers fitted *during* this fit (for example ten bagging members whose
    bootstrap samples hold a single class) are collected and reported as a
    single warning by the outermost wrapper, so the scikit-activeml gallery
    construction warns once per cycle. A *bare* ``BaggingClassifier`` of
    ``SklearnClassifier`` members has no enclosing wrapper and warns once per
    falling-back member; wrap it in a ``SklearnClassifier`` to get a single
    warning. The messages are constant strings; note that Python's
    once-per-location registry is reset by scikit-learn's input validation
    (it uses ``warnings.catch_warnings``), so do not rely on the default
    filter for deduplication across fits.

    Sample weights. The estimator is fitted on the labeled samples with
    positive weight. When it does not accept ``sample_weight``, whole-number
    weights (which is what ``BaggingClassifier`` passes for its bootstrap
    samples) repeat the rows accordingly; fractional weights then raise.
    """

    def __init__(
        self,
        estimator,
        classes=None,
        missing_label=MISSING_LABEL,
        random_state=None,
    ):
        self.estimator = estimator
        self.classes = classes
        self.missing_label = missing_label
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------

    def fit(self, X, y, sample_weight=None) -> SklearnClassifier:
        """Fit a clone of ``estimator`` on the labeled samples of ``(X, y)``.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, \
n_features)
            Features of all samples, labeled or not. A DataFrame reaches the
            estimator as a DataFrame (its labeled rows, taken by position),
            so that the estimator keeps the column names.
        y : array-like or Series of shape (n_samples,)
            Labels, ``missing_label`` for unlabeled samples; every other value
            must be in ``classes`` (when given). Read by position.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; see the Notes of the class.

        Returns
        -------
        self : SklearnClassifier
            The fitted classifier.

        Raises
        ------
        TypeError
            If ``estimator`` is not a classifier, or on ill-typed parameters.
        ValueError
            On inconsistent lengths, labels outside ``classes``, or no labels
            when ``classes`` is None.
        """
        est = self.estimator
        if not is_classifier_like(est):
            raise TypeError(
                "estimator must be a classifier instance with fit and "
                "predict_proba (or predict), such as a scikit-learn classifier; "
                f"got {type(est).__name__} {est!r}."
            )
        rng = check_random_state(self.random_state)
        X = check_X(X)
        n_samples = n_rows(X)
        labeled, codes, classes_ = check_labels(
            y, n_samples, self.classes, self.missing_label
        )
        w = check_sample_weight(sample_weight, n_samples)
        rows, codes, w_lab, counts = _labeled_rows(labeled, codes, w, len(classes_))

        self.classes_ = classes_
        self.n_features_in_ = X.shape[1]
        self._set_feature_names(X)
        self.label_counts_ = counts
        self.n_member_fallbacks_ = 0

        if np.count_nonzero(counts > 0) < 2:
            self.estimator_ = None
            self.fallback_ = True
            self._report_fallback(1)
            return self

        estimator_ = clone_or_copy(est)
        if self.random_state is not None:
            params = estimator_params(estimator_)
            if "random_state" in params and params["random_state"] is None:
                estimator_.set_params(random_state=int(rng.randint(2**31 - 1)))
        X_fit, y_fit, fit_kwargs = _fit_arguments(
            estimator_, take_rows(X, rows), classes_[codes], w_lab, type(est).__name__
        )
        self._fit_estimator(estimator_, X_fit, y_fit, fit_kwargs)
        return self

    def _set_feature_names(self, X) -> None:
        """``feature_names_in_`` as scikit-learn sets it (all-string columns)."""
        columns = list(X.columns) if is_dataframe(X) else []
        if columns and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _fit_estimator(self, estimator_, X_fit, y_fit, fit_kwargs) -> None:
        """Fit, collecting the fallbacks of nested wrappers into one warning."""
        collector: list = []
        token = _MEMBER_FALLBACKS.set(collector)
        try:
            estimator_.fit(X_fit, y_fit, **fit_kwargs)
        finally:
            _MEMBER_FALLBACKS.reset(token)

        if getattr(estimator_, "classes_", None) is None:
            raise TypeError(
                f"estimator {type(self.estimator).__name__} has no classes_ "
                "attribute after fit; SklearnClassifier needs it to order the "
                "probabilities."
            )
        self.estimator_ = estimator_
        self.fallback_ = False
        self.n_member_fallbacks_ = sum(collector)
        if collector:
            outer = _MEMBER_FALLBACKS.get()
            if outer is not None:
                outer.append(self.n_member_fallbacks_)
            else:
                # stacklevel=3: the line that called fit().
                warnings.warn(MEMBER_FALLBACK_MESSAGE, FallbackWarning, stacklevel=3)

    @staticmethod
    def _report_fallback(n: int) -> None:
        outer = _MEMBER_FALLBACKS.get()
        if outer is not None:
            outer.append(n)  # the enclosing wrapper reports it once
        else:
            # stacklevel=3: the line that called fit().
            warnings.warn(FALLBACK_MESSAGE, FallbackWarning, stacklevel=3)

    # -- prediction --------------------------------------------------------

    def _check_predict_X(self, X):
        check_is_fitted(self)
        X = check_X(X)
        check_feature_names(self, X, "SklearnClassifier", what="X")
        return X

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Samples to predict; a DataFrame reaches the estimator as it is.

        Returns
        -------
        probs_N_C : numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1. Classes the fitted estimator never saw get
            probability 0; after a fallback every row equals the normalised
            ``label_counts_`` (uniform when they are all zero).
        """
        X = self._check_predict_X(X)
        if self.estimator_ is None:
            n_classes = len(self.classes_)
            total = self.label_counts_.sum()
            if total > 0:
                row = self.label_counts_ / total
            else:
                row = np.full(n_classes, 1.0 / n_classes)
            return np.tile(row, (n_rows(X), 1))
        return probas_on_classes(
            self.estimator_,
            X,
            class_lookup(self.classes_),
            name=f"estimator {type(self.estimator_).__name__}",
        )

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample (the first one on ties).

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        y_pred : numpy.ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- access to the fitted members ----------------------------------------

    def _fitted_estimator_attribute(self, name: str):
        check_is_fitted(self)
        if self.estimator_ is None:
            raise AttributeError(
                f"{name} is unavailable: the last fit fell back to class "
                "frequencies (fewer than two classes labeled), so no estimator "
                "was fitted."
            )
        if not hasattr(self.estimator_, name):
            raise AttributeError(
                f"The wrapped {type(self.estimator_).__name__} has no attribute {name}."
            )
        return getattr(self.estimator_, name)

    @property
    def estimators_(self) -> list:
        """Fitted members of the wrapped ensemble (``estimator_.estimators_``)."""
        return self._fitted_estimator_attribute("estimators_")

    @property
    def estimators_features_(self) -> list:
        """Feature subsets of the members (``estimator_.estimators_features_``)."""
        return self._fitted_estimator_attribute("estimators_features_")


# ---------------------------------------------------------------------------
# Fitting helpers
# ---------------------------------------------------------------------------


def _labeled_rows(labeled, codes, w, n_classes: int):
    """Rows to fit on (labeled, positive weight), their codes and weights,
    and the weighted label counts per class."""
    rows = np.flatnonzero(labeled)
    counts: np.ndarray
    if w is None:
        counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
        return rows, codes, None, counts
    w_lab = w[rows]
    counts = np.bincount(codes, weights=w_lab, minlength=n_classes)
    positive = w_lab > 0
    return rows[positive], codes[positive], w_lab[positive], counts


def _fit_arguments(estimator_, X_fit, y_fit, w_lab, name: str):
    """``(X, y, fit_kwargs)``: weights passed on, or whole weights as repeats."""
    if w_lab is None:
        return X_fit, y_fit, {}
    if has_fit_parameter(estimator_, "sample_weight"):
        return X_fit, y_fit, {"sample_weight": w_lab}
    repeats = np.rint(w_lab)
    if not np.allclose(repeats, w_lab, rtol=0, atol=1e-8):
        raise ValueError(
            f"estimator {name} does not accept sample_weight, so sample_weight "
            "must hold whole numbers (row repetitions); got non-integer values "
            f"such as {w_lab[repeats != w_lab][0]!r}."
        )
    take = np.repeat(np.arange(len(y_fit)), repeats.astype(np.intp))
    return take_rows(X_fit, take), y_fit[take], {}
