"""Training examples: one row per customer of a target month, with features, owned mask and labels.

`build_examples` runs the query of `nextbest.banking.features_sql` with DuckDB over the snapshot
files of the target month T and its L lag months, and writes ``DIR/examples/YYYY-MM.parquet``
and ``DIR/examples/manifest.json``. `load_examples` reads the files back. The columns are
described in `nextbest.banking.features_sql`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.features_manifest import (
    FeatureSettings,
    Manifest,
    examples_dir,
    read_manifest,
    write_manifest,
)
from nextbest.banking.features_sql import CATEGORICAL, NUMERIC, FeatureColumn, WindowMonth, feature_query
from nextbest.banking.workspace import Workspace, check_month
from nextbest.errors import NextbestError

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "ExamplesSummary",
    "FeatureColumn",
    "FeatureSettings",
    "MonthExamples",
    "build_examples",
    "load_examples",
    "read_manifest",
    "shift_month",
]

logger = logging.getLogger(__name__)

# DuckDB's memory limit for the feature step; beyond it DuckDB spills joins and sorts to a
# temporary directory. bench/bench_features.py measured a peak RSS of about 1.7 GiB for one
# target month with 5 lags over a 13.6M-row snapshots table.
DUCKDB_MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class MonthExamples:
    """Examples file of one target month, with the counts `build_examples` reports for it.

    Attributes
    ----------
    month : str
        The target month, ``YYYY-MM``.
    path : Path
        The examples file.
    predict : bool
        Whether the month was built as a month to predict (labels null).
    customers : int
        Rows written, one per customer.
    customers_adding : int or None
        Customers who added at least one product; None for a month to predict.
    additions : dict of str to int, or None
        Customers adding each product, by short name; None for a month to predict.
    customers_without_history : int
        Customers with no row in T-1 (kept, with null history, only in a month to predict).
    null_products : dict of str to int
        Null product values in the labelled months read (T-L .. T), each counted as not held.
    seconds : float
        Wall time of the month's build.
    """

    month: str
    path: Path
    predict: bool
    customers: int
    customers_adding: int | None
    additions: dict[str, int] | None
    customers_without_history: int
    null_products: dict[str, int]
    seconds: float


@dataclass(frozen=True)
class ExamplesSummary:
    """Result of `build_examples`: the settings, the feature columns and each month written."""

    settings: FeatureSettings
    features: tuple[FeatureColumn, ...]
    months: tuple[MonthExamples, ...]
    manifest_path: Path


def shift_month(month: str, offset: int) -> str:
    """Return the month `offset` months after `month` (before it when negative), as ``YYYY-MM``."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + (number - 1) + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def build_examples(
    workspace: Workspace,
    target_months: Iterable[str],
    *,
    lags: int = 5,
    settings: FeatureSettings | None = None,
    predict_months: Iterable[str] = (),
    progress: Progress | None = None,
) -> ExamplesSummary:
    """Build and write the examples of each target month.

    Parameters
    ----------
    workspace : Workspace
        Holds the snapshots; the examples go to its ``examples/`` directory.
    target_months : iterable of str
        Target months, ``YYYY-MM``. Each must be in the workspace, and so must its month before.
    lags : int, default 5
        Months before the target month whose products become features. Ignored when
        `settings` is given.
    settings : FeatureSettings, optional
        All feature options, for example those saved with a model.
    predict_months : iterable of str, default ()
        More target months, built as months to predict even where their products are known:
        labels null, customers without a row in T-1 kept. Months read from test-layout files
        are always built this way. Each month has one examples file, so a labelled month built
        this way has null labels until it is built again as a target month.
    progress : rich.progress.Progress, optional
        Receives one task that advances by one per month written.

    Returns
    -------
    ExamplesSummary

    Raises
    ------
    NextbestError
        When the workspace contains no snapshots, a month is invalid or not in the workspace,
        or the month before a target month is missing or has no products. The message lists
        the months the workspace contains.
    """
    settings = settings if settings is not None else FeatureSettings(lags=lags)
    targets = _check_targets(workspace, list(target_months), set(predict_months))
    _check_attributes(workspace, settings)
    directory = examples_dir(workspace.path)
    directory.mkdir(parents=True, exist_ok=True)

    # The feature columns depend on the settings and the schema only, not on the month.
    features = _window_query(workspace, settings, *targets[0]).features
    task = progress.add_task("building examples", total=len(targets)) if progress is not None else None
    built: list[MonthExamples] = []
    try:
        with _connect(directory) as connection:
            for month, predict in targets:
                built.append(_build_month(connection, workspace, settings, month, predict))
                if progress is not None:
                    progress.advance(task)
        # Files are renamed into place only once every month is built, so a failure leaves the
        # examples directory as it was.
        for month in built:
            os.replace(_temporary_path(month.path), month.path)
    finally:
        for month in built:
            _temporary_path(month.path).unlink(missing_ok=True)

    manifest = _updated_manifest(workspace, settings, features, built)
    manifest_path = write_manifest(workspace.path, manifest)
    return ExamplesSummary(settings=settings, features=features, months=tuple(built), manifest_path=manifest_path)


