"""The one pass over an input file: clean every value and write one staged Parquet file per month.

DuckDB reads the file with every column as text and cleans it with the SQL of
`nextbest.banking.staging_sql`. The cleaned rows stream back as Arrow batches in file order,
because `preserve_insertion_order` is set, so the running count of rows gives each row's
position in the file. A writer thread splits each batch by month and appends it to that month's
staged file, while DuckDB reads the next batch. Beside the cleaned columns each batch carries the
packed quirk codes and, for a row that cannot be used, the reason and the offending value. These
are counted or collected here and never written.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.cleaning import quote_literal
from nextbest.banking.schema import CUSTOMER_ID_COLUMN, MONTH_COLUMN, SnapshotSchema
from nextbest.banking.sources import SourceLayout
from nextbest.banking.staging_sql import (
    BAD_REASON,
    BAD_VALUE,
    CODE_BITS,
    CODES_PER_PACK,
    PACKED_PREFIX,
    detect_date_formats,
    duckdb_errors,
    raw_relation,
    staging_query,
)

logger = logging.getLogger(__name__)

_PROGRESS_POLL_SECONDS = 0.5
_BATCH_ROWS = 262_144
# Rows are buffered until this many are pending over all months, then each month's pending rows
# are written as one row group. A month-sorted file gets row groups of this size; a file whose
# months interleave gets smaller ones, but memory stays bounded either way.
_ROW_GROUP_ROWS = 262_144


@dataclass
class Reject:
    """A line the CSV reader could not split into the header's fields."""

    line: int
    reason: str
    text: str


@dataclass
class BadRow:
    """A row read from the file that cannot be used: its 0-based position among the rows read."""

    position: int
    reason: str
    value: str | None


@dataclass
class StagedMonth:
    """One month of a staged file.

    Attributes
    ----------
    path : Path
        The staged Parquet file, with exactly the snapshot columns, rows in file order.
    customer_ids : numpy.ndarray of int64
        Customer id of each row, in file order.
    positions : numpy.ndarray of int64
        Position of each row among the rows read from the input file.
    """

    path: Path
    customer_ids: np.ndarray
    positions: np.ndarray


@dataclass
class StagedFile:
    """One input file after its pass.

    Attributes
    ----------
    source : SourceLayout
        The input file and its layout.
    rows_read : int
        Rows the reader accepted (bad rows included, rejected lines not).
    months : dict of str to StagedMonth
        The staged months by "YYYY-MM".
    quirk_patterns : collections.Counter
        Number of rows for each tuple of quirk codes, one code per entry of `quirk_columns`.
    quirk_columns : list of str
        The input columns the quirk codes belong to.
    bad_rows : list of BadRow
        Rows without a usable customer id or month, in file order.
    rejects : list of Reject
        Lines the CSV reader rejected, by line number.
    date_formats : dict of str to str
        The strptime format read in each date column.
    """

    source: SourceLayout
    rows_read: int = 0
    months: dict[str, StagedMonth] = field(default_factory=dict)
    quirk_patterns: Counter = field(default_factory=Counter)
    quirk_columns: list[str] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    date_formats: dict[str, str] = field(default_factory=dict)


