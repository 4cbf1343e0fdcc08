"""``batchbald label``: an active-learning labeling app in the browser.

A local web server (Starlette + uvicorn, the ``batchbald[app]`` extra) shows
the batch a selection rule chose, saves every answer into the user's file at
once, and retrains and chooses the next batch in a background thread. See
:mod:`batchbald.cli.label` for the command and :func:`serve` to run it from
Python.
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def __getattr__(name):
    if name in ("create_app", "serve"):
        try:
            from . import server
        except ImportError as exc:
            raise ImportError(
                "the labeling app needs Starlette and uvicorn: "
                "pip install 'batchbald[app]'"
            ) from exc
        if name == "serve":
            from ..cli.label import serve

            return serve
        return server.create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
