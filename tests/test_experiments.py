import csv
import json
import math

import numpy as np
import pytest

from batchbald.datasets import make_blobs_pool, make_repeated_digits
from batchbald.experiments import (
    RECORD_FIELDS,
    STRATEGIES,
    ExperimentResult,
    initial_indices,
    labels_to_reach,
    labels_to_reach_markdown,
    load_result,
    run_experiment,
)
from batchbald.pool import EPIG

# A tiny configuration: 40 digits x 3 copies, bagging of 3 logistic regressions.
TINY = dict(
    model="logreg-bagging",
    seeds=2,
    n_initial=10,
    batch_size=4,
    n_cycles=2,
    n_members=3,
    n_configurations=50,
    model_params={"max_iter": 200},
)


@pytest.fixture(scope="module")
def tiny_data():
    return make_repeated_digits(n_pool=40, random_state=0)


@pytest.fixture(scope="module")
def tiny_result(tiny_data):
    return run_experiment(tiny_data, ["batchbald", "bald", "random"], **TINY)


class FirstUnlabeled:
    """A deterministic stand-in strategy: the lowest unlabelled indices."""

    def __init__(self, random_state=None, offset=0):
        self.random_state = random_state
        self.offset = offset

    def query(self, X, y, batch_size=1):
        return np.flatnonzero(np.isnan(y))[self.offset : self.offset + batch_size]


class Repeats:
    """A broken strategy returning an already labelled index."""

    def __init__(self, random_state=None):
        pass

    def query(self, X, y, batch_size=1):
        return np.flatnonzero(~np.isnan(y))[:batch_size]


def _strip_times(records):
    return [
        {k: v for k, v in r.items() if k not in ("query_time_s", "fit_time_s")}
        for r in records
    ]


# --------------------------------------------------------------------------
# initial set
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_initial, method, expected_counts",
    [
        (20, "balanced", [2] * 10),
        (10, "balanced", [1] * 10),
        (13, "balanced", None),  # 1 per class + 3 classes with one more
        (7, "random", None),
    ],
)
def test_initial_indices(n_initial, method, expected_counts):
    y = np.repeat(np.arange(10), 6)
    idx = initial_indices(y, n_initial, method, np.random.RandomState(0))
    assert len(idx) == n_initial == len(np.unique(idx))
    counts = np.bincount(y[idx], minlength=10)
    if expected_counts is not None:
        np.testing.assert_array_equal(counts, expected_counts)
    elif method == "balanced":
        assert sorted(counts) == [1] * 7 + [2] * 3
    again = initial_indices(y, n_initial, method, np.random.RandomState(0))
    np.testing.assert_array_equal(idx, again)


@pytest.mark.parametrize(
    "n_initial, method, match",
    [
        (0, "balanced", "n_initial"),
        (61, "random", "at most the pool size"),
        (30, "balanced", "only 2"),
        (5, "stratified", "initial_method"),
    ],
)
def test_initial_indices_errors(n_initial, method, match):
    y = np.r_[np.zeros(2, int), np.ones(58, int)]
    with pytest.raises(ValueError, match=match):
        initial_indices(y, n_initial, method, 0)


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------
def test_table_shape_and_label_counts(tiny_result):
    records = tiny_result.records
    assert len(records) == 3 * 2 * 3  # strategies x seeds x (cycles + 1)
    assert tiny_result.strategies == ["batchbald", "bald", "random"]
    for r in records:
        assert tuple(r) == RECORD_FIELDS
        assert r["n_labels"] == 10 + 4 * r["cycle"]
        assert 0 <= r["accuracy"] <= 1
        assert r["n_distinct"] <= r["n_labels"]
        assert math.isnan(r["query_time_s"]) == (r["cycle"] == 0)
    assert tiny_result.config["wall_time_s"] > 0


def test_same_seed_same_start_for_every_strategy(tiny_result):
    # common random numbers: one seed gives all strategies the same initial set
    # and the same first model
    for seed in (0, 1):
        start = [
            (r["accuracy"], r["n_distinct"])
            for r in tiny_result.records
            if r["seed"] == seed and r["cycle"] == 0
        ]
        assert len(set(start)) == 1


