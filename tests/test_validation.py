"""Tests of batchbald._validation, and bad-input tests generated from the
declarations of every public function and strategy."""

import functools
import inspect
import math
import numbers
import re
import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from batchbald import datasets, engine, information, pool
from batchbald._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_params,
    external_stacklevel,
    invalid_values,
    make_constraint,
    renamed_parameter,
    validate_params,
)
from batchbald.utils import MISSING_LABEL, check_positive_int, check_random_state


# --------------------------------------------------------------------------
# the constraints themselves
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constraint", "value", "ok"),
    [
        (Interval(numbers.Integral, 1, None, closed="left"), 1, True),
        (Interval(numbers.Integral, 1, None, closed="left"), np.int32(7), True),
        (Interval(numbers.Integral, 1, None, closed="left"), 0, False),
        (Interval(numbers.Integral, 1, None, closed="left"), True, False),
        (Interval(numbers.Integral, 1, None, closed="left"), 2.0, False),
        (Interval(numbers.Integral, 1, None, closed="left"), 10**30, True),
        (Interval(numbers.Integral, None, None), -5, True),
        (Interval(numbers.Integral, 0, 3, closed="neither"), 3, False),
        (Interval(numbers.Integral, 0, 3, closed="right"), 3, True),
        (Interval(numbers.Real, 0, 0.1, closed="left"), 0, True),
        (Interval(numbers.Real, 0, 0.1, closed="left"), 0.1, False),
        (Interval(numbers.Real, 0, 0.1, closed="left"), np.float32(0.05), True),
        (Interval(numbers.Real, 0, None, closed="left"), math.inf, False),
        (Interval(numbers.Real, 0, None, closed="left"), math.nan, False),
        (Interval(numbers.Real, 0, None, closed="left"), False, False),
        (Interval(numbers.Real, 0, None, closed="left"), "1", False),
        (Interval(numbers.Real, 0, 1, closed="neither"), 0.0, False),
        (Interval(numbers.Real, 0, 1, closed="both"), 1, True),
        (Options(str, {"a", "b"}), "a", True),
        (Options(str, {"a", "b"}), "A", False),
        (Options(str, {"a", "b"}), ["a"], False),
        (make_constraint("boolean"), np.bool_(True), True),
        (make_constraint("boolean"), 1, False),
        (make_constraint("random_state"), None, True),
        (make_constraint("random_state"), 2**32 - 1, True),
        (make_constraint("random_state"), 2**32, False),
        (make_constraint("random_state"), np.random.RandomState(0), True),
        (make_constraint("random_state"), np.random.default_rng(0), False),
        (make_constraint("random_state"), True, False),
        (make_constraint("memory_bytes"), 2**20, True),
        (make_constraint("memory_bytes"), 64e6, True),
        (make_constraint("memory_bytes"), 2**20 - 1, False),
        (make_constraint("memory_bytes"), math.inf, False),
        (make_constraint("array-like"), [1, 2], True),
        (make_constraint("array-like"), np.ones(2), True),
        (make_constraint("array-like"), "ab", False),
        (make_constraint(callable), print, True),
        (make_constraint(callable), "print", False),
        (make_constraint(None), None, True),
        (make_constraint(None), 0, False),
        (make_constraint(str), "x", True),
        (make_constraint(str), b"x", False),
    ],
)
def test_constraint_membership(constraint, value, ok):
    assert constraint.is_satisfied_by(value) is ok


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (Interval(numbers.Integral, 1, None, closed="left"), "an integer >= 1"),
        (Interval(numbers.Integral, None, 5, closed="neither"), "an integer < 5"),
        (Interval(numbers.Real, 0, 0.1, closed="left"), "in [0, 0.1)"),
        (Interval(numbers.Real, 0, 1, closed="neither"), "in (0, 1)"),
        (Options(str, {"b", "a"}), "one of 'a', 'b'"),
        (make_constraint("memory_bytes"), "1 MiB (1048576)"),
    ],
)
def test_constraint_descriptions(constraint, text):
    assert text in str(constraint)


@pytest.mark.parametrize("spec", ["no-such-constraint", 3, [int]])
def test_unknown_declarations_are_refused(spec):
    with pytest.raises(ValueError, match="unknown constraint"):
        make_constraint(spec)


def test_bad_interval_declarations_are_refused():
    with pytest.raises(ValueError, match="Integral or numbers.Real"):
        Interval(int, 0, 1)
    with pytest.raises(ValueError, match="closed"):
        Interval(numbers.Real, 0, 1, closed="open")


def test_error_names_caller_parameter_value_and_what_is_valid():
    with pytest.raises(InvalidParameterError) as info:
        check_params(
            {"k": 0, "other": "unchecked"},
            {"k": [Interval(numbers.Integral, 1, None, closed="left"), None]},
            "f",
        )
    assert str(info.value) == "f: k must be an integer >= 1 or None; got int 0."
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(InvalidParameterError) as info:
        check_params({"k": list(range(10_000))}, {"k": [None]})
    assert len(str(info.value)) < 200


