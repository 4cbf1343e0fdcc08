"""Argument types shared by the sub-commands."""

from __future__ import annotations

import argparse
import re
import sys


def positive_int(text: str) -> int:
    """``argparse`` type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """``argparse`` type: ``"512M"``, ``"2GiB"``, ``"1.5g"`` or a plain number
    of bytes, at least 1 MiB."""
    match = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(i?b)?\s*", text.lower()
    )
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 512M, 2G or 1000000 (bytes), got {text!r}"
        )
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value < 2**20:
        raise argparse.ArgumentTypeError(f"expected at least 1M, got {text!r}")
    return value


class DeprecatedAlias(argparse.Action):
    """An old option name that stores into the new option's ``dest`` and
    warns on stderr, e.g. ``--samples`` for ``--configurations``.

    Use as ``p.add_argument("--samples", action=DeprecatedAlias,
    dest="configurations", new="--configurations", type=..., help=SUPPRESS)``.
    """

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and will be "
            f"removed; use {self.new} instead.",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def warn(command: str, message: str) -> None:
    """Print ``batchbald <command>: warning: <message>`` on stderr."""
    print(f"batchbald {command}: warning: {message}", file=sys.stderr)


def check_device(text: str | None, option: str = "--device") -> str | None:
    """The torch device ``text`` if it exists on this machine, else ValueError.

    Checked before any work, so that ``--device cuda`` on a machine without
    CUDA ends in a message and exit status 2 rather than torch's
    ``AssertionError`` or ``RuntimeError`` midway.
    """
    if text is None:
        return None
    try:
        import torch
    except ImportError:
        raise ValueError(
            f'{option} needs PyTorch: pip install "batchbald[torch]", or drop '
            f"{option} to run with numpy."
        ) from None
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{option} {text!r} is not a torch device ({exc}); use e.g. cpu, "
            "cuda or cuda:0."
        ) from None
    if device.type == "meta":
        raise ValueError(
            f"{option} meta holds no data; use a device that computes, e.g. cpu."
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{option} {text}: CUDA is not available on this machine "
            "(torch.cuda.is_available() is False); use --device cpu, or drop "
            f"{option} to run with numpy."
        )
    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(
            f"{option} {text}: torch cannot use this device here ({exc})."
        ) from None
    return text


# --------------------------------------------------------------------------
# options shared by the sub-commands: one name for each quantity
# --------------------------------------------------------------------------
def add_configurations(group, deprecated: tuple[str, ...] = ()) -> None:
    """``--configurations/-M``: BatchBALD's joint labellings M (``dest``
    ``configurations``); ``deprecated`` old names still work, with a warning."""
    group.add_argument(
        "--configurations",
        "-M",
        dest="configurations",
        type=positive_int,
        default=None,
        metavar="M",
        help="batchbald: joint labellings M sampled once exact enumeration "
        "gets too large (default: 1000)",
    )
    for old in deprecated:
        group.add_argument(
            old,
            dest="configurations",
            action=DeprecatedAlias,
            new="--configurations",
            type=positive_int,
            help=argparse.SUPPRESS,
        )


def add_members(group, default: int, deprecated: tuple[str, ...] = ()) -> None:
    """``--members/-K``: ensemble members or MC-dropout passes K (``dest``
    ``members``)."""
    group.add_argument(
        "--members",
        "-K",
        dest="members",
        type=positive_int,
        default=default,
        metavar="K",
        help="posterior samples K: bagging members, trees or MC-dropout passes "
        "(default: %(default)s)",
    )
    for old in deprecated:
        group.add_argument(
            old,
            dest="members",
            action=DeprecatedAlias,
            new="--members",
            type=positive_int,
            help=argparse.SUPPRESS,
        )


def add_method(group, default: str = "batchbald") -> None:
    """``--method``: one strategy of the registry (:mod:`batchbald._names`)."""
    from .._names import STRATEGIES

    group.add_argument(
        "--method",
        choices=tuple(STRATEGIES),
        default=default,
        help=f"selection rule, see above (default: {default})",
    )


def add_engine_options(group) -> None:
    """``--max-memory`` and ``--device``: the engine's resources."""
    group.add_argument(
        "--max-memory",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="working-memory budget, e.g. 512M or 4G (default: 256M)",
    )
    group.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="run on PyTorch on this device, e.g. cuda or cpu (needs "
        "batchbald[torch]; default: numpy)",
    )


