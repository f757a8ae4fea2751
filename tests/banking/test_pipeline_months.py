"""Tests of the month choice of `nextbest run` on hand-built workspaces."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pyarrow.parquet  # noqa: F401  (pa.parquet)
import pytest

from nextbest.banking.run_months import choose_months, history_warnings
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.workspace import Workspace
from nextbest.errors import NextbestError

_ARROW_TYPES = {"integer": pa.int64(), "float": pa.float64(), "category": pa.string(), "date": pa.date32()}


def _snapshot(schema: SnapshotSchema, month: str, customers: list[int], products_known: bool) -> pa.Table:
    n = len(customers)
    columns = {
        "customer_id": pa.array(customers, pa.int64()),
        "month": pa.array([dt.date(int(month[:4]), int(month[5:]), 1)] * n, pa.date32()),
    }
    for attribute in schema.attributes:
        columns[attribute.name] = pa.nulls(n, _ARROW_TYPES[attribute.type])
    for product in schema.product_names:
        columns[product] = pa.array([1 if products_known else None] * n, pa.int8())
    return pa.table(columns)


@pytest.fixture
def make_workspace(tmp_path):
    def make(labelled: list[str], to_predict: list[str] = ()):
        schema = SnapshotSchema.santander()
        workspace = Workspace.create(tmp_path / "ws", schema)
        source = tmp_path / "source.csv"
        source.write_text("hand-built\n")
        for month in labelled:
            workspace.write_month(month, _snapshot(schema, month, [1, 2], True), layout="train", source=source)
        for month in to_predict:
            workspace.write_month(month, _snapshot(schema, month, [1, 2, 3], False), layout="test", source=source)
        return workspace

    return make


MONTHS = ["2015-12", "2016-01", "2016-02", "2016-03", "2016-04", "2016-05"]


def test_defaults_without_test_file(make_workspace):
    months = choose_months(make_workspace(MONTHS), None, None)
    assert months.validation == "2016-05"
    assert months.training == ["2016-02", "2016-03", "2016-04"]
    assert months.predict == "2016-06"
    assert months.predict_carried


def test_defaults_with_test_file_and_seasonal_month(make_workspace):
    labelled = [f"2015-{m:02d}" for m in range(1, 13)] + [f"2016-{m:02d}" for m in range(1, 6)]
    months = choose_months(make_workspace(labelled, ["2016-06"]), None, None)
    assert months.predict == "2016-06"
    assert not months.predict_carried
    assert months.training == ["2015-06", "2016-02", "2016-03", "2016-04"]


def test_explicit_training_range(make_workspace):
    months = choose_months(make_workspace(MONTHS), "2016-04", "2016-01..2016-03")
    assert months.training == ["2016-01", "2016-02", "2016-03"]
    assert months.validation == "2016-04"


def test_validation_month_without_month_before(make_workspace):
    with pytest.raises(NextbestError, match=r"validation month 2015-12 has no month before it \(2015-11\)"):
        choose_months(make_workspace(MONTHS), "2015-12", None)


def test_validation_month_not_labelled(make_workspace):
    with pytest.raises(NextbestError, match="2016-07 has no products"):
        choose_months(make_workspace(MONTHS), "2016-07", None)


def test_training_month_without_history_is_left_out(make_workspace, caplog):
    with caplog.at_level(logging.WARNING, logger="nextbest"):
        months = choose_months(make_workspace(MONTHS), "2016-03", "2015-12..2016-02")
    assert months.training == ["2016-01", "2016-02"]
    assert "training month 2015-12 is left out" in caplog.text
    assert "2015-11" in caplog.text


def test_no_training_month_left(make_workspace):
    with pytest.raises(NextbestError, match="no training month"):
        choose_months(make_workspace(MONTHS), "2016-01", "2015-12..2015-12")


def test_training_month_after_validation_rejected(make_workspace):
    with pytest.raises(NextbestError, match="must come before the validation month 2016-04"):
        choose_months(make_workspace(MONTHS), "2016-04", "2016-02..2016-04")


def test_too_few_labelled_months(make_workspace):
    with pytest.raises(NextbestError, match="at least three consecutive months"):
        choose_months(make_workspace(["2016-01"]), None, None)


def test_history_warnings_name_null_lags():
    messages = history_warnings(["2016-02", "2016-05"], MONTHS, lags=3)
    assert messages == [
        "target month 2016-02: product lag 3 is null (months before 2015-12) for every customer, "
        "because the workspace starts later; --lags 2 gives every month of the run its full history"
    ]


def test_retraining_months_reach_last_labelled(make_workspace):
    months = choose_months(make_workspace(MONTHS), "2016-04", "2016-02..2016-03")
    assert months.retraining == ["2016-02", "2016-03", "2016-04", "2016-05"]
    assert months.predict == "2016-06"


def test_month_carried_forward_is_derived_again(make_workspace):
    # The carried month came from the old 2016-05; after 2016-05 is replaced, the next run must
    # derive it again from the new snapshot instead of scoring the old customers.
    from nextbest.banking.run_steps import carry_forward

    workspace = make_workspace(MONTHS)
    carry_forward(workspace, "2016-05", "2016-06")
    assert workspace.carried_forward_months() == ["2016-06"]
    months = choose_months(workspace, None, None)
    assert months.predict == "2016-06"
    assert months.predict_carried

    schema = workspace.schema
    workspace.write_month("2016-05", _snapshot(schema, "2016-05", [1, 2, 7, 8], True), layout="train", source=workspace.path / "workspace.json")
    carry_forward(workspace, "2016-05", "2016-06")
    customers = pa.parquet.read_table(workspace.snapshot_path("2016-06")).column("customer_id").to_pylist()
    assert customers == [1, 2, 7, 8]


def test_month_of_a_test_file_is_not_carried(make_workspace):
    workspace = make_workspace(MONTHS, ["2016-06"])
    assert workspace.carried_forward_months() == []
    assert not choose_months(workspace, None, None).predict_carried
