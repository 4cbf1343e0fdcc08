"""A batch as large as the pool stays cheap once the members are spent."""

import warnings

import numpy as np

from batchbald.pool import BatchBALD
from batchbald.saturation import SaturationWarning


def test_whole_pool_batch_is_complete_and_reports_zero_gains_once_spent():
    rng = np.random.RandomState(0)
    probs = rng.dirichlet(np.full(4, 0.3), size=(6, 300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaturationWarning)
        sel = BatchBALD(random_state=0).select(probs, 300)
    assert sorted(sel.indices.tolist()) == list(range(300))  # every point once
    assert sel.saturated_at is not None
    after = sel.gains[sel.saturated_at + 1 :]
    assert (after >= 0).all() and after.max() < 1e-3
    assert 0 <= sel.joint_information <= np.log(6) + 1e-12
