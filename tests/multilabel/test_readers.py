"""Tests of the table readers: CSV, Parquet, dense and sparse ARFF, MULAN XML label files."""

from __future__ import annotations

import arff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextbest.errors import InputFileError, NextbestError
from nextbest.multilabel.readers import read_label_names, read_table, table_format

DENSE_ARFF = """% hand-built
@relation tiny
@attribute size numeric
@attribute colour {red,blue}
@attribute note string
@attribute happy {0,1}
@attribute sad {0,1}
@data
1.5,red,'a b',1,0
?,blue,c,0,1
-2,red,d,1,1
"""

# The same rows in sparse form: omitted numbers are 0 and omitted nominal values the first one.
SPARSE_ARFF = """@relation tiny
@attribute size numeric
@attribute colour {red,blue}
@attribute happy {0,1}
@attribute sad {0,1}
@data
{0 1.5,2 1}
{1 blue,3 1}
{}
"""

MULAN_XML = """<?xml version="1.0" encoding="utf-8"?>
<labels xmlns="http://mulan.sourceforge.net/labels">
<label name="sad"></label>
<label name="parent"><label name="happy"></label></label>
</labels>
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dense_arff_labels_last(tmp_path):
    table = read_table(write(tmp_path, "t.arff", DENSE_ARFF), labels_last=2)
    assert table.label_names == ["happy", "sad"]
    assert table.labels.tolist() == [[1, 0], [0, 1], [1, 1]]
    assert list(table.features.columns) == ["size", "colour", "note"]
    assert np.isnan(table.features["size"][1])
    assert table.features["size"].tolist()[2] == -2.0
    assert list(table.features["colour"].cat.categories) == ["red", "blue"]
    assert table.features["note"].tolist() == ["a b", "c", "d"]


def test_sparse_arff_fills_omitted_values(tmp_path):
    table = read_table(write(tmp_path, "s.arff", SPARSE_ARFF), labels=["happy", "sad"])
    assert table.labels.tolist() == [[1, 0], [0, 1], [0, 0]]
    assert table.features["size"].tolist() == [1.5, 0.0, 0.0]
    assert table.features["colour"].tolist() == ["red", "blue", "red"]


def test_mulan_xml_nested_labels(tmp_path):
    xml = write(tmp_path, "t.xml", MULAN_XML)
    assert read_label_names(xml) == ["sad", "parent", "happy"]


def test_xml_label_order_is_kept(tmp_path):
    xml = write(tmp_path, "t.xml", MULAN_XML.replace('<label name="parent">', "").replace("</label></label>", "</label>"))
    table = read_table(write(tmp_path, "t.arff", DENSE_ARFF), labels_xml=xml)
    assert table.label_names == ["sad", "happy"]
    assert table.labels.tolist() == [[0, 1], [1, 0], [1, 1]]


def test_csv_and_parquet_read_alike(tmp_path):
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5], "city": ["a", "b", None], "y1": [1, 0, 1], "y2": [0.0, 0.0, 1.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        table = read_table(tmp_path / name, labels=["y2", "y1"])
        assert table.labels.tolist() == [[0, 1], [0, 0], [1, 1]], name
        assert list(table.features.columns) == ["x", "city"], name
        assert table.features["x"].tolist() == [0.5, 1.5, 2.5], name


def test_labels_optional_for_scoring(tmp_path):
    pd.DataFrame({"x": [1, 2]}).to_csv(tmp_path / "t.csv", index=False)
    table = read_table(tmp_path / "t.csv", labels=["y"], require_labels=False)
    assert table.labels is None
    assert list(table.features.columns) == ["x"]


def test_invalid_label_values_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,good,bad\n1,0,1\n2,1,2\n3,0,yes\n4,1,\n")
    with pytest.raises(InputFileError) as raised:
        read_table(path, labels=["good", "bad"])
    message = str(raised.value)
    assert "line 3" in message
    assert "column 'bad'" in message
    assert "'2', 'yes', an empty cell" in message
    assert "3 row(s) affected" in message
    assert "Recode the column to 0/1" in message


def test_invalid_numeric_label_in_parquet(tmp_path):
    pd.DataFrame({"x": [1, 2, 3], "y": [0.0, 0.5, np.nan]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputFileError, match=r"column 'y'.*0\.5, an empty cell.*first at data row 2"):
        read_table(tmp_path / "t.parquet", labels=["y"])


def test_invalid_nominal_label_in_arff(tmp_path):
    text = "@relation r\n@attribute x numeric\n@attribute happy {no,yes}\n@data\n1,yes\n2,no\n"
    path = write(tmp_path, "t.arff", text)
    with pytest.raises(InputFileError, match=r"column 'happy'.*'yes'"):
        read_table(path, labels_last=1)


def test_missing_label_column_suggests_name(tmp_path):
    with pytest.raises(InputFileError, match=r"1 label column\(s\) not found: 'hapy' \(did you mean 'happy'\?\)"):
        read_table(write(tmp_path, "t.arff", DENSE_ARFF), labels=["hapy", "sad"])


def test_invalid_arff_value_has_line(tmp_path):
    path = write(tmp_path, "t.arff", DENSE_ARFF.replace("-2,red", "-2,green"))
    with pytest.raises(InputFileError, match=r"t\.arff, line 11: invalid ARFF: Data value green not found"):
        read_table(path, labels_last=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one way.*received 0"),
        ({"labels": ["sad"], "labels_last": 1}, "exactly one way.*received 2"),
        ({"labels_last": 5}, "between 1 and 4"),
        ({"labels": ["sad", "sad"]}, "repeated: sad"),
    ],
)
def test_label_option_errors(tmp_path, options, message):
    with pytest.raises(NextbestError, match=message):
        read_table(write(tmp_path, "t.arff", DENSE_ARFF), **options)


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="unsupported file extension"):
        table_format(tmp_path / "t.xlsx")
    with pytest.raises(InputFileError, match="file not found"):
        read_table(tmp_path / "absent.csv", labels=["y"])


def test_xml_without_labels(tmp_path):
    with pytest.raises(InputFileError, match="lists no label"):
        read_label_names(write(tmp_path, "t.xml", "<labels/>"))
    with pytest.raises(InputFileError, match="invalid XML"):
        read_label_names(write(tmp_path, "u.xml", "<labels>"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1), st.integers(1, 20), st.integers(1, 4), st.booleans())
def test_arff_round_trip(tmp_path, seed, n_rows, n_labels, sparse):
    rng = np.random.default_rng(seed)
    features = np.round(rng.normal(size=(n_rows, 3)), 4) * (rng.random((n_rows, 3)) < 0.6)
    labels = (rng.random((n_rows, n_labels)) < 0.4).astype(int)
    attributes = [(f"f{j}", "NUMERIC") for j in range(3)] + [(f"l{j}", ["0", "1"]) for j in range(n_labels)]
    rows = [list(f) + [str(v) for v in y] for f, y in zip(features.tolist(), labels.tolist())]
    if sparse:
        rows = [{j: v for j, v in enumerate(row) if v not in (0.0, "0")} for row in rows]
    text = arff.dumps({"relation": "r", "attributes": attributes, "data": rows})
    path = write(tmp_path, "r.arff", text)
    table = read_table(path, labels_last=n_labels)
    assert np.array_equal(table.labels, labels)
    assert np.allclose(table.features.to_numpy(), features)


def test_real_yeast_split(multilabel_dir):
    table = read_table(multilabel_dir / "yeast-train.arff", labels_xml=multilabel_dir / "yeast.xml")
    assert table.features.shape == (1500, 103)
    assert table.labels.shape == (1500, 14)
    assert table.labels.sum(axis=1).mean() == pytest.approx(4.23, abs=0.005)
    assert table.label_names[3] == "Class6"


def test_real_emotions_labels_last(multilabel_dir):
    table = read_table(multilabel_dir / "emotions-test.arff", labels_last=6)
    assert table.features.shape == (202, 72)
    assert table.label_names[0] == "amazed-suprised"
    assert table.labels.sum(axis=1).mean() == pytest.approx(1.98, abs=0.005)
