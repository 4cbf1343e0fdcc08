"""A folder of images to label, with the labels in a CSV file (file, label).

Images are the ``.png``, ``.jpg`` and ``.jpeg`` files under the folder (hidden
files and folders are left out, and so are symbolic links that lead outside
it), in the order of their paths relative to the folder. Their features are
the pixels (resized to ``image_size`` x ``image_size``, grayscale or RGB,
scaled to [0, 1]) or the rows of a user's ``.npy`` of embeddings, one row per
image in that order.

The labels file has a header ``file,label``; each save rewrites it with the
guarantees of :class:`batchbald.app._backend.SafeFile` (those of
:class:`batchbald.tables.LabelFile`, for a file that may not exist yet and
gets rows appended): an existing row only
has its label cell changed, an image labeled for the first time gets a row
appended, and a file that changed on disk is never overwritten.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..tables import CsvTable, safe_cell
from . import _backend
from .sources import FileSource

__all__ = ["IMAGE_SUFFIXES", "ImageSource", "list_images", "pixel_features"]

#: File name endings taken as images (case-insensitive), with their media type.
IMAGE_SUFFIXES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
_HEADER = ("file", "label")


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (symbolic links followed) to a file in ``root``."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_file() and resolved.is_relative_to(root)


def list_images(folder) -> list[str]:
    """Image paths under ``folder``, relative to it (``/``-separated), sorted."""
    root = Path(folder).resolve(strict=True)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            path = Path(dirpath) / name
            if _inside(path, root):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def pixel_features(
    folder, files: list[str], image_size: int = 16, rgb: bool = False
) -> np.ndarray:
    """Pixels of each image, resized, as rows of an (N, D) array in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    _BILINEAR = getattr(Image, "Resampling", Image).BILINEAR  # Pillow < 9.1
    root = Path(folder)
    rows = []
    for rel in files:
        try:
            with Image.open(root / rel) as img:
                img = img.convert("RGB" if rgb else "L")
                img = img.resize((image_size, image_size), _BILINEAR)
                rows.append(np.asarray(img, dtype=np.float64).ravel() / 255.0)
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"cannot read the image {rel!r} ({exc}).") from None
    return np.vstack(rows)


def load_embeddings(path, n_images: int) -> np.ndarray:
    """The (n_images, D) array of a ``.npy`` file, checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file {str(path)!r} does not exist.")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(
            f"cannot read {str(path)!r} as a .npy array ({exc})."
        ) from None
    if arr.ndim != 2 or arr.shape[0] != n_images:
        raise ValueError(
            f"--embeddings {path.name} has shape {arr.shape}; expected "
            f"({n_images}, D): one row per image, in the order of their paths "
            "relative to the folder."
        )
    if arr.dtype.kind not in "fiu" or not np.all(np.isfinite(arr)):
        raise ValueError(f"--embeddings {path.name} must hold finite numbers.")
    return arr.astype(np.float64)


def _record(cells) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


class ImageSource(FileSource):
    """The images of a folder, labeled into a (file, label) CSV.

    Parameters
    ----------
    folder : pathlib.Path
        The images' folder.
    labels_path : pathlib.Path
        The labels CSV (created on the first answer if it does not exist).
    embeddings : pathlib.Path or None
        A ``.npy`` of features, one row per image; None: the pixels.
    image_size : int
        Side of the resized image for pixel features.
    rgb : bool
        Colour pixel features (else grayscale).
    """

    kind = "images"

    def __init__(
        self,
        folder,
        labels_path,
        embeddings=None,
        image_size: int = 16,
        rgb: bool = False,
    ):
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"image folder {str(folder)!r} does not exist.")
        self.root = folder.resolve()
        self.files = list_images(self.root)
        if not self.files:
            raise ValueError(
                f"{folder} holds no images (.png, .jpg, .jpeg files); nothing to label."
            )
        self.path = Path(labels_path)
        self.name = self.root.name
        if self.path.is_dir():
            raise ValueError(f"--labels {str(self.path)!r} is a directory.")
        self._read_labels()
        if embeddings is None:
            X = pixel_features(self.root, self.files, image_size, rgb)
        else:
            X = load_embeddings(embeddings, len(self.files))
        self.Z = _backend.standardise(X)

    def _read_labels(self) -> None:
        index = {f: k for k, f in enumerate(self.files)}
        self.labels = [""] * len(self.files)
        self.row_of: dict[int, int] = {}
        self.table: Any = None  # a CsvTable once the labels file exists
        if not self.path.exists():
            self.table = None
            self.file = _backend.SafeFile(self.path, None)
            return
        table, data = CsvTable.read(self.path)
        for col in _HEADER:
            table.column_index(col)
        files = table.column("file")
        labels = table.column("label")
        for r, (name, label) in enumerate(zip(files, labels, strict=True)):
            k = index.get(name, index.get(_backend.unneutralise(name)))
            if k is not None and k not in self.row_of:
                self.row_of[k] = r
                self.labels[k] = label.strip()
        self.table = table
        self.file = _backend.SafeFile(self.path, data)

    @property
    def n_items(self) -> int:
        return len(self.files)

    def columns(self) -> list[str]:
        return list(_HEADER)

    def item_view(self, i: int) -> dict:
        return {"title": self.files[i], "detail": "", "image": f"/image/{i}"}

    def image_path(self, i: int) -> Path | None:
        """The file of image ``i`` if it is still a file inside the folder."""
        if not 0 <= i < len(self.files):
            return None
        path = self.root / self.files[i]
        return path if _inside(path, self.root) else None

    def media_type(self, i: int) -> str:
        return IMAGE_SUFFIXES[Path(self.files[i]).suffix.lower()]

    def _new_text(self, i: int, stored: str) -> tuple[str, int | None]:
        """The labels file's new text, and the row of image ``i`` if it is new."""
        if i in self.row_of:
            self.table.set_cell(self.row_of[i], "label", stored)
            return self.table.to_text(), None
        text = self.table.to_text() if self.table is not None else _record(_HEADER)
        newline = self.table.newline if self.table is not None else "\n"
        if text and not text.endswith(("\n", "\r")):
            text += newline
        header = list(self.table.header) if self.table is not None else list(_HEADER)
        cells = [""] * len(header)
        cells[header.index("file")] = safe_cell(self.files[i])
        cells[header.index("label")] = stored
        record = _record(cells)
        new_row = len(self.table.rows) if self.table is not None else 0
        return text + record + newline, new_row

    def set_label(self, i: int, label: str) -> str:
        """Save ``label`` (``""`` clears it) for image ``i``; returns the text
        written. Raises ``ValueError`` (nothing written) if the labels file
        changed on disk."""
        stored = safe_cell(label)
        old_table_text = None if self.table is None else self.table.to_text()
        old = None
        if i in self.row_of:
            old = self.table.rows[self.row_of[i]][self.table.column_index("label")]
        text, new_row = self._new_text(i, stored)
        try:
            self.file.write(text.encode("utf-8"))
        except BaseException:
            if old is not None:
                self.table.set_cell(self.row_of[i], "label", old)
            elif old_table_text is not None:
                self.table = CsvTable(old_table_text, name=self.path.name)
            raise
        if new_row is not None:
            self.table = CsvTable(text, name=self.path.name)
            self.row_of[i] = new_row
        self.labels[i] = stored
        return stored
