"""The older import path of the file helpers (kept for existing imports).

- Atomic writes live in :mod:`batchbald._files`.
- Saved predictions (:func:`load_predictions`, :func:`probability_hint`,
  :func:`read_indices`) live in :mod:`batchbald.predictions`.
- The CSV table and the safe label file live in :mod:`batchbald.tables`.
"""

from __future__ import annotations

from ._files import atomic_write, backup_path, check_new_file
from .predictions import load_predictions, probability_hint, read_indices
from .tables import CsvTable, decode_text

__all__ = [
    "CsvTable",
    "atomic_write",
    "backup_path",
    "check_new_file",
    "decode_text",
    "load_predictions",
    "probability_hint",
    "read_indices",
]
