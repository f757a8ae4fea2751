"""Input files of an ingest: recognise the format, read the header and check it against the schema.

Formats are recognised by their first bytes, not their names: gzip (`1f 8b`), zip (`PK`),
Parquet (`PAR1`), otherwise text CSV. A zip archive must hold exactly one CSV file, as the
competition's `train_ver2.csv.zip` does.
"""

from __future__ import annotations

import csv
import gzip
import logging
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.schema import SnapshotSchema
from nextbest.errors import InputFileError
from nextbest.multilabel.csv_checks import reject_other_delimiter

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
_MAX_HEADER_BYTES = 64 * 1024
_COPY_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass
class SourceLayout:
    """Layout of one input file, decided from its header.

    Attributes
    ----------
    path : Path
        The file as given.
    format : {"csv", "csv.gz", "csv.zip", "parquet"}
        The file's format, from its first bytes.
    columns : list of str
        The header, in file order.
    layout : {"train", "test"}
        "train" when the file has the product columns, "test" when it has none.
    has_month : bool
        Whether the file has the schema's month column.
    missing_attributes : list of str
        Attribute columns absent from the file; they are filled with null.
    """

    path: Path
    format: str
    columns: list[str]
    layout: str
    has_month: bool
    missing_attributes: list[str] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """Return the format of `path` from its first bytes; raise InputFileError if it is missing or empty."""
    if not path.exists():
        raise InputFileError(path, "file not found", fix="Check the path and the current directory")
    if not path.is_file():
        raise InputFileError(path, "not a file", fix="Pass snapshot files, not directories")
    with path.open("rb") as handle:
        start = handle.read(4)
    if not start:
        raise InputFileError(path, "the file is empty", fix="Pass a file with a header line and at least one row")
    if start.startswith(GZIP_MAGIC):
        return "csv.gz"
    if start.startswith(ZIP_MAGIC):
        return "csv.zip"
    if start.startswith(PARQUET_MAGIC):
        return "parquet"
    return "csv"


def read_header(path: Path, file_format: str) -> list[str]:
    """Return the column names of a file, checking that a CSV file is comma-separated text."""
    if file_format == "parquet":
        try:
            return pq.read_schema(path).names
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise InputFileError(path, f"not a readable Parquet file ({error})", fix="Write the file again") from None
    return parse_header_line(path, read_head(path, file_format, _MAX_HEADER_BYTES))


def parse_header_line(path: Path, head: bytes) -> list[str]:
    """Return the names in the header line at the start of `head`.

    Raises
    ------
    InputFileError
        When `head` contains binary data or non-UTF-8 text, or its first line is not comma-separated.
    """
    if b"\x00" in head:
        raise InputFileError(path, "not a text CSV file (it contains binary data)", fix="Pass a CSV, CSV.gz, CSV.zip or Parquet file")
    first_line = head.split(b"\n", 1)[0]
    if not first_line.strip():
        raise InputFileError(path, "the file has no header line", fix="Pass a CSV file whose first line names its columns")
    try:
        text = first_line.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(
            path, "not a UTF-8 text CSV file", line=1, fix="Convert the file to UTF-8, or pass CSV, CSV.gz, CSV.zip or Parquet"
        ) from None
    header = text.rstrip("\r\n")
    names = next(csv.reader([header]))
    reject_other_delimiter(path, header, names)
    return [name.strip() for name in names]


def read_head(path: Path, file_format: str, size: int) -> bytes:
    """Return up to `size` bytes of the CSV text of a plain, gzip or zip file.

    Raises
    ------
    InputFileError
        When the compressed file is damaged or cut short before `size` bytes of text.
    """
    try:
        if file_format == "csv":
            with path.open("rb") as handle:
                return handle.read(size)
        if file_format == "csv.gz":
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        if file_format == "csv.zip":
            with zipfile.ZipFile(path) as archive, archive.open(zip_member(path, archive)) as handle:
                return handle.read(size)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise InputFileError(
            path, f"the compressed file is damaged or truncated ({error})", fix="Get the complete file again"
        ) from None
    raise ValueError(f"not a CSV format: {file_format!r}")


def zip_member(path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """Return the one file of a zip archive; raise InputFileError unless there is exactly one."""
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) != 1:
        names = ", ".join(info.filename for info in members[:5]) or "none"
        raise InputFileError(
            path,
            f"a zip archive must hold exactly one CSV file, this one holds {len(members)} ({names})",
            fix="Extract the CSV file and pass it directly",
        )
    return members[0]


