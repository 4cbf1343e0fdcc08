"""Tests for batchbald.features: table columns -> a feature matrix."""

import numpy as np
import pytest

from batchbald.features import encode_features, feature_columns, id_like_columns
from batchbald.tables import CsvTable

TEXT = "id,x,color,note,label\n1,0.5,red,ok,a\n2,-1.5,blue,ok,\n3,2,red,bad,b\n"


def test_numeric_and_one_hot():
    f = encode_features(CsvTable(TEXT), ["x", "color"])
    assert f.names == ["x", "color=blue", "color=red"]
    np.testing.assert_array_equal(f.X, [[0.5, 0, 1], [-1.5, 1, 0], [2, 0, 1]])
    assert f.encoded == {"color": ["blue", "red"]}


@pytest.mark.parametrize(
    "features, exclude, expected",
    [
        (None, None, ["id", "x", "color", "note"]),
        (None, "id,note", ["x", "color"]),
        ("x,color,note", "note", ["x", "color"]),
        (" x , color ", None, ["x", "color"]),
    ],
)
def test_feature_columns(features, exclude, expected):
    assert feature_columns(CsvTable(TEXT), "label", features, exclude) == expected


@pytest.mark.parametrize(
    "features, exclude, message",
    [
        (None, "zz", "has no column 'zz'"),
        (None, "id,x,color,note", "no column besides the label column"),
        ("x,label", None, "--features names the label column"),
        ("x", "x", "--exclude leaves none of the --features"),
        ("x,x", None, "--features names a column twice"),
        (None, ",", "--exclude is empty"),
    ],
)
def test_feature_columns_errors(features, exclude, message):
    with pytest.raises(ValueError, match=message):
        feature_columns(CsvTable(TEXT), "label", features, exclude)


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,label\n1,a\n,b\n", "feature column 'x' is empty in row 2 \\(line 3\\)"),
        ("x,label\n1,a\n2,b\nNA,c\n", "numeric except for 'NA' in row 3"),
        ("x,label\n1,a\ninf,b\n", "holds 'inf' in row 2"),
    ],
)
def test_bad_cells(text, message):
    with pytest.raises(ValueError, match=message):
        encode_features(CsvTable(text), ["x"])


def test_no_one_hot_rejects_text():
    with pytest.raises(ValueError, match="not numeric .* --no-one-hot"):
        encode_features(CsvTable(TEXT), ["color"], one_hot=False)


def test_an_id_column_too_wide_is_refused_before_allocating():
    n = 20_000
    text = "id,x,label\n" + "".join(f"u{i},{i % 7},\n" for i in range(n))
    table = CsvTable(text)
    with pytest.raises(ValueError) as info:
        encode_features(table, ["id", "x"], max_memory=2**30)
    msg = str(info.value)
    assert f"{n} rows x {n + 1} columns" in msg
    assert "'id' (20000 values)" in msg and "--exclude id" in msg
    f = encode_features(table, ["x"], max_memory=2**30)  # without it: fine
    assert f.X.shape == (n, 1)


def test_id_like_columns():
    assert id_like_columns({"id": list("abcdefghijkl"), "c": ["x"]}, 12) == ["id"]
    assert id_like_columns({"id": list("abc")}, 4) == []