def load_examples(workspace: Workspace, months: str | Sequence[str]) -> pa.Table:
    """Read the examples of one or more target months into one table, in the order given.

    Raises
    ------
    NextbestError
        When a month's examples were not built; the message lists the months that were.
    """
    months = [months] if isinstance(months, str) else list(months)
    manifest = read_manifest(workspace.path)
    built = sorted(manifest.months) if manifest is not None else []
    tables = []
    for month in months:
        check_month(month)
        if month not in built:
            raise NextbestError(
                f"the examples of {month} are not built in workspace {workspace.path} "
                f"(built: {', '.join(built) or 'none'}); build them with "
                f"`nextbest features --workspace {workspace.path} --target-month {month}`"
            )
        tables.append(pq.read_table(examples_dir(workspace.path) / manifest.months[month]["file"]))
    if not tables:
        raise NextbestError("no months given; name at least one target month whose examples to load")
    # Months differ in nullability (a month without missing values is written "not null").
    return pa.concat_tables(tables, promote_options="default")


def describe_months(workspace: Workspace) -> str:
    """Return the workspace's months as runs of consecutive months, marking months to predict."""
    to_predict = set(workspace.months_to_predict())
    runs: list[list[str]] = []
    for month in workspace.months():
        if runs and shift_month(runs[-1][-1], 1) == month and (month in to_predict) == (runs[-1][-1] in to_predict):
            runs[-1].append(month)
        else:
            runs.append([month])
    parts = []
    for run in runs:
        text = run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}"
        parts.append(text + (" (to predict)" if run[0] in to_predict else ""))
    return ", ".join(parts)


def _check_targets(workspace: Workspace, targets: list[str], predict_months: set[str]) -> list[tuple[str, bool]]:
    """Return (month, predict) per target month after checking that each can be built."""
    available = set(workspace.months())
    if not available:
        raise NextbestError(
            f"workspace {workspace.path} contains no snapshots; ingest monthly files first with "
            f"`nextbest ingest FILE... --workspace {workspace.path}`"
        )
    targets = targets + sorted(predict_months - set(targets))
    if not targets:
        raise NextbestError(f"no target month given; the workspace contains {describe_months(workspace)}")

    to_predict = set(workspace.months_to_predict())
    checked = []
    for month in dict.fromkeys(targets):
        check_month(month)
        previous = shift_month(month, -1)
        if month not in available:
            raise NextbestError(
                f"target month {month} is not in workspace {workspace.path}; it contains {describe_months(workspace)}"
            )
        if previous not in available:
            raise NextbestError(
                f"target month {month} needs the snapshot of the month before ({previous}) for its owned "
                f"products and population, and workspace {workspace.path} lacks it; it contains "
                f"{describe_months(workspace)}. Ingest {previous} or choose a later target month"
            )
        if previous in to_predict:
            raise NextbestError(
                f"target month {month} needs the products of the month before ({previous}), but {previous} "
                f"was read from a test-layout file without products; the workspace contains {describe_months(workspace)}"
            )
        checked.append((month, month in to_predict or month in predict_months))
    return checked


def _check_attributes(workspace: Workspace, settings: FeatureSettings) -> None:
    if settings.attributes is None:
        return
    unknown = [name for name in settings.attributes if name not in workspace.schema.attribute_names]
    if unknown:
        raise NextbestError(
            f"the feature settings name attributes the schema {workspace.schema.name!r} lacks: {', '.join(unknown)}; "
            f"it has {', '.join(workspace.schema.attribute_names)}"
        )


