"""When a batch's information runs out: detection, estimates and remedies.

BatchBALD's batch information can never exceed the entropy of the members,
``I(y_A; w) <= H(w) = log K``. With few members (a bagging of 10, a forest
whose trees predict near 0/1) that information is spent after a few picks;
from then on every gain is about zero and the rest of a plain greedy batch is
decided by rounding or sampling noise.

Saturation. Step ``i`` of a batch is *saturated* when its gain is below

    max(SATURATION_FLOOR, SATURATION_Z * se_i)

with ``SATURATION_FLOOR = 1e-3`` nats and ``se_i`` the standard error of the
gain's estimate (0 in the exact regime, where every gain is exact). The
selection result's ``saturated_at`` is the first such step (None when there
is none). The standard error of a sampled estimate ``sum_m w_m g_m`` over
``M`` drawn configurations is taken as ``sqrt(Var_w(g) / M)``, the weighted
variance of the per-configuration values over the number of draws (identical
draws merged keep their total weight): conservative, since it ignores the
variance reduction of the stratification over members. Batch EPIG
(:mod:`batchbald._epig_engine`) applies the same rule to its gains about the
targets' predictions.

Remedies (parameters of :func:`batchbald.engine.select_batch` and of
:class:`batchbald.pool.BatchBALD`; the strategy's defaults are
``member_votes=None`` (True for scikit-learn ensembles) and
``completion="power"``, chosen by ``benchmarks/experiment_saturation.py``;
the engine's defaults stay plain greedy BatchBALD):

- ``label_noise = e``: condition on hypothetical labels through the
  likelihood ``(1 - e) p_k + e / C`` (a label may be a uniformly random class
  with probability ``e``), so that no single label rules a member out and the
  information runs out more slowly. A modelling choice; ``e = 0`` is plain
  BatchBALD.
- ``completion = "power"``: from the saturated step on, draw the rest of the
  batch PowerBALD-style (probability proportional to the BALD score, without
  replacement, Kirsch et al. 2023) among the remaining candidates instead of
  following noise.
- ``completion = "random"``: the same, uniformly at random.
- ``member_votes = True`` (:class:`batchbald.pool.BatchBALD` only): score
  each member's vote, the one-hot of its most likely class
  (:func:`batchbald.information.member_votes`), as query-by-committee does.
  Soft members (bagged logistic regressions, small MLPs) make BatchBALD
  believe that a second label of the same sample still tells members apart,
  so it picks near-copies; on votes a copy of a chosen sample carries no
  information. Votes saturate after about ``log_C K`` picks, which is what
  ``completion`` is for.
- more members: more trees, more bagging estimators or more MC-dropout
  samples raise the bound ``log K`` itself (the warning says so).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ._validation import Interval, Options
from .information import bald_scores, entropy
from .information import member_votes as votes_of

__all__ = [
    "COMPLETIONS",
    "SATURATION_FLOOR",
    "SATURATION_Z",
    "SaturationWarning",
    "check_completion",
    "check_label_noise",
    "drawn_bald_scores",
    "estimate_with_error",
    "point_gain",
    "saturation_message",
    "warn_if_saturated",
]

#: Gains below this many nats count as saturated, whatever the noise.
SATURATION_FLOOR = 1e-3

#: Gains below this many standard errors of their estimate count as saturated.
SATURATION_Z = 2.0

#: Ways to complete a batch after saturation (None: keep greedy).
COMPLETIONS = ("power", "random")


class SaturationWarning(UserWarning):
    """A batch's information ran out before the batch was complete.

    Raised (as a warning) by :class:`batchbald.pool.BatchBALD` when the
    selection's ``saturated_at`` is not None; filter it with
    ``warnings.simplefilter("ignore", SaturationWarning)``.
    """


#: Declared constraints of the remedies (see :mod:`batchbald._validation`).
LABEL_NOISE_CONSTRAINT: list = [Interval(numbers.Real, 0, 1, closed="left")]
COMPLETION_CONSTRAINT: list = [Options(str, set(COMPLETIONS)), None]


def check_label_noise(label_noise) -> float:
    """Validate ``label_noise``: a real number in [0, 1)."""
    if (
        isinstance(label_noise, bool)
        or not isinstance(label_noise, numbers.Real)
        or not 0 <= float(label_noise) < 1
    ):
        raise ValueError(
            f"label_noise must be a real number in [0, 1); got {label_noise!r}."
        )
    return float(label_noise)


def check_completion(completion) -> str | None:
    """Validate ``completion``: None or one of :data:`COMPLETIONS`."""
    if completion is not None and completion not in COMPLETIONS:
        raise ValueError(
            f"completion must be None or one of {COMPLETIONS}; got {completion!r}."
        )
    return completion


def estimate_with_error(
    values_M, weights_M, n_draws: int | None
) -> tuple[float, float]:
    """Weighted mean and its standard error ``sqrt(Var_w / n_draws)``.

    Parameters
    ----------
    values_M, weights_M : numpy.ndarray of shape (M,)
        Per-configuration values and weights summing to 1.
    n_draws : int or None
        Number of drawn configurations behind the weights; None for an exact
        (enumerated) expectation, whose error is 0.
    """
    mean = float(weights_M @ values_M)
    if n_draws is None or n_draws < 2:
        return mean, 0.0
    var = float(weights_M @ (values_M - mean) ** 2) * n_draws / (n_draws - 1)
    return mean, math.sqrt(max(var, 0.0) / n_draws)


def point_gain(probs_K_C, post_M_K, weights_M, n_draws=None) -> tuple[float, float]:
    """Gain ``I(y_n; w | y_A)`` of one sample in float64, with its error.

    Parameters
    ----------
    probs_K_C : numpy.ndarray of shape (K, C)
        The sample's member probabilities.
    post_M_K, weights_M : numpy.ndarray
        Posterior over members of each configuration, and the weights.
    n_draws : int or None
        See :func:`estimate_with_error`.

    Returns
    -------
    gain, standard_error : float
    """
    probs = np.asarray(probs_K_C, dtype=np.float64)
    g_M = entropy(post_M_K @ probs) - post_M_K @ entropy(probs)
    return estimate_with_error(g_M, weights_M, n_draws)


def drawn_bald_scores(
    selection, chosen_probs_K_B_C, member_votes: bool = False
) -> np.ndarray | None:
    """The BALD scores that a completion drew the batch's last picks for.

    From the saturated step on, a completion draws the picks in proportion
    to their BALD scores (``"power"``) or uniformly; their gains are about 0,
    and their BALD score is what a person labeling them can be shown.

    Parameters
    ----------
    selection : batchbald.engine.BatchSelection
        A BatchBALD selection made with a completion.
    chosen_probs_K_B_C : numpy.ndarray of shape (K, B, C)
        The member probabilities of its ``B`` picks, in the order chosen.
    member_votes : bool, default=False
        Whether the selection scored the members' votes
        (:func:`batchbald.information.member_votes`) instead.

    Returns
    -------
    numpy.ndarray of shape (B,) or None
        The BALD score of each pick from ``selection.saturated_at`` on, NaN
        for the picks before it; None when the batch did not saturate.
    """
    start = selection.saturated_at
    if start is None:
        return None
    drawn_K_D_C = chosen_probs_K_B_C[:, start:]
    if member_votes:
        drawn_K_D_C = votes_of(drawn_K_D_C)
    drawn_B = np.full(chosen_probs_K_B_C.shape[1], np.nan)
    drawn_B[start:] = bald_scores(drawn_K_D_C)
    return drawn_B


def saturation_message(
    saturated_at: int,
    batch_size: int,
    n_members: int,
    member_entropy: float,
    completion: str | None,
    label_noise: float,
) -> str:
    """The text of the :class:`SaturationWarning` (see the module doc)."""
    how = {"power": "PowerBALD-style", "random": "uniformly at random"}
    remedy = (
        f"the picks from step {saturated_at} on were drawn "
        f"{how.get(completion, completion)} (completion={completion!r})"
        if completion is not None
        else "Pass completion='power' to draw the rest PowerBALD-style"
    )
    noise = (
        f"; label_noise={label_noise:g} is in use"
        if label_noise
        else "; label_noise (e.g. 0.05) makes the information last longer"
    )
    spent = (
        "; rather than follow noise, "
        if completion is not None
        else " and further greedy picks follow noise. "
    )
    return (
        f"BatchBALD saturated at step {saturated_at} of {batch_size}: from there "
        f"on the gains are below max({SATURATION_FLOOR:g} nats, "
        f"{SATURATION_Z:g} standard errors), i.e. the information of the "
        f"K={n_members} members (at most log K = {math.log(n_members):.3f} nats, "
        f"{member_entropy:.3g} nats left) is spent{spent}{remedy}. More members "
        "would help: more trees, more bagging estimators or more MC-dropout "
        f"samples{noise}."
    )


def warn_if_saturated(
    selection,
    n_members: int,
    *,
    completion: str | None = None,
    label_noise: float = 0.0,
    stacklevel: int = 2,
) -> bool:
    """Issue one :class:`SaturationWarning` if ``selection`` saturated.

    Parameters
    ----------
    selection : batchbald.engine.BatchSelection
        A BatchBALD selection.
    n_members : int
        ``K``, the number of members the selection used.
    completion, label_noise
        The remedies the selection used (named in the advice).
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    bool
        Whether a warning was issued.
    """
    message = selection_saturation_message(
        selection, n_members, completion=completion, label_noise=label_noise
    )
    if message is None:
        return False
    warnings.warn(message, SaturationWarning, stacklevel=stacklevel + 1)
    return True


def selection_saturation_message(
    selection,
    n_members: int,
    *,
    completion: str | None = None,
    label_noise: float = 0.0,
) -> str | None:
    """:func:`saturation_message` for a selection, or None if it did not
    saturate (what the command line prints instead of warning)."""
    if selection.saturated_at is None:
        return None
    left = math.log(n_members) - (selection.joint_information or 0.0)
    return saturation_message(
        selection.saturated_at,
        len(selection.indices),
        n_members,
        max(left, 0.0),
        completion,
        label_noise,
    )
