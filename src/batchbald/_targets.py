"""The EPIG strategies' targets: checked, and stacked with the candidates.

``targets`` may be integer positions in ``X`` or samples shaped like ``X``'s
(a DataFrame when ``X`` is one); the strategies predict candidates and
targets in one call, so member ``k`` is the same model for both.
"""

from __future__ import annotations

import numpy as np

from ._arrays import (
    check_candidate_samples,
    check_index_range,
    is_dataframe,
    n_rows,
    take_rows,
)


def check_targets(targets, X, X_cand):
    """The target samples: ``X_cand`` for None, the rows of ``X`` for indices."""
    if targets is None:
        return X_cand
    if is_dataframe(targets):
        return _check_target_samples(targets, X)
    arr = np.asarray(targets)
    if arr.ndim == 1 and (arr.dtype.kind in "iu" or arr.size == 0):
        check_index_range(arr, n_rows(X), "targets")
        return take_rows(X, arr.astype(np.intp))
    return _check_target_samples(targets, X)


def _check_target_samples(targets, X):
    """Targets given as samples, in our words (the candidates' check)."""
    try:
        return check_candidate_samples(targets, X)
    except ValueError as exc:
        raise ValueError(
            str(exc).replace("candidates", "targets", 1)
            .replace("an array of samples", "a non-empty array of samples")
        ) from None  # fmt: skip


def stack_targets(X_cand, X_target):
    """Candidates and targets as one input of the ensemble (same kind as X)."""
    if is_dataframe(X_cand) or is_dataframe(X_target):
        import pandas as pd

        if not (is_dataframe(X_cand) and is_dataframe(X_target)):
            raise ValueError(
                "targets given as samples must be a DataFrame when X is one, and "
                "an array when X is an array."
            )
        if list(X_cand.columns) != list(X_target.columns):
            raise ValueError(
                f"targets has the columns {list(X_target.columns)[:10]!r}; X has "
                f"{list(X_cand.columns)[:10]!r} (same names, same order needed)."
            )
        return pd.concat([X_cand, X_target], ignore_index=True)
    if hasattr(X_cand, "tocsr") or hasattr(X_target, "tocsr"):
        from scipy import sparse

        return sparse.vstack([X_cand, X_target]).tocsr()
    return np.concatenate([np.asarray(X_cand), np.asarray(X_target)])
