"""Declared validation of the scalar and enum parameters of the public API.

Each public function declares what its parameters accept, as data, in the
manner of scikit-learn's ``sklearn.utils._param_validation``::

    @validate_params({
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "mode": [Options(str, {"power", "softmax"})],
        "random_state": ["random_state"],
        "device": ["device", None],
    })
    def select(probs, batch_size, mode="power", random_state=None, device=None):
        ...

A parameter is valid when it satisfies any constraint of its list. A
constraint is a :class:`Constraint`, ``None`` (the value None), a class (an
instance of it), the builtin ``callable``, or one of the strings
``"boolean"``, ``"random_state"``, ``"device"``, ``"memory_bytes"`` and
``"array-like"``. Estimators declare a class-level ``_parameter_constraints``
dict and call :func:`validate_estimator_params` in ``fit``/``query``. The
checks happen once, at the entry point; the layers below trust their inputs.
Errors are :class:`InvalidParameterError`, both a ``ValueError`` and a
``TypeError``, naming the parameter, the value received and what is valid.
:func:`invalid_values` produces refused values from the declarations, which
the test suite uses to generate the bad-input tests.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import reprlib
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "Constraint",
    "Interval",
    "InvalidParameterError",
    "Options",
    "check_params",
    "external_stacklevel",
    "invalid_values",
    "make_constraint",
    "renamed_parameter",
    "validate_estimator_params",
    "validate_params",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Smallest working-memory budget the engine accepts (1 MiB).
MIN_MEMORY_BYTES = 2**20


class InvalidParameterError(ValueError, TypeError):
    """A parameter value that its declaration refuses."""


class Constraint:
    """A set of valid values: ``is_satisfied_by``, a description, examples."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError

    def explain(self, value: Any) -> str:
        """Why ``value`` is refused, beyond the description (may be empty)."""
        return ""

    def invalid_values(self) -> list:
        """Values of (nearly) the right kind that this constraint refuses."""
        return []


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Interval(Constraint):
    """Numbers of ``type`` (``numbers.Integral`` or ``numbers.Real``) between
    ``left`` and ``right`` (None: unbounded). Bools are never numbers here,
    and a Real interval holds only finite values (never NaN or inf); Integral
    intervals refuse floats, even integral ones (no silent coercion)."""

    def __init__(self, type, left, right, *, closed: str = "both", text: str = ""):
        if type not in (numbers.Integral, numbers.Real):
            raise ValueError("Interval type must be numbers.Integral or numbers.Real")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be left, right, both or neither: {closed}")
        self.type, self.left, self.right, self.text = type, left, right, text
        self.lo_closed = closed in ("left", "both")
        self.hi_closed = closed in ("right", "both")

    def is_satisfied_by(self, value) -> bool:
        if self.type is numbers.Integral:
            if not _is_int(value):
                return False
        elif not (_is_real(value) and math.isfinite(value)):
            return False
        lo, hi, lo_closed, hi_closed = (
            self.left,
            self.right,
            self.lo_closed,
            self.hi_closed,
        )
        return bool(
            (lo is None or (value >= lo if lo_closed else value > lo))
            and (hi is None or (value <= hi if hi_closed else value < hi))
        )

    def __str__(self) -> str:
        if self.text:
            return self.text
        kind = "an integer" if self.type is numbers.Integral else "a finite real number"
        lo, hi = self.left, self.right
        if lo is not None and hi is not None:
            opening, closing = "[("[not self.lo_closed], "])"[not self.hi_closed]
            return f"{kind} in {opening}{lo}, {hi}{closing}"
        if lo is not None:
            return f"{kind} {'>=' if self.lo_closed else '>'} {lo}"
        if hi is not None:
            return f"{kind} {'<=' if self.hi_closed else '<'} {hi}"
        return kind

    def invalid_values(self) -> list:
        out: list = [True, "1", math.nan, math.inf, -math.inf]
        step = 1 if self.type is numbers.Integral else 0.5
        if self.left is not None:
            out += [self.left - step, self.left]
        if self.right is not None:
            out += [self.right + step, self.right]
        if self.type is numbers.Integral:
            out += [1.5, float(self.left if self.left is not None else 1)]
        return out  # invalid_values() drops the ones that are valid after all