def test_results_are_reproducible(tiny_data, tiny_result):
    again = run_experiment(tiny_data, ["batchbald", "bald", "random"], **TINY)
    assert _strip_times(again.records) == _strip_times(tiny_result.records)


def test_a_run_does_not_depend_on_the_other_strategies_or_seeds(tiny_data, tiny_result):
    alone = run_experiment(tiny_data, ["bald"], **{**TINY, "seeds": [1]})
    expected = [r for r in tiny_result.records if r["strategy"] == "bald"]
    expected = [r for r in expected if r["seed"] == 1]
    assert _strip_times(alone.records) == _strip_times(expected)


def test_budget_truncates_the_last_batch(tiny_data):
    result = run_experiment(
        tiny_data,
        [("first", FirstUnlabeled)],
        **{**TINY, "n_cycles": None, "budget": 17, "seeds": 1},
    )
    assert [r["n_labels"] for r in result.records] == [10, 14, 17]
    assert result.config["n_cycles"] == 2


def test_custom_strategy_and_model(tiny_data):
    from sklearn.linear_model import LogisticRegression

    from batchbald.classifier import SklearnClassifier

    def model(seed):
        return SklearnClassifier(
            LogisticRegression(max_iter=200), classes=np.arange(10), random_state=seed
        )

    result = run_experiment(
        tiny_data,
        [("first", FirstUnlabeled)],
        model=model,
        seeds=1,
        n_initial=10,
        batch_size=5,
        n_cycles=1,
        strategy_params={"first": {"offset": 2}},
    )
    assert [r["n_labels"] for r in result.records] == [10, 15]
    assert result.config["model"] == "model"


def test_invalid_query_result_is_reported(tiny_data):
    with pytest.raises(ValueError, match="'broken' returned"):
        run_experiment(tiny_data, [("broken", Repeats)], **{**TINY, "seeds": 1})


@pytest.mark.parametrize(
    "progress, terminal, drawn",
    [(False, True, False), (True, True, True), (True, False, False)],
)
def test_progress_bar_only_when_asked_and_on_a_terminal(
    tiny_data, capsys, monkeypatch, progress, terminal, drawn
):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    kwargs = {**TINY, "seeds": 1, "n_cycles": 1}
    run_experiment(tiny_data, [("first", FirstUnlabeled)], progress=progress, **kwargs)
    err = capsys.readouterr().err
    assert ("first seed 0" in err) is drawn
    if not drawn:
        assert err == ""


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"strategies": ["bald", "qbc"]},
            ValueError,
            "strategy must be one of .*'qbc'",
        ),
        ({"strategies": "bald,bald"}, ValueError, "duplicates"),
        ({"strategies": [3]}, TypeError, "strategies"),
        ({"model": "svm"}, ValueError, "unknown model 'svm'"),
        ({"seeds": [0, 0]}, ValueError, "duplicates"),
        ({"seeds": 0}, ValueError, "seeds"),
        ({"budget": 30, "n_cycles": 2}, ValueError, "not both"),
        ({"budget": 5}, ValueError, "budget"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"strategy_params": {"random": {}}}, ValueError, "strategy_params"),
    ],
)
def test_errors(tiny_data, kwargs, error, match):
    args = {**TINY, **kwargs}
    strategies = args.pop("strategies", ["bald"])
    with pytest.raises(error, match=match):
        run_experiment(tiny_data, strategies, **args)


def test_dataset_type_is_checked():
    with pytest.raises(TypeError, match="Dataset"):
        run_experiment((np.zeros((3, 2)), np.zeros(3)), ["random"])


def test_strategies_are_the_registry():
    from batchbald import pool, registry

    assert tuple(STRATEGIES) == registry.STRATEGY_NAMES
    for name, cls in STRATEGIES.items():
        assert getattr(pool, cls) is registry.strategy_class(name)


