"""Each of the README's Python examples runs on its own, as written."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


BLOCKS = python_blocks()


def _check_drop_in(ns):
    assert len(ns["query_idx"]) == 4
    # Step 1 chose from the pool with step 0's pick already taken.
    assert np.isnan(ns["utilities"][1, ns["query_idx"][0]])
    assert not np.isnan(ns["utilities"][0]).all()


def _check_select_batch(ns):
    assert len(ns["result"].indices) == 10
    assert len(set(ns["result"].indices.tolist())) == 10


def _check_batch_of_unlabeled(ns):
    batch = np.asarray(ns["batch"])
    assert len(set(batch.tolist())) == 5
    y = np.asarray(ns["y"], dtype=float)
    assert np.isnan(y[batch]).all()  # only unlabeled rows are chosen


def _check_idx(ns):
    idx = np.asarray(ns["idx"])
    assert len(set(idx.tolist())) == 10
    y = np.asarray(ns["y"], dtype=float)
    assert np.isnan(y[idx]).all()


def _check_saturation(ns):
    sel = ns["sel"]
    assert sel.saturated_at is not None  # 10 voting members: spent early
    assert 0 <= sel.joint_information <= np.log(10) + 1e-12


def _check_dask(ns):
    assert len(set(np.asarray(ns["dask_batch"].indices).tolist())) == 5


# The first name a block defines that has a check of its own.
CHECKS = {
    "sel": _check_saturation,
    "dask_batch": _check_dask,
    "query_idx": _check_drop_in,
    "result": _check_select_batch,
    "batch": _check_batch_of_unlabeled,
    "idx": _check_idx,
}


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
@pytest.mark.filterwarnings("ignore::batchbald.classifier.FallbackWarning")
@pytest.mark.filterwarnings("error::FutureWarning")
@pytest.mark.filterwarnings("error::DeprecationWarning:batchbald.*")
def test_readme_python_block_runs_alone(index):
    block = BLOCKS[index]
    if "batchbald.deep" in block or "import torch" in block:
        pytest.importorskip("torch")
    if "import pandas" in block:
        pytest.importorskip("pandas")
    namespace = {"__name__": f"readme_block_{index}"}
    exec(compile(block, f"{README}:block{index}", "exec"), namespace)  # noqa: S102
    checked = [check for name, check in CHECKS.items() if name in namespace]
    assert checked, f"README block {index} defines none of {sorted(CHECKS)}"
    for check in checked:
        check(namespace)


def test_readme_links_to_repository_files_exist():
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing
