"""The `nextbest ingest` command: read monthly snapshot files into a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from nextbest.banking.ingest import DEFAULT_MAX_BAD_SHARE, ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.cli import _common

# Bad rows printed per file; the report file lists them all.
_PRINTED_BAD_ROWS = 10


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("ingest")(ingest_command)


def ingest_command(
    files: list[Path] = typer.Argument(..., help="Snapshot files: CSV, CSV.gz, CSV.zip or Parquet, in the training or test layout."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="Workspace directory; created when it does not exist."),
    schema: Path | None = typer.Option(
        None, "--schema", help="TOML schema of the files. Default: the workspace's, or the built-in Santander schema."
    ),
    month: str | None = typer.Option(
        None, "--month", help="Month (YYYY-MM) of files that have no month column, such as a single month's extract."
    ),
    allow_missing_attributes: bool = typer.Option(
        False, "--allow-missing-attributes", help="Read attribute columns absent from a file as null instead of failing."
    ),
    max_bad_rows: float = typer.Option(
        DEFAULT_MAX_BAD_SHARE,
        "--max-bad-rows",
        help="Largest share (0 to 1) of a file's rows that may be unusable before the ingest fails.",
    ),
) -> None:
    """Read monthly snapshot files into the workspace, one Parquet file per month, and report every repair.

    A month already in the workspace is replaced. The report is written to ingest-report.json in
    the workspace and printed as tables.
    """
    chosen_schema = SnapshotSchema.from_toml(schema) if schema is not None else None
    with _common.make_progress() as progress:
        report = ingest(
            files,
            workspace,
            schema=chosen_schema,
            month=month,
            allow_missing_attributes=allow_missing_attributes,
            max_bad_share=max_bad_rows,
            progress=progress,
        )
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    """Print the ingest report as tables on stdout."""
    console = _common.stdout
    console.print(_files_table(report))
    for file_report in report["files"]:
        console.print(_quirks_table(file_report))
        if file_report["bad_rows"] or file_report["duplicate_rows"]:
            console.print(_bad_rows_table(file_report))
        for warning in file_report["warnings"]:
            console.print(f"[yellow]warning:[/] {file_report['path']}: {warning}", highlight=False)
    console.print(_months_table(report))
    customers = report["customers"]
    if customers:
        console.print(
            f"{customers['total']:,} customers: {customers['in_every_month']:,} in every month, "
            f"{customers['absent_in_some_months']:,} absent in some month ({customers['with_gaps']:,} with a gap "
            f"between their first and last month)",
            highlight=False,
        )
    if report["months_replaced"]:
        console.print(f"replaced months: {', '.join(report['months_replaced'])}", highlight=False)
    console.print(f"report: {Path(report['workspace']) / 'ingest-report.json'} ({report['seconds']} s)", highlight=False)


def _files_table(report: dict[str, Any]) -> Table:
    table = Table(title="Files read")
    for name in ("file", "format", "layout", "rows", "kept", "bad", "duplicates", "months"):
        table.add_column(name, justify="right" if name in ("rows", "kept", "bad", "duplicates") else "left")
    for item in report["files"]:
        months = item["months"]
        span = f"{months[0]}..{months[-1]}" if len(months) > 1 else months[0]
        table.add_row(
            Path(item["path"]).name,
            item["format"],
            item["layout"],
            f"{item['rows_in_file']:,}",
            f"{item['rows_kept']:,}",
            f"{item['rows_bad']:,}",
            f"{item['rows_duplicate']:,}",
            span,
        )
    return table


_QUIRK_KINDS = ("trimmed", "empty", "missing_spelling", "sentinel", "merged", "invalid")


def _quirks_table(file_report: dict[str, Any]) -> Table:
    table = Table(title=f"Values repaired in {Path(file_report['path']).name} (become null unless trimmed or merged)")
    table.add_column("column")
    for kind in _QUIRK_KINDS:
        table.add_column(kind.replace("_", " "), justify="right")
    for column, counts in file_report["quirks"].items():
        table.add_row(column, *(f"{counts[kind]:,}" if kind in counts else "" for kind in _QUIRK_KINDS))
    table.caption = f"rows missing most attributes: {file_report['rows_missing_most_attributes']:,}"
    if file_report["rows_with_null_products"] is not None:
        table.caption += f"; rows with a null product: {file_report['rows_with_null_products']:,}"
    return table


def _bad_rows_table(file_report: dict[str, Any]) -> Table:
    bad, duplicates = file_report["bad_rows"], file_report["duplicate_rows"]
    key = "row" if file_report["format"] == "parquet" else "line"
    table = Table(title=f"Rows not used from {Path(file_report['path']).name} (first {_PRINTED_BAD_ROWS} of each kind)")
    table.add_column(key, justify="right")
    table.add_column("reason")
    table.add_column("value")
    for entry in bad[:_PRINTED_BAD_ROWS]:
        table.add_row(f"{entry[key]:,}", entry["reason"], str(entry["value"])[:60])
    for entry in duplicates[:_PRINTED_BAD_ROWS]:
        reason = f"duplicate of customer {entry['customer_id']} in {entry['month']}; {key} {entry[f'kept_{key}']:,} kept"
        table.add_row(f"{entry[key]:,}", reason, "")
    table.caption = f"{len(bad):,} unusable and {len(duplicates):,} duplicate rows, all listed in the report"
    return table


def _months_table(report: dict[str, Any]) -> Table:
    written = {entry["month"]: entry for entry in report["months_written"]}
    table = Table(title="Months in the workspace")
    for name in ("month", "layout", "customers", "this ingest"):
        table.add_column(name, justify="right" if name == "customers" else "left")
    for entry in report["workspace_months"]:
        change = ""
        if entry["month"] in written:
            change = "replaced" if written[entry["month"]]["replaced"] else "added"
        table.add_row(entry["month"], entry["layout"], f"{entry['customers']:,}", change)
    return table
