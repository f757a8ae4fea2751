"""The `nextbest ingest` command: read monthly snapshot files into a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from nextbest.banking.ingest import DEFAULT_MAX_BAD_SHARE, ingest
from nextbest.banking.ingest_report import ENCODING_REASON
from nextbest.banking.schema import SnapshotSchema
from nextbest.cli import _common
from nextbest.cli.run import check_month_option

# Bad rows printed per file; the report file lists them all.
_PRINTED_BAD_ROWS = 10
# Characters of a rejected line or bad value printed; the report file has the whole text.
_PRINTED_VALUE_CHARS = 60


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("ingest")(ingest_command)


def _check_share(value: float) -> float:
    # A share outside 0..1 (or NaN) is a usage error, reported before any file is read.
    if not 0 <= value <= 1:
        raise typer.BadParameter(f"{value!r} is not a share of rows; expected a number from 0 to 1, such as 0.01")
    return value


def ingest_command(
    files: list[Path] = typer.Argument(..., help="Snapshot files: CSV, CSV.gz, CSV.zip or Parquet, in the training or test layout."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="Workspace directory; created when it does not exist."),
    schema: Path | None = typer.Option(
        None, "--schema", help="TOML schema of the files. Default: the workspace's, or the built-in Santander schema."
    ),
    month: str | None = typer.Option(
        None, "--month", callback=check_month_option, help="Month (YYYY-MM) of files that have no month column, such as a single month's extract."
    ),
    allow_missing_attributes: bool = typer.Option(
        False, "--allow-missing-attributes", help="Read attribute columns absent from a file as null instead of failing."
    ),
    max_bad_rows: float = typer.Option(
        DEFAULT_MAX_BAD_SHARE,
        "--max-bad-rows",
        callback=_check_share,
        help="Largest share (0 to 1) of a file's rows that may be unusable before the ingest fails.",
    ),
    replace_labelled: bool = typer.Option(
        False,
        "--replace-labelled",
        help="Let a file without products replace a month held with products (its products are lost).",
    ),
) -> None:
    """Read monthly snapshot files into the workspace, one Parquet file per month, and report every repair.

    A month already in the workspace is replaced. A file without products replaces a month held with products only with --replace-labelled.

    The report is written to ingest-report.json in the workspace and printed as tables.
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
            replace_labelled=replace_labelled,
            progress=progress,
        )
    print_report(report)


def print_report(report: dict[str, Any]) -> None:
    """Print the ingest report as tables on stdout."""
    console = _common.stdout
    console.print(_files_table(report))
    for file_report in report["files"]:
        console.print(_quirks_table(file_report))
        bad_rows_table = _bad_rows_table(file_report)
        if bad_rows_table is not None:
            console.print(bad_rows_table)
        for warning in file_report["warnings"]:
            console.print(Text.assemble(("warning:", "yellow"), " ", printable(f"{file_report['path']}: {warning}")))
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
    console.print(printable(f"report: {Path(report['workspace']) / 'ingest-report.json'} ({report['seconds']} s)"))


def _files_table(report: dict[str, Any]) -> Table:
    table = Table(title="Files read")
    for name in ("file", "format", "layout", "rows", "kept", "bad", "duplicates", "months"):
        table.add_column(name, justify="right" if name in ("rows", "kept", "bad", "duplicates") else "left")
    for item in report["files"]:
        months = item["months"]
        span = f"{months[0]}..{months[-1]}" if len(months) > 1 else months[0]
        table.add_row(
            printable(Path(item["path"]).name),
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
    name = Path(file_report["path"]).name
    table = Table(title=printable(f"Values repaired in {name} (become null unless trimmed or merged)"))
    table.add_column("column")
    for kind in _QUIRK_KINDS:
        table.add_column(kind.replace("_", " "), justify="right")
    for column, counts in file_report["quirks"].items():
        table.add_row(printable(column), *(f"{counts[kind]:,}" if kind in counts else "" for kind in _QUIRK_KINDS))
    table.caption = f"rows missing most attributes: {file_report['rows_missing_most_attributes']:,}"
    if file_report["rows_with_null_products"] is not None:
        table.caption += f"; rows with a null product: {file_report['rows_with_null_products']:,}"
    return table


def _bad_rows_table(file_report: dict[str, Any]) -> Table | None:
    """Return the table of the first unusable and duplicate rows, or None when there is none to print.

    When most unusable lines are not UTF-8, the report's warnings describe them in one line,
    so they are left out here.
    """
    bad, duplicates = file_report["bad_rows"], file_report["duplicate_rows"]
    encoding = file_report.get("encoding")
    listed_bad = [entry for entry in bad if entry["reason"] != ENCODING_REASON] if encoding else bad
    if not listed_bad and not duplicates:
        return None
    key = "row" if file_report["format"] == "parquet" else "line"
    name = Path(file_report["path"]).name
    table = Table(title=printable(f"Rows not used from {name} (first {_PRINTED_BAD_ROWS} of each kind)"))
    table.add_column(key, justify="right")
    table.add_column("reason")
    table.add_column("value")
    for entry in listed_bad[:_PRINTED_BAD_ROWS]:
        value = "" if entry["value"] is None else str(entry["value"])[:_PRINTED_VALUE_CHARS]
        table.add_row(f"{entry[key]:,}", printable(entry["reason"]), printable(value))
    for entry in duplicates[:_PRINTED_BAD_ROWS]:
        reason = f"duplicate of customer {entry['customer_id']} in {entry['month']}; {key} {entry[f'kept_{key}']:,} kept"
        table.add_row(f"{entry[key]:,}", reason, "")
    table.caption = f"{len(bad):,} unusable and {len(duplicates):,} duplicate rows, all listed in the report"
    if len(listed_bad) < len(bad):
        table.caption += f"; the {len(bad) - len(listed_bad):,} lines that are not UTF-8 are described below"
    return table


def printable(text: str) -> Text:
    """Return `text` for the terminal: no markup, and each non-printing character as an escape.

    Control characters such as ``\\x1b`` (which starts a terminal escape sequence), ``\\r`` and
    ``\\x00`` are written as Python writes them in a string literal, and so are invisible format
    characters such as U+202E. A bad value then cannot move the cursor, recolour or hide text.
    """
    escaped = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return Text(escaped)


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