class Options(Constraint):
    """One of a set of values of ``type``, e.g. ``Options(str, {"a", "b"})``."""

    def __init__(self, type, options):
        self.type, self.options = type, frozenset(options)

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.type) and bool(value in self.options)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in sorted(self.options, key=str))

    def invalid_values(self) -> list:
        return ["not-an-option", 1, *(str(o).upper() + "!" for o in self.options)]


class _Predicate(Constraint):
    """The values for which ``test`` is true, described by ``text``."""

    def __init__(self, test: Callable[[Any], Any], text: str, invalid=()):
        self.test, self.text, self.invalid = test, text, list(invalid)

    def is_satisfied_by(self, value) -> bool:
        return bool(self.test(value))

    def __str__(self) -> str:
        return self.text

    def invalid_values(self) -> list:
        return list(self.invalid)


def _is_random_state(value) -> bool:
    if value is None or isinstance(value, np.random.RandomState):
        return True
    return _is_int(value) and 0 <= value < 2**32


class _Device(Constraint):
    """A torch device that torch knows, that holds data and that exists here
    (``"cpu"``, ``"cuda"`` when CUDA is available, ``"cuda:1"``...)."""

    def is_satisfied_by(self, value) -> bool:
        return not self.explain(value)

    def __str__(self) -> str:
        return "a torch device available on this machine, as a str or torch.device"

    def explain(self, value) -> str:
        is_device = type(value).__module__.startswith("torch") and (
            type(value).__name__ == "device"
        )
        if not (isinstance(value, str) or is_device):
            return "(a device is named by a string such as 'cpu' or 'cuda:0')"
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on environment
            raise ImportError(
                f"device={value!r} needs PyTorch: pip install 'batchbald[torch]'"
            ) from exc
        try:
            dev = torch.device(value)
        except (RuntimeError, ValueError, TypeError):
            return "(torch does not know this device)"
        return _device_unavailable(torch, dev)

    def invalid_values(self) -> list:
        return ["bogus", 0, "meta", "cuda:99", 1.5]


def _device_unavailable(torch, dev) -> str:
    if dev.type == "cpu":
        return ""
    if dev.type == "meta":
        return "(torch's meta device holds no data to select from)"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return "(CUDA is not available here: torch.cuda.is_available() is False)"
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            return f"(this machine has {n} CUDA device(s), numbered from 0)"
        return ""
    backend = getattr(torch.backends, dev.type, None) or getattr(torch, dev.type, None)
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        return f"(torch reports no available {dev.type!r} device here)"
    return ""


_NAMED: dict[str, Constraint] = {
    "boolean": _Predicate(
        lambda v: isinstance(v, (bool, np.bool_)), "True or False", [1, 0, "yes"]
    ),
    "random_state": _Predicate(
        _is_random_state,
        "None, an integer in [0, 2**32) or a numpy.random.RandomState",
        [-1, 2**32, 1.5, True, "seed", np.random.default_rng(0)],
    ),
    "array-like": _Predicate(
        lambda v: hasattr(v, "__array__") or isinstance(v, (list, tuple)),
        "an array-like",
        ["abc", 1.0],
    ),
    "device": _Device(),
    "memory_bytes": Interval(
        numbers.Real,
        MIN_MEMORY_BYTES,
        None,
        closed="left",
        text=f"a finite number of bytes >= 1 MiB ({MIN_MEMORY_BYTES})",
    ),
}
_NONE = _Predicate(lambda v: v is None, "None")
_CALLABLE = _Predicate(callable, "a callable", ["print", 1])


