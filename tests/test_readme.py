"""The README's Python examples run as written (in order, one namespace)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 3


@pytest.mark.filterwarnings("ignore::batchbald.classifier.FallbackWarning")
def test_readme_python_examples_run():
    blocks = python_blocks()
    namespace = {}
    for block in blocks:
        if "batchbald.deep" in block:
            pytest.importorskip("torch")
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert len(namespace["query_idx"]) == 4
    assert np.isnan(namespace["utilities"][1, namespace["query_idx"][0]])
    assert len(namespace["result"].indices) == 10
    assert len(set(namespace["idx"])) == 10
