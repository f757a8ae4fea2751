"""Counts and lists for the ingest report, computed from a staged file.

Nothing here reads the input again: quirk counts come from the histogram of quirk codes that
the staging pass collected, line numbers from row positions and the rejected lines.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from nextbest.banking import cleaning
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.staging import Reject, StagedFile, StagedMonth

# Kinds of missing value that leave an attribute null.
_NULL_KINDS = (cleaning.EMPTY, cleaning.MISSING_SPELLING, cleaning.SENTINEL, cleaning.INVALID)


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
