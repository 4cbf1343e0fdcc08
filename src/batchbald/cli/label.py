"""``batchbald label``: label a table or a folder of images in the browser."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from .._names import MODELS, STRATEGIES, describe
from ._args import add_members, add_method, positive_int

NAME = "label"

_DESCRIPTION = f"""\
Start a local web page for active-learning labeling. DATA is a table (CSV, or
TSV for .tsv files) whose rows with an empty --label-column are unlabeled, or
a folder of images (.png, .jpg) whose labels go to the CSV given by --labels
(columns file,label; created on the first answer).

The page shows the batch the --method chose, in its order, each item with the
model's predicted class, its probability and the item's gain in nats. Keys
1-9 pick a class, typing a letter starts a new or known class (type-ahead),
Space skips, Backspace undoes. When the batch is done, the model retrains and
the next batch is chosen in the background while the page stays usable.

methods (--method):
{describe(STRATEGIES)}

Every answer is saved at once, before the page shows "saved": the first save
copies the file to FILE.bak (never overwriting a backup), each save writes a
temporary file, fsyncs it and renames it over the file, and only the label
cell changes (the file's permissions too). If the file changes on disk
behind the session's back, nothing more is written. A second session on the
same file is refused (a .FILE.lock next to it), and so are read-only and
hard-linked files; a symbolic link is written through. Labels a spreadsheet
would run as a formula (starting with =, +, -, @) are saved with a leading '.

With fewer than two classes labeled, the first batch is a diverse one
(k-means++ seeding over the features), as the page says.

The server listens on 127.0.0.1 (--host to change) on a free port (--port)
and prints the page's URL; the URL carries a random token without which
every request is refused (403). Stop it with Ctrl-C: no answer is lost.
"""

_EPILOG = """\
examples:
  batchbald label data.csv --label-column species
  batchbald label data.csv -y species --model rf --batch-size 10 --open
  batchbald label photos/ --labels labels.csv --classes cat,dog
  batchbald label photos/ --labels labels.csv --embeddings emb.npy

exit status: 0 after Ctrl-C or when stopped, 2 bad arguments or input
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``label`` on the sub-parsers of the ``batchbald`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="label a table or a folder of images in the browser",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data", type=Path, metavar="DATA", help="a CSV file or an image folder"
    )
    p.add_argument(
        "--label-column", "-y", metavar="COL", help="tables: the label column"
    )
    p.add_argument(
        "--labels",
        type=Path,
        metavar="FILE",
        help="images: the labels CSV (file,label)",
    )
    p.add_argument(
        "--classes", metavar="A,B,C", help="comma-separated classes offered first"
    )
    p.add_argument(
        "--features", metavar="COLS", help="tables: comma-separated feature columns"
    )
    p.add_argument(
        "--no-one-hot",
        dest="one_hot",
        action="store_false",
        help="tables: reject non-numeric feature columns instead of one-hot encoding",
    )
    p.add_argument(
        "--embeddings",
        type=Path,
        metavar="EMB.npy",
        help="images: features, one row per image in path order (default: pixels)",
    )
    p.add_argument(
        "--image-size",
        type=positive_int,
        default=16,
        metavar="S",
        help="images: pixel features from S x S thumbnails (default: 16)",
    )
    p.add_argument("--rgb", action="store_true", help="images: colour pixel features")
    p.add_argument(
        "--model",
        choices=tuple(MODELS),
        default=None,
        help="model retrained after each batch (default: gp-bagging, or "
        "logreg-bagging when the table is too large for it); refused at start "
        "when it would not fit in memory once every row is labeled",
    )
    add_members(p, default=10)
    add_method(p)
    p.add_argument(
        "--batch-size",
        "-b",
        type=positive_int,
        default=5,
        metavar="B",
        help="items per batch (default: 5)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--delimiter", default=None, metavar="CHAR", help="tables: separator"
    )
    p.add_argument("--encoding", default="utf-8", help="tables: text encoding")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default: 127.0.0.1; the token is always needed)",
    )
    p.add_argument("--port", type=int, default=0, help="port (default: 0, a free one)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    return p


def _note(message: str) -> None:
    print(f"batchbald label: {message}", file=sys.stderr, flush=True)


def build_session(args: argparse.Namespace):
    """The :class:`~batchbald.app.session.LabelingSession` that ``args`` ask for."""
    from ..app.images import ImageSource
    from ..app.session import LabelingSession
    from ..app.sources import TableSource

    if args.model == "mc-dropout":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise ImportError(
                "--model mc-dropout needs PyTorch: pip install 'batchbald[torch]'"
            )
    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32); got {args.seed}.")
    source: ImageSource | TableSource
    if args.data.is_dir():
        if args.labels is None:
            raise ValueError("an image folder needs --labels FILE.csv for the answers.")
        if args.label_column is not None or args.features is not None:
            raise ValueError(
                "--label-column and --features are for tables, not images."
            )
        source = ImageSource(
            args.data, args.labels, args.embeddings, args.image_size, args.rgb
        )
    else:
        from .query import _delimiter

        if args.label_column is None:
            raise ValueError("a table needs --label-column COL.")
        if args.labels is not None or args.embeddings is not None:
            raise ValueError("--labels and --embeddings are for image folders.")
        delimiter = None if args.delimiter is None else _delimiter(args.delimiter)
        source = TableSource(
            args.data,
            args.label_column,
            args.features,
            args.one_hot,
            delimiter,
            args.encoding,
            notify=_note,
        )
    classes = (
        [] if not args.classes else [c for c in args.classes.split(",") if c.strip()]
    )
    return LabelingSession(
        source,
        classes,
        model=args.model,
        method=args.method,
        batch_size=args.batch_size,
        n_members=args.members,
        seed=args.seed,
        notify=_note,
    )


def _listen(host: str, port: int) -> socket.socket:
    if not 0 <= port < 65536:
        raise ValueError(f"--port must be in [0, 65535]; got {port}.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port} ({exc.strerror}).") from None
    sock.listen(64)
    return sock


def url_for(host: str, port: int, token: str) -> str:
    """The page's address, token included."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def serve(session, host: str = "127.0.0.1", port: int = 0, open_browser: bool = False):
    """Serve ``session`` until interrupted; prints the URL on stdout."""
    import secrets

    import uvicorn

    from ..app.server import create_app

    token = secrets.token_urlsafe(24)
    app = create_app(session, token)
    sock = _listen(host, port)
    url = url_for(host, sock.getsockname()[1], token)
    session.start()
    print(url, flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        _note(f"listening on {host}: anyone who can reach it still needs the token.")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how the server is meant to stop
        pass
    finally:
        sock.close()


def run(args: argparse.Namespace) -> int:
    """Carry out ``batchbald label``; returns the exit status."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ImportError(
            "batchbald label needs Starlette and uvicorn: pip install 'batchbald[app]'"
        ) from None
    session = build_session(args)
    session.source.lock()
    try:
        stray = session.source.stray_temporary_files()
        if stray:
            _note(
                f"found {len(stray)} leftover temporary file(s) of an interrupted "
                f"save (e.g. {stray[0]}); the labels file itself is intact and they "
                "can be deleted."
            )
        _note(
            f"{session.source.name}: {session.source.n_items} items, "
            f"{sum(1 for v in session.source.labels if v)} labeled; "
            f"answers are saved to {session.source.path}"
        )
        serve(session, args.host, args.port, args.open)
    finally:
        idle = session.close(timeout=2.0)
        _note(f"{session.n_saved} answer(s) saved in {session.source.path}.")
    if not idle:
        # A model fit is still running in the worker thread and cannot be
        # interrupted; every answer is on disk, so leave without waiting
        # (letting the interpreter tear down under a running native fit can
        # abort the process).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
