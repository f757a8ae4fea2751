"""Ingest reports of bad rows: control bytes escaped on the terminal, a non-UTF-8 file described once."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nextbest.banking.ingest import ingest
from nextbest.banking.ingest_report import ENCODING_REASON
from nextbest.banking.schema import SnapshotSchema
from nextbest.cli import _common
from nextbest.cli import ingest as ingest_cli
from nextbest.cli.main import app
from nextbest.errors import InputFileError

HEADER = SnapshotSchema.santander().file_columns("train")
LINE = "2016-01-28,{id},N,ES,V, 40,2010-05-28, 0, 60, 1,,1,A,S,N,,KAT,N, 1,28,{province}, 1,50000.5,02 - PARTICULARES," + ",".join(
    ["0"] * 24
)


def lines(count: int, province: str = "MADRID") -> list[str]:
    return [LINE.format(id=i, province=province) for i in range(1, count + 1)]


def write(path, rows: list[str], encoding: str = "utf-8"):
    path.write_bytes(("\n".join([",".join(HEADER), *rows]) + "\n").encode(encoding))
    return path


@pytest.fixture
def captured(monkeypatch):
    """Send the command line's stdout console to a buffer, as a terminal of 200 columns."""
    buffer = io.StringIO()
    monkeypatch.setattr(_common, "stdout", Console(file=buffer, width=200, force_terminal=True, color_system=None))
    return buffer


def test_printable_escapes_control_characters():
    shown = ingest_cli.printable("a\x00b\x1b[2J\r\n\t\u202ec ñ [/x]").plain
    assert shown == "a\\x00b\\x1b[2J\\r\\n\\t\\u202ec ñ [/x]"


def test_bad_rows_escaped_on_terminal(tmp_path, captured):
    rows = lines(500)
    # The header check reads the first 64 KiB and rejects NUL bytes there, so the bad rows come later.
    rows[450] = rows[450].replace(",451,", ",45\x1b[2J\x1b[31m1\x00,", 1)
    rows[460] = rows[460].replace(",461,", ",[bold]461[/x]\u202e,", 1)
    report = ingest([write(tmp_path / "t.csv", rows)], tmp_path / "ws", max_bad_share=0.1)
    ingest_cli.print_report(report)
    output = captured.getvalue()

    values = [entry["value"] for entry in report["files"][0]["bad_rows"]]
    assert values == ["45\x1b[2J\x1b[31m1\x00", "[bold]461[/x]\u202e"]
    assert "45\\x1b[2J\\x1b[31m1\\x00" in output
    assert "[bold]461[/x]\\u202e" in output
    for raw in ("\x1b[2J", "\x1b[31m", "\x00", "\u202e"):
        assert raw not in output


def test_report_file_keeps_exact_text(tmp_path):
    rows = lines(300)
    rows[250] = rows[250].replace(",251,", ",25\x1b[2J1,", 1)
    CliRunner().invoke(app, ["ingest", str(write(tmp_path / "t.csv", rows)), "-w", str(tmp_path / "ws"), "--max-bad-rows", "0.1"])
    report = json.loads((tmp_path / "ws" / "ingest-report.json").read_text(encoding="utf-8"))
    assert report["files"][0]["bad_rows"][0]["value"] == "25\x1b[2J1"


def test_latin1_file_fails_once_with_iconv_fix(tmp_path):
    path = write(tmp_path / "latin.csv", lines(20, province="CORU\xd1A"), encoding="latin-1")
    with pytest.raises(InputFileError) as caught:
        ingest([path], tmp_path / "ws")
    error = caught.value

    assert error.line == 2
    assert error.column == "nomprov"
    assert error.value == "CORU\ufffdA"
    assert "not UTF-8 text: 20 of 20 rows contain bytes that are not valid UTF-8" in error.problem
    assert "The first invalid byte is 0xD1" in error.problem
    assert error.fix == "Convert it to UTF-8, for example: iconv -f latin1 -t utf-8 latin.csv > latin-utf8.csv"
    # Said once, not line by line.
    assert str(error).count("line ") == 1
    assert not (tmp_path / "ws").exists()


def test_few_latin1_lines_pass_with_one_warning(tmp_path, captured):
    rows = lines(200)
    for index in (40, 90):
        rows[index] = rows[index].replace("MADRID", "CORU\xd1A")
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\n".join([",".join(HEADER), *rows]) + "\n").encode("latin-1"))
    report = ingest([path], tmp_path / "ws", max_bad_share=0.05)
    ingest_cli.print_report(report)
    output = captured.getvalue()
    byte_in_line = rows[40].encode("latin-1").index(b"\xd1") + 1

    file_report = report["files"][0]
    assert file_report["rows_bad"] == 2
    assert [entry["line"] for entry in file_report["bad_rows"]] == [42, 92]
    assert {entry["reason"] for entry in file_report["bad_rows"]} == {ENCODING_REASON}
    assert file_report["encoding"] == {
        "lines": 2,
        "line": 42,
        "byte_in_line": byte_in_line,
        "byte": "0xD1",
        "column": "nomprov",
        "value": "CORU\ufffdA",
    }
    assert output.count("not UTF-8 text") == 1
    assert f"byte 0xD1 at byte {byte_in_line} of line 42, column nomprov" in output
    assert "iconv -f latin1 -t utf-8 mixed.csv > mixed-utf8.csv" in output
    assert "Rows not used from" not in output


def test_latin1_gzip_fix_decompresses(tmp_path):
    data = ("\n".join([",".join(HEADER), *lines(5, province="CORU\xd1A")]) + "\n").encode("latin-1")
    path = tmp_path / "latin.csv.gz"
    path.write_bytes(gzip.compress(data))
    with pytest.raises(InputFileError) as caught:
        ingest([path], tmp_path / "ws")
    assert caught.value.line == 2
    assert caught.value.fix.endswith("zcat latin.csv.gz | iconv -f latin1 -t utf-8 > latin-utf8.csv")


def test_other_bad_rows_keep_line_by_line_report(tmp_path):
    rows = lines(300)
    rows[100] = rows[100].replace(",101,", ",x,", 1)
    rows[110] = rows[110].replace(",111,", ",y,", 1)
    rows[120] = rows[120].replace("MADRID", "CORU\xd1A")
    path = tmp_path / "t.csv"
    path.write_bytes(("\n".join([",".join(HEADER), *rows]) + "\n").encode("latin-1"))
    with pytest.raises(InputFileError) as caught:
        ingest([path], tmp_path / "ws", max_bad_share=0.001)
    # One encoding error among three bad rows is not most of them: the usual message lists each.
    assert "line 102: invalid customer id" in caught.value.problem
    assert "line 122: not valid UTF-8 text" in caught.value.problem