def connect(temp_dir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection that spills to `temp_dir` beyond `memory_limit`."""
    connection = duckdb.connect()
    connection.execute(f"SET temp_directory = {quote_literal(str(temp_dir))}")
    connection.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    connection.execute("SET preserve_insertion_order = true")
    connection.execute("SET enable_progress_bar = true")
    connection.execute("SET enable_progress_bar_print = false")
    return connection


def stage_file(
    connection: duckdb.DuckDBPyConnection,
    source: SourceLayout,
    readable_path: Path,
    staging_dir: Path,
    schema: SnapshotSchema,
    *,
    month: str | None,
    progress: Progress | None = None,
) -> StagedFile:
    """Clean one input file into one staged Parquet file per month under `staging_dir`.

    Parameters
    ----------
    connection : duckdb.DuckDBPyConnection
        A connection from `connect`, used for this file only because it keeps the rejects table.
    readable_path : Path
        The file DuckDB reads: the input itself, or the CSV extracted from a zip archive.
    month : str, optional
        "YYYY-MM" given for a file without a month column.
    """
    relation = raw_relation(source, readable_path, rejects_table="rejects")
    sample_relation = raw_relation(source, readable_path, rejects_table=None)
    date_formats = detect_date_formats(connection, source, sample_relation, schema)
    query, quirk_columns = staging_query(source, relation, schema, date_formats=date_formats, month=month)

    staged = StagedFile(source=source, date_formats=date_formats, quirk_columns=quirk_columns)
    sink = _BatchSink(staged, staging_dir, schema.snapshot_columns())
    with duckdb_errors(source.path), _show_progress(connection, progress, f"read {source.path.name}"):
        reader = connection.sql(query).to_arrow_reader(_BATCH_ROWS)
        sink.consume(reader)

    if source.format != "parquet":
        staged.rejects = read_rejects(connection, source)
    logger.debug("staged %s: %d rows read, %d lines rejected", source.path, staged.rows_read, len(staged.rejects))
    return staged


class _BatchSink:
    """Collect quirk codes and bad rows of each batch, and append its good rows to the month files.

    The appending runs in a writer thread, so that DuckDB prepares the next batch meanwhile.
    """

    def __init__(self, staged: StagedFile, staging_dir: Path, snapshot_columns: list[str]):
        self.staged = staged
        self.staging_dir = staging_dir
        self.snapshot_columns = snapshot_columns
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pending: dict[str, list[pa.Table]] = {}
        self.pending_rows = 0
        self.ids: dict[str, list[np.ndarray]] = {}
        self.positions: dict[str, list[np.ndarray]] = {}

    def consume(self, reader: pa.RecordBatchReader) -> None:
        """Read every batch of `reader`, then close the month files."""
        self.packed_names = [name for name in reader.schema.names if name.startswith(PACKED_PREFIX)]
        self.packed_patterns: Counter = Counter()
        batches: queue.Queue = queue.Queue(maxsize=2)
        failure: list[BaseException] = []
        worker = threading.Thread(target=self._work, args=(batches, failure), daemon=True)
        worker.start()
        try:
            for batch in reader:
                if failure:
                    break
                batches.put(batch)
        finally:
            batches.put(None)
            worker.join()
        if failure:
            raise failure[0]
        self._close()

    def _work(self, batches: queue.Queue, failure: list[BaseException]) -> None:
        while (batch := batches.get()) is not None:
            if failure:
                continue
            try:
                self._take(pa.Table.from_batches([batch]))
            except BaseException as error:  # handed to the reading thread, which raises it
                failure.append(error)

    def _take(self, table: pa.Table) -> None:
        first = self.staged.rows_read
        self.staged.rows_read += table.num_rows
        positions = np.arange(first, first + table.num_rows, dtype=np.int64)
        self.packed_patterns.update(_count_patterns(table.select(self.packed_names)))

        bad = table.column(BAD_REASON).is_valid()
        if pc.any(bad).as_py():
            bad_rows = table.filter(bad)
            for position, reason, value in zip(
                positions[bad.to_numpy(zero_copy_only=False)],
                bad_rows.column(BAD_REASON).to_pylist(),
                bad_rows.column(BAD_VALUE).to_pylist(),
            ):
                self.staged.bad_rows.append(BadRow(int(position), reason, value))
            good = pc.invert(bad)
            table, positions = table.filter(good), positions[good.to_numpy(zero_copy_only=False)]

        table = table.select(self.snapshot_columns)
        months = table.column(MONTH_COLUMN)
        distinct = pc.unique(months).to_pylist()
        for month_date in distinct:
            if len(distinct) == 1:
                part, part_positions = table, positions
            else:
                mask = pc.equal(months, pa.scalar(month_date, pa.date32()))
                part, part_positions = table.filter(mask), positions[mask.to_numpy(zero_copy_only=False)]
            self._append(month_date.strftime("%Y-%m"), part, part_positions)

    def _append(self, month: str, part: pa.Table, positions: np.ndarray) -> None:
        # A copy: a view would keep the whole Arrow batch that DuckDB exported alive.
        self.ids.setdefault(month, []).append(part.column(CUSTOMER_ID_COLUMN).to_numpy().copy())
        self.positions.setdefault(month, []).append(positions)
        self.pending.setdefault(month, []).append(part)
        self.pending_rows += part.num_rows
        if self.pending_rows >= _ROW_GROUP_ROWS:
            for pending_month in list(self.pending):
                self._flush(pending_month)
            self.pending_rows = 0

    def _flush(self, month: str) -> None:
        pending = self.pending.get(month)
        if not pending:
            return
        table = pa.concat_tables(pending)
        if month not in self.writers:
            self.writers[month] = pq.ParquetWriter(self.staging_dir / f"{month}.parquet", table.schema)
        self.writers[month].write_table(table, row_group_size=len(table))
        self.pending[month] = []

    def _close(self) -> None:
        columns = len(self.staged.quirk_columns)
        for packed, rows in self.packed_patterns.items():
            self.staged.quirk_patterns[_unpack(packed, columns)] += rows
        for month in list(self.pending):
            self._flush(month)
        for month, writer in self.writers.items():
            writer.close()
            self.staged.months[month] = StagedMonth(
                path=self.staging_dir / f"{month}.parquet",
                customer_ids=np.concatenate(self.ids[month]),
                positions=np.concatenate(self.positions[month]),
            )


def _unpack(packed: tuple[int, ...], columns: int) -> tuple[int, ...]:
    """Return the quirk codes packed by `staging_sql._packed_quirk_columns`, one per input column."""
    mask = (1 << CODE_BITS) - 1
    return tuple(
        (packed[i // CODES_PER_PACK] >> (CODE_BITS * (i % CODES_PER_PACK))) & mask for i in range(columns)
    )


def _count_patterns(codes: pa.Table) -> Counter:
    """Return the number of rows for each distinct tuple of quirk codes."""
    if codes.num_columns == 0:
        return Counter({(): codes.num_rows})
    grouped = codes.group_by(codes.column_names).aggregate([([], "count_all")])
    counts = grouped.column("count_all").to_pylist()
    keys = zip(*(grouped.column(name).to_pylist() for name in codes.column_names))
    return Counter(dict(zip(keys, counts)))


_REJECT_REASONS = {
    "MISSING COLUMNS": "too few fields",
    "TOO MANY COLUMNS": "too many fields",
    "UNQUOTED VALUE": "a quoted field is not closed",
    "LINE SIZE OVER MAXIMUM": "the line is longer than the CSV reader's maximum line size",
    "INVALID ENCODING": "not valid UTF-8 text",
    "INVALID UNICODE": "not valid UTF-8 text",
}


def read_rejects(connection: duckdb.DuckDBPyConnection, source: SourceLayout) -> list[Reject]:
    """Return the lines the CSV reader rejected, one entry per line, sorted by line number."""
    rows = connection.execute(
        "SELECT line, min(CAST(error_type AS VARCHAR)), any_value(csv_line) FROM rejects GROUP BY line ORDER BY line"
    ).fetchall()
    expected = len(source.columns)
    rejects = []
    for line, error_type, text in rows:
        reason = _REJECT_REASONS.get(error_type, error_type.lower())
        if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            reason += f" (expected {expected})"
        rejects.append(Reject(line=int(line), reason=reason, text=(text or "")[:200]))
    return rejects


@contextmanager
def _show_progress(connection: duckdb.DuckDBPyConnection, progress: Progress | None, description: str):
    """Show DuckDB's progress of the running query as a percentage, polled from a thread."""
    if progress is None:
        yield
        return
    task = progress.add_task(description, total=100)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(_PROGRESS_POLL_SECONDS):
            percent = connection.query_progress()
            if percent >= 0:
                progress.update(task, completed=percent)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        progress.update(task, completed=100)
        logger.debug("%s took %.1f s", description, time.perf_counter() - started)
