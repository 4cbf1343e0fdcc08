"""Tests of the greedy loop shared by BatchBALD and batch EPIG
(batchbald._greedy.greedy_loop) with scripted steps."""

import pytest

from batchbald._greedy import GreedySteps, greedy_loop


class Scripted(GreedySteps):
    """Greedy gains from a script; records every call."""

    def __init__(self, gains, saturate_at, drawn=(7, 8, 9, 10)):
        self.gains, self.saturate_at, self.drawn = gains, saturate_at, list(drawn)
        self.calls = []

    def choose(self, step):
        self.calls.append(("choose", step))
        return 100 + step, self.gains[step], step == self.saturate_at

    def completion_order(self, mode):
        self.calls.append(("order", mode))
        return list(self.drawn)

    def drawn_gain(self, step, index, first):
        self.calls.append(("drawn", step, index, first))
        return -1e-9  # rounding below zero

    def commit(self, step, index, gain, completing):
        self.calls.append(("commit", step, index, gain, completing))


def test_greedy_loop_is_an_interface_to_fill():
    with pytest.raises(TypeError):
        GreedySteps()


GREEDY = [(0, 100, 0.5, False), (1, 101, 0.4, False), (2, 102, 0.0, False)]


@pytest.mark.parametrize(
    ("completion", "saturate_at", "expected_commits"),
    [
        (None, None, GREEDY),  # gains below zero are reported as 0
        (None, 1, GREEDY),  # plain greedy keeps choosing
        ("power", 1, [(0, 100, 0.5, False), (1, 7, 0.0, True), (2, 8, 0.0, True)]),
        ("random", 0, [(0, 7, 0.0, True), (1, 8, 0.0, True), (2, 9, 0.0, True)]),
    ],
)
def test_greedy_loop_draws_the_rest_once_saturated(
    completion, saturate_at, expected_commits
):
    run = Scripted([0.5, 0.4, -0.2], saturate_at)
    seen = []
    got = greedy_loop(run, 3, completion, lambda *a: seen.append(a))
    assert got == saturate_at
    commits = [c[1:] for c in run.calls if c[0] == "commit"]
    assert commits == expected_commits
    assert seen == [c[:3] for c in expected_commits]
    drawn = [c[1:] for c in run.calls if c[0] == "drawn"]
    if completion is None or saturate_at is None:
        assert drawn == [] and ("order", completion) not in run.calls
    else:  # the first drawn pick replaces the saturating step's greedy pick
        assert run.calls.count(("order", completion)) == 1
        assert drawn[0] == (saturate_at, 7, True)
        assert all(not first for _, _, first in drawn[1:])
        assert ("choose", saturate_at + 1) not in run.calls
