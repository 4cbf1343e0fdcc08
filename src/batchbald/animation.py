"""Animation files: GIFs, self-contained HTML players and still frames.

:func:`save_animation` writes a matplotlib animation, :func:`save_frames` a
list of images, :func:`save_animation_frame` one frame of an artist animation
as a still image. Every file is written atomically (a temporary file in the
same directory, moved into place), and the output paths are checked before
any rendering starts.

An ``.html`` file is a page of its own: the frames are embedded as PNG data
URIs and the player (first, previous, play/pause, next, last, a slider and a
loop switch) is a few lines of inline JavaScript with text labels. It loads
nothing from the network, so it works offline and from a file.
"""

from __future__ import annotations

import io
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.animation import AbstractMovieWriter, Animation
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._html_player import html_player
from .io import atomic_write

__all__ = [
    "ANIMATION_SUFFIXES",
    "check_animation_path",
    "check_fps",
    "check_image_path",
    "check_output_path",
    "check_overwrite",
    "html_player",
    "new_collections",
    "save_animation",
    "save_animation_frame",
    "save_figure",
    "save_frames",
]

#: File suffixes the animation writers understand.
ANIMATION_SUFFIXES = (".gif", ".html")


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def check_output_path(path, name: str, suffixes: Sequence[str], valid: str) -> Path:
    """Validate an output path before any work and return it as a ``Path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its suffix (case-insensitive) must be one of
        ``suffixes`` and its directory must exist.
    name : str
        The parameter named in error messages.
    suffixes : sequence of str
        Accepted suffixes, lower case with the dot (``".png"``).
    valid : str
        How the accepted suffixes read in an error message.

    Raises
    ------
    TypeError
        If ``path`` is not a string or path.
    ValueError
        If the suffix is not accepted.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a file path; got {type(path).__name__}.")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(
            f"{name} must end in {valid}; got {str(path)!r} "
            f"(suffix {path.suffix or 'none'!r})."
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"{name}: directory {str(parent)!r} does not exist; create it first."
        )
    return path


def check_animation_path(path, name: str = "out") -> Path:
    """:func:`check_output_path` for an animation: ``.gif`` or ``.html``."""
    return check_output_path(path, name, ANIMATION_SUFFIXES, ".gif or .html")


def check_image_path(path, name: str = "frame") -> Path:
    """:func:`check_output_path` for a still image: a suffix that matplotlib's
    ``savefig`` can write (``.png``, ``.svg``, ``.pdf``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffixes = ["." + s for s in FigureCanvasBase.get_supported_filetypes()]
    return check_output_path(path, name, suffixes, "an image suffix such as .png")


def check_fps(fps) -> float:
    """``fps`` as a float: a real number (TypeError otherwise), finite and > 0
    (ValueError otherwise)."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise TypeError(f"fps must be a real number; got {type(fps).__name__} {fps!r}.")
    value = float(fps)
    if not 0 < value < np.inf:
        raise ValueError(f"fps must be a finite number > 0; got {fps!r}.")
    return value


def check_overwrite(path: Path, overwrite, name: str = "path") -> None:
    """Refuse an existing ``path`` unless ``overwrite`` (check it before
    drawing); ``name`` is the parameter named in the message."""
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False; got {overwrite!r}.")
    if not overwrite and path.exists():
        raise ValueError(
            f"{name} {str(path)!r} already exists and overwrite=False; pass "
            f"overwrite=True to replace it, or choose another {name}."
        )


def new_collections(ax: Axes, before: Sequence) -> list:
    """The entries of ``ax.collections`` that are not in ``before``.

    Take ``before = list(ax.collections)`` before drawing a frame; the result
    is that frame's artists for an ``ArtistAnimation``.
    """
    old = {id(a) for a in before}
    return [a for a in ax.collections if id(a) not in old]


def _atomic_write(
    path: Path, write: Callable[[Path], None], overwrite: bool = True
) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path`` that keeps its
    suffix, then move it onto ``path`` (see :func:`batchbald.io.atomic_write`)."""
    return atomic_write(path, write, overwrite=overwrite, keep_suffix=True)


class _PNGFrames(AbstractMovieWriter):
    """A movie writer that keeps every frame as PNG bytes in memory."""

    def __init__(self, fps: float):
        # matplotlib's stubs say int; any positive frame rate works.
        super().__init__(fps=fps)  # type: ignore[arg-type]
        self.frames: list[bytes] = []

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi=dpi)
        self.frames = []

    def grab_frame(self, **savefig_kwargs):
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi, **savefig_kwargs)
        self.frames.append(buf.getvalue())

    def finish(self):
        pass


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def save_animation(
    anim: Animation,
    path,
    fps: float = 1.0,
    dpi: float | None = None,
    title: str = "batchbald animation",
    *,
    overwrite: bool = True,
) -> Path:
    """Write a matplotlib animation to a ``.gif`` or a self-contained ``.html``.

    The file is written to a temporary file in the same directory and moved
    into place, so an existing file at ``path`` is either replaced completely
    or left untouched. Like matplotlib's ``savefig``, an existing file is
    replaced by default; pass ``overwrite=False`` to refuse.

    Parameters
    ----------
    anim : matplotlib.animation.Animation
        E.g. an ``ArtistAnimation``.
    path : str or os.PathLike
        Output file, ending in ``.gif`` (written with pillow) or ``.html`` (a
        page embedding the frames as PNG images, with player controls; see
        :func:`html_player`).
    fps : float, default=1.0
        Frames per second.
    dpi : float, default=None
        Resolution of the frames; the figure's when None.
    title : str, default="batchbald animation"
        Title of the HTML page.
    overwrite : bool, default=True
        Replace an existing file at ``path``. If False and ``path`` exists
        (checked before rendering, and again when moving the file into
        place), nothing is written and ``ValueError`` is raised.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    An ``ArtistAnimation`` made with ``blit=True`` marks its artists as
    animated, and matplotlib then leaves figure-level artists (``fig.text``,
    ``fig.suptitle``) out of saved frames; artists on axes are saved. Use
    ``blit=False`` for animations meant for files, or put per-frame titles on
    an axes (``ax.text``).
    """
    if not isinstance(anim, Animation):
        raise TypeError(
            f"anim must be a matplotlib Animation; got {type(anim).__name__}."
        )
    fps = check_fps(fps)
    path = check_animation_path(path, "path")
    check_overwrite(path, overwrite)
    if path.suffix.lower() == ".gif":
        from matplotlib.animation import PillowWriter

        def write(tmp: Path) -> None:
            writer = PillowWriter(fps=fps)  # type: ignore[arg-type]
            anim.save(str(tmp), writer=writer, dpi=dpi)

    else:

        def write(tmp: Path) -> None:
            grabber = _PNGFrames(fps)
            anim.save(str(tmp), writer=grabber, dpi=dpi)
            page = html_player(grabber.frames, fps=fps, title=title)
            tmp.write_text(page, encoding="utf-8")

    return _atomic_write(path, write, overwrite)


