"""Checking an experiment's output files before the run, and finding free names.

An experiment can run for hours; :func:`check_outputs` refuses, before it
starts, every output that exists (unless ``overwrite``), whose folder is a
file, or that two outputs share. :func:`free_name` finds the first ``NAME-N``
whose files are all free, for results that must not be lost when an output
appeared during the run.
"""

from __future__ import annotations

from pathlib import Path

from ..io import check_new_file
from ._result import output_paths

__all__ = ["check_outputs", "free_name"]


def _existing_folder(path: Path) -> Path:
    """The first existing folder above ``path`` (``save`` creates the rest)."""
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def check_outputs(
    out_dir, name: str, figure=None, overwrite: bool = False
) -> dict[str, Path]:
    """Check every file :meth:`ExperimentResult.save` would write.

    Parameters
    ----------
    out_dir, name, figure
        See :func:`output_paths`.
    overwrite : bool, default=False
        Whether existing files may be replaced.

    Returns
    -------
    dict
        The paths, as :func:`output_paths` gives them.

    Raises
    ------
    ValueError
        When the figure is another output's path, a folder on the way is a
        file, or a file exists and ``overwrite`` is False.
    """
    paths = output_paths(out_dir, name, figure)
    others = {p.resolve() for k, p in paths.items() if k != "figure"}
    if paths["figure"].resolve() in others:
        raise ValueError(
            f"--figure {str(paths['figure'])!r} is also the path of another "
            "output; choose another --figure (figure)."
        )
    for kind, path in paths.items():
        parent = _existing_folder(path)
        if not parent.is_dir():
            raise ValueError(
                f"cannot write {kind} file {str(path)!r}: {str(parent)!r} is not "
                "a folder."
            )
        if parent != (path.parent if str(path.parent) else Path(".")):
            continue  # its folder does not exist yet, so neither does the file
        if path.exists() and not path.is_dir() and not overwrite:
            raise ValueError(
                f"{kind} file {str(path)!r} already exists; refusing to "
                "overwrite it. Pass --force (overwrite=True) to replace it, or "
                "choose another --name or --out-dir."
            )
        check_new_file(path, overwrite, kind)
    return paths


def free_name(out_dir, name: str, figure=None) -> tuple[str, Path | None]:
    """The first ``NAME-N`` (and figure stem ``-N``) whose files are all free.

    Returns
    -------
    (str, pathlib.Path or None)
        The name, and the figure path to use with it (None when ``figure``
        is None).
    """
    n = 1
    while True:
        fig = None
        if figure is not None:
            fig = Path(figure)
            fig = fig.with_name(f"{fig.stem}-{n}{fig.suffix}")
        paths = output_paths(out_dir, f"{name}-{n}", fig)
        if not any(p.exists() for p in paths.values()):
            return f"{name}-{n}", fig
        n += 1
