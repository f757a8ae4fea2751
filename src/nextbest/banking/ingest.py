"""Ingest: read a bank's monthly snapshot files into a workspace's typed, cleaned snapshot tables.

`ingest` checks every file's header first, then reads each file once (see
`nextbest.banking.staging`) into staged month files beside the workspace. Only when every file
has been read without error are the months moved into the workspace, so a failed ingest leaves
the workspace as it was and no half-written file behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest import __version__
from nextbest.banking import ingest_report, sources, staging
from nextbest.banking.cleaning import quote_literal
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.sources import SourceLayout
from nextbest.banking.staging import StagedFile
from nextbest.banking.workspace import SourceFile, Workspace, check_month, hash_file
from nextbest.errors import InputFileError, NextbestError

logger = logging.getLogger(__name__)

# A file with more unusable rows than this share is rejected as a whole: that many bad rows
# usually means the wrong file or a damaged one, not a few bad records.
DEFAULT_MAX_BAD_SHARE = 0.01
# DuckDB's memory limit; beyond it DuckDB spills to disk in the staging directory. The whole
# process stays near 1 GiB above it (Arrow batches, month buffers, Python).
DEFAULT_MEMORY_LIMIT = "1500MB"
# Bad rows shown in an error message; the report lists them all.
_ERROR_EXAMPLES = 5
# Truncation shows up as a short or unterminated last line.
_TRUNCATION_REASONS = ("too few fields", "a quoted field is not closed")


@dataclass
class FileIngest:
    """One input file read and checked, its months staged but not yet in the workspace."""

    layout: SourceLayout
    staged: StagedFile
    source: SourceFile
    report: dict[str, Any]


def ingest(
    paths: list[str | Path],
    workspace_dir: str | Path,
    *,
    schema: SnapshotSchema | None = None,
    month: str | None = None,
    allow_missing_attributes: bool = False,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    replace_labelled: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Read snapshot files into the workspace at `workspace_dir` and return the ingest report.

    Parameters
    ----------
    paths : list of path
        CSV, CSV.gz, CSV.zip or Parquet files in the schema's training layout (with products)
        or test layout (without). A month held in the workspace already is replaced, except
        that a month with products is not replaced by a test-layout file unless
        `replace_labelled` is True.
    workspace_dir : path
        The workspace; created when it does not exist.
    schema : SnapshotSchema, optional
        The files' schema. Default: the workspace's schema, or the built-in Santander schema for
        a new workspace.
    month : str, optional
        "YYYY-MM" of files without a month column (for example a single month's extract).
    allow_missing_attributes : bool, default False
        Read attribute columns absent from a file as null instead of rejecting the file.
    max_bad_share : float, default 0.01
        Largest share of a file's rows that may be unusable (wrong number of fields, customer
        id or month missing or invalid); above it the whole ingest fails.
    memory_limit : str, default "1500MB"
        DuckDB's memory limit.
    replace_labelled : bool, default False
        Let a test-layout file replace a month that the workspace contains with products,
        which loses that month's products. Without it, such an ingest fails and changes nothing.
    progress : rich.progress.Progress, optional
        Progress display to which each step adds a task.

    Returns
    -------
    dict
        The report, also written to DIR/ingest-report.json.

    Raises
    ------
    InputFileError
        For a file that cannot be ingested; the workspace is left unchanged.
    NextbestError
        For options that do not fit the files or the workspace.
    """
    started = time.perf_counter()
    paths = _check_paths(paths)
    workspace_dir = Path(workspace_dir)
    if not 0 <= max_bad_share <= 1:
        raise NextbestError(f"invalid share of bad rows {max_bad_share!r}; expected a number from 0 to 1, such as 0.01")
    if month is not None:
        check_month(month)
    schema, schema_source = _choose_schema(workspace_dir, schema)
    layouts = [_inspect(path, schema, month, allow_missing_attributes, schema_source) for path in paths]
    _check_month_option(layouts, month, schema)

    staging_dir = _make_staging_dir(workspace_dir)
    try:
        ingested = []
        for index, layout in enumerate(layouts):
            file_dir = staging_dir / f"file-{index}"
            file_dir.mkdir()
            ingested.append(_ingest_file(layout, file_dir, schema, month, max_bad_share, memory_limit, progress))
        _reject_overlapping_months(ingested)
        if not replace_labelled:
            _reject_losing_products(ingested, workspace_dir)
        report = _commit(ingested, workspace_dir, schema, memory_limit)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)

    report["seconds"] = round(time.perf_counter() - started, 1)
    Workspace(workspace_dir).write_report(report)
    return report


