"""The `nextbest ingest` command: printed tables, options and the report file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nextbest.banking.schema import SnapshotSchema
from nextbest.cli.main import app

HEADER = SnapshotSchema.santander().file_columns("train")
LINE = "{month},{id},N,ES,V, 40,2010-05-28, 0,     -999999, 1,,1.0,A,S,N,,KAT,N, 1,28,MADRID, 1,         NA,02 - PARTICULARES," + ",".join(["0"] * 24)


def write(path, lines):
    path.write_text("\n".join([",".join(HEADER), *lines]) + "\n", encoding="utf-8")
    return path


def test_ingest_prints_tables_and_writes_report(tmp_path):
    lines = [LINE.format(month="2016-01-28", id=i) for i in range(1, 201)]
    lines.insert(3, "2016-01-28,bad," + LINE.split(",", 2)[2])
    source = write(tmp_path / "train.csv", lines)
    result = CliRunner().invoke(app, ["ingest", str(source), "--workspace", str(tmp_path / "ws"), "--max-bad-rows", "0.05"])

    assert result.exit_code == 0, result.output
    assert "Files read" in result.output
    assert "Values repaired in train.csv" in result.output
    assert "invalid customer id" in result.output
    assert "Months in the workspace" in result.output
    assert "2016-01" in result.output
    report = json.loads((tmp_path / "ws" / "ingest-report.json").read_text())
    assert report["files"][0]["bad_rows"] == [{"line": 5, "reason": "invalid customer id", "value": "bad"}]
    # Repairs are counted over every row read, the unusable one included.
    assert report["files"][0]["quirks"]["antiguedad"] == {"sentinel": 201, "trimmed": 201}
    assert report["files"][0]["quirks"]["renta"] == {"missing_spelling": 201, "trimmed": 201}


def test_ingest_second_time_says_replaced(tmp_path):
    source = write(tmp_path / "train.csv", [LINE.format(month="2016-01-28", id=1)])
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(source), "-w", str(tmp_path / "ws")])
    second = runner.invoke(app, ["ingest", str(source), "-w", str(tmp_path / "ws")])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "added" in first.output
    assert "replaced months: 2016-01" in second.output


def test_ingest_help_lists_options():
    # A wide terminal, so that Rich does not shorten the longer option names.
    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0
    for option in ("--workspace", "--schema", "--month", "--allow-missing-attributes", "--max-bad-rows"):
        assert option in result.output
