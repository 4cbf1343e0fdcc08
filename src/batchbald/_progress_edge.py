"""A progress bar drawn only on a terminal (the edge of the library)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class _Silent:
    def update(self, n: int = 1) -> None:
        """Nothing to draw."""


@contextlib.contextmanager
def progress_bar(total: int, enabled: bool, desc: str) -> Iterator:
    """A tqdm bar on stderr when ``enabled`` and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield _Silent()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, file=sys.stderr) as bar:
        yield bar
