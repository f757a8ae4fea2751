"""Tests of the `nextbest synth` command."""

from __future__ import annotations

import gzip

from typer.testing import CliRunner

from nextbest.cli.main import app

runner = CliRunner()


def test_synth_writes_both_files(tmp_path):
    train, test = tmp_path / "train.csv.gz", tmp_path / "test.csv"
    result = runner.invoke(
        app,
        ["-q", "synth", "--customers", "300", "--months", "2016-02..2016-04", "--out-train", str(train), "--out-test", str(test), "--seed", "4"],
    )
    assert result.exit_code == 0, result.output
    assert "of 3 months" in result.output
    assert str(train) in result.output
    lines = gzip.decompress(train.read_bytes()).decode().splitlines()
    assert {line[:10] for line in lines[1:]} == {"2016-02-28", "2016-03-28", "2016-04-28"}
    assert {line[:10] for line in test.read_text().splitlines()[1:]} == {"2016-05-28"}


def test_synth_rejects_bad_months(tmp_path):
    result = runner.invoke(app, ["synth", "--customers", "300", "--months", "2016-04..2016-09", "--out-train", str(tmp_path / "t.csv")])
    assert result.exit_code != 0
    assert "calibrated for 2015-01 to 2016-05" in str(result.exception) + result.output
    assert not (tmp_path / "t.csv").exists()


def test_synth_requires_output(tmp_path):
    result = runner.invoke(app, ["synth", "--customers", "300"])
    assert result.exit_code == 2
    assert "--out-train" in result.output
