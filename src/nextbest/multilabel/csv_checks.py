"""Explain why a CSV file cannot be read, naming the line, the column and the fix.

pyarrow reads a well-formed file fast, but its errors count records rather than lines and
name neither the file nor the fix. The checks here run before the read (on the first bytes
only) or after a failed read, so a good file pays for none of them except `check_head`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from nextbest.errors import InputFileError

# Delimiters that spreadsheets write in place of the comma, with their names.
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
_HEAD_BYTES = 64 * 1024
_CHUNK_BYTES = 1 << 20
# Characters of a line or value shown in a message.
_SHOWN_CHARS = 80
# Commands that write a compressed file's text to stdout, by the file name's last suffix.
_DECOMPRESS_COMMANDS = {".gz": "zcat", ".bz2": "bzcat", ".zst": "zstdcat", ".lz4": "lz4cat", ".zip": "unzip -p"}


@dataclass(frozen=True)
class InvalidByte:
    """The first byte of a text file that is not valid UTF-8.

    Attributes
    ----------
    line : int
        1-based line number, counting ``\\n`` line ends.
    byte_in_line : int
        1-based position of the byte within its line, in bytes.
    byte : int
        The byte's value, 0 to 255.
    line_bytes : bytes
        The whole line, without its line end.
    """

    line: int
    byte_in_line: int
    byte: int
    line_bytes: bytes

    def field_index(self, delimiter: str = ",") -> int:
        """Return the 0-based index of the CSV field that contains the byte."""
        before = self.line_bytes[: self.byte_in_line - 1].decode("latin-1")
        return max(len(next(csv.reader([before], delimiter=delimiter), [""])) - 1, 0)

    def field_text(self, delimiter: str = ",") -> str:
        """Return the field that contains the byte, with each invalid byte replaced by U+FFFD."""
        text = self.line_bytes.decode("utf-8", errors="replace")
        fields = next(csv.reader([text], delimiter=delimiter), [])
        index = self.field_index(delimiter)
        return fields[index][:_SHOWN_CHARS] if index < len(fields) else text[:_SHOWN_CHARS]


def iconv_fix(path: Path, encoding: str = "latin1") -> str:
    """Return the fix for a file in `encoding`: a shell command that writes it again as UTF-8."""
    name = Path(path).name
    stem = name.split(".", 1)[0] or "table"
    decompress = _DECOMPRESS_COMMANDS.get(Path(name).suffix.lower())
    iconv = f"iconv -f {encoding} -t utf-8"
    command = f"{decompress} {name} | {iconv}" if decompress else f"{iconv} {name}"
    return f"Convert it to UTF-8, for example: {command} > {stem}-utf8.csv"


def open_text_stream(path: Path) -> BinaryIO:
    """Open a CSV file for reading its bytes, decompressing as pyarrow does from the extension."""
    return pa.input_stream(str(path), compression="detect")


def find_invalid_utf8(stream: BinaryIO) -> InvalidByte | None:
    """Return the first byte of `stream` that is not valid UTF-8, or None when all of it is.

    The stream is read in chunks of 1 MiB and only up to the line of the first invalid byte.
    """
    carry = b""
    lines_before = 0
    while True:
        chunk = stream.read(_CHUNK_BYTES)
        data = carry + chunk
        try:
            data.decode("utf-8")
            valid_end = len(data)
        except UnicodeDecodeError as error:
            # A character cut at the chunk's end is completed by the next chunk.
            cut_at_end = error.reason == "unexpected end of data" and error.end == len(data)
            if not chunk or not cut_at_end:
                return _invalid_byte(data, error.start, lines_before)
            valid_end = error.start
        if not chunk:
            return None
        line_start = data.rfind(b"\n", 0, valid_end) + 1
        lines_before += data.count(b"\n", 0, line_start)
        carry = data[line_start:]


def _invalid_byte(data: bytes, position: int, lines_before: int) -> InvalidByte:
    line_start = data.rfind(b"\n", 0, position) + 1
    line_end = data.find(b"\n", position)
    line_bytes = data[line_start : line_end if line_end >= 0 else len(data)].rstrip(b"\r")
    return InvalidByte(
        line=lines_before + data.count(b"\n", 0, line_start) + 1,
        byte_in_line=position - line_start + 1,
        byte=data[position],
        line_bytes=line_bytes,
    )


def check_head(path: Path) -> list[str] | None:
    """Return the names in a CSV file's header line, raising when the file's start shows it cannot be read.

    Raises an `InputFileError` for an empty file, UTF-16 or binary data, a header that is not
    UTF-8, and a header separated by another delimiter than the comma, from the first 64 KiB
    only. Returns None for a compressed file that cannot be opened, which is left to the
    reader, whose error names the damage.
    """
    try:
        with open_text_stream(path) as stream:
            head = stream.read(_HEAD_BYTES)
    except OSError:
        return None
    if not head.strip():
        raise InputFileError(path, "the file is empty", fix="Pass a CSV file with a header line and at least one data row")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise InputFileError(
            path,
            "not UTF-8 text: the file starts with a UTF-16 byte order mark or contains NUL bytes, "
            "so it is UTF-16 text or a binary file",
            fix=iconv_fix(path, "utf-16"),
        )
    first_line = head.split(b"\n", 1)[0]
    invalid = find_invalid_utf8(io.BytesIO(first_line))
    if invalid is not None:
        raise _not_utf8_error(path, invalid, column=None)
    header = first_line.decode("utf-8").rstrip("\r")
    names = next(csv.reader([header]), [])
    reject_other_delimiter(path, header, names)
    return names


def reject_other_delimiter(path: Path, header: str, names: list[str]) -> None:
    """Raise InputFileError when a one-column header contains another common delimiter.

    Parameters
    ----------
    header : str
        The file's first line, without its line end.
    names : list of str
        That line split at commas.
    """
    if len(names) != 1:
        return
    for delimiter, word in OTHER_DELIMITERS.items():
        if delimiter in header:
            raise InputFileError(
                path,
                f"the file looks {word}-separated: its header line contains {delimiter!r} and no comma",
                line=1,
                value=header[:_SHOWN_CHARS],
                fix=convert_delimiter_fix(path, delimiter),
            )


def convert_delimiter_fix(path: Path, delimiter: str) -> str:
    """Return the fix for a file separated by `delimiter`: a command that saves it comma-separated."""
    separator = "\\t" if delimiter == "\t" else delimiter
    return (
        "Save it as comma-separated CSV, for example: python -c \"import pandas as pd; "
        f"pd.read_csv('{path.name}', sep='{separator}').to_csv('comma.csv', index=False)\""
    )


def check_utf8(path: Path, table: pa.Table) -> None:
    """Raise an `InputFileError` naming the first invalid byte when a read table shows non-UTF-8 text.

    pyarrow reads a column holding invalid UTF-8 as binary, so the file is scanned only when
    a column is binary. `check_head` has checked the header line.
    """
    if not any(pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type) for field in table.schema):
        return
    with open_text_stream(path) as stream:
        invalid = find_invalid_utf8(stream)
    if invalid is None:
        return
    index = invalid.field_index()
    raise _not_utf8_error(path, invalid, column=table.column_names[index] if index < table.num_columns else None)


def _not_utf8_error(path: Path, invalid: InvalidByte, column: str | None) -> InputFileError:
    return InputFileError(
        path,
        f"not UTF-8 text: byte 0x{invalid.byte:02X}, at byte {invalid.byte_in_line} of the line, is not valid UTF-8; "
        "the file is probably Latin-1 or Windows-1252",
        line=invalid.line,
        column=column,
        value=invalid.field_text(),
        fix=iconv_fix(path),
    )


@dataclass(frozen=True)
class MalformedRecord:
    """A CSV record whose field count differs from the header's.

    Attributes
    ----------
    first_line, last_line : int
        1-based lines where the record starts and ends. They differ when a quoted field
        contains line ends, as it does when its quote is not closed.
    fields : list of str
        The record's fields as Python's csv module splits them; empty when the module stopped
        on a field longer than its size limit.
    at_end : bool
        Whether the record runs to the end of the file.
    """

    first_line: int
    last_line: int
    fields: list[str]
    at_end: bool


def find_malformed_record(text_lines: Iterator[str], expected: int) -> MalformedRecord | None:
    """Return the first data record with other than `expected` fields, or None.

    `text_lines` yields the file's lines with their line ends (open the file with
    ``newline=""``), header first. Empty lines are skipped, as pyarrow skips them.
    """
    reader = csv.reader(text_lines)
    previous_end = 0
    try:
        next(reader, None)
        previous_end = reader.line_num
        for fields in reader:
            first_line, previous_end = previous_end + 1, reader.line_num
            if fields and len(fields) != expected:
                at_end = next(reader, None) is None
                return MalformedRecord(first_line, previous_end, fields, at_end)
    except csv.Error:
        # Python's csv module stops on a quoted field longer than its field size limit, which
        # is what an unclosed quote makes of the rest of a large file.
        return MalformedRecord(previous_end + 1, reader.line_num, [], at_end=True)
    return None


def explain_read_error(path: Path, error: Exception, header: list[str] | None) -> InputFileError:
    """Return the error to raise for a CSV file that pyarrow failed to read with `error`.

    The file is read again with Python's csv module to find the first record whose field
    count differs from the `header` that `check_head` returned, and its line.
    """
    record = None
    if header:
        try:
            with open_text_stream(path) as stream:
                text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
                record = find_malformed_record(text, len(header))
        except OSError:
            record = None
    if record is None:
        return InputFileError(path, f"cannot be read as CSV: {error}", fix="Check that it is a CSV file with a header row")
    if any("\n" in field for field in record.fields) or not record.fields:
        return _quoted_line_end_error(path, record, header)
    return _field_count_error(path, record, header)


def _field_count_error(path: Path, record: MalformedRecord, header: list[str]) -> InputFileError:
    count, expected = len(record.fields), len(header)
    line_text = ",".join(record.fields)[:_SHOWN_CHARS]
    if count > expected:
        return InputFileError(
            path,
            f"the line has {count} fields, but the header has {expected}",
            line=record.first_line,
            value=line_text,
            fix='Quote each value that contains a comma ("1,5"), or remove the extra fields',
        )
    missing = header[count:]
    return InputFileError(
        path,
        f"the line has {count} fields, but the header has {expected}: no value for "
        + ", ".join(repr(name) for name in missing[:5])
        + (" ..." if len(missing) > 5 else ""),
        line=record.first_line,
        value=line_text,
        fix="Add the missing values (an empty field for a missing value), or remove the line",
    )


def _quoted_line_end_error(path: Path, record: MalformedRecord, header: list[str]) -> InputFileError:
    """Return the error for a record whose quoted field runs over line ends, as an unclosed quote does."""
    opened = next((index for index, field in enumerate(record.fields) if "\n" in field), len(record.fields) - 1)
    column = header[opened] if 0 <= opened < len(header) else None
    value = '"' + record.fields[opened].split("\n", 1)[0][:_SHOWN_CHARS] if record.fields else None
    # An unclosed quote makes the rest of the file its field, so that field is the record's last.
    # NOTE: a closed multi-line value in the last field of the file's last record is also reported
    # as not closed when that record lacks a field. The line and column are right all the same.
    if record.at_end and opened == len(record.fields) - 1:
        problem = f"a quoted field that starts on this line is not closed: it runs to the end of the file (line {record.last_line})"
    else:
        problem = (
            f"a quoted field that starts on this line contains line ends up to line {record.last_line}, and the "
            f"record then has {len(record.fields)} fields, but the header has {len(header)}"
        )
    return InputFileError(
        path,
        problem,
        line=record.first_line,
        column=column,
        value=value,
        fix='Close the quote, and write a quote inside a quoted value as two quotes ("")',
    )
