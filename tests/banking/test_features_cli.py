"""The `nextbest features` command on a tiny hand-built workspace."""

from __future__ import annotations

import sys

import pytest
from test_features import TINY_MONTHS, write_workspace
from typer.testing import CliRunner

from nextbest.banking.features import read_manifest
from nextbest.cli.features import expand_months
from nextbest.cli.main import app, main
from nextbest.errors import NextbestError


def test_features_command_prints_summary(tmp_path):
    workspace = write_workspace(tmp_path, TINY_MONTHS)
    result = CliRunner().invoke(
        app, ["--quiet", "features", "--workspace", str(workspace.path), "--target-month", "2020-04..2020-05", "--lags", "2"]
    )

    assert result.exit_code == 0, result.output
    assert "2020-05" in result.output
    assert "Customers adding each product" in result.output
    assert "with 2 lags" in result.output
    assert sorted(read_manifest(workspace.path).months) == ["2020-04", "2020-05"]
    assert (workspace.path / "examples" / "2020-04.parquet").is_file()


def test_features_command_predict_month(tmp_path):
    workspace = write_workspace(tmp_path, TINY_MONTHS)
    result = CliRunner().invoke(app, ["--quiet", "features", "-w", str(workspace.path), "--predict-month", "2020-05"])

    assert result.exit_code == 0, result.output
    assert "to predict" in result.output
    assert read_manifest(workspace.path).months["2020-05"]["predict"] is True


def test_features_command_error_without_traceback(tmp_path, monkeypatch, capsys):
    workspace = write_workspace(tmp_path, TINY_MONTHS)
    monkeypatch.setattr(sys, "argv", ["nextbest", "features", "-w", str(workspace.path), "-t", "2021-01"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    stderr = " ".join(capsys.readouterr().err.split())

    assert exit_info.value.code == 1
    assert "target month 2021-01 is not in workspace" in stderr
    assert "2020-01..2020-05" in stderr
    assert "Traceback" not in stderr


def test_features_command_needs_a_month(tmp_path):
    workspace = write_workspace(tmp_path, TINY_MONTHS)
    result = CliRunner().invoke(app, ["features", "-w", str(workspace.path)])

    assert isinstance(result.exception, NextbestError)
    assert "no target month given" in str(result.exception)


def test_expand_months_ranges_and_repeats():
    assert expand_months(["2015-11..2016-02", "2016-01", "2016-05"]) == ["2015-11", "2015-12", "2016-01", "2016-02", "2016-05"]


@pytest.mark.parametrize(("value", "message"), [("2016-05..2016-01", "ends before it starts"), ("2016-13", "invalid month")])
def test_expand_months_rejects(value, message):
    with pytest.raises(NextbestError, match=message):
        expand_months([value])


def test_features_command_warns_of_null_lags(tmp_path):
    workspace = write_workspace(tmp_path, TINY_MONTHS)

    result = CliRunner().invoke(app, ["features", "-w", str(workspace.path), "-t", "2020-03", "--lags", "4"])

    assert result.exit_code == 0, result.output
    assert "product lags 3..4" in " ".join(result.output.split())
