"""Wrong files and options: each gets an error that names the problem and leaves no output behind."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from nextbest.banking.ingest import ingest
from nextbest.banking.schema import Attribute, Product, SnapshotSchema
from nextbest.banking.workspace import FORMAT_VERSION
from nextbest.errors import InputFileError, NextbestError

SCHEMA = SnapshotSchema.santander()
TRAIN_HEADER = SCHEMA.file_columns("train")
GOOD_LINE = (
    "2016-01-28,{id},N,ES,V, 40,2010-05-28, 0, 60, 1,,1,A,S,N,,KAT,N, 1,28,MADRID, 1,50000.5,02 - PARTICULARES,"
    + ",".join(["0"] * 24)
)


def good_lines(count: int, first_id: int = 1) -> list[str]:
    return [GOOD_LINE.format(id=first_id + i) for i in range(count)]


def write(path, header: list[str], lines: list[str], *, end: str = "\n"):
    path.write_text("\n".join([",".join(header), *lines]) + end, encoding="utf-8")
    return path


def entries(tmp_path) -> set[str]:
    return {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")}


@pytest.fixture
def good_file(tmp_path):
    return write(tmp_path / "good.csv", TRAIN_HEADER, good_lines(5))


def check_fails(tmp_path, paths, pattern, error_type=InputFileError, **options):
    """Run ingest expecting an error matching `pattern`, and check it left no file behind."""
    before = entries(tmp_path)
    with pytest.raises(error_type, match=pattern) as caught:
        ingest(paths, tmp_path / "ws", **options)
    assert entries(tmp_path) == before
    return str(caught.value)


def test_file_not_found(tmp_path):
    message = check_fails(tmp_path, [tmp_path / "absent.csv"], "file not found")
    assert "absent.csv" in message


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    check_fails(tmp_path, [empty], "the file is empty")


def test_header_without_rows(tmp_path):
    source = write(tmp_path / "header.csv", TRAIN_HEADER, [])
    check_fails(tmp_path, [source], "the file has a header but no rows")


def test_missing_and_unexpected_columns_show_difference(tmp_path):
    header = [name for name in TRAIN_HEADER if name not in ("age", "renta")] + ["edad"]
    source = write(tmp_path / "drift.csv", header, [])
    message = check_fails(tmp_path, [source], "does not match the training layout")
    assert "line 1" in message
    assert "missing: age, renta" in message
    assert "unexpected: edad" in message
    assert "--allow-missing-attributes" in message


def test_some_product_columns_missing(tmp_path):
    header = TRAIN_HEADER[:-1]
    source = write(tmp_path / "short.csv", header, [])
    message = check_fails(tmp_path, [source], "missing: ind_recibo_ult1")
    assert "--schema" in message


def test_missing_month_column_suggests_option(tmp_path):
    header = TRAIN_HEADER[1:]
    source = write(tmp_path / "no_month.csv", header, [line.split(",", 1)[1] for line in good_lines(2)])
    message = check_fails(tmp_path, [source], "missing: fecha_dato")
    assert "--month YYYY-MM" in message


def test_semicolon_delimiter(tmp_path):
    source = tmp_path / "semicolons.csv"
    source.write_text(";".join(TRAIN_HEADER) + "\n" + GOOD_LINE.format(id=1).replace(",", ";") + "\n", encoding="utf-8")
    check_fails(tmp_path, [source], r"looks semicolon-separated: its header line contains ';' and no comma")


def test_tab_delimiter(tmp_path):
    source = tmp_path / "tabs.tsv"
    source.write_text("\t".join(TRAIN_HEADER) + "\n", encoding="utf-8")
    check_fails(tmp_path, [source], "looks tab-separated")


def test_binary_file_is_not_csv(tmp_path):
    source = tmp_path / "image.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    check_fails(tmp_path, [source], "not a text CSV file")


def test_latin1_header_is_rejected(tmp_path):
    source = tmp_path / "latin1.csv"
    source.write_bytes(",".join(TRAIN_HEADER).replace("nomprov", "provincia_\xf1").encode("latin-1") + b"\n")
    check_fails(tmp_path, [source], "not a UTF-8 text CSV file")


def test_truncated_last_line(tmp_path):
    lines = good_lines(300)
    lines[-1] = lines[-1][:40]
    source = write(tmp_path / "cut.csv", TRAIN_HEADER, lines, end="")
    message = check_fails(tmp_path, [source], "the last line is truncated: too few fields")
    assert "line 301" in message
    assert "get the complete file again" in message


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(("\n".join([",".join(TRAIN_HEADER), *good_lines(2000)]) + "\n").encode())
    source = tmp_path / "cut.csv.gz"
    source.write_bytes(data[: len(data) // 2])
    check_fails(tmp_path, [source], "could not be read")


def test_ambiguous_date_format(tmp_path):
    lines = [line.replace("2016-01-28", "01/02/2016").replace("2010-05-28", "03/04/2010") for line in good_lines(3)]
    source = write(tmp_path / "ambiguous.csv", TRAIN_HEADER, lines)
    message = check_fails(tmp_path, [source], "the dates are ambiguous")
    assert "%d/%m/%Y and %m/%d/%Y" in message
    assert "column 'fecha_dato'" in message


def test_unreadable_date_format(tmp_path):
    lines = [line.replace("2016-01-28", "Jan 28 2016") for line in good_lines(3)]
    source = write(tmp_path / "words.csv", TRAIN_HEADER, lines)
    message = check_fails(tmp_path, [source], "dates in a format nextbest cannot read")
    assert "'Jan 28 2016'" in message


def test_workspace_of_other_schema(tmp_path, good_file):
    ingest([good_file], tmp_path / "ws")
    other = SnapshotSchema(
        name="other",
        customer_id="ncodpers",
        month="fecha_dato",
        attributes=(Attribute("age", "integer"),),
        products=(Product("ind_cco_fin_ult1", "cco_fin"),),
    )
    before = entries(tmp_path)
    with pytest.raises(NextbestError, match="created with schema 'santander'.*differs.*in: name, attributes, products"):
        ingest([good_file], tmp_path / "ws", schema=other)
    assert entries(tmp_path) == before


def test_workspace_of_incompatible_version(tmp_path, good_file):
    ingest([good_file], tmp_path / "ws")
    state_file = tmp_path / "ws" / "workspace.json"
    state = json.loads(state_file.read_text())
    state["format_version"] = FORMAT_VERSION + 1
    state_file.write_text(json.dumps(state))
    before = entries(tmp_path)
    with pytest.raises(NextbestError, match="workspace format version 2.*reads format version 1 only"):
        ingest([good_file], tmp_path / "ws")
    assert entries(tmp_path) == before


def test_month_option_with_month_column(tmp_path, good_file):
    check_fails(tmp_path, [good_file], "every file has its own fecha_dato column", NextbestError, month="2016-01")


def test_invalid_month_option(tmp_path, good_file):
    check_fails(tmp_path, [good_file], "write months as YYYY-MM", NextbestError, month="2016-1")


def test_same_file_twice(tmp_path, good_file):
    check_fails(tmp_path, [good_file, good_file], "given twice", NextbestError)


def test_failure_in_second_file_keeps_workspace_unchanged(tmp_path, good_file):
    ingest([good_file], tmp_path / "ws")
    snapshot_before = (tmp_path / "ws" / "snapshots" / "2016-01.parquet").read_bytes()
    later = write(tmp_path / "later.csv", TRAIN_HEADER, [line.replace("2016-01-28", "2016-02-28") for line in good_lines(3)])
    broken = write(tmp_path / "broken.csv", TRAIN_HEADER[:-3], [])
    check_fails(tmp_path, [later, broken], "missing: ind_nomina_ult1, ind_nom_pens_ult1, ind_recibo_ult1")
    assert (tmp_path / "ws" / "snapshots" / "2016-01.parquet").read_bytes() == snapshot_before


def test_cli_prints_error_without_traceback(tmp_path):
    source = tmp_path / "semicolons.csv"
    source.write_text(";".join(TRAIN_HEADER) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "nextbest", "ingest", str(source), "--workspace", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "looks semicolon-separated" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "ws").exists()
