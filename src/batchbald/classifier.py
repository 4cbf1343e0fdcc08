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
import inspect
import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .utils import MISSING_LABEL, check_random_state, is_labeled

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

if "ensure_all_finite" in inspect.signature(check_array).parameters:
    _ALLOW_NAN = {"ensure_all_finite": False}
else:  # scikit-learn < 1.6
    _ALLOW_NAN = {"force_all_finite": False}


# ---------------------------------------------------------------------------
# Validation helpers (shared with batchbald.ensembles)
# ---------------------------------------------------------------------------


def _is_nan_scalar(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and (math.isnan(value))
    )


def _check_missing_label(missing_label) -> None:
    """Reject a ``missing_label`` that is not a scalar."""
    if missing_label is None or isinstance(missing_label, (str, numbers.Number)):
        return
    raise TypeError(
        "missing_label must be a scalar (a number, np.nan, a string or None); "
        f"got {type(missing_label).__name__} {missing_label!r}."
    )


def _same_missing_label(a, b) -> bool:
    """Whether two ``missing_label`` values mark the same thing (NaN == NaN)."""
    if _is_nan_scalar(a) or _is_nan_scalar(b):
        return _is_nan_scalar(a) and _is_nan_scalar(b)
    if isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def _check_label_vector(y, name: str = "y") -> np.ndarray:
    """``y`` as a one-dimensional array; strings go to ``object`` dtype.

    A list such as ``["a", np.nan]`` would become the strings ``"a"`` and
    ``"nan"`` under ``np.asarray``; converting to ``object`` keeps the NaN.
    """
    if y is None:
        raise ValueError(f"{name} must be an array-like of labels; got None.")
    arr = np.asarray(y)
    if arr.dtype.kind in "US":
        arr = np.asarray(y, dtype=object)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (n_samples,); got shape {arr.shape}."
        )
    return arr


def _check_classes(classes, missing_label) -> np.ndarray:
    """Validate the ``classes`` parameter and return it as an array."""
    arr = np.asarray(classes)
    if arr.dtype.kind in "US":
        arr = np.asarray(classes, dtype=object)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            "classes must be a non-empty one-dimensional array-like of labels; "
            f"got {classes!r}."
        )
    values = arr.tolist()
    if any(_is_nan_scalar(v) for v in values):
        raise ValueError(f"classes must not contain NaN; got {classes!r}.")
    if not is_labeled(arr, missing_label).all():
        raise ValueError(
            f"classes must not contain missing_label={missing_label!r}; "
            f"got {classes!r}."
        )
    try:
        n_unique = len(set(values))
    except TypeError:
        raise TypeError(
            f"classes must hold hashable scalar labels; got {classes!r}."
        ) from None
    if n_unique != len(values):
        raise ValueError(f"classes must not contain duplicates; got {classes!r}.")
    if arr.dtype == object:
        # Homogeneous strings become a string array (as np.unique would give).
        if all(isinstance(v, str) for v in values):
            arr = np.asarray(values)
    return arr


