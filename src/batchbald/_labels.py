"""Label validation shared by the estimators, and class-column mapping.

In pool-based active learning ``y`` holds a label for the samples queried so
far and ``missing_label`` for the rest. The functions here validate such a
``y`` against the ``classes`` parameter, and place an estimator's predictions
onto the columns of a given list of classes (an estimator that saw fewer
classes gets probability 0 for the others). They are used by
:class:`~batchbald.classifier.SklearnClassifier`,
:func:`~batchbald.ensembles.ensemble_probas` and the deep classifiers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from .utils import is_labeled

__all__ = [
    "check_classes",
    "check_label_vector",
    "check_labels",
    "check_missing_label",
    "check_sample_weight",
    "class_lookup",
    "common_classes",
    "is_nan_scalar",
    "probas_on_classes",
    "same_missing_label",
    "target_classes",
]


def is_nan_scalar(value) -> bool:
    """Whether ``value`` is a real NaN scalar (``np.nan``, ``float('nan')``)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and (math.isnan(value))
    )


def check_missing_label(missing_label) -> None:
    """Reject a ``missing_label`` that is not a scalar.

    Raises
    ------
    TypeError
        If ``missing_label`` is not None, a string or a number.
    """
    if missing_label is None or isinstance(missing_label, (str, numbers.Number)):
        return
    raise TypeError(
        "missing_label must be a scalar (a number, np.nan, a string or None); "
        f"got {type(missing_label).__name__} {missing_label!r}."
    )


def same_missing_label(a, b) -> bool:
    """Whether two ``missing_label`` values mark the same thing (NaN == NaN)."""
    if is_nan_scalar(a) or is_nan_scalar(b):
        return is_nan_scalar(a) and is_nan_scalar(b)
    if isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def _as_label_array(y) -> np.ndarray:
    """``y`` as an array; strings go to ``object`` dtype.

    A list such as ``["a", np.nan]`` would become the strings ``"a"`` and
    ``"nan"`` under ``np.asarray``; converting to ``object`` keeps the NaN. A
    pandas Series with a nullable dtype (``Int64``, ``boolean``, ``string``)
    has its ``<NA>`` entries turned into ``np.nan``, so that they count as
    missing under the default ``missing_label=np.nan``.
    """
    if getattr(getattr(y, "dtype", None), "na_value", None) is not None and hasattr(
        y, "to_numpy"
    ):
        kind = getattr(y.dtype, "kind", "O")
        if kind in "biuf":
            return np.asarray(y.to_numpy(dtype=np.float64, na_value=np.nan))
        return np.asarray(y.to_numpy(dtype=object, na_value=np.nan))
    arr = np.asarray(y)
    if arr.dtype.kind in "US":
        arr = np.asarray(y, dtype=object)
    return arr


def check_label_vector(y, name: str = "y") -> np.ndarray:
    """``y`` as a one-dimensional array (strings as ``object``).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels; a list, an array or a pandas Series (read by position).
    name : str, default="y"
        Name of the parameter in error messages.

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
        Never a view that could write into the caller's data through a
        pandas object; numpy input may be returned as is.
    """
    if y is None:
        raise ValueError(f"{name} must be an array-like of labels; got None.")
    arr = _as_label_array(y)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (n_samples,); got shape {arr.shape}."
        )
    return arr


def check_classes(classes, missing_label) -> np.ndarray:
    """Validate the ``classes`` parameter and return it as an array.

    Raises
    ------
    ValueError
        If ``classes`` is empty, not 1-D, holds NaN, ``missing_label`` or
        duplicates.
    TypeError
        If it holds unhashable values.
    """
    arr = np.asarray(classes)
    if arr.dtype.kind in "US":
        arr = np.asarray(classes, dtype=object)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            "classes must be a non-empty one-dimensional array-like of labels; "
            f"got {classes!r}."
        )
    values = arr.tolist()
    if any(is_nan_scalar(v) for v in values):
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


def _check_label_values(labels: np.ndarray, missing_label, name: str) -> list:
    """The labeled entries as a list; no NaN (or the string 'nan') among them."""
    if is_nan_scalar(missing_label) and labels.dtype == object:
        if any(v == "nan" for v in labels.tolist() if isinstance(v, str)):
            raise ValueError(
                f"{name} contains the string 'nan' while missing_label is np.nan; "
                "mark unlabeled samples with the float np.nan (not the string)."
            )
    label_list = labels.tolist()
    if any(is_nan_scalar(v) for v in label_list):
        raise ValueError(
            f"{name} contains NaN but missing_label={missing_label!r}; NaN is only "
            "allowed as the missing label (missing_label=np.nan)."
        )
    return label_list