@contextlib.contextmanager
def _connect(directory: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an in-memory DuckDB with a memory limit, spilling to a directory under `directory`."""
    spill = directory / f".duckdb-spill-{os.getpid()}"
    connection = duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "threads": os.cpu_count() or 1,
            "temp_directory": str(spill),
            # The query sorts its result itself, so DuckDB need not keep the order of its inputs.
            "preserve_insertion_order": False,
        }
    )
    # DuckDB's own progress bar would write to stdout, where the command line prints results.
    connection.execute("SET enable_progress_bar = false")
    try:
        yield connection
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def _window(workspace: Workspace, settings: FeatureSettings, month: str) -> tuple[WindowMonth, ...]:
    available = set(workspace.months())
    labelled = set(workspace.labelled_months())
    window = []
    for offset in range(settings.lags + 1):
        window_month = shift_month(month, -offset)
        window.append(WindowMonth(offset, window_month, window_month in available, window_month in labelled))
    return tuple(window)


def _window_query(workspace: Workspace, settings: FeatureSettings, month: str, predict: bool):
    window = _window(workspace, settings, month)
    return feature_query(workspace.schema, window, predict=predict, attributes=settings.attributes)


def _build_month(
    connection: duckdb.DuckDBPyConnection,
    workspace: Workspace,
    settings: FeatureSettings,
    month: str,
    predict: bool,
) -> MonthExamples:
    """Write the examples file of one target month and return its counts."""
    started = time.perf_counter()
    window = _window(workspace, settings, month)
    query = feature_query(workspace.schema, window, predict=predict, attributes=settings.attributes)
    target = examples_dir(workspace.path) / f"{month}.parquet"
    temporary = _temporary_path(target)
    try:
        _register_window(connection, workspace, window)
        # COPY ... TO is DuckDB's statement; on Spark, write the query's result with the
        # DataFrame writer instead.
        connection.execute(f"COPY ({query.sql}) TO '{_sql_path(temporary)}' (FORMAT PARQUET, COMPRESSION ZSTD)")
    except duckdb.Error as error:
        months = ", ".join(m.month for m in window if m.exists)
        raise NextbestError(
            f"building the examples of {month} failed while reading the snapshots of {months} in "
            f"{workspace.path} ({error}); ingest those months again"
        ) from error

    counts = _count_examples(connection, workspace, temporary, predict)
    null_products = _count_null_products(connection, workspace, window)
    seconds = time.perf_counter() - started
    logger.info(
        "examples of %s: %d customers, customers adding a product: %s, %.1f s",
        month, counts["customers"], "unknown (month to predict)" if predict else counts["customers_adding"], seconds,
    )
    return MonthExamples(month=month, path=target, predict=predict, null_products=null_products, seconds=seconds, **counts)


def _temporary_path(target: Path) -> Path:
    """Return the name under which `target` is written before it is renamed into place."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _register_window(connection: duckdb.DuckDBPyConnection, workspace: Workspace, window: tuple[WindowMonth, ...]) -> None:
    """Make each existing month of the window a view named as the query expects."""
    for window_month in window:
        connection.execute(f"DROP VIEW IF EXISTS {window_month.relation}")
        if window_month.exists:
            # read_parquet is DuckDB's; on Spark, register the same file as a temporary view.
            path = _sql_path(workspace.snapshot_path(window_month.month))
            connection.execute(f"CREATE VIEW {window_month.relation} AS SELECT * FROM read_parquet('{path}')")


def _count_examples(connection: duckdb.DuckDBPyConnection, workspace: Workspace, path: Path, predict: bool) -> dict:
    products = workspace.schema.product_names
    any_added = " + ".join(f"added_{p}" for p in products)
    select = [
        "count(*)",
        "coalesce(sum(CASE WHEN products_held_lag1 IS NULL THEN 1 ELSE 0 END), 0)",
        f"coalesce(sum(CASE WHEN {any_added} > 0 THEN 1 ELSE 0 END), 0)",
    ] + [f"coalesce(sum(added_{p}), 0)" for p in products]
    row = connection.execute(f"SELECT {', '.join(select)} FROM read_parquet('{_sql_path(path)}')").fetchone()
    return {
        "customers": int(row[0]),
        "customers_without_history": int(row[1]),
        "customers_adding": None if predict else int(row[2]),
        "additions": None if predict else {p: int(value) for p, value in zip(products, row[3:])},
    }


def _count_null_products(
    connection: duckdb.DuckDBPyConnection, workspace: Workspace, window: tuple[WindowMonth, ...]
) -> dict[str, int]:
    products = workspace.schema.product_names
    counts = dict.fromkeys(products, 0)
    for window_month in window:
        if not (window_month.exists and window_month.products_known):
            continue
        select = ", ".join(f"count(*) - count({p})" for p in products)
        row = connection.execute(f"SELECT {select} FROM {window_month.relation}").fetchone()
        for product, value in zip(products, row):
            counts[product] += int(value)
    return counts


def _updated_manifest(
    workspace: Workspace,
    settings: FeatureSettings,
    features: tuple[FeatureColumn, ...],
    built: list[MonthExamples],
) -> Manifest:
    """Return the manifest with the months just built, dropping months built another way."""
    products = tuple(workspace.schema.product_names)
    manifest = read_manifest(workspace.path)
    if manifest is not None and (manifest.settings, manifest.features, manifest.products) != (settings, features, products):
        stale = sorted(set(manifest.months) - {m.month for m in built})
        for month in stale:
            (examples_dir(workspace.path) / manifest.months[month]["file"]).unlink(missing_ok=True)
        if stale:
            logger.warning(
                "removed the examples of %s, built with other feature settings or columns (%s); build them again if needed",
                ", ".join(stale), manifest.settings.to_dict(),
            )
        manifest = None
    if manifest is None:
        manifest = Manifest(settings=settings, features=features, products=products)

    built_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for month in built:
        manifest.months[month.month] = {
            "file": month.path.name,
            "predict": month.predict,
            "customers": month.customers,
            "customers_adding": month.customers_adding,
            "additions": month.additions,
            "customers_without_history": month.customers_without_history,
            "null_products": month.null_products,
            "built_at": built_at,
        }
    return manifest
