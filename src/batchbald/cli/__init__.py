"""The ``batchbald`` command line.

Every sub-command lives in its own module ``batchbald.cli.<name>`` exposing

- ``add_parser(subparsers) -> argparse.ArgumentParser``: registers the
  sub-command (its name, help, options);
- ``run(args: argparse.Namespace) -> int``: carries it out and returns the exit
  status.

The sub-commands are registered from :data:`COMMANDS`, in that order; to add
one, write its module and append its name there. ``run`` reports user errors
by raising ``ValueError``, ``TypeError`` or ``FileNotFoundError`` (the
library's own errors are these too): :func:`main` prints them as
``batchbald <command>: error: <message>`` and exits with status 2, like
argparse does for bad options; a full disk is reported the same way. A reader
that closes the output early (``batchbald select --out - | head -1``) ends the
command quietly with status 141 (128 + SIGPIPE, as a killed pipe writer). The
sub-command modules import only the standard library and
:mod:`batchbald._names` at the top, and everything heavy inside ``run``, so
that ``batchbald --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__

__all__ = ["COMMANDS", "build_parser", "main"]

#: Sub-command modules, registered in this order.
COMMANDS: tuple[str, ...] = ("demo", "experiment", "select", "query", "label")

#: Exit status for user errors (the same as argparse's).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Exit status when the reader of standard output went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141

_EPILOG = """\
examples:
  batchbald demo                          5 BatchBALD cycles to batchbald_demo.gif
  batchbald demo --out demo.html          the same as a self-contained web page
  batchbald demo --seed 3 --cycles 8      another data set, more cycles
  batchbald select probs.npy -b 10        a batch from saved (K, N, C) probabilities
  batchbald query data.csv -y label -b 5  the rows of a CSV to label next
  batchbald query data.csv -y label -b 5 --interactive
                                          label them in the terminal, saved safely
  batchbald experiment --dataset repeated-digits --strategies batchbald,bald,random
                                          learning curves over seeds
  batchbald <command> --help              options of one command
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="batchbald",
        description="Bayesian batch active learning (BALD, BatchBALD) from the "
        "command line.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="<command>", title="commands", required=True
    )
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run, _command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``batchbald`` command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage or user error, 130 when
        interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        return _error(args._command, str(exc))
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return _error(args._command, f"{exc.filename or ''}: {exc.strerror}.")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"batchbald {args._command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        return _error(args._command, f"no space left on the disk{where} ({exc}).")


def _error(command: str, message: str) -> int:
    print(f"batchbald {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so that the interpreter's final
    flush does not fail again (the recipe of Python's ``signal`` docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests)
        pass