def test_validate_params_checks_bound_arguments_and_defaults():
    @validate_params({"b": ["boolean"], "n": [Interval(numbers.Integral, 0, None)]})
    def f(a, b=False, *, n=3):
        """Doc."""
        return a, b, n

    assert f(1, True, n=0) == (1, True, 0)
    assert f.__name__ == "f" and f.__doc__ == "Doc."
    assert set(f._parameter_constraints) == {"b", "n"}
    with pytest.raises(TypeError, match="b must be True or False; got int 1"):
        f(1, 1)
    with pytest.raises(ValueError, match="n must be an integer >= 0"):
        f(1, n=-1)
    with pytest.raises(TypeError):  # not a parameter of f: Python's own error
        f(1, m=2)


def test_validate_params_refuses_declarations_of_unknown_parameters():
    with pytest.raises(ValueError, match="no parameters"):

        @validate_params({"x": [None]})
        def g(y):
            return y


def test_check_positive_int_and_check_random_state_use_the_declarations():
    assert check_positive_int(np.int64(3), "k") == 3
    assert type(check_positive_int(np.int64(3), "k")) is int
    with pytest.raises(ValueError, match="k must be an integer >= 2; got int 1"):
        check_positive_int(1, "k", minimum=2)
    with pytest.raises(TypeError, match="k must be an integer"):
        check_positive_int(True, "k")
    rng = np.random.RandomState(0)
    assert check_random_state(rng) is rng
    assert check_random_state(np.uint32(5)).randint(100) == (
        np.random.RandomState(5).randint(100)
    )
    for bad in [-1, 2**32, 1.0, "0", False, np.random.default_rng(0)]:
        with pytest.raises(InvalidParameterError, match="random_state"):
            check_random_state(bad)


def test_renamed_parameter_warns_and_refuses_both_names():
    assert renamed_parameter(3, None, "new", "old", "f") == 3
    with pytest.warns(FutureWarning, match="old is deprecated.*new=4") as rec:
        assert renamed_parameter(None, 4, "new", "old", "f") == 4
    assert rec[0].filename == __file__
    with pytest.raises(TypeError, match="pass new only"):
        renamed_parameter(3, 4, "new", "old", "f")


def test_external_stacklevel_counts_frames_inside_the_package():
    assert external_stacklevel() == 1  # called from outside batchbald


def test_invalid_values_are_refused_by_every_constraint():
    specs = [Interval(numbers.Integral, 1, 5), None]
    values = invalid_values(specs)
    cons = [make_constraint(s) for s in specs]
    assert values and not any(c.is_satisfied_by(v) for v in values for c in cons)
    assert True in values and 0 in values and 6 in values and 1.5 in values
    assert None not in values


# --------------------------------------------------------------------------
# bad-input tests generated from the declarations
# --------------------------------------------------------------------------
_RNG = np.random.RandomState(0)
PROBS = _RNG.dirichlet(np.ones(3), size=(4, 6))
SCORES = _RNG.rand(6)
X_BLOBS = _RNG.normal(size=(12, 2))
Y_BLOBS = np.arange(12) % 2

#: Every declared public function with arguments that make a valid call.
CALLS = {
    engine.select_batch: ((PROBS,), {"batch_size": 2}),
    engine.select_topk: ((SCORES,), {"batch_size": 2}),
    engine.select_stochastic: ((SCORES,), {"batch_size": 2}),
    engine.pool_entropies: ((PROBS,), {}),
    information.check_probabilities: ((PROBS,), {}),
    information.entropy: ((PROBS,), {}),
    information.expected_entropy: ((PROBS,), {}),
    information.predictive_entropy: ((PROBS,), {}),
    information.bald_scores: ((PROBS,), {}),
    information.joint_entropy_exact: ((PROBS[:, :2],), {}),
    information.joint_entropy_sampled: ((PROBS[:, :2],), {}),
    information.member_votes: ((PROBS,), {}),
    information.smooth_probabilities: ((PROBS,), {"label_noise": 0.1}),
    datasets.from_arrays: ((X_BLOBS, Y_BLOBS), {}),
    datasets.load_digits_pool: ((), {"n_pool": 20}),
    datasets.make_repeated_digits: ((), {"n_pool": 20}),
    datasets.make_blobs_pool: ((), {"n_samples": 20}),
    datasets.load_dataset: ((), {"name": "blobs", "n_samples": 20}),
}


def _assert_refused(call, param, bad, who=r"\b"):
    """``call()`` must raise our error naming ``param``."""
    try:
        call()
    except InvalidParameterError as exc:
        assert re.search(rf"{who}{param} must be", str(exc)), (bad, str(exc))
    else:
        pytest.fail(f"{param}={bad!r} was accepted")