def _infer_classes(label_list: list, missing_label, name: str) -> np.ndarray:
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
    return check_classes(classes_, missing_label)


def _encode(label_list: list, classes_: np.ndarray, missing_label, name: str):
    index = class_lookup(classes_)
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
    return codes


def check_labels(
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
    check_missing_label(missing_label)
    y_arr = check_label_vector(y, name)
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
    label_list = _check_label_values(y_arr[labeled], missing_label, name)
    if classes is not None:
        classes_ = check_classes(classes, missing_label)
    elif len(label_list) == 0 and not require_classes:
        return labeled, np.zeros(0, dtype=np.intp), np.asarray(label_list)
    else:
        classes_ = _infer_classes(label_list, missing_label, name)
    codes = _encode(label_list, classes_, missing_label, name)
    return labeled, codes, classes_


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 vector of non-negative finite weights.

    Returns None when ``sample_weight`` is None.
    """
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


# ---------------------------------------------------------------------------
# Class-column mapping
# ---------------------------------------------------------------------------


def class_lookup(classes) -> dict:
    """``{label: column}`` for the given classes, in their order."""
    return {c: i for i, c in enumerate(np.asarray(classes).tolist())}


def _columns(labels: list, lookup: dict, name: str) -> list[int]:
    try:
        return [lookup[c] for c in labels]
    except KeyError as exc:
        raise ValueError(
            f"{name} predicts class {exc.args[0]!r}, which is not among the "
            f"classes {list(lookup)!r}."
        ) from None


def probas_on_classes(
    estimator,
    X,
    lookup: dict,
    *,
    name: str,
    decode: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """An estimator's (N, C) probabilities over the columns of ``lookup``.

    The one place where a fitted classifier's predictions are placed onto a
    given list of classes: columns of classes the estimator never saw are 0.
    An estimator without ``predict_proba`` votes: its predictions become
    one-hot rows.

    Parameters
    ----------
    estimator : fitted classifier
        Has ``classes_`` and ``predict_proba``, or ``predict``.
    X : array-like or DataFrame of shape (N, ...)
        Passed to the estimator as it is.
    lookup : dict
        ``{label: column}`` of the target classes (see :func:`class_lookup`).
    name : str
        How to name the estimator in error messages.
    decode : callable, default=None
        Maps the estimator's class values (its ``classes_`` or predictions) to
        target labels; bagging and forest members, for example, are fitted on
        class indices. None: the identity.

    Returns
    -------
    probs_N_C : numpy.ndarray of float64, shape (N, len(lookup))

    Raises
    ------
    ValueError
        If the estimator knows a class outside ``lookup`` or returns
        probabilities of the wrong shape.
    """
    n = X.shape[0]
    out = np.zeros((n, len(lookup)), dtype=np.float64)
    decode = decode if decode is not None else (lambda v: v)
    if hasattr(estimator, "predict_proba"):
        own = decode(np.asarray(estimator.classes_)).tolist()
        columns = _columns(own, lookup, name)
        probs = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        if probs.shape != (n, len(columns)):
            raise ValueError(
                f"{name}.predict_proba returned shape {probs.shape}; expected "
                f"({n}, {len(columns)}) to match its classes_."
            )
        out[:, columns] = probs
    else:  # hard votes
        predictions = decode(np.asarray(estimator.predict(X))).tolist()
        out[np.arange(n), _columns(predictions, lookup, name)] = 1.0
    return out


def target_classes(own_classes, classes, name: str) -> tuple[np.ndarray, dict]:
    """Columns of the result (``classes``, else the estimator's) and a lookup."""
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
    return target, class_lookup(target)


def common_classes(classes_list: list[np.ndarray]) -> np.ndarray:
    """The members' classes_ when they agree, else their sorted union."""
    first = classes_list[0]
    if all(c.tolist() == first.tolist() for c in classes_list[1:]):
        return first
    return np.asarray(sorted({v for c in classes_list for v in c.tolist()}))
