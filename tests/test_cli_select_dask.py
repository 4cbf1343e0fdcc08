"""``batchbald select`` on zarr stores, .npy shard folders and Dask clusters."""

import json

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

from batchbald.cli import main  # noqa: E402
from batchbald.registry import select_from_probabilities  # noqa: E402


def _probs(seed=0, K=6, N=600, C=3):
    rng = np.random.RandomState(seed)
    return rng.dirichlet(np.full(C, 0.5), size=(K, N)).astype(np.float32)


def _zarr(path, probs):
    z = zarr.create_array(
        str(path),
        shape=probs.shape,
        chunks=(probs.shape[0], 128, probs.shape[2]),
        dtype=probs.dtype,
    )
    z[:] = probs
    return path


def _shards(folder, probs):
    folder.mkdir()
    for i, (a, b) in enumerate([(0, 200), (200, 450), (450, probs.shape[1])]):
        np.save(folder / f"part{i}.npy", probs[:, a:b])
    return folder


def _indices(out):
    rows = out.read_text().splitlines()[1:]
    return [int(r.split(",")[1]) for r in rows]


@pytest.mark.parametrize("make", [_zarr, _shards])
@pytest.mark.parametrize(
    "method", ["batchbald", "bald", "powerbald", "entropy", "random"]
)
def test_a_store_or_shards_give_the_in_memory_choice(tmp_path, make, method):
    probs = _probs()
    source = make(tmp_path / "pool.zarr" if make is _zarr else tmp_path / "s", probs)
    out = tmp_path / "batch.csv"
    assert (
        main(
            [
                "select",
                str(source),
                "-b",
                "5",
                "--method",
                method,
                "--out",
                str(out),
                "--seed",
                "3",
                "--no-progress",
            ]
        )
        == 0
    )
    ref = select_from_probabilities(probs, method, 5, random_state=3)
    assert _indices(out) == list(ref.indices)


def test_json_output_names_the_pool(tmp_path):
    source = _zarr(tmp_path / "pool.zarr", _probs())
    out = tmp_path / "batch.json"
    assert (
        main(["select", str(source), "-b", "3", "--out", str(out), "--no-progress"])
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["shape"] == [6, 600, 3] and len(doc["selection"]) == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--log"], "--log applies to predictions read into this process"),
        (["--layout", "NKC"], "--layout NKC applies"),
        (["--method", "epig"], "EPIG"),
    ],
)
def test_in_memory_only_options_exit_2(tmp_path, capsys, extra, message):
    source = _zarr(tmp_path / "pool.zarr", _probs())
    code = main(
        ["select", str(source), "-b", "3", "--out", str(tmp_path / "o.csv"), *extra]
    )
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_an_unreachable_scheduler_exits_2_naming_it(tmp_path, capsys):
    np.save(tmp_path / "p.npy", _probs())
    code = main(
        [
            "select",
            str(tmp_path / "p.npy"),
            "-b",
            "3",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--connect-timeout",
            "1",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
@pytest.mark.cluster
def test_workers_start_a_local_cluster_with_the_same_choice(tmp_path):
    probs = _probs(1, N=2000)
    source = _shards(tmp_path / "s", probs)
    out = tmp_path / "batch.csv"
    assert (
        main(
            [
                "select",
                str(source),
                "-b",
                "4",
                "--workers",
                "2",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    ref = select_from_probabilities(probs, "batchbald", 4, random_state=0)
    assert _indices(out) == list(ref.indices)