def _check_paths(paths: list[str | Path]) -> list[Path]:
    if not paths:
        raise NextbestError("no input file given; pass one or more CSV, CSV.gz, CSV.zip or Parquet files")
    resolved = [Path(path) for path in paths]
    seen: set[Path] = set()
    for path in resolved:
        if path.resolve() in seen:
            raise NextbestError(f"{path} is given twice; pass each file once")
        seen.add(path.resolve())
    return resolved


def _choose_schema(workspace_dir: Path, schema: SnapshotSchema | None) -> tuple[SnapshotSchema, str]:
    """Return the schema to read with, checking it against an existing workspace, and where it comes from."""
    existing = Workspace.open_existing(workspace_dir)
    if existing is not None:
        if schema is not None:
            existing.check_schema(schema)
        return existing.schema, f"schema {existing.schema.name!r} of workspace {workspace_dir}"
    if schema is not None:
        return schema, f"schema {schema.name!r} given with --schema"
    return SnapshotSchema.santander(), "the built-in schema 'santander'"


def _inspect(
    path: Path, schema: SnapshotSchema, month: str | None, allow_missing_attributes: bool, schema_source: str
) -> SourceLayout:
    file_format = sources.detect_format(path)
    columns = sources.read_header(path, file_format)
    return sources.check_header(
        path,
        file_format,
        columns,
        schema,
        month_given=month is not None,
        allow_missing_attributes=allow_missing_attributes,
        schema_source=schema_source,
    )


def _check_month_option(layouts: list[SourceLayout], month: str | None, schema: SnapshotSchema) -> None:
    if month is None or any(not layout.has_month for layout in layouts):
        return
    raise NextbestError(
        f"--month {month} is given, but every file has its own {schema.month} column; "
        "--month is only for files without a month column, so leave it out"
    )


def _make_staging_dir(workspace_dir: Path) -> Path:
    """Create a hidden staging directory on the workspace's file system, so that moves are renames."""
    parent = workspace_dir if workspace_dir.is_dir() else workspace_dir.resolve().parent
    if not parent.is_dir():
        raise NextbestError(f"cannot create workspace {workspace_dir}: its parent directory {parent} does not exist")
    return Path(tempfile.mkdtemp(prefix=".nextbest-ingest-", dir=parent))


def _ingest_file(
    layout: SourceLayout,
    file_dir: Path,
    schema: SnapshotSchema,
    month: str | None,
    max_bad_share: float,
    memory_limit: str,
    progress: Progress | None,
) -> FileIngest:
    """Read one file into staged months, check it and describe it for the report."""
    status = layout.path.stat()
    with ThreadPoolExecutor(max_workers=1) as executor:
        # Hashing runs beside the read; hashlib releases the GIL on large buffers.
        digest: Future = executor.submit(hash_file, layout.path)
        readable = layout.path
        if layout.format == "csv.zip":
            readable = sources.extract_zip(layout.path, file_dir, progress)
        connection = staging.connect(file_dir / "duckdb-tmp", memory_limit)
        try:
            staged = staging.stage_file(
                connection, layout, readable, file_dir, schema, month=None if layout.has_month else month, progress=progress
            )
        finally:
            connection.close()
        sha256 = digest.result()

    lines = ingest_report.LineNumbers(staged.rejects, parquet=layout.format == "parquet")
    encoding = ingest_report.encoding_problem(staged, readable)
    _check_rows(staged, lines, max_bad_share, encoding)
    duplicates = _drop_duplicates(staged, lines)
    source = SourceFile(path=str(layout.path.resolve()), size=status.st_size, mtime_ns=status.st_mtime_ns, sha256=sha256)
    report = _file_report(staged, schema, source, lines, duplicates, month, encoding)
    return FileIngest(layout=layout, staged=staged, source=source, report=report)


def _check_rows(
    staged: StagedFile, lines: ingest_report.LineNumbers, max_bad_share: float, encoding: dict[str, Any] | None
) -> None:
    """Raise InputFileError for an empty or truncated file, or one with too many bad rows."""
    path = staged.source.path
    total = staged.rows_read + len(staged.rejects)
    if total == 0:
        raise InputFileError(path, "the file has a header but no rows", fix="Pass a file with at least one row")

    last_line = total + 1
    if staged.rejects and staged.rejects[-1].line == last_line and staged.rejects[-1].reason.startswith(_TRUNCATION_REASONS):
        last = staged.rejects[-1]
        raise InputFileError(
            path,
            f"the last line is truncated: {last.reason}",
            line=last.line,
            value=last.text[:80],
            fix="The file looks cut off, for example by an interrupted download or copy; get the complete file again",
        )

    bad = _bad_row_entries(staged, lines)
    if len(bad) > max_bad_share * total or not staged.months:
        if encoding is not None:
            raise ingest_report.not_utf8_error(path, encoding, len(bad), total, max_bad_share)
        examples = "; ".join(f"{_where(entry)}: {entry['reason']}" for entry in bad[:_ERROR_EXAMPLES])
        raise InputFileError(
            path,
            f"{len(bad):,} of {total:,} rows ({len(bad) / total:.1%}) cannot be used, more than the limit of "
            f"{max_bad_share:.1%} (first: {examples})",
            fix="Check that the file has the schema's layout, or raise the limit with --max-bad-rows",
        )