def extract_zip(path: Path, target_dir: Path, progress: Progress | None = None) -> Path:
    """Extract the single CSV of a zip archive into `target_dir` and return its path."""
    with zipfile.ZipFile(path) as archive:
        member = zip_member(path, archive)
        target = target_dir / "extracted.csv"
        task = progress.add_task(f"extract {path.name}", total=member.file_size) if progress else None
        with archive.open(member) as source, target.open("wb") as out:
            while chunk := source.read(_COPY_CHUNK_BYTES):
                out.write(chunk)
                if progress is not None:
                    progress.advance(task, len(chunk))
    logger.debug("extracted %s from %s to %s", member.filename, path, target)
    return target


def check_header(
    path: Path,
    file_format: str,
    columns: list[str],
    schema: SnapshotSchema,
    *,
    month_given: bool,
    allow_missing_attributes: bool,
    schema_source: str | None = None,
) -> SourceLayout:
    """Match a file's header against the schema and return its layout.

    `schema_source` says where the schema comes from, such as "schema 'mybank' of workspace
    ws"; the error names it, so that a file of another schema is recognised as such.

    Raises
    ------
    InputFileError
        When columns are missing or unexpected, listing the difference to the expected header.
    """
    present = set(columns)
    product_columns = [product.column for product in schema.products]
    has_products = any(column in present for column in product_columns)
    layout = "train" if has_products else "test"
    expected = schema.file_columns(layout)

    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise InputFileError(path, f"the header names these columns more than once: {', '.join(duplicates)}", line=1)

    unexpected = [name for name in columns if name not in set(expected)]
    missing = [name for name in expected if name not in present]
    missing_month = schema.month in missing
    missing_attributes = [name for name in missing if name in schema.attribute_names]
    blocking = [name for name in missing if not (name == schema.month and month_given)]
    if allow_missing_attributes:
        blocking = [name for name in blocking if name not in missing_attributes]
    if unexpected or blocking:
        schema_source = schema_source or f"schema {schema.name!r}"
        if len(missing) > len(expected) / 2:
            raise _other_schema_error(path, schema_source, layout, expected, missing, unexpected)
        raise InputFileError(
            path,
            _header_difference(layout, expected, unexpected, blocking, schema_source),
            line=1,
            fix=_header_fix(schema, blocking, unexpected, missing_attributes),
        )
    return SourceLayout(
        path=path,
        format=file_format,
        columns=columns,
        layout=layout,
        has_month=not missing_month,
        missing_attributes=missing_attributes,
    )


def _other_schema_error(
    path: Path, schema_source: str, layout: str, expected: list[str], missing: list[str], unexpected: list[str]
) -> InputFileError:
    """Return the error for a header that lacks most of the columns of its layout, in short."""
    name = "training" if layout == "train" else "test"
    problem = (
        f"the header does not match {schema_source}: {len(missing)} of the {len(expected)} columns of its "
        f"{name} layout are missing ({_first_names(missing)})"
    )
    if unexpected:
        problem += f", and {len(unexpected)} of the file's columns are not in the schema ({_first_names(unexpected)})"
    return InputFileError(
        path,
        problem + "; the file looks like one of another schema",
        line=1,
        fix="Ingest it with --schema and the schema that describes it, into a --workspace directory of that schema",
    )


def _first_names(names: list[str], shown: int = 4) -> str:
    return ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more)" if len(names) > shown else "")


def _header_difference(layout: str, expected: list[str], unexpected: list[str], missing: list[str], schema_source: str) -> str:
    name = "training" if layout == "train" else "test"
    parts = [f"the header does not match the {name} layout of {schema_source} ({len(expected)} columns)"]
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected: {', '.join(unexpected)}")
    return "; ".join(parts)


def _header_fix(schema: SnapshotSchema, missing: list[str], unexpected: list[str], missing_attributes: list[str]) -> str:
    fixes = []
    if schema.month in missing:
        fixes.append(f"pass --month YYYY-MM to give the month of a file without a {schema.month} column")
    if any(name in missing_attributes for name in missing):
        fixes.append("pass --allow-missing-attributes to read absent attribute columns as null")
    if unexpected or any(name != schema.month and name not in missing_attributes for name in missing):
        fixes.append("rename or remove the columns listed, or pass --schema with a schema that matches the file")
    return "To read it, " + "; ".join(fixes)
