"""Benchmark the feature step on a snapshots table of the competition's size (13.6M rows, 17 months).

The snapshots are written straight to a workspace as Parquet, without a CSV: the customers of
the real Santander panel (2015-12 .. 2016-05) are repeated with shifted customer ids, and month
m of 2015-01 .. 2016-05 takes the panel month with the same position in the 6-month cycle that
ends at 2016-05, so 2016-05 contains the panel's own 2016-05 rows.

Two child processes run one after the other in the same run, and the script prints the wall
time and peak resident memory (maximum RSS from `os.wait4`) of each:

- reference: DuckDB reads and hashes every column of the 6 months the step reads (2015-12 ..
  2016-05), which is the least any feature step over those files has to do;
- build: `build_examples` for the target month 2016-05 with 5 lags.

Usage::

    python bench/bench_features.py                # about 13.6M rows; the files are deleted after
    python bench/bench_features.py --copies 4     # a smaller run
    python bench/bench_features.py --keep         # keep the workspace for another run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET = "2016-05"
LAGS = 5
MONTHS = [f"2015-{m:02d}" for m in range(1, 13)] + [f"2016-{m:02d}" for m in range(1, 6)]
PANEL_MONTHS = ["2015-12", "2016-01", "2016-02", "2016-03", "2016-04", "2016-05"]
PANEL = Path(__file__).resolve().parents[2] / "shared" / "data" / "santander" / "panel_2015-12_to_2016-05_may_adders.csv.gz"
# Copy k of a panel customer gets the id (original id + k * ID_STRIDE); the panel's ids are below it.
ID_STRIDE = 2_000_000
# 44 copies of the panel's 109,163 rows, spread over 17 months, give about train_ver2.csv's 13,647,309 rows.
DEFAULT_COPIES = 44

REFERENCE = r"""
import json, sys, time
import duckdb
from nextbest.banking.features import DUCKDB_MEMORY_LIMIT
paths = json.loads(sys.argv[1])
started = time.perf_counter()
connection = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
connection.execute("SET enable_progress_bar = false")
columns = [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM read_parquet({paths})").fetchall()]
hashes = ", ".join(f"sum(hash({column}))" for column in columns)
rows = connection.execute(f"SELECT count(*), {hashes} FROM read_parquet({paths})").fetchone()[0]
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
"""

BUILD = r"""
import json, sys, time
from nextbest.banking.features import build_examples
from nextbest.banking.workspace import Workspace
started = time.perf_counter()
summary = build_examples(Workspace(sys.argv[1]), [sys.argv[2]], lags=int(sys.argv[3]))
month = summary.months[0]
print(json.dumps({"rows": month.customers, "features": len(summary.features),
                  "adding": month.customers_adding, "seconds": time.perf_counter() - started}))
"""


def panel_snapshots(path: Path):
    """Return the panel as one snapshot table (customer_id, month, attributes, products)."""
    import pandas as pd
    import pyarrow as pa

    from nextbest.banking.schema import SnapshotSchema

    schema = SnapshotSchema.santander()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    columns = {
        "customer_id": raw[schema.customer_id].astype("int64"),
        "month": pd.to_datetime(raw[schema.month], format="%Y-%m-%d").dt.to_period("M").dt.start_time,
    }
    for attribute in schema.attributes:
        text = raw[attribute.name].str.strip()
        text = text.mask(text.isin(["", *schema.missing]))
        if attribute.type in ("integer", "float"):
            values = text.astype("float64")
            columns[attribute.name] = values.mask(values.isin(list(attribute.missing)))
        elif attribute.type == "date":
            columns[attribute.name] = pd.to_datetime(text, format="%Y-%m-%d")
        else:
            columns[attribute.name] = text.replace(attribute.merge)
    products = raw[[p.column for p in schema.products]].replace("", None).astype("float64")
    for product in schema.products:
        columns[product.name] = products[product.column]
    types = {"integer": pa.int64(), "float": pa.float64(), "category": pa.string(), "date": pa.date32()}
    fields = [pa.field("customer_id", pa.int64()), pa.field("month", pa.date32())]
    fields += [pa.field(a.name, types[a.type]) for a in schema.attributes]
    fields += [pa.field(name, pa.int8()) for name in schema.product_names]
    return schema, pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False).cast(pa.schema(fields))


def write_workspace(directory: Path, copies: int) -> int:
    """Write the 17 monthly snapshots of `copies` copies of the panel; return the rows written."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.compute as pc

    from nextbest.banking.workspace import Workspace

    schema, panel = panel_snapshots(PANEL)
    panel_month = pc.strftime(panel.column("month"), format="%Y-%m")
    workspace = Workspace.create(directory, schema)
    written = 0
    for index, month in enumerate(MONTHS):
        source = PANEL_MONTHS[(index - len(MONTHS)) % len(PANEL_MONTHS)]
        rows = panel.filter(pc.equal(panel_month, source))
        first_day = pa.scalar(dt.date(int(month[:4]), int(month[5:]), 1), pa.date32())
        parts = []
        for copy in range(copies):
            ids = pc.add(rows.column("customer_id"), copy * ID_STRIDE)
            part = rows.set_column(0, "customer_id", ids)
            parts.append(part.set_column(1, "month", pa.repeat(first_day, part.num_rows)))
        table = pa.concat_tables(parts)
        workspace.write_month(month, table, layout="train", source=PANEL)
        written += table.num_rows
        print(f"  wrote {month}: {table.num_rows:,} rows (panel month {source})", flush=True)
    return written


def run_child(code: str, *args: str) -> dict:
    """Run Python code in a child process; return its JSON output plus wall time and peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child process failed with status {status}")
    result = json.loads(output.strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux. CPU time counts the child's threads together, and unlike
    # wall time it hardly grows when other processes share the cores.
    result.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/nextbest-bench-features"), help="scratch directory")
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES, help="copies of the panel per month")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (and reuse one already there)")
    options = parser.parse_args()
    if not PANEL.is_file():
        raise SystemExit(f"the real panel {PANEL} is absent; it comes with the project's shared/ folder")

    workspace = options.dir / f"workspace-{options.copies}"
    if not (workspace / "workspace.json").is_file():
        print(f"writing snapshots to {workspace}", flush=True)
        started = time.perf_counter()
        rows = write_workspace(workspace, options.copies)
        print(f"  {rows:,} rows over {len(MONTHS)} months in {time.perf_counter() - started:.0f} s", flush=True)

    from nextbest.banking.workspace import Workspace

    opened = Workspace(workspace)
    total = sum(opened.month_info(m)["rows"] for m in opened.months())
    window = [str(opened.snapshot_path(m)) for m in PANEL_MONTHS]
    print(f"snapshots: {total:,} rows over {len(opened.months())} months; the step reads {len(window)} of them")

    print(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    reference = run_child(REFERENCE, json.dumps(window))
    build = run_child(BUILD, str(workspace), TARGET, str(LAGS))
    print(f"reference (DuckDB reads every column of the {len(window)} months, {reference['rows']:,} rows): "
          f"{reference['wall']:.1f} s wall, {reference['cpu']:.1f} s CPU, peak RSS {reference['peak_mib']:,.0f} MiB")
    print(f"build_examples {TARGET}, {LAGS} lags: {build['wall']:.1f} s wall, {build['cpu']:.1f} s CPU, "
          f"peak RSS {build['peak_mib']:,.0f} MiB; {build['rows']:,} examples, {build['adding']:,} adding, "
          f"{build['features']} features")
    print(f"ratio build / reference: {build['wall'] / reference['wall']:.2f} (wall time), "
          f"{build['cpu'] / reference['cpu']:.2f} (CPU time), {build['peak_mib'] / reference['peak_mib']:.2f} (peak RSS)")
    goal_met = build["wall"] < 60 and build["peak_mib"] < 4096
    print(f"goal (under 60 s and 4 GiB): {'met' if goal_met else 'NOT met'}")

    if not options.keep:
        shutil.rmtree(options.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