def _bad_row_entries(staged: StagedFile, lines: ingest_report.LineNumbers) -> list[dict[str, Any]]:
    """Return every unusable row, rejected lines and bad rows together, in file order."""
    key = "row" if lines.parquet else "line"
    entries = [{key: reject.line, "reason": reject.reason, "value": reject.text} for reject in staged.rejects]
    entries += [{key: lines(bad.position), "reason": bad.reason, "value": bad.value} for bad in staged.bad_rows]
    return sorted(entries, key=lambda entry: entry[key])


def _where(entry: dict[str, Any]) -> str:
    return f"line {entry['line']}" if "line" in entry else f"row {entry['row']}"


def _drop_duplicates(staged: StagedFile, lines: ingest_report.LineNumbers) -> list[dict[str, Any]]:
    """Remove repeated (customer, month) rows from the staged months, keeping the last in file order."""
    key = "row" if lines.parquet else "line"
    entries = []
    for month, staged_month in staged.months.items():
        found = ingest_report.find_duplicates(staged_month)
        if not found.entries:
            continue
        table = pq.read_table(staged_month.path)
        keep_mask = np.ones(table.num_rows, dtype=bool)
        keep_mask[found.drop] = False
        keep = np.flatnonzero(keep_mask)
        pq.write_table(table.take(keep), staged_month.path)
        staged_month.customer_ids = staged_month.customer_ids[keep]
        staged_month.positions = staged_month.positions[keep]
        for entry in found.entries:
            entries.append(
                {
                    "month": month,
                    "customer_id": entry["customer_id"],
                    key: lines(entry["dropped_position"]),
                    f"kept_{key}": lines(entry["kept_position"]),
                }
            )
        logger.warning("%s: dropped %d duplicate rows in %s", staged.source.path, len(found.entries), month)
    return sorted(entries, key=lambda entry: entry[key])


def _file_report(
    staged: StagedFile,
    schema: SnapshotSchema,
    source: SourceFile,
    lines: ingest_report.LineNumbers,
    duplicates: list[dict[str, Any]],
    month: str | None,
    encoding: dict[str, Any] | None,
) -> dict[str, Any]:
    layout = staged.source
    warnings = []
    if encoding is not None:
        warnings.append(ingest_report.encoding_warning(layout.path, encoding))
    if layout.missing_attributes:
        warnings.append(f"columns absent from the file, read as null: {', '.join(layout.missing_attributes)}")
    if not layout.has_month:
        warnings.append(f"the file has no {schema.month} column; every row was given the month {month} from --month")
    for column, fmt in staged.date_formats.items():
        if fmt != "%Y-%m-%d":
            warnings.append(f"column {column} holds dates in the format {fmt}, not YYYY-MM-DD; read them in that format")
    bad_rows = _bad_row_entries(staged, lines)
    kept = {m: int(s.customer_ids.size) for m, s in sorted(staged.months.items())}
    read = dict(kept)
    for entry in duplicates:
        read[entry["month"]] += 1
    return {
        "path": source.path,
        "format": layout.format,
        "layout": layout.layout,
        "size": source.size,
        "sha256": source.sha256,
        "rows_in_file": staged.rows_read + len(staged.rejects),
        "rows_kept": sum(kept.values()),
        "rows_bad": len(bad_rows),
        "rows_duplicate": len(duplicates),
        "rows_per_month": read,
        "customers_per_month": kept,
        "date_formats": dict(staged.date_formats),
        "quirks": ingest_report.quirk_counts(staged),
        "rows_missing_most_attributes": ingest_report.rows_missing_most_attributes(staged, schema),
        "rows_with_null_products": ingest_report.rows_with_null_products(staged, schema) if layout.layout == "train" else None,
        "bad_rows": bad_rows,
        "encoding": encoding,
        "duplicate_rows": duplicates,
        "duplicates_kept": "last",
        "warnings": warnings,
    }


def _reject_overlapping_months(ingested: list[FileIngest]) -> None:
    owner: dict[str, Path] = {}
    for item in ingested:
        for month in item.staged.months:
            if month in owner:
                raise NextbestError(
                    f"month {month} is in both {owner[month]} and {item.layout.path}; ingest one of them, "
                    "or ingest them one after the other to let the later replace the earlier"
                )
            owner[month] = item.layout.path


