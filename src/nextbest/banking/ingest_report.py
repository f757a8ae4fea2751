"""Counts and lists for the ingest report, computed from a staged file.

Quirk counts come from the histogram of quirk codes that the staging pass collected, line
numbers from row positions and the rejected lines. Only `encoding_problem` reads the input
again, up to its first invalid byte, and only when most unusable lines are not UTF-8.
"""

from __future__ import annotations

import bisect
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextbest.banking import cleaning
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.staging import Reject, StagedFile, StagedMonth
from nextbest.errors import InputFileError
from nextbest.multilabel.csv_checks import find_invalid_utf8, iconv_fix

# Kinds of missing value that leave an attribute null.
_NULL_KINDS = (cleaning.EMPTY, cleaning.MISSING_SPELLING, cleaning.SENTINEL, cleaning.INVALID)
# The reason `staging.read_rejects` gives a line that is not valid UTF-8.
ENCODING_REASON = "not valid UTF-8 text"


class LineNumbers:
    """Map a row's 0-based position among the rows read to its 1-based line in the file.

    A CSV file's header is line 1. Lines the CSV reader rejected hold no row, so each shifts the
    rows after it by one line. A Parquet file has no lines: its numbers are 1-based row numbers.

    NOTE: this assumes one row per line, which is false when a quoted field spans several lines.
    The Santander files have no such field.
    """

    def __init__(self, rejects: list[Reject], parquet: bool):
        self.parquet = parquet
        lines = [reject.line for reject in rejects]
        # Reject j (0-based, in line order) comes after this many accepted rows.
        self._rows_before = [line - 2 - j for j, line in enumerate(lines)]

    def __call__(self, position: int) -> int:
        if self.parquet:
            return position + 1
        return position + 2 + bisect.bisect_right(self._rows_before, position)


def quirk_counts(staged: StagedFile) -> dict[str, dict[str, int]]:
    """Return, per input column, the number of values repaired of each kind (non-zero kinds only).

    The counts cover every row read, including rows later dropped as unusable or duplicate.
    """
    counts: dict[str, dict[str, int]] = {}
    for index, column in enumerate(staged.quirk_columns):
        column_counts: dict[str, int] = {}
        for pattern, rows in staged.quirk_patterns.items():
            code = pattern[index]
            if code & cleaning.TRIMMED_BIT:
                column_counts["trimmed"] = column_counts.get("trimmed", 0) + rows
            kind = code & cleaning.KIND_MASK
            if kind:
                name = cleaning.QUIRK_KINDS[kind]
                column_counts[name] = column_counts.get(name, 0) + rows
        if column_counts:
            counts[column] = dict(sorted(column_counts.items()))
    return counts


def rows_missing_most_attributes(staged: StagedFile, schema: SnapshotSchema) -> int:
    """Return the number of rows where more than half of the file's attributes are null."""
    indices = [i for i, column in enumerate(staged.quirk_columns) if column in schema.attribute_names]
    if not indices:
        return 0
    total = 0
    for pattern, rows in staged.quirk_patterns.items():
        nulls = sum(1 for i in indices if pattern[i] & cleaning.KIND_MASK in _NULL_KINDS)
        if nulls * 2 > len(indices):
            total += rows
    return total


def rows_with_null_products(staged: StagedFile, schema: SnapshotSchema) -> int:
    """Return the number of rows with at least one null product flag (training layout only)."""
    product_columns = {product.column for product in schema.products}
    indices = [i for i, column in enumerate(staged.quirk_columns) if column in product_columns]
    total = 0
    for pattern, rows in staged.quirk_patterns.items():
        if any(pattern[i] & cleaning.KIND_MASK for i in indices):
            total += rows
    return total


@dataclass
class Duplicates:
    """Rows of one month whose customer id appeared again later in the file.

    Attributes
    ----------
    drop : numpy.ndarray of int64
        Indices, within the month's staged file, of the rows to drop.
    entries : list of dict
        One entry per dropped row: customer id, dropped position and kept position in the file.
    """

    drop: np.ndarray
    entries: list[dict]


