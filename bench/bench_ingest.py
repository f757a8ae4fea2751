"""Benchmark `nextbest ingest` against a pandas reference on a file of train_ver2.csv's size.

The file is built by repeating real rows of the Santander training layout. The templates are the
first 9,999 rows of train_ver2.csv (padded values, quoted header) and one row per customer of the
rebuilt panel. Each copy shifts the customer ids and replaces the month, for 17 months like the
real file.

Both contenders run as child processes, one after the other, in the same run. The script prints
the wall time, CPU time and peak resident memory (maximum RSS from `os.wait4`) of each, and their
ratios. CPU time is less sensitive than wall time to other programs sharing the machine.

Usage::

    python bench/bench_ingest.py                 # 13,647,309 rows, about 2.2 GB
    python bench/bench_ingest.py --rows 1000000  # a smaller run
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

FULL_ROWS = 13_647_309
MONTHS = [f"{year}-{month:02d}-28" for year, month in [(2015, m) for m in range(1, 13)] + [(2016, m) for m in range(1, 6)]]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "santander"
FIRST_ROWS = "dalvimanasi_train_ver2_first9999rows_2015-01.csv.gz"
PANEL = "panel_2015-12_to_2016-05_may_adders.csv.gz"
# Copy k of a template row gets customer id (original id + k * ID_STRIDE); real ids stay below it.
ID_STRIDE = 2_000_000

# The pandas reference reads the file as public solutions of the competition do: the columns
# with mixed numbers and padded strings as strings, then converted with to_numeric / to_datetime.
PANDAS_REFERENCE = r"""
import sys
import pandas as pd

path = sys.argv[1]
mixed = {"age": str, "antiguedad": str, "indrel_1mes": str, "conyuemp": str, "ult_fec_cli_1t": str, "renta": str}
df = pd.read_csv(path, dtype=mixed, low_memory=False)
for column in ("fecha_dato", "fecha_alta", "ult_fec_cli_1t"):
    df[column] = pd.to_datetime(df[column], format="%Y-%m-%d", errors="coerce")
for column in ("age", "antiguedad", "renta"):
    df[column] = pd.to_numeric(df[column].str.strip(), errors="coerce")
df.loc[df["antiguedad"] == -999999, "antiguedad"] = float("nan")
df["indrel_1mes"] = df["indrel_1mes"].str.strip().replace({"1.0": "1", "2.0": "2", "3.0": "3", "4.0": "4"})
print(len(df), "rows", df["fecha_dato"].nunique(), "months")
"""


def read_templates(data_dir: Path) -> tuple[str, list[str]]:
    """Return the training-layout header and one raw row per distinct customer, without its first two fields."""
    templates: dict[str, str] = {}
    header = ""
    for name in (FIRST_ROWS, PANEL):
        with gzip.open(data_dir / name, "rt", encoding="utf-8", newline="") as handle:
            file_header = handle.readline()
            header = header or file_header
            for line in handle:
                _month, customer, rest = line.split(",", 2)
                templates[customer] = rest
    return header, [f"{customer},{rest}" for customer, rest in templates.items()]


def build_file(path: Path, rows: int, data_dir: Path) -> None:
    """Write a training-layout CSV of `rows` rows over 17 months from repeated real rows."""
    header, templates = read_templates(data_dir)
    per_month = -(-rows // len(MONTHS))
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(header)
        for date in MONTHS:
            month_rows = min(per_month, rows - written)
            for index in range(month_rows):
                copy, template = divmod(index, len(templates))
                customer, rest = templates[template].split(",", 1)
                out.write(f"{date},{int(customer) + copy * ID_STRIDE},{rest}")
            written += month_rows


def measure(command: list[str]) -> tuple[float, float, float, int]:
    """Run a command; return its wall time and CPU time (user + system) in seconds, peak RSS in GiB and exit status."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"command failed with status {code}: {' '.join(command)}\n{stderr[-2000:]}", file=sys.stderr)
    # ru_maxrss is in KiB on Linux.
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_ROWS, help="rows of the generated file (default: %(default)s, the size of train_ver2.csv)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the real Santander files (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/nextbest-bench-ingest"), help="scratch folder, deleted at the end (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "train_like.csv"
    try:
        start = time.perf_counter()
        build_file(csv_path, args.rows, args.data)
        size_gb = csv_path.stat().st_size / 1e9
        print(f"built {csv_path}: {args.rows:,} rows, {size_gb:.2f} GB in {time.perf_counter() - start:.0f} s")

        workspace = args.out / "workspace"
        nextbest = [sys.executable, "-m", "nextbest", "--quiet", "ingest", str(csv_path), "--workspace", str(workspace)]
        pandas = [sys.executable, "-c", PANDAS_REFERENCE, str(csv_path)]
        results = {}
        for name, command in (("nextbest ingest", nextbest), ("pandas.read_csv reference", pandas)):
            results[name] = measure(command)
            seconds, cpu, gib, code = results[name]
            print(f"{name:28s} wall {seconds:7.1f} s   CPU {cpu:7.1f} s   peak RSS {gib:5.2f} GiB   exit {code}")

        ours, reference = results["nextbest ingest"], results["pandas.read_csv reference"]
        print(
            f"ratio nextbest / pandas: wall {ours[0] / reference[0]:.2f}, CPU {ours[1] / reference[1]:.2f}, "
            f"peak RSS {ours[2] / reference[2]:.2f}"
        )
        return 0 if ours[3] == 0 and reference[3] == 0 else 1
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