DECLARED = [
    pytest.param(func, param, id=f"{func.__name__}-{param}")
    for func in CALLS
    for param in func._parameter_constraints
]


@pytest.mark.parametrize(("func", "param"), DECLARED)
def test_declared_functions_refuse_invalid_values(func, param):
    if param == "device":
        pytest.importorskip("torch")
    args, kwargs = CALLS[func]
    values = invalid_values(func._parameter_constraints[param])
    assert values
    for bad in values:
        call = functools.partial(func, *args, **{**kwargs, param: bad})
        _assert_refused(call, param, bad)


@pytest.mark.parametrize("func", list(CALLS))
def test_declared_functions_accept_their_defaults(func):
    args, kwargs = CALLS[func]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        func(*args, **kwargs)


def _public_functions(module):
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            yield obj


# Public functions whose parameters are all arrays, or that are internal
# building blocks of the engine (validated by their callers).
_UNDECLARED = {
    "conditional_entropy",
    "conditional_mutual_information",
    "configuration_weights",
    "enumerate_configurations",
    "extend_configurations",
    "sample_configurations",
}


@pytest.mark.parametrize(
    "func",
    [
        f
        for m in (engine, information)
        for f in _public_functions(m)
        if f.__name__ not in _UNDECLARED and f.__name__ != "check_eps"
    ]
    + [f for f in _public_functions(datasets)],
    ids=lambda f: f.__name__,
)
def test_every_public_function_is_declared_and_tested(func):
    assert hasattr(func, "_parameter_constraints"), func.__name__
    assert func in CALLS


STRATEGIES = [getattr(pool, name) for name in pool.__all__]
FOREST = RandomForestClassifier(n_estimators=3, random_state=0)


STRATEGY_PARAMS = [
    pytest.param(cls, param, id=f"{cls.__name__}-{param}")
    for cls in STRATEGIES
    for param in cls._parameter_constraints
]


def _query(strategy, **kwargs):
    y = np.full(len(X_BLOBS), MISSING_LABEL)
    y[:4] = Y_BLOBS[:4]
    if isinstance(strategy, pool.RandomSampling):
        return strategy.query(X_BLOBS, y, **kwargs)
    return strategy.query(X_BLOBS, y, FOREST, **kwargs)


@pytest.mark.parametrize(("cls", "param"), STRATEGY_PARAMS)
def test_strategies_refuse_invalid_parameters_at_query_time(cls, param):
    if param == "device":
        pytest.importorskip("torch")
    for bad in invalid_values(cls._parameter_constraints[param]):
        strategy = cls(**{param: bad})  # __init__ only stores
        call = functools.partial(_query, strategy)
        _assert_refused(call, param, bad, f"{cls.__name__}: ")
        if hasattr(strategy, "select"):
            _assert_refused(functools.partial(strategy.select, PROBS, 2), param, bad)


CALL_PARAMS = [
    pytest.param(cls, param, id=f"{cls.__name__}-{param}")
    for cls in STRATEGIES
    for param in pool._CALL_CONSTRAINTS
    if param in inspect.signature(cls.query).parameters
]


@pytest.mark.parametrize(("cls", "param"), CALL_PARAMS)
def test_query_and_select_refuse_invalid_arguments(cls, param):
    for bad in invalid_values(pool._CALL_CONSTRAINTS[param]):
        _assert_refused(functools.partial(_query, cls(), **{param: bad}), param, bad)
        if param != "fit_ensemble" and hasattr(cls, "select"):
            kwargs = {"batch_size": 2, param: bad}
            _assert_refused(
                functools.partial(cls().select, PROBS, **kwargs), param, bad
            )


@pytest.mark.parametrize("cls", STRATEGIES, ids=lambda c: c.__name__)
def test_every_strategy_parameter_is_declared(cls):
    params = set(cls().get_params(deep=False))
    # missing_label may be any scalar, as in scikit-activeml.
    assert params - {"missing_label"} == set(cls._parameter_constraints)


TARGETED = [c for c in STRATEGIES if "targets" in inspect.signature(c.query).parameters]


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.array([0, 12]), r"targets holds indices outside \[0, 12\)"),
        (np.array([-1]), r"targets holds indices outside"),
        (np.array([], dtype=int), "targets is empty"),
        (np.zeros((3, 5)), r"targets given as samples must have the shape"),
        (np.zeros(3), "targets must be None"),
        (np.zeros((0, 2)), "targets must be None"),
    ],
)
@pytest.mark.parametrize("cls", TARGETED, ids=lambda c: c.__name__)
def test_query_refuses_invalid_targets(cls, targets, match):
    with pytest.raises(ValueError, match=match):
        _query(cls(), targets=targets)


def test_the_targeted_strategies_are_the_epig_ones():
    assert {c.__name__ for c in TARGETED} == {
        "EPIG", "BatchEPIG", "PowerEPIG", "SoftmaxEPIG", "SoftrankEPIG"
    }  # fmt: skip
