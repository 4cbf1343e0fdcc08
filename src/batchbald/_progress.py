"""The one progress-bar helper of the package.

Progress bars are drawn only at the edges (the command line, ``progress=True``
of a long-running function) and only when the stream they draw on is a
terminal, as tqdm users expect: redrawing a bar into a log file or a pipe
fills it with carriage returns. Elsewhere :func:`progress_bar` returns a
:class:`NullBar` with the same methods that draws nothing, so the callers need
no branches of their own.
"""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ["NullBar", "is_terminal", "log_line", "progress_bar"]


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default: ``sys.stderr``) is an interactive terminal.

    Parameters
    ----------
    stream : file-like, default=None
        The stream a bar would be drawn on; None means ``sys.stderr`` at the
        time of the call (so that redirections made by tests or callers count).

    Returns
    -------
    bool
        False for files, pipes, closed streams and objects without ``isatty``.
    """
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class NullBar:
    """A progress bar that draws nothing (tqdm's methods, as no-ops)."""

    def __init__(self, total: int | None = None) -> None:
        self.total = total
        self.n = 0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""
        self.n += n

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Ignored."""

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Ignored."""

    def close(self) -> None:
        """Ignored."""

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int | None,
    desc: str,
    *,
    unit: str = "it",
    enabled: bool = True,
    stream: IO[str] | None = None,
) -> Any:
    """A tqdm bar on ``stream`` when it is a terminal, else a :class:`NullBar`.

    Parameters
    ----------
    total : int or None
        Number of steps expected.
    desc : str
        Label in front of the bar.
    unit : str, default="it"
        Name of one step.
    enabled : bool, default=True
        False always gives a :class:`NullBar` (``--no-progress``,
        ``progress=False``).
    stream : file-like, default=None
        Where to draw; None means ``sys.stderr`` at the time of the call.

    Returns
    -------
    tqdm.tqdm or NullBar
        Both have ``update``, ``set_description``, ``set_postfix``, ``close``
        and work as context managers.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled or not is_terminal(stream):
        return NullBar(total)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=stream)


def log_line(message: str) -> None:
    """Print ``message`` on standard output without breaking a bar on stderr.

    With a bar possibly drawn (stderr a terminal) this goes through
    ``tqdm.write``, which clears and redraws the bar around the line;
    otherwise it is a plain ``print``.
    """
    if is_terminal():
        from tqdm.auto import tqdm

        tqdm.write(message, file=sys.stdout)
    else:
        print(message, flush=True)
