"""``batchbald demo``: animate BatchBALD on a toy problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._args import DeprecatedAlias, add_no_progress, positive_int

NAME = "demo"

_DESCRIPTION = """\
Run BatchBALD on five 2-D Gaussian blobs labelled by parity (a quarter held
out as a test set), with a bagged ensemble of ten small neural networks that
starts without labels. Each cycle selects a batch, reveals its labels and
refits. Prints each cycle's selected pool indices and test accuracy, and saves
an animation with one frame per cycle: the utilities behind each pick, the
decision boundary and the labelled samples. --frame also saves a still image:
top-k BALD's batch beside BatchBALD's, from the same ensemble in the third
cycle, in nats on one colour scale. Existing files are not replaced
unless --force is given (checked before the run); files are written
atomically.
"""

_EPILOG = """\
examples:
  batchbald demo
  batchbald demo --out demo.html --cycles 8
  batchbald demo --seed 1 --batch-size 2 --no-progress
  batchbald demo --frame docs/demo_frame.png      also save the comparison still
  batchbald demo --out docs/demo.gif --frame docs/demo_frame.png --force
                                                  regenerate existing files
"""


def _animation_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in (".gif", ".html"):
        raise argparse.ArgumentTypeError(f"must end in .gif or .html, got {text!r}")
    return path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo`` on the sub-parsers of the ``batchbald`` parser."""
    parser = subparsers.add_parser(
        NAME,
        help="animate BatchBALD on a toy 2-D problem",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=_animation_path,
        default=Path("batchbald_demo.gif"),
        metavar="PATH",
        help="animation to write, .gif or .html (default: batchbald_demo.gif)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--cycles",
        type=positive_int,
        default=5,
        metavar="N",
        help="active-learning cycles, one frame each (default: 5)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=4,
        metavar="N",
        help="samples selected per cycle (default: 4)",
    )
    parser.add_argument(
        "--pool-size",
        dest="pool_size",
        type=positive_int,
        default=400,
        metavar="N",
        help="points generated before the 75/25 pool/test split (default: 400)",
    )
    parser.add_argument(
        "--samples",
        dest="pool_size",
        action=DeprecatedAlias,
        new="--pool-size",
        type=positive_int,
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--res",
        type=positive_int,
        default=25,
        metavar="N",
        help="grid points per feature of the plots (default: 25)",
    )
    parser.add_argument(
        "--fps", type=float, default=1.0, help="frames per second (default: 1)"
    )
    parser.add_argument(
        "--dpi",
        type=positive_int,
        default=80,
        metavar="N",
        help="resolution of the frames (default: 80)",
    )
    parser.add_argument(
        "--frame",
        type=Path,
        default=None,
        metavar="PATH",
        help="also save a still image comparing top-k BALD's batch with "
        "BatchBALD's, e.g. docs/demo_frame.png",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace --out and --frame if they exist",
    )
    add_no_progress(parser)
    return parser


def _check_output(path: Path, force: bool, option: str) -> None:
    """``io.check_new_file`` with a hint naming ``option``."""
    from ..io import check_new_file

    try:
        check_new_file(path, force, option)
    except ValueError:
        if path.exists() and not path.is_dir():
            raise ValueError(
                f"{option} file {str(path)!r} already exists; refusing to "
                f"overwrite it. Pass --force to replace it, or choose another "
                f"{option}."
            ) from None
        raise


def run(args: argparse.Namespace) -> int:
    """Run the demo with the parsed options; returns the exit status."""
    # Before any work: never replace a file without --force.
    _check_output(args.out, args.force, "--out")
    if args.frame is not None:
        _check_output(args.frame, args.force, "--frame")

    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    from .._progress import is_terminal, log_line
    from ..demo import run_demo

    progress = args.progress and is_terminal()

    result = run_demo(
        out=args.out,
        seed=args.seed,
        n_cycles=args.cycles,
        batch_size=args.batch_size,
        n_samples=args.pool_size,
        res=args.res,
        frame=args.frame,
        fps=args.fps,
        dpi=args.dpi,
        progress=progress,
        log=log_line if progress else print,
        overwrite=args.force,
    )
    print(f"wrote {result.out}")
    if result.frame is not None:
        print(f"wrote {result.frame}")
    return 0