def test_deprecated_names_warn_and_run_the_same(tiny_data):
    base = {**TINY, "seeds": 1, "n_cycles": 1}
    for key in ("model", "n_members", "n_configurations"):
        base.pop(key)
    old = {"model": "bagging-logreg", "n_samples_K": 3, "n_MC_samples": 50}
    new = {"model": "logreg-bagging", "n_members": 3, "n_configurations": 50}
    with pytest.warns(FutureWarning) as caught:
        a = run_experiment(tiny_data, ["batchbald"], **base, **old)
    messages = " ".join(str(w.message) for w in caught)
    for name in ("n_samples_K", "n_MC_samples", "'bagging-logreg'"):
        assert f"{name}" in messages and "deprecated" in messages
    b = run_experiment(tiny_data, ["batchbald"], **base, **new)
    assert _strip_times(a.records) == _strip_times(b.records)
    assert a.config == {**b.config, "wall_time_s": a.config["wall_time_s"]}
    assert a.config["model"] == "logreg-bagging"
    assert a.config["n_members"] == 3 and a.config["n_configurations"] == 50


# --------------------------------------------------------------------------
# labels to reach a target, on a hand-made table
# --------------------------------------------------------------------------
def _table(curves):
    """{(strategy, seed): [accuracy per cycle]} -> records, 10 + 10 * cycle labels."""
    return [
        {
            "strategy": s,
            "seed": seed,
            "cycle": c,
            "n_labels": 10 + 10 * c,
            "accuracy": a,
        }
        for (s, seed), accs in curves.items()
        for c, a in enumerate(accs)
    ]


HAND_MADE = _table(
    {
        # reaches 0.8 at 30, 40, 20 labels -> median 30; 0.9 only once -> None
        ("a", 0): [0.5, 0.7, 0.8, 0.85, 0.9],
        ("a", 1): [0.5, 0.6, 0.7, 0.8, 0.82],
        ("a", 2): [0.6, 0.81, 0.7, 0.75, 0.86],  # dips after reaching: first hit
        # even number of seeds: median of the two middle values
        ("b", 0): [0.8, 0.9, 0.9, 0.9, 0.9],
        ("b", 1): [0.5, 0.5, 0.5, 0.8, 0.95],
    }
)


@pytest.mark.parametrize(
    "strategy, target, median, n_reached, n_seeds",
    [
        ("a", 0.8, 30.0, 3, 3),
        ("a", 0.85, 50.0, 2, 3),
        ("a", 0.9, None, 1, 3),
        ("a", 0.5, 10.0, 3, 3),
        ("b", 0.8, 25.0, 2, 2),
        ("b", 0.9, 35.0, 2, 2),
        ("b", 0.95, None, 1, 2),
        ("b", 0.99, None, 0, 2),
    ],
)
def test_labels_to_reach_on_a_hand_made_table(
    strategy, target, median, n_reached, n_seeds
):
    (row,) = [
        r
        for r in labels_to_reach(HAND_MADE, targets=[target])
        if r["strategy"] == strategy
    ]
    assert row["median_labels"] == median
    assert row["n_reached"] == n_reached
    assert row["n_seeds"] == n_seeds
    assert row["max_labels"] == 50


def test_labels_to_reach_markdown_on_a_hand_made_table():
    md = labels_to_reach_markdown(HAND_MADE, targets=(0.8, 0.85, 0.9))
    lines = md.strip().splitlines()
    assert lines[0] == "| strategy | 80% accuracy | 85% accuracy | 90% accuracy |"
    assert lines[2] == "| a | 30 | 50 (2/3 seeds) | not reached (1/3 seeds) |"
    assert lines[3] == "| b | 25 | 35 | 35 |"


@pytest.mark.parametrize("targets", [(0.0,), (1.5,), ()])
def test_labels_to_reach_rejects_bad_targets(targets):
    with pytest.raises(ValueError, match="targets"):
        labels_to_reach(HAND_MADE, targets)


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------
def test_save_writes_json_csv_markdown_and_png(tiny_result, tmp_path):
    paths = tiny_result.save(tmp_path / "out", "tiny")
    assert {p.name for p in paths.values()} == {
        "experiment_tiny.json",
        "experiment_tiny.csv",
        "experiment_tiny.md",
        "learning_curve_tiny.png",
    }
    assert paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    payload = json.loads(paths["json"].read_text())
    assert payload["config"]["strategies"] == ["batchbald", "bald", "random"]
    assert payload["records"][0]["query_time_s"] is None  # NaN -> null
    assert len(payload["labels_to_reach"]) == 3 * 3

    with paths["csv"].open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == RECORD_FIELDS
    assert len(rows) == len(tiny_result.records)
    assert float(rows[1]["accuracy"]) == tiny_result.records[1]["accuracy"]

    md = paths["markdown"].read_text()
    assert "## Labels needed to reach a test accuracy" in md
    assert "| batchbald |" in md and "| random |" in md

    back = load_result(paths["json"])
    assert isinstance(back, ExperimentResult)
    assert _strip_times(back.records) == _strip_times(tiny_result.records)
    assert back.labels_to_reach() == tiny_result.labels_to_reach()


