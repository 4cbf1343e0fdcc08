"""What batchbald needs from a user's estimator, scikit-learn's or not.

Estimators need not derive from scikit-learn's ``BaseEstimator``: any object
with ``fit`` (and the prediction method asked for) works. These helpers read
its parameters, copy it for fitting and tell whether it is fitted without
relying on scikit-learn's tags, which such objects lack.
"""

from __future__ import annotations

import copy

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

__all__ = ["check_fitted", "clone_or_copy", "estimator_params", "is_classifier_like"]


def is_classifier_like(estimator) -> bool:
    """An instance (not a class) with ``fit`` and ``predict_proba`` or ``predict``."""
    return (
        estimator is not None
        and not isinstance(estimator, type)
        and hasattr(estimator, "fit")
        and (hasattr(estimator, "predict_proba") or hasattr(estimator, "predict"))
    )


def estimator_params(estimator) -> dict:
    """``estimator.get_params(deep=False)``, or ``{}`` without ``get_params``."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    try:
        return dict(get_params(deep=False))
    except TypeError:  # a get_params without the deep keyword
        return dict(get_params())


def clone_or_copy(estimator):
    """An unfitted copy: scikit-learn's ``clone``, else ``copy.deepcopy``.

    ``clone`` needs ``get_params``; an object without it (or whose parameters
    ``clone`` cannot round-trip) is deep-copied instead, fitted state
    included, so its ``fit`` must start afresh.
    """
    if hasattr(estimator, "get_params"):
        try:
            return clone(estimator)
        except (TypeError, RuntimeError):
            pass
    return copy.deepcopy(estimator)


def check_fitted(estimator, name: str) -> None:
    """Raise ``NotFittedError`` (in our words) if ``estimator`` is not fitted.

    A scikit-learn estimator is asked through ``check_is_fitted``. Any other
    object counts as fitted when its ``__sklearn_is_fitted__()`` says so or,
    without that method, when it has an attribute ending in ``_`` (the
    scikit-learn convention); objects without ``__dict__`` are trusted.
    """
    msg = (
        f"{name} ({type(estimator).__name__}) is not fitted yet: fit it first, "
        "or have a copy fitted (fit=True in ensemble_probas, fit_ensemble=True "
        "in a strategy's query) together with X and y."
    )
    if hasattr(estimator, "__sklearn_tags__"):
        check_is_fitted(estimator, msg=msg.replace("%", "%%"))
        return
    is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
    if callable(is_fitted):
        fitted = bool(is_fitted())
    elif hasattr(estimator, "__dict__"):
        fitted = any(
            k.endswith("_") and not k.startswith("__") for k in vars(estimator)
        )
    else:
        fitted = True
    if not fitted:
        raise NotFittedError(
            msg + " (An estimator that is not a scikit-learn BaseEstimator counts "
            "as fitted when it has an attribute ending in '_' or a "
            "__sklearn_is_fitted__ method returning True.)"
        )
