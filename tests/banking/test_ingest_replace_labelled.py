"""A file without products does not replace a month with products unless the user allows it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nextbest.banking.ingest import ingest
from nextbest.banking.workspace import Workspace
from nextbest.cli.main import app
from nextbest.errors import NextbestError

from test_ingest import TEST_HEADER, entries, read_month, row, write_csv


def files_and_times(root):
    return {path: (root / path).stat().st_mtime_ns for path in entries(root) if (root / path).is_file()}


@pytest.fixture
def labelled_workspace(tmp_path):
    train = write_csv(tmp_path / "train.csv", [row(ncodpers="1", ind_cco_fin_ult1="1"), row(ncodpers="2")])
    ingest([train], tmp_path / "ws")
    return tmp_path / "ws"


def test_test_layout_keeps_labelled_month(tmp_path, labelled_workspace):
    test = write_csv(tmp_path / "test.csv", [row(ncodpers="9")], TEST_HEADER)
    before = files_and_times(tmp_path)

    with pytest.raises(NextbestError, match=r"test\.csv has no product columns.*2016-01 \(2 customers\) with products.*--replace-labelled.*another --workspace"):
        ingest([test], labelled_workspace)

    assert files_and_times(tmp_path) == before
    assert Workspace(labelled_workspace).labelled_months() == ["2016-01"]


def test_replace_labelled_allows_it(tmp_path, labelled_workspace):
    test = write_csv(tmp_path / "test.csv", [row(ncodpers="9")], TEST_HEADER)
    report = ingest([test], labelled_workspace, replace_labelled=True)

    assert report["months_replaced"] == ["2016-01"]
    assert Workspace(labelled_workspace).months_to_predict() == ["2016-01"]
    assert read_month(labelled_workspace, "2016-01").column("customer_id").to_pylist() == [9]


def test_training_layout_replaces_any_month(tmp_path, labelled_workspace):
    test = write_csv(tmp_path / "test.csv", [row(fecha_dato="2016-02-28", ncodpers="5")], TEST_HEADER)
    ingest([test], labelled_workspace)
    train = write_csv(tmp_path / "again.csv", [row(ncodpers="3"), row(fecha_dato="2016-02-28", ncodpers="4")])
    report = ingest([train], labelled_workspace)

    assert report["months_replaced"] == ["2016-01", "2016-02"]
    assert Workspace(labelled_workspace).labelled_months() == ["2016-01", "2016-02"]


def test_cli_replace_labelled_option(tmp_path, labelled_workspace):
    test = write_csv(tmp_path / "test.csv", [row(ncodpers="9")], TEST_HEADER)
    rejected = CliRunner().invoke(app, ["ingest", str(test), "--workspace", str(labelled_workspace)])
    assert isinstance(rejected.exception, NextbestError)
    assert "--replace-labelled" in str(rejected.exception)

    allowed = CliRunner().invoke(app, ["ingest", str(test), "--workspace", str(labelled_workspace), "--replace-labelled"])
    assert allowed.exit_code == 0, allowed.output
    assert "replaced" in allowed.output