def test_figure_path_override_and_plain_data(tmp_path):
    data = make_blobs_pool(120, random_state=0)
    result = run_experiment(
        data, [("first", FirstUnlabeled)], **{**TINY, "seeds": 1, "n_initial": 6}
    )
    assert all(r["n_distinct"] is None for r in result.records)
    paths = result.save(tmp_path, figure=tmp_path / "fig" / "curve.png", band=None)
    assert paths["figure"] == tmp_path / "fig" / "curve.png"
    assert paths["figure"].exists()
    assert paths["json"].name == "experiment_blobs.json"
    assert "Duplicates" not in paths["markdown"].read_text()


_OUTPUTS = {
    "json": "experiment_tiny.json",
    "csv": "experiment_tiny.csv",
    "markdown": "experiment_tiny.md",
    "figure": "learning_curve_tiny.png",
}


@pytest.mark.parametrize("kind", list(_OUTPUTS))
def test_save_refuses_any_existing_file_before_writing(tiny_result, tmp_path, kind):
    existing = tmp_path / _OUTPUTS[kind]
    existing.write_bytes(b"mine")
    with pytest.raises(ValueError, match=f"{_OUTPUTS[kind]}.*already exists"):
        tiny_result.save(tmp_path, "tiny")
    assert existing.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == [existing.name]  # nothing else


def test_save_overwrite_replaces_all_files_atomically(tiny_result, tmp_path):
    for name in _OUTPUTS.values():
        (tmp_path / name).write_bytes(b"old")
    paths = tiny_result.save(tmp_path, "tiny", overwrite=True)
    assert json.loads(paths["json"].read_text())["records"]
    assert paths["csv"].read_text().startswith(",".join(RECORD_FIELDS))
    assert paths["markdown"].read_text().startswith("# Active-learning experiment")
    assert paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(_OUTPUTS.values())


@pytest.mark.parametrize(
    "write",
    [
        lambda r, path, **kw: r.to_json(path, **kw),
        lambda r, path, **kw: r.to_csv(path, **kw),
        lambda r, path, **kw: r.plot(path, **kw),
    ],
    ids=["to_json", "to_csv", "plot"],
)
def test_single_file_writers_refuse_to_overwrite(tiny_result, tmp_path, write):
    path = tmp_path / "out.png"
    path.write_bytes(b"mine")
    with pytest.raises(ValueError, match="out.png.*already exists"):
        write(tiny_result, path)
    assert path.read_bytes() == b"mine"
    with pytest.raises(TypeError, match="overwrite"):
        write(tiny_result, path, overwrite="yes")
    write(tiny_result, path, overwrite=True)
    assert path.read_bytes() != b"mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp files


def test_save_rejects_a_figure_path_of_another_output(tiny_result, tmp_path):
    with pytest.raises(ValueError, match="figure"):
        tiny_result.save(tmp_path, "tiny", figure=tmp_path / "experiment_tiny.md")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# MC dropout