def save_figure(fig: Figure, path, dpi: float | None = None, *, overwrite=True) -> Path:
    """Save a figure atomically, in the format of the suffix of ``path``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, saved as it looks now.
    path : str or os.PathLike
        Output image with a suffix ``savefig`` knows; its directory must exist.
    dpi : float, default=None
        Resolution; the figure's when None.
    overwrite : bool, default=True
        See :func:`save_animation`.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}.")
    path = check_image_path(path, "path")
    check_overwrite(path, overwrite)
    return _atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi), overwrite)


def save_animation_frame(
    fig: Figure,
    frames: Sequence[Sequence],
    index: int,
    path,
    dpi: float | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Save one frame of an artist animation as a still image.

    Shows the artists of ``frames[index]``, hides those of the other frames,
    saves the figure (format from the suffix of ``path``, e.g. ``.png``;
    written atomically), and restores the artists' state. Like ``savefig``,
    an existing file is replaced unless ``overwrite=False``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure of the animation.
    frames : sequence of sequences of artists
        The artist lists given to ``ArtistAnimation``.
    index : int
        Which frame; negative values count from the end.
    path : str or os.PathLike
        Output image with a suffix ``savefig`` knows; its directory must exist.
    dpi : float, default=None
        Resolution; the figure's when None.
    overwrite : bool, default=True
        See :func:`save_animation`.

    Returns
    -------
    pathlib.Path
    """
    n = len(frames)
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"index must be an integer; got {index!r}.")
    if not -n <= index < n:
        raise ValueError(f"index must be in [{-n}, {n}) for {n} frames; got {index}.")
    path = check_image_path(path, "path")
    check_overwrite(path, overwrite)
    shown = {id(a) for a in frames[index]}
    # A blitting animation marks its artists "animated", which savefig skips.
    saved = [(a, a.get_visible(), a.get_animated()) for frame in frames for a in frame]
    try:
        for a, _, _ in saved:
            a.set_visible(id(a) in shown)
            a.set_animated(False)
        save_figure(fig, path, dpi=dpi, overwrite=overwrite)
    finally:
        for a, visible, animated in saved:
            a.set_visible(visible)
            a.set_animated(animated)
    return path