def make_constraint(spec) -> Constraint:
    """The :class:`Constraint` a declaration stands for."""
    if isinstance(spec, Constraint):
        return spec
    if spec is None:
        return _NONE
    if spec is callable:
        return _CALLABLE
    if isinstance(spec, str) and spec in _NAMED:
        return _NAMED[spec]
    if isinstance(spec, type):
        return _Predicate(
            lambda v: isinstance(v, spec), f"an instance of {spec.__name__}", [object()]
        )
    raise ValueError(f"unknown constraint {spec!r}")


def _describe(constraints: list[Constraint]) -> str:
    parts = [str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check_params(
    values: Mapping[str, Any], constraints: Mapping[str, list], caller: str = ""
) -> None:
    """Check each declared parameter of ``values``; raise on the first refused.

    Parameters without a declaration are not checked.

    Raises
    ------
    InvalidParameterError
        Naming ``caller``, the parameter, the value and what would be valid.
    """
    for name, specs in constraints.items():
        if name not in values:
            continue
        value = values[name]
        cons = [make_constraint(s) for s in specs]
        if any(c.is_satisfied_by(value) for c in cons):
            continue
        details = " ".join(d for d in (c.explain(value) for c in cons) if d)
        where = f"{caller}: " if caller else ""
        raise InvalidParameterError(
            f"{where}{name} must be {_describe(cons)}; got "
            f"{type(value).__name__} {reprlib.repr(value)}"
            + (f" {details}" if details else "")
            + "."
        )


def validate_params(constraints: Mapping[str, list]) -> Callable[[F], F]:
    """Decorator: check the declared parameters of every call of a function.

    The declarations stay readable on the wrapper as ``_parameter_constraints``.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise ValueError(f"{func.__qualname__} has no parameters {unknown}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_params(bound.arguments, constraints, func.__qualname__)
            return func(*args, **kwargs)

        wrapper._parameter_constraints = dict(constraints)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def validate_estimator_params(estimator) -> None:
    """Check an estimator's constructor parameters against its class-level
    ``_parameter_constraints``; call it in ``fit``/``query``, never ``__init__``."""
    check_params(
        estimator.get_params(deep=False),
        type(estimator)._parameter_constraints,
        type(estimator).__name__,
    )


def renamed_parameter(new, old, new_name: str, old_name: str, caller: str):
    """The value of a renamed parameter given its deprecated alias ``old``
    (None when not passed); warns with a FutureWarning when the alias is used."""
    if old is None:
        return new
    if new is not None:
        raise InvalidParameterError(
            f"{caller}: pass {new_name} only; {old_name} is its deprecated alias."
        )
    import warnings

    warnings.warn(
        f"{caller}: {old_name} is deprecated and will be removed; use "
        f"{new_name}={old!r} instead.",
        FutureWarning,
        stacklevel=external_stacklevel(),
    )
    return old


def external_stacklevel() -> int:
    """``stacklevel`` that points a warning issued by the caller of this
    function at the first frame outside the batchbald package (the user's)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and (
        frame.f_globals.get("__name__", "").split(".")[0] == "batchbald"
    ):
        frame = frame.f_back
        level += 1
    return level


_PROBES: list = [None, object(), "bogus", True, 1.5, -1, 0, math.nan, math.inf]


def invalid_values(specs: list) -> list:
    """Values that none of the declared constraints accept (for tests)."""
    cons = [make_constraint(s) for s in specs]
    candidates = list(_PROBES)
    for c in cons:
        candidates += c.invalid_values()
    out: list = []
    for value in candidates:
        if not any(c.is_satisfied_by(value) for c in cons):
            if not any(value is v or _same(value, v) for v in out):
                out.append(value)
    return out


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - arbitrary objects
        return False


def resolve_lazy(lazy: bool | None, return_utilities: bool) -> bool:
    """``lazy`` of the greedy engines: None means True unless utilities are
    asked for, which need every gain at every step."""
    if lazy is None:
        return not return_utilities
    if lazy and return_utilities:
        raise ValueError(
            "lazy=True cannot return utilities, which need every gain at every "
            "step; pass lazy=None or lazy=False."
        )
    return bool(lazy)