def find_duplicates(month: StagedMonth) -> Duplicates:
    """Find repeated customer ids in a staged month; the last row in file order is kept."""
    ids = month.customer_ids
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    repeated = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if repeated.size == 0:
        return Duplicates(drop=np.empty(0, dtype=np.int64), entries=[])

    # Within a run of equal ids the stable sort keeps file order, so every row of the run is
    # dropped except the last one.
    drop = order[repeated]
    run_ends = _run_ends(sorted_ids)
    entries = []
    for sorted_index in repeated:
        kept = order[run_ends[sorted_index]]
        entries.append(
            {
                "customer_id": int(sorted_ids[sorted_index]),
                "dropped_position": int(month.positions[order[sorted_index]]),
                "kept_position": int(month.positions[kept]),
            }
        )
    return Duplicates(drop=np.sort(drop), entries=entries)


def _run_ends(sorted_values: np.ndarray) -> np.ndarray:
    """Return, for each index of a sorted array, the index of the last element equal to it."""
    boundaries = np.flatnonzero(np.append(sorted_values[1:] != sorted_values[:-1], True))
    return boundaries[np.searchsorted(boundaries, np.arange(sorted_values.size))]


def encoding_problem(staged: StagedFile, readable_path: Path) -> dict[str, Any] | None:
    """Describe the file's invalid UTF-8 when more than half of its unusable rows are encoding errors.

    Parameters
    ----------
    staged : StagedFile
        The file after its pass, with its rejected lines and bad rows.
    readable_path : Path
        The file the pass read (for a zip archive, the extracted CSV). It is read again only up
        to the line of the first invalid byte.

    Returns
    -------
    dict or None
        ``lines`` (lines rejected as not UTF-8), ``line`` and ``byte_in_line`` (1-based) and
        ``byte`` (such as ``"0xD1"``) of the first invalid byte, its ``column`` and ``value``
        (the field with each invalid byte replaced by U+FFFD). None when encoding errors are
        not most of the unusable rows.
    """
    encoding_lines = sum(1 for reject in staged.rejects if reject.reason == ENCODING_REASON)
    unusable = len(staged.rejects) + len(staged.bad_rows)
    if encoding_lines == 0 or encoding_lines * 2 <= unusable:
        return None
    opener = gzip.open if staged.source.format == "csv.gz" else open
    with opener(readable_path, "rb") as stream:
        invalid = find_invalid_utf8(stream)
    problem: dict[str, Any] = {"lines": encoding_lines, "line": None, "byte_in_line": None, "byte": None, "column": None, "value": None}
    if invalid is not None:
        index = invalid.field_index()
        columns = staged.source.columns
        problem |= {
            "line": invalid.line,
            "byte_in_line": invalid.byte_in_line,
            "byte": f"0x{invalid.byte:02X}",
            "column": columns[index] if index < len(columns) else None,
            "value": invalid.field_text(),
        }
    return problem


def encoding_warning(path: Path, problem: dict[str, Any]) -> str:
    """Return the one warning that replaces the line-by-line listing of lines rejected as not UTF-8."""
    text = f"the file is not UTF-8 text: {problem['lines']:,} line(s) were not read because they contain bytes that are not valid UTF-8"
    if problem["line"] is not None:
        text += (
            f"; the first is byte {problem['byte']} at byte {problem['byte_in_line']} of line {problem['line']}"
            f", column {problem['column']} (value: {problem['value']!r})"
        )
    return text + ". " + iconv_fix(path)


def not_utf8_error(path: Path, problem: dict[str, Any], unusable: int, total: int, max_bad_share: float) -> InputFileError:
    """Return the error for a file rejected for too many unusable rows, most of them not UTF-8."""
    others = unusable - problem["lines"]
    problem_text = (
        f"not UTF-8 text: {problem['lines']:,} of {total:,} rows contain bytes that are not valid UTF-8"
        + (f" and {others:,} other row(s) cannot be used" if others else "")
        + f", so {unusable / total:.1%} of the rows cannot be used, more than the limit of {max_bad_share:.1%}"
    )
    if problem["line"] is not None:
        problem_text += f". The first invalid byte is {problem['byte']}, at byte {problem['byte_in_line']} of the line"
    return InputFileError(
        path,
        problem_text + "; the file is probably Latin-1 or Windows-1252",
        line=problem["line"],
        column=problem["column"],
        value=problem["value"],
        fix=iconv_fix(path),
    )