# --------------------------------------------------------------------------
def test_mc_dropout_model_runs_reproducibly(tiny_data):
    pytest.importorskip("torch")
    kwargs = dict(
        model="mc-dropout",
        seeds=1,
        n_initial=10,
        batch_size=3,
        n_cycles=1,
        n_members=4,
        n_configurations=20,
        model_params={"hidden": 16, "max_epochs": 3},
    )
    a = run_experiment(tiny_data, ["batchbald", "random"], **kwargs)
    b = run_experiment(tiny_data, ["batchbald", "random"], **kwargs)
    assert _strip_times(a.records) == _strip_times(b.records)
    assert [r["n_labels"] for r in a.records] == [10, 13, 10, 13]


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------
CLI_TINY = [
    "experiment",
    "--dataset",
    "repeated-digits",
    "--pool-size",
    "30",
    "--model",
    "logreg-bagging",
    "--strategies",
    "bald,random",
    "--seeds",
    "1",
    "--initial",
    "10",
    "--batch-size",
    "3",
    "--cycles",
    "1",
    "--members",
    "3",
    "--no-progress",
]


@pytest.mark.slow
def test_cli_writes_the_files(tmp_path, capsys):
    from batchbald.cli import main

    status = main([*CLI_TINY, "--out-dir", str(tmp_path), "--name", "t"])
    out = capsys.readouterr().out
    assert status == 0
    assert "| strategy | 80% accuracy |" in out
    for name in (
        "experiment_t.json",
        "experiment_t.csv",
        "experiment_t.md",
        "learning_curve_t.png",
    ):
        assert (tmp_path / name).exists(), name
    config = json.loads((tmp_path / "experiment_t.json").read_text())["config"]
    assert config["strategies"] == ["bald", "random"]
    assert config["n_pool"] == 90


