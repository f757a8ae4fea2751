"""Smoke test of `nextbest demo` on a tiny synthetic bank."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nextbest.banking import run_steps
from nextbest.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_and_reports(tmp_path, monkeypatch):
    # Two epochs keep the smoke test short; the real demo trains with the run's defaults.
    monkeypatch.setitem(run_steps.DEFAULT_NETWORK, "epochs", 2)
    workspace = tmp_path / "demo"
    result = runner.invoke(app, ["-q", "demo", "--workspace", str(workspace), "--customers", "1000"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    for model in ("nextbest", "lightgbm", "popularity"):
        assert model in result.output
    assert "share_of_max" in result.output
    assert (workspace / "data" / "synthetic_train.csv.gz").exists()
    run_dir = (workspace / "workspace" / "runs" / "latest").resolve()
    assert str(run_dir) in result.output.replace("\n", "")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["validation_month"] == "2016-05"
    assert 0 < metrics["popularity"]["map_at_7"] <= metrics["max_map_at_7"]


def test_demo_rejects_file_as_workspace(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a folder")
    result = runner.invoke(app, ["demo", "--workspace", str(target)])
    assert result.exit_code != 0
    assert "it is a file" in str(result.exception)