def _as_images(frames: Sequence) -> list:
    """The frames as RGB PIL images of one size."""
    from PIL import Image

    if len(frames) == 0:
        raise ValueError("frames must contain at least one frame; got none.")
    images = []
    for i, frame in enumerate(frames):
        if isinstance(frame, Figure):
            frame.canvas.draw()
            frame = np.asarray(frame.canvas.buffer_rgba())  # type: ignore[attr-defined]
        if isinstance(frame, np.ndarray):
            if frame.ndim != 3 or frame.shape[2] not in (3, 4):
                raise ValueError(
                    f"frames[{i}] must have shape (height, width, 3 or 4); got "
                    f"{frame.shape}."
                )
            frame = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        if not isinstance(frame, Image.Image):
            raise TypeError(
                f"frames[{i}] must be a PIL image, an array or a Figure; got "
                f"{type(frame).__name__}."
            )
        images.append(frame.convert("RGB"))
    if len({im.size for im in images}) != 1:
        raise ValueError("frames must all have the same size.")
    return images


def save_frames(
    frames: Sequence, path, fps: float = 1.0, *, overwrite: bool = True
) -> Path:
    """Write a list of images as an animated ``.gif`` or ``.html``.

    Parameters
    ----------
    frames : sequence of PIL.Image.Image, numpy arrays or Figures
        The frames, all of the same size. Arrays are (height, width, 3 or 4)
        with ``uint8`` values; a Figure is rendered as it currently looks.
    path : str or os.PathLike
        Output ``.gif`` or ``.html`` file (written atomically).
    fps : float, default=1.0
        Frames per second.
    overwrite : bool, default=True
        See :func:`save_animation`.

    Returns
    -------
    pathlib.Path
    """
    fps = check_fps(fps)
    images = _as_images(frames)
    path = check_animation_path(path, "path")
    check_overwrite(path, overwrite)
    if path.suffix.lower() == ".gif":

        def write(tmp: Path) -> None:
            images[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=int(round(1000 / fps)),
                loop=0,
            )

    else:

        def write(tmp: Path) -> None:
            pngs = []
            for im in images:
                buf = io.BytesIO()
                im.save(buf, format="PNG")
                pngs.append(buf.getvalue())
            page = html_player(pngs, fps=fps, title="batchbald animation")
            tmp.write_text(page, encoding="utf-8")

    return _atomic_write(path, write, overwrite)