def _check_labels(
    y,
    n_samples: int,
    classes,
    missing_label,
    name: str = "y",
    require_classes: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``y`` against ``classes`` and ``missing_label``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels with ``missing_label`` for the unlabeled samples.
    n_samples : int
        Required length of ``y`` (the number of rows of ``X``).
    classes : array-like of shape (n_classes,) or None
        The valid labels; ``None`` infers them (sorted) from the labeled ``y``.
    missing_label : scalar
        The value marking an unlabeled sample.
    name : str, default="y"
        Name of the parameter in error messages.
    require_classes : bool, default=True
        Whether to raise when ``classes`` is None and nothing is labeled;
        if False, ``classes_`` is then empty.

    Returns
    -------
    labeled_N : numpy.ndarray of bool, shape (n_samples,)
        Which samples are labeled.
    codes_L : numpy.ndarray of int, shape (n_labeled,)
        Index into ``classes_`` of each labeled sample's label.
    classes_ : numpy.ndarray of shape (n_classes,)
        The classes (``classes`` itself, in its order, when given).
    """
    _check_missing_label(missing_label)
    y_arr = _check_label_vector(y, name)
    if len(y_arr) != n_samples:
        raise ValueError(
            f"X and {name} must have the same number of samples; got len(X)="
            f"{n_samples} and len({name})={len(y_arr)}."
        )
    if isinstance(missing_label, str) and y_arr.dtype.kind in "biufc":
        raise TypeError(
            f"missing_label={missing_label!r} is a string but {name} holds numbers "
            f"(dtype {y_arr.dtype}); use a numeric missing_label such as np.nan "
            "or -1."
        )
    labeled = is_labeled(y_arr, missing_label)
    labels = y_arr[labeled]
    if _is_nan_scalar(missing_label) and labels.dtype == object:
        if any(v == "nan" for v in labels.tolist() if isinstance(v, str)):
            raise ValueError(
                f"{name} contains the string 'nan' while missing_label is np.nan; "
                "mark unlabeled samples with the float np.nan (not the string)."
            )
    label_list = labels.tolist()
    if any(_is_nan_scalar(v) for v in label_list):
        raise ValueError(
            f"{name} contains NaN but missing_label={missing_label!r}; NaN is only "
            "allowed as the missing label (missing_label=np.nan)."
        )
    if classes is None:
        if len(label_list) == 0 and not require_classes:
            return labeled, np.zeros(0, dtype=np.intp), np.asarray(label_list)
        if len(label_list) == 0:
            raise ValueError(
                f"{name} has no labeled samples and classes=None, so the classes "
                "are unknown; pass classes (the list of all labels)."
            )
        try:
            classes_ = np.unique(np.asarray(label_list))
        except TypeError:
            raise TypeError(
                f"The labels in {name} cannot be sorted (mixed types?); pass "
                "classes explicitly."
            ) from None
        classes_ = _check_classes(classes_, missing_label)
    else:
        classes_ = _check_classes(classes, missing_label)
    index = {c: i for i, c in enumerate(classes_.tolist())}
    try:
        codes = np.fromiter(
            (index.get(v, -1) for v in label_list), dtype=np.intp, count=len(label_list)
        )
    except TypeError:
        raise TypeError(f"{name} must hold hashable scalar labels.") from None
    if (codes < 0).any():
        bad = sorted({repr(v) for v, c in zip(label_list, codes, strict=True) if c < 0})
        shown = ", ".join(bad[:10]) + (", ..." if len(bad) > 10 else "")
        raise ValueError(
            f"{name} contains labels that are not in classes: {shown}; valid "
            f"classes are {classes_.tolist()!r} (and missing_label="
            f"{missing_label!r} for unlabeled samples)."
        )
    return labeled, codes, classes_


def _check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold real numbers; got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,)=({n_samples},); got shape "
            f"{w.shape}."
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            "sample_weight must be finite and non-negative; got "
            f"min={w.min()!r}, max={w.max()!r}."
        )
    return w


def _check_X(X, name: str = "X", allow_nd: bool = False):
    """Validate a numeric feature array (2-D, or at least 2-D if ``allow_nd``)."""
    shape = "(n_samples, ...)" if allow_nd else "2-D (n_samples, n_features)"
    if X is None:
        raise ValueError(f"{name} must be a numeric {shape} array; got None.")
    try:
        return check_array(
            X,
            accept_sparse="csr",
            dtype="numeric",
            ensure_min_samples=0,
            allow_nd=allow_nd,
            **_ALLOW_NAN,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be a numeric {shape} array: {exc}") from None


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
    estimator : sklearn classifier
        The classifier to wrap; it needs ``fit`` and ``predict_proba`` (or, for
        hard votes, ``predict``: predictions then become one-hot
        probabilities). It is cloned in :meth:`fit` and never modified.
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
        X : array-like of shape (n_samples, n_features)
            Features of all samples, labeled or not.
        y : array-like of shape (n_samples,)
            Labels, ``missing_label`` for unlabeled samples; every other value
            must be in ``classes`` (when given).
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
        if (
            est is None
            or not hasattr(est, "fit")
            or not (hasattr(est, "predict_proba") or hasattr(est, "predict"))
            or isinstance(est, type)
        ):
            raise TypeError(
                "estimator must be a scikit-learn classifier instance with fit "
                "and predict_proba (or predict); got "
                f"{type(est).__name__} {est!r}."
            )
        rng = check_random_state(self.random_state)
        X = _check_X(X)
        n_samples = X.shape[0]
        labeled, codes, classes_ = _check_labels(
            y, n_samples, self.classes, self.missing_label
        )
        w = _check_sample_weight(sample_weight, n_samples)

        rows = np.flatnonzero(labeled)
        if w is None:
            counts = np.bincount(codes, minlength=len(classes_)).astype(np.float64)
        else:
            w_lab = w[rows]
            counts = np.bincount(codes, weights=w_lab, minlength=len(classes_))
            positive = w_lab > 0
            rows, codes, w_lab = rows[positive], codes[positive], w_lab[positive]

        self.classes_ = classes_
        self.n_features_in_ = X.shape[1]
        self.label_counts_ = counts
        self.n_member_fallbacks_ = 0

        if np.count_nonzero(counts > 0) < 2:
            self.estimator_ = None
            self.fallback_ = True
            self._report_fallback(1)
            return self

        estimator_ = clone(est)
        if self.random_state is not None:
            params = estimator_.get_params(deep=False)
            if "random_state" in params and params["random_state"] is None:
                estimator_.set_params(random_state=int(rng.randint(2**31 - 1)))

        X_fit = X[rows]
        y_fit = classes_[codes]
        fit_kwargs = {}
        if w is not None:
            if has_fit_parameter(estimator_, "sample_weight"):
                fit_kwargs["sample_weight"] = w_lab
            else:
                repeats = np.rint(w_lab)
                if not np.allclose(repeats, w_lab, rtol=0, atol=1e-8):
                    raise ValueError(
                        f"estimator {type(est).__name__} does not accept "
                        "sample_weight, so sample_weight must hold whole numbers "
                        "(row repetitions); got non-integer values such as "
                        f"{w_lab[repeats != w_lab][0]!r}."
                    )
                take = np.repeat(np.arange(len(rows)), repeats.astype(np.intp))
                X_fit, y_fit = X_fit[take], y_fit[take]

        collector: list = []
        token = _MEMBER_FALLBACKS.set(collector)
        try:
            estimator_.fit(X_fit, y_fit, **fit_kwargs)
        finally:
            _MEMBER_FALLBACKS.reset(token)

        estimator_classes = getattr(estimator_, "classes_", None)
        if estimator_classes is None:
            raise TypeError(
                f"estimator {type(est).__name__} has no classes_ attribute after "
                "fit; SklearnClassifier needs it to order the probabilities."
            )
        self.estimator_ = estimator_
        self.fallback_ = False
        self.n_member_fallbacks_ = sum(collector)
        if collector:
            outer = _MEMBER_FALLBACKS.get()
            if outer is not None:
                outer.append(self.n_member_fallbacks_)
            else:
                warnings.warn(MEMBER_FALLBACK_MESSAGE, FallbackWarning, stacklevel=2)
        return self

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
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but SklearnClassifier was fitted "
                f"with {self.n_features_in_} features."
            )
        return X

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        probs_N_C : numpy.ndarray of float64, shape (n_samples, n_classes)
            Rows sum to 1. Classes the fitted estimator never saw get
            probability 0; after a fallback every row equals the normalised
            ``label_counts_`` (uniform when they are all zero).
        """
        X = self._check_predict_X(X)
        n = X.shape[0]
        n_classes = len(self.classes_)
        if self.estimator_ is None:
            total = self.label_counts_.sum()
            if total > 0:
                row = self.label_counts_ / total
            else:
                row = np.full(n_classes, 1.0 / n_classes)
            return np.tile(row, (n, 1))
        est = self.estimator_
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        columns = np.array(
            [index[c] for c in np.asarray(est.classes_).tolist()], dtype=np.intp
        )
        out = np.zeros((n, n_classes), dtype=np.float64)
        if hasattr(est, "predict_proba"):
            probs = np.asarray(est.predict_proba(X), dtype=np.float64)
            if probs.shape != (n, len(columns)):
                raise ValueError(
                    f"estimator {type(est).__name__}.predict_proba returned shape "
                    f"{probs.shape}; expected ({n}, {len(columns)}) to match its "
                    "classes_."
                )
            out[:, columns] = probs
        else:
            predictions = np.asarray(est.predict(X)).tolist()
            out[np.arange(n), [index[p] for p in predictions]] = 1.0
        return out

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample (the first one on ties).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
