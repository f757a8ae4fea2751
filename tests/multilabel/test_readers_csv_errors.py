"""Malformed CSV files: each error names the file, the line, the column and value where known, and the fix."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextbest.errors import InputFileError
from nextbest.multilabel import csv_checks
from nextbest.multilabel.readers import read_table

GOOD = "a,b,y1,y2\n1,x,0,1\n2,y,1,0\n"


def write_bytes(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_error(path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_table(path, labels=["y1", "y2"])
    return caught.value


def test_good_file_still_reads(tmp_path):
    table = read_table(write_bytes(tmp_path, "t.csv", GOOD.encode()), labels=["y1", "y2"])
    assert table.labels.tolist() == [[0, 1], [1, 0]]
    assert table.features["b"].tolist() == ["x", "y"]


def test_too_many_fields_names_line(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", b"a,b,y1,y2\n1,x,0,1\n2,y,1,0,9\n3,z,0,0\n"))
    assert error.line == 3
    assert "the line has 5 fields, but the header has 4" in error.problem
    assert error.value == "2,y,1,0,9"
    assert "Quote each value that contains a comma" in error.fix
    assert str(error).startswith(f"{tmp_path / 't.csv'}, line 3: ")


def test_too_few_fields_names_missing_column(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", b"a,b,y1,y2\n1,x,0,1\n2,y,1\n"))
    assert error.line == 3
    assert "no value for 'y2'" in error.problem
    assert error.value == "2,y,1"


def test_line_counts_quoted_line_ends(tmp_path):
    # Record 3 starts on line 5, because record 2's quoted value spans lines 2 to 4.
    error = read_error(write_bytes(tmp_path, "t.csv", b'a,b,y1,y2\n1,"x\n\ny",0,1\n2,y,1,0,7\n'))
    assert error.line == 5
    assert error.value == "2,y,1,0,7"


def test_unclosed_quote_names_line_and_column(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", b'a,b,y1,y2\n1,x,0,1\n2,"y,1,0\n3,z,0,0\n4,w,1,1\n'))
    assert error.line == 3
    assert error.column == "b"
    assert error.value == '"y,1,0'
    assert "not closed: it runs to the end of the file (line 5)" in error.problem
    assert "Close the quote" in error.fix


def test_unclosed_quote_in_large_file(tmp_path):
    # The quote swallows more than Python's csv field size limit (128 KiB) of the file.
    rows = "".join(f"{i},x,0,1\n" for i in range(30_000))
    data = f'a,b,y1,y2\n1,x,0,1\n2,"y,1,0\n{rows}'.encode()
    error = read_error(write_bytes(tmp_path, "t.csv", data))
    assert error.line == 3
    assert "is not closed" in error.problem


@pytest.mark.parametrize(
    ("separator", "word", "quoted"), [(";", "semicolon", "';'"), ("\t", "tab", "'\\t'"), ("|", "vertical bar", "'|'")]
)
def test_other_delimiter_is_named(tmp_path, separator, word, quoted):
    text = GOOD.replace(",", separator)
    error = read_error(write_bytes(tmp_path, "semi.csv", text.encode()))
    assert error.line == 1
    assert f"the file looks {word}-separated: its header line contains {quoted} and no comma" in error.problem
    assert "Save it as comma-separated CSV" in error.fix
    assert "read_csv('semi.csv', sep=" in error.fix


def test_delimiter_fix_command_works(tmp_path):
    error = read_error(write_bytes(tmp_path, "semi.csv", GOOD.replace(",", ";").encode()))
    command = error.fix.split("python -c ", 1)[1].strip('"')
    python_code = command.replace("'semi.csv'", repr(str(tmp_path / "semi.csv"))).replace(
        "'comma.csv'", repr(str(tmp_path / "comma.csv"))
    )
    exec(python_code, {})
    assert read_table(tmp_path / "comma.csv", labels=["y1", "y2"]).labels.tolist() == [[0, 1], [1, 0]]


def test_latin1_value_names_line_byte_and_column(tmp_path):
    data = "a,b,y1,y2\n1,x,0,1\n2,CORU\xd1A,1,0\n".encode("latin-1")
    error = read_error(write_bytes(tmp_path, "t.csv", data))
    assert error.line == 3
    assert error.column == "b"
    assert error.value == "CORU\ufffdA"
    assert "byte 0xD1, at byte 7 of the line, is not valid UTF-8" in error.problem
    assert error.fix == "Convert it to UTF-8, for example: iconv -f latin1 -t utf-8 t.csv > t-utf8.csv"


def test_latin1_header(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", "a,b\xf1,y1,y2\n1,x,0,1\n".encode("latin-1")))
    assert error.line == 1
    assert error.column is None
    assert "byte 0xF1" in error.problem


def test_latin1_gzip_fix_decompresses(tmp_path):
    data = gzip.compress("a,b,y1,y2\n1,\xe9t\xe9,0,1\n".encode("latin-1"))
    error = read_error(write_bytes(tmp_path, "t.csv.gz", data))
    assert error.line == 2
    assert error.fix.endswith("zcat t.csv.gz | iconv -f latin1 -t utf-8 > t-utf8.csv")


def test_utf16_file(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", GOOD.encode("utf-16")))
    assert "UTF-16" in error.problem
    assert error.fix == "Convert it to UTF-8, for example: iconv -f utf-16 -t utf-8 t.csv > t-utf8.csv"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    error = read_error(write_bytes(tmp_path, "t.csv", content))
    assert error.problem == "the file is empty"
    assert "header line" in error.fix


def test_header_only(tmp_path):
    error = read_error(write_bytes(tmp_path, "t.csv", b"a,b,y1,y2\n"))
    assert error.problem == "the file has a header line but no data rows"
    assert error.fix == "Pass a file with at least one data row"


def test_parquet_without_rows(tmp_path):
    pd.DataFrame({"a": pd.Series([], dtype=float), "y1": pd.Series([], dtype=int)}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputFileError, match="the table has no rows"):
        read_table(tmp_path / "t.parquet", labels=["y1"])


def test_truncated_gzip_keeps_reader_message(tmp_path):
    data = gzip.compress((GOOD * 200).encode())[:-30]
    error = read_error(write_bytes(tmp_path, "t.csv.gz", data))
    assert error.problem.startswith("cannot be read as CSV")
    assert error.fix == "Check that the file is complete and readable"


def slow_first_invalid(data: bytes):
    """Reference: decode line by line, return (line, byte in line, byte) of the first invalid byte."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            return number, error.start + 1, line[error.start]
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(alphabet="aé€😀,\"x", max_size=12), min_size=1, max_size=12),
    bad_line=st.integers(min_value=0, max_value=11),
    bad_at=st.integers(min_value=0, max_value=20),
    bad_byte=st.sampled_from([0x80, 0xD1, 0xE9, 0xFF, 0xC3]),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_find_invalid_utf8_matches_line_by_line(monkeypatch, lines, bad_line, bad_at, bad_byte, chunk):
    monkeypatch.setattr(csv_checks, "_CHUNK_BYTES", chunk)
    encoded = [line.encode() for line in lines]
    if bad_line < len(encoded):
        # Insert after a whole character, so the byte itself is the first invalid one.
        text = lines[bad_line]
        cut = len(text[: min(bad_at, len(text))].encode())
        encoded[bad_line] = encoded[bad_line][:cut] + bytes([bad_byte]) + encoded[bad_line][cut:]
    data = b"\n".join(encoded) + b"\n"

    found = csv_checks.find_invalid_utf8(io.BytesIO(data))
    expected = slow_first_invalid(data)
    if expected is None:
        assert found is None
    else:
        assert (found.line, found.byte_in_line, found.byte) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(-99, 99), st.text(alphabet="ab ,\"\n", max_size=6), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    bad_row=st.integers(min_value=0, max_value=7),
    extra=st.booleans(),
)
def test_wrong_field_count_found_on_its_line(tmp_path_factory, rows, bad_row, extra):
    frame = pd.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows], "y1": [int(r[2]) for r in rows]})
    lines = frame.to_csv(index=False, lineterminator="\n").split("\n")
    # Each record spans one line more than the line ends inside its quoted text field.
    spans = [1 + text.count("\n") for text in frame["b"]]
    starts = [2 + sum(spans[:i]) for i in range(len(spans))]
    index = bad_row % len(rows)
    last_line = starts[index] + spans[index] - 2  # 0-based index of the record's last line
    # The record ends with its 0/1 label, so ",9" adds a field and cutting ",0" removes one.
    lines[last_line] = lines[last_line] + ",9" if extra else lines[last_line][:-2]
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(InputFileError) as caught:
        read_table(path, labels=["y1"])
    assert caught.value.line == starts[index]
    assert ("header has 3" in caught.value.problem) or ("quoted field" in caught.value.problem)