def test_cli_help_has_examples(capsys):
    from batchbald.cli import main

    assert main(["experiment", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change, message",
    [
        (["--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["--model", "svm"], "invalid choice: 'svm'"),
        (["--model", "bagging-svm"], "choose from gp-bagging, rf"),
        (["--strategies", "bald,qbc"], "unknown strategy 'qbc'"),
        (["--strategies", ","], "unknown strategy (none given)"),
        (["--seeds", "two"], "--seeds must be"),
        (["--targets", "0.8,high"], "--targets must be"),
        (["--epochs", "5"], "--epochs only apply to --model mc-dropout"),
        (["--cycles", "2", "--budget", "20"], "not allowed with argument"),
        (["--initial", "200"], "n_initial must be at most"),
    ],
)
def test_cli_usage_errors_exit_with_2(change, message, tmp_path, capsys):
    from batchbald.cli import main

    status = main([*CLI_TINY, "--out-dir", str(tmp_path), *change])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert not list(tmp_path.iterdir())


def test_cli_mc_dropout_without_torch(monkeypatch, tmp_path, capsys):
    import sys

    from batchbald.cli import main

    monkeypatch.setitem(sys.modules, "batchbald.deep", None)  # import fails
    args = [*CLI_TINY, "--out-dir", str(tmp_path), "--model", "mc-dropout"]
    assert main(args) == 2
    assert "needs PyTorch" in capsys.readouterr().err


@pytest.mark.parametrize(
    "params, error",
    [
        ({"beta": 0.0}, None),
        ({"beta": 2.0}, None),
        ({"temperature": 1.0}, TypeError),  # misspelt keywords are not dropped
    ],
)
def test_strategy_params_reach_the_strategy(tiny_data, params, error):
    kwargs = {
        **TINY,
        "seeds": 1,
        "n_cycles": 1,
        "strategy_params": {"powerbald": params},
    }
    if error is None:
        result = run_experiment(tiny_data, ["powerbald"], **kwargs)
        assert result.config["strategy_params"] == {"powerbald": params}
    else:
        with pytest.raises(error):
            run_experiment(tiny_data, ["powerbald"], **kwargs)


def _no_run(*args, **kwargs):
    raise AssertionError("the experiment ran although an output exists")


@pytest.mark.parametrize(
    "existing, extra",
    [
        ("experiment_t.json", []),
        ("experiment_t.csv", []),
        ("experiment_t.md", []),
        ("learning_curve_t.png", []),
        ("curve.png", ["--figure", "{dir}/curve.png"]),
    ],
)
def test_cli_refuses_existing_outputs_before_the_run(
    tmp_path, monkeypatch, capsys, existing, extra
):
    import batchbald.experiments
    from batchbald.cli import main

    (tmp_path / existing).write_bytes(b"mine")
    monkeypatch.setattr(batchbald.experiments, "run_experiment", _no_run)
    extra = [a.format(dir=tmp_path) for a in extra]
    argv = [*CLI_TINY, "--out-dir", str(tmp_path), "--name", "t", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald experiment: error: ")
    assert str(tmp_path / existing) in err and "already exists" in err
    assert "--force" in err and "--name" in err and "--out-dir" in err
    assert (tmp_path / existing).read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == [existing]


def test_cli_default_name_is_checked_too(tmp_path, monkeypatch, capsys):
    import batchbald.experiments
    from batchbald.cli import main

    (tmp_path / "experiment_repeated-digits.csv").write_bytes(b"mine")
    monkeypatch.setattr(batchbald.experiments, "run_experiment", _no_run)
    assert main([*CLI_TINY, "--out-dir", str(tmp_path)]) == 2
    assert "experiment_repeated-digits.csv" in capsys.readouterr().err


@pytest.mark.slow  # end to end: run once by CI (pytest -m slow)
def test_cli_force_replaces_and_new_folders_are_created(tmp_path, capsys):
    from batchbald.cli import main

    out_dir = tmp_path / "a" / "b"
    argv = [*CLI_TINY, "--out-dir", str(out_dir), "--name", "t"]
    assert main(argv) == 0  # missing folders are not an error
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    md = out_dir / "experiment_t.md"
    md.write_text("old")
    assert main([*argv, "--force"]) == 0
    assert md.read_text().startswith("# Active-learning experiment")
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "experiment_t.csv",
        "experiment_t.json",
        "experiment_t.md",
        "learning_curve_t.png",
    ]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--figure", "{dir}/experiment_t.json"], "--figure"),
        (["--out-dir", "{dir}/file/sub"], "is not a folder"),
    ],
)
def test_cli_bad_output_paths_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    import batchbald.experiments
    from batchbald.cli import main

    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(batchbald.experiments, "run_experiment", _no_run)
    extra = [a.format(dir=tmp_path) for a in extra]
    argv = [*CLI_TINY, "--out-dir", str(tmp_path), "--name", "t", *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.slow
def test_cli_keeps_results_when_an_output_appears_during_the_run(
    tmp_path, monkeypatch, capsys
):
    import batchbald.experiments
    from batchbald.cli import main

    real = batchbald.experiments.run_experiment
    clash = tmp_path / "experiment_t.csv"

    def run_then_clash(*args, **kwargs):
        result = real(*args, **kwargs)
        clash.write_text("written meanwhile")
        return result

    monkeypatch.setattr(batchbald.experiments, "run_experiment", run_then_clash)
    assert main([*CLI_TINY, "--out-dir", str(tmp_path), "--name", "t"]) == 0
    captured = capsys.readouterr()
    assert "'t-1'" in captured.err
    assert clash.read_text() == "written meanwhile"
    assert (tmp_path / "experiment_t-1.json").exists()
    assert (tmp_path / "learning_curve_t-1.png").exists()
    assert "experiment_t-1.csv" in captured.out


# --------------------------------------------------------------------------
# a user's own data (batchbald.experiments._data and experiment --data)
# --------------------------------------------------------------------------
def _write_table(path, delimiter=","):
    """60 rows, 3 classes, numeric features f1 f2, an ID and a notes column."""
    rng = np.random.RandomState(0)
    lines = [delimiter.join(["id", "f1", "label", "notes", "f2"])]
    for i in range(60):
        c = i % 3
        f1, f2 = rng.randn(2) + 3 * c
        lines.append(delimiter.join([f"r{i}", str(f1), "abc"[c], "n/a", str(f2)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "suffix, delimiter", [(".csv", ","), (".tsv", "\t"), (".txt", ";")]
)
def test_read_table_delimiters_and_columns(tmp_path, suffix, delimiter):
    from batchbald.experiments import read_table

    path = _write_table(tmp_path / f"d{suffix}", delimiter)
    X, y, columns = read_table(path, "label", drop=["id", "notes"])
    assert columns == ["f1", "f2"] and X.shape == (60, 2)
    assert y[:4].tolist() == ["a", "b", "c", "a"]
    X2, _, columns2 = read_table(path, "label", features=["f2", "f1"])
    assert columns2 == ["f2", "f1"]
    np.testing.assert_array_equal(X2, X[:, ::-1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"label_column": "kind"}, "label_column: no column 'kind'.*id, f1, label"),
        ({"label_column": "label"}, "feature column 'id' .* holds 'r0'.*drop"),
        ({"label_column": "label", "drop": ["id", "nope"]}, "drop: no column 'nope'"),
        ({"label_column": "label", "features": ["f1", "x"]}, "features: no column 'x'"),
    ],
)
def test_read_table_errors(tmp_path, kwargs, match):
    from batchbald.experiments import read_table

    path = _write_table(tmp_path / "d.csv")
    with pytest.raises(ValueError, match=match):
        read_table(path, **kwargs)


def test_read_table_refuses_missing_labels_and_ragged_rows(tmp_path):
    from batchbald.experiments import read_table

    (tmp_path / "a.csv").write_text("f,label\n1,a\n2,\n3,b\n")
    with pytest.raises(ValueError, match="empty in 1 row.*data row 2.*query"):
        read_table(tmp_path / "a.csv", "label")
    (tmp_path / "b.csv").write_text("f,label\n1,a\n2,b,extra\n")
    with pytest.raises(ValueError, match="data row 2: 3 fields"):
        read_table(tmp_path / "b.csv", "label")


@pytest.mark.parametrize(
    "files, kwargs, match",
    [
        ({"X.npy": np.zeros((6, 2))}, {}, "--labels y.npy"),
        ({"d.npz": None}, {"labels": "y.npy"}, "only applies to a .npy"),
        ({"d.csv": "f,label\n1,a\n"}, {}, "--label-column"),
        ({"X.npy": np.zeros((6, 2))}, {"label_column": "y"}, "apply to tables"),
    ],
)
def test_load_user_data_errors(tmp_path, files, kwargs, match):
    from batchbald.experiments import load_user_data

    for name, content in files.items():
        if isinstance(content, str):
            (tmp_path / name).write_text(content)
        elif name.endswith(".npz"):
            np.savez(tmp_path / name, X=np.zeros((6, 2)), y=np.arange(6) % 2)
        else:
            np.save(tmp_path / name, content)
    with pytest.raises(ValueError, match=match):
        load_user_data(tmp_path / next(iter(files)), **kwargs)


def test_load_user_data_npy_npz_and_images(tmp_path):
    from batchbald.experiments import load_user_data

    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 2, 3), np.arange(40) % 2
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    a = load_user_data(tmp_path / "X.npy", labels=tmp_path / "y.npy", random_state=0)
    b = load_user_data(tmp_path / "d.npz", random_state=0)
    assert a.n_features == 6 and a.name == "X" and b.name == "d"
    np.testing.assert_array_equal(a.X_pool, b.X_pool)
    assert len(a.y_pool) + len(a.y_test) == 40


CLI_DATA = [
    "experiment",
    "--strategies",
    "bald,random",
    "--seeds",
    "1,",
    "--initial",
    "6",
    "--batch-size",
    "3",
    "--cycles",
    "1",
    "--members",
    "3",
    "--no-progress",
]


def test_cli_runs_on_a_users_tsv_and_writes_a_comma_csv(tmp_path, capsys):
    from batchbald.cli import main

    data = _write_table(tmp_path / "cells.tsv", "\t")
    argv = [*CLI_DATA, "--data", str(data), "--label-column", "label"]
    argv += ["--drop-columns", "id,notes", "--out-dir", str(tmp_path / "out")]
    assert main(argv) == 0, capsys.readouterr().err
    out = tmp_path / "out" / "experiment_cells.csv"
    header = out.read_text().splitlines()[0]
    assert header.startswith("strategy,seed,cycle,n_labels,accuracy")  # commas
    assert "\t" not in out.read_text()
    config = json.loads((tmp_path / "out" / "experiment_cells.json").read_text())
    assert config["config"]["n_pool"] == 45 and config["config"]["n_classes"] == 3


def test_cli_runs_on_users_arrays(tmp_path, capsys):
    from batchbald.cli import main

    rng = np.random.RandomState(1)
    y = np.arange(48) % 2
    np.save(tmp_path / "X.npy", rng.randn(48, 4) + y[:, None])
    np.save(tmp_path / "y.npy", y)
    argv = [*CLI_DATA, "--data", str(tmp_path / "X.npy"), "--labels"]
    argv += [str(tmp_path / "y.npy"), "--out-dir", str(tmp_path), "--name", "t"]
    assert main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "experiment_t.json").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--label-column", "label"], "--label-column only apply with --data"),
        (["--data", "{dir}/none.csv", "-y", "x"], "data file .* does not exist"),
        (["--data", "{dir}/c.csv", "--dataset", "digits"], "not both"),
        (["--data", "{dir}/c.csv"], "--label-column NAME"),
        (["--data", "{dir}/c.csv", "-y", "label"], "column 'id' .* holds 'r0'"),
    ],
)
def test_cli_data_errors_exit_2(tmp_path, capsys, monkeypatch, extra, message):
    import re

    import batchbald.experiments
    from batchbald.cli import main

    _write_table(tmp_path / "c.csv")
    monkeypatch.setattr(batchbald.experiments, "run_experiment", _no_run)
    extra = [a.format(dir=tmp_path) for a in extra]
    assert main([*CLI_DATA, "--out-dir", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("batchbald experiment: error: ") and re.search(message, err)


# --------------------------------------------------------------------------
# one naming scheme on the command line
# --------------------------------------------------------------------------
def _parsed(argv):
    from batchbald.cli import build_parser

    return build_parser().parse_args(["experiment", *argv])


@pytest.mark.parametrize(
    "argv, dest, value, warned",
    [
        (["--members", "7"], "members", 7, None),
        (["-K", "7"], "members", 7, None),
        (["--samples-K", "7"], "members", 7, "--samples-K is deprecated"),
        (["--configurations", "9"], "configurations", 9, None),
        (["-M", "9"], "configurations", 9, None),
        (["--configurations-M", "9"], "configurations", 9, "use --configurations"),
        (["--model", "mlp-bagging"], "model", "mlp-bagging", None),
        (["--model", "bagging-mlp"], "model", "mlp-bagging", "--model mlp-bagging"),
        (["--model", "bagging-logreg"], "model", "logreg-bagging", "deprecated"),
        (["--model", "rf"], "model", "rf", None),
    ],
)
def test_cli_names_and_deprecated_aliases(capsys, argv, dest, value, warned):
    assert getattr(_parsed(argv), dest) == value
    err = capsys.readouterr().err
    assert (warned in err) if warned else err == ""


def test_cli_beta_needs_a_sampling_strategy(tmp_path, capsys, monkeypatch):
    import batchbald.experiments
    from batchbald.cli import main

    monkeypatch.setattr(batchbald.experiments, "run_experiment", _no_run)
    argv = [*CLI_TINY, "--out-dir", str(tmp_path), "--beta", "2"]
    assert main(argv) == 2
    assert "--beta only applies to powerbald" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_runs_the_epig_strategies_with_beta(tmp_path, capsys):
    from batchbald.cli import main

    argv = [*CLI_TINY, "--out-dir", str(tmp_path), "--name", "e"]
    argv[argv.index("bald,random")] = "epig,batchepig,powerepig"
    assert main([*argv, "--beta", "2"]) == 0
    doc = json.loads((tmp_path / "experiment_e.json").read_text())
    assert doc["config"]["strategies"] == ["epig", "batchepig", "powerepig"]
    assert doc["config"]["strategy_params"] == {"powerepig": {"beta": 2.0}}
    assert "| epig |" in capsys.readouterr().out


def test_epig_in_an_experiment_is_the_strategy_without_targets(tiny_data):
    # the pool stands for the targets: the same picks as query(targets=None)
    kwargs = {**TINY, "seeds": [0], "n_cycles": 1}
    result = run_experiment(tiny_data, ["epig"], **kwargs)
    plain = run_experiment(
        tiny_data,
        [("epig", lambda random_state: EPIG(random_state=random_state))],
        **kwargs,
    )
    assert result.queries == plain.queries