def add_beta(group) -> None:
    """``--beta``: the stochastic strategies' inverse temperature."""
    group.add_argument(
        "--beta",
        type=float,
        default=None,
        metavar="BETA",
        help="powerbald, softmaxbald, softrankbald: inverse temperature (default: 1)",
    )


def add_no_progress(group) -> None:
    """``--no-progress`` (``dest`` ``progress``)."""
    group.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="hide the progress bar (drawn only when stderr is a terminal)",
    )


def add_table_columns(group, prefix: str = "") -> None:
    """``--label-column/-y``, ``--features`` and ``--drop-columns`` of a table
    (``prefix`` starts each help text)."""
    group.add_argument(
        "--label-column",
        "-y",
        default=None,
        metavar="NAME",
        help=f"{prefix}the column of the labels",
    )
    group.add_argument(
        "--features",
        default=None,
        metavar="LIST",
        help=f"{prefix}comma-separated feature columns (default: all but the "
        "label and --drop-columns)",
    )
    group.add_argument(
        "--drop-columns",
        default=None,
        metavar="LIST",
        help=f"{prefix}comma-separated columns to leave out (an ID, notes)",
    )


def names_list(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None."""
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def strategy_list(text: str) -> list[str]:
    """``argparse`` type: comma-separated registered strategy names."""
    from .._names import STRATEGIES

    names = names_list(text) or []
    bad = [s for s in names if s not in STRATEGIES]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown strategy {', '.join(map(repr, bad)) or '(none given)'}; "
            f"choose from {', '.join(STRATEGIES)}"
        )
    return names


class ModelName(argparse.Action):
    """``--model``: a name of :data:`batchbald._names.MODELS`; a deprecated
    alias stores its new name and warns on stderr."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .._names import MODEL_ALIASES, MODELS

        if values in MODEL_ALIASES:
            print(
                f"{parser.prog}: warning: {option_string} {values} is deprecated "
                f"and will be removed; use {option_string} "
                f"{MODEL_ALIASES[values]} instead.",
                file=sys.stderr,
            )
            values = MODEL_ALIASES[values]
        elif values not in MODELS:
            parser.error(
                f"argument {option_string}: invalid choice: {values!r} (choose "
                f"from {', '.join(MODELS)})"
            )
        setattr(namespace, self.dest, values)


def add_output(group, default: str, what: str) -> None:
    """``--out/-o FILE`` (``-`` for standard output) and ``--force``."""
    group.add_argument(
        "--out",
        "-o",
        default=default,
        metavar="FILE",
        help=f"output: {what}, or - for CSV on stdout (default: {default})",
    )
    group.add_argument(
        "--force", action="store_true", help="replace --out if it exists"
    )


def check_output(out: str, suffixes: tuple[str, ...], force: bool, inputs=()) -> None:
    """Check ``--out`` before any work: its suffix, that it is new (unless
    ``force``) and that it is none of the ``inputs``; ``-`` is always fine."""
    from pathlib import Path

    from ..io import check_new_file

    if out == "-":
        return
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise ValueError(
            f"--out must end in {' or '.join(suffixes)} (or be - for stdout); got "
            f"{out!r}."
        )
    check_new_file(path, force, "output")
    for source in inputs:
        if path.resolve() == Path(source).resolve():
            raise ValueError(f"--out must not be the input file {str(source)!r}.")


def add_seed(group, what: str) -> None:
    """``--seed``: an integer in [0, 2**32) (checked by :func:`check_seed`)."""
    group.add_argument(
        "--seed", type=int, default=0, help=f"random seed for {what} (default: 0)"
    )


def check_seed(seed: int) -> int:
    """``--seed`` in [0, 2**32), numpy's range."""
    if not 0 <= seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {seed}.")
    return seed
