"""batchbald.io is the old import path of the file helpers, the CSV table and
the predictions loader; their behaviour is tested next to their modules
(test_files.py, test_tables.py, test_predictions.py)."""

import batchbald._files
import batchbald.predictions
import batchbald.tables
from batchbald.io import (
    CsvTable,
    atomic_write,
    backup_path,
    check_new_file,
    decode_text,
    load_predictions,
    probability_hint,
    read_indices,
)


def test_old_imports_are_the_moved_objects():
    assert atomic_write is batchbald._files.atomic_write
    assert backup_path is batchbald._files.backup_path
    assert check_new_file is batchbald._files.check_new_file
    assert CsvTable is batchbald.tables.CsvTable
    assert decode_text is batchbald.tables.decode_text
    assert load_predictions is batchbald.predictions.load_predictions
    assert probability_hint is batchbald.predictions.probability_hint
    assert read_indices is batchbald.predictions.read_indices