def _reject_losing_products(ingested: list[FileIngest], workspace_dir: Path) -> None:
    """Raise NextbestError when a test-layout file would replace a month held with products."""
    workspace = Workspace.open_existing(workspace_dir)
    if workspace is None:
        return
    labelled = set(workspace.labelled_months())
    for item in ingested:
        if item.layout.layout != "test":
            continue
        lost = sorted(labelled & set(item.staged.months))
        if not lost:
            continue
        described = ", ".join(f"{month} ({workspace.month_info(month)['rows']:,} customers)" for month in lost)
        raise NextbestError(
            f"{item.layout.path} has no product columns (test layout), but workspace {workspace_dir} contains "
            f"{described} with products; ingesting the file would replace {'that month' if len(lost) == 1 else 'those months'} "
            "and lose its products, so nothing was changed. To predict a month, give the file of the month after the "
            "last month with products; to replace the products anyway, pass --replace-labelled to `nextbest ingest`; "
            "or ingest the file into another --workspace directory"
        )


def _commit(ingested: list[FileIngest], workspace_dir: Path, schema: SnapshotSchema, memory_limit: str) -> dict[str, Any]:
    """Move the staged months into the workspace and build the report."""
    # NOTE: each month is replaced atomically, but not all months together: a process killed
    # during this loop leaves some months new and the others as they were.
    workspace = Workspace.create(workspace_dir, schema)
    months_written = []
    for item in ingested:
        months = sorted(item.staged.months)
        item.report["months"] = months
        for month in months:
            staged_month = item.staged.months[month]
            replaced = workspace.write_month(month, staged_month.path, layout=item.layout.layout, source=item.source)
            months_written.append(
                {
                    "month": month,
                    "layout": item.layout.layout,
                    "rows": int(staged_month.customer_ids.size),
                    "source": item.source.path,
                    "replaced": replaced,
                }
            )
    summary = workspace_summary(workspace, memory_limit)
    replaced = [entry["month"] for entry in months_written if entry["replaced"]]
    return {
        "nextbest_version": __version__,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "workspace": str(workspace_dir.resolve()),
        "schema": schema.name,
        "files": [item.report for item in ingested],
        "months_written": months_written,
        "months_replaced": replaced,
        **summary,
    }


def workspace_summary(workspace: Workspace, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, Any]:
    """Return the customers of each month of the whole workspace, and customers' presence.

    Ingest keeps one row per customer and month, so a month's customers are its rows. A
    customer is absent in a month when the workspace contains that month but no row of the
    customer in it. A gap is such a month between the customer's first and last month.
    """
    months = workspace.months()
    if not months:
        return {"workspace_months": [], "customers": {}}
    per_month = [
        {"month": m, "layout": workspace.month_info(m)["layout"], "customers": pq.read_metadata(workspace.snapshot_path(m)).num_rows}
        for m in months
    ]
    files = "[" + ", ".join(quote_literal(str(workspace.snapshot_path(m))) for m in months) + "]"
    index = ", ".join(f"(DATE '{m}-01', {i + 1})" for i, m in enumerate(months))
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    connection.execute(f"SET temp_directory = {quote_literal(str(workspace.path / '.duckdb-tmp'))}")
    try:
        presence = connection.execute(_PRESENCE_SQL.format(files=files, index=index, months=len(months))).fetchall()[0]
    finally:
        connection.close()
        shutil.rmtree(workspace.path / ".duckdb-tmp", ignore_errors=True)
    keys = ("total", "in_every_month", "absent_in_some_months", "with_gaps", "first_seen_after_first_month", "last_seen_before_last_month")
    return {"workspace_months": per_month, "customers": dict(zip(keys, (int(value or 0) for value in presence)))}


_PRESENCE_SQL = """
WITH month_index(month, idx) AS (VALUES {index}),
per_customer AS (
    SELECT customer_id, count(*) AS present, min(month) AS first_month, max(month) AS last_month
    FROM read_parquet({files})
    GROUP BY customer_id
),
spans AS (
    SELECT present, first.idx AS first_idx, last.idx AS last_idx
    FROM per_customer
    JOIN month_index AS first ON first.month = per_customer.first_month
    JOIN month_index AS last ON last.month = per_customer.last_month
)
SELECT
    count(*),
    count(*) FILTER (WHERE present = {months}),
    count(*) FILTER (WHERE present < {months}),
    count(*) FILTER (WHERE last_idx - first_idx + 1 > present),
    count(*) FILTER (WHERE first_idx > 1),
    count(*) FILTER (WHERE last_idx < {months})
FROM spans
"""
