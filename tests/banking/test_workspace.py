"""The workspace directory: creation, months, atomic writes, file records and version checks."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nextbest.banking.schema import Attribute, Product, SnapshotSchema
from nextbest.banking.workspace import FORMAT_VERSION, Workspace, check_month, describe_file
from nextbest.errors import NextbestError


@pytest.fixture
def schema() -> SnapshotSchema:
    return SnapshotSchema(
        name="tiny",
        customer_id="id",
        month="m",
        attributes=(Attribute("age", "integer", tag="age"),),
        products=(Product("p_card", "card"), Product("p_loan", "loan")),
    )


def snapshot(month: str, ids: list[int], labelled: bool = True) -> pa.Table:
    first_day = pa.array([f"{month}-01"] * len(ids)).cast(pa.date32())
    flags = pa.array([1] * len(ids) if labelled else [None] * len(ids), pa.int8())
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "month": first_day,
            "age": pa.array([40] * len(ids), pa.int64()),
            "card": flags,
            "loan": flags,
        }
    )


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "input.csv"
    path.write_text("id,m\n1,2016-01-28\n", encoding="utf-8")
    return path


def test_create_then_open(tmp_path, schema):
    created = Workspace.create(tmp_path / "ws", schema)
    opened = Workspace(tmp_path / "ws")
    assert opened.schema == schema
    assert created.months() == []
    state = json.loads((tmp_path / "ws" / "workspace.json").read_text())
    assert state["format_version"] == FORMAT_VERSION
    assert state["schema"]["name"] == "tiny"


def test_write_month_and_layouts(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    assert workspace.write_month("2016-02", snapshot("2016-02", [1, 2]), layout="train", source=source) is False
    assert workspace.write_month("2016-01", snapshot("2016-01", [1]), layout="train", source=source) is False
    assert workspace.write_month("2016-03", snapshot("2016-03", [1, 2, 3], False), layout="test", source=source) is False

    reopened = Workspace(tmp_path / "ws")
    assert reopened.months() == ["2016-01", "2016-02", "2016-03"]
    assert reopened.labelled_months() == ["2016-01", "2016-02"]
    assert reopened.months_to_predict() == ["2016-03"]
    assert reopened.month_info("2016-02")["rows"] == 2
    assert reopened.snapshot_path("2016-03") == tmp_path / "ws" / "snapshots" / "2016-03.parquet"
    assert pq.read_table(reopened.snapshot_path("2016-03")).column("card").null_count == 3


def test_rewriting_month_replaces_it(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    workspace.write_month("2016-01", snapshot("2016-01", [1, 2]), layout="train", source=source)
    assert workspace.write_month("2016-01", snapshot("2016-01", [7]), layout="train", source=source) is True
    table = pq.read_table(workspace.snapshot_path("2016-01"))
    assert table.column("customer_id").to_pylist() == [7]
    assert sorted(os.listdir(tmp_path / "ws" / "snapshots")) == ["2016-01.parquet"]


def test_write_month_moves_parquet_file(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    staged = tmp_path / "ws" / "staged.parquet"
    pq.write_table(snapshot("2016-01", [4, 5]), staged)
    workspace.write_month("2016-01", staged, layout="train", source=source)
    assert not staged.exists()
    assert workspace.month_info("2016-01")["rows"] == 2


def test_write_month_checks_columns(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    wrong = snapshot("2016-01", [1]).drop_columns(["loan"])
    with pytest.raises(ValueError, match="expected"):
        workspace.write_month("2016-01", wrong, layout="train", source=source)
    assert workspace.months() == []
    assert os.listdir(tmp_path / "ws" / "snapshots") == []


def test_file_records_and_unchanged(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    workspace.write_month("2016-01", snapshot("2016-01", [1]), layout="train", source=describe_file(source))
    workspace.write_month("2016-02", snapshot("2016-02", [1]), layout="train", source=source)
    record = workspace.files()[str(source.resolve())]
    assert record["months"] == ["2016-01", "2016-02"]
    assert record["size"] == source.stat().st_size
    assert len(record["sha256"]) == 64
    assert Workspace(tmp_path / "ws").file_unchanged(source)


def test_file_changed_with_same_size_and_mtime(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    workspace.write_month("2016-01", snapshot("2016-01", [1]), layout="train", source=source)
    status = source.stat()
    source.write_text(source.read_text().replace("1,", "2,"), encoding="utf-8")
    os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert source.stat().st_size == status.st_size
    assert not workspace.file_unchanged(source)


def test_unknown_file_is_not_unchanged(tmp_path, schema, source):
    workspace = Workspace.create(tmp_path / "ws", schema)
    assert not workspace.file_unchanged(source)
    assert not workspace.file_unchanged(tmp_path / "absent.csv")


def test_month_moved_to_other_file_leaves_old_record(tmp_path, schema, source):
    other = tmp_path / "other.csv"
    other.write_text("id,m\n", encoding="utf-8")
    workspace = Workspace.create(tmp_path / "ws", schema)
    workspace.write_month("2016-01", snapshot("2016-01", [1]), layout="train", source=source)
    workspace.write_month("2016-01", snapshot("2016-01", [1]), layout="train", source=other)
    assert list(workspace.files()) == [str(other.resolve())]
    assert workspace.month_info("2016-01")["source"] == str(other.resolve())


def test_open_missing_workspace(tmp_path):
    with pytest.raises(NextbestError, match="not a nextbest workspace"):
        Workspace(tmp_path / "nothing")


def test_create_with_other_schema_names_difference(tmp_path, schema):
    Workspace.create(tmp_path / "ws", schema)
    with pytest.raises(NextbestError, match="created with schema 'tiny'.*differs.*in: name, customer_id"):
        Workspace.create(tmp_path / "ws", SnapshotSchema.santander())


def test_create_in_non_empty_directory(tmp_path, schema):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NextbestError, match="exists and is not a nextbest workspace"):
        Workspace.create(tmp_path / "ws", schema)


def test_other_format_version_is_rejected(tmp_path, schema):
    Workspace.create(tmp_path / "ws", schema)
    state_file = tmp_path / "ws" / "workspace.json"
    state = json.loads(state_file.read_text())
    state["format_version"] = FORMAT_VERSION + 1
    state["nextbest_version"] = "9.0.0"
    state_file.write_text(json.dumps(state))
    with pytest.raises(NextbestError, match=r"format version 2, written by nextbest 9\.0\.0.*reads format version 1"):
        Workspace(tmp_path / "ws")


def test_damaged_workspace_file(tmp_path, schema):
    Workspace.create(tmp_path / "ws", schema)
    (tmp_path / "ws" / "workspace.json").write_text("{not json")
    with pytest.raises(NextbestError, match="not valid JSON"):
        Workspace(tmp_path / "ws")


@pytest.mark.parametrize("month", ["2016-1", "2016-13", "201601", "2016-01-28", ""])
def test_invalid_month_strings(month):
    with pytest.raises(NextbestError, match="write months as YYYY-MM"):
        check_month(month)
