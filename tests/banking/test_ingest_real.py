"""Ingest of the real Santander files, checked against counts made here without DuckDB.

Values are compared with a plain `csv` parse and repair counts with pandas string operations.
The numbers pinned below were counted with those independent methods.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from collections import Counter, defaultdict

import pandas as pd
import pyarrow.parquet as pq
import pytest

from nextbest.banking.ingest import ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.workspace import Workspace
from nextbest.errors import InputFileError

SCHEMA = SnapshotSchema.santander()
MERGED = {"1.0", "2.0", "3.0", "4.0"}


def read_rows(path) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def independent_quirks(path) -> dict[str, dict[str, int]]:
    """Count each repair per column with pandas string operations, independently of DuckDB."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = {}
    for name in frame.columns:
        raw = frame[name]
        text = raw.str.strip(" ")
        column = {
            "trimmed": int((raw != text).sum()),
            "empty": int((text == "").sum()),
            "missing_spelling": int((text == "NA").sum()),
        }
        if name == "antiguedad":
            column["sentinel"] = int((text == "-999999").sum())
        if name == "indrel_1mes":
            column["merged"] = int(text.isin(MERGED).sum())
        column = {kind: count for kind, count in sorted(column.items()) if count}
        if column:
            counts[name] = column
    return counts


def optional_int(text: str) -> int | None:
    text = text.strip(" ")
    return None if text in ("", "NA") else int(float(text))


def test_first_rows_values_and_counts(tmp_path, santander_first_rows):
    report = ingest([santander_first_rows], tmp_path / "ws")
    header, rows = read_rows(santander_first_rows)
    file_report = report["files"][0]

    assert file_report["rows_in_file"] == 9999
    assert file_report["rows_kept"] == 9999
    assert file_report["bad_rows"] == []
    assert file_report["quirks"] == independent_quirks(santander_first_rows)
    # Counted by hand with the independent method above.
    assert file_report["quirks"]["age"] == {"missing_spelling": 50, "trimmed": 9999}
    assert file_report["quirks"]["antiguedad"] == {"missing_spelling": 50, "trimmed": 9999}
    assert file_report["quirks"]["indrel_1mes"] == {"empty": 50, "merged": 5718}
    assert file_report["quirks"]["renta"] == {"empty": 1899}
    assert file_report["quirks"]["ind_nomina_ult1"] == {"missing_spelling": 11, "trimmed": 9988}
    assert file_report["rows_missing_most_attributes"] == 50
    assert file_report["rows_with_null_products"] == 11

    table = pq.read_table(Workspace(tmp_path / "ws").snapshot_path("2015-01")).to_pydict()
    column = {name: [values[i] for values in rows] for i, name in enumerate(header)}
    assert table["customer_id"] == [int(v) for v in column["ncodpers"]]
    assert set(table["month"]) == {dt.date(2015, 1, 1)}
    assert table["age"] == [optional_int(v) for v in column["age"]]
    assert table["antiguedad"] == [optional_int(v) for v in column["antiguedad"]]
    assert table["renta"] == [float(v) if v.strip() else None for v in column["renta"]]
    assert table["nomprov"] == [v or None for v in column["nomprov"]]
    assert table["indrel_1mes"] == [({"1.0": "1"}.get(v, v) or None) for v in column["indrel_1mes"]]
    assert table["fecha_alta"] == [dt.date.fromisoformat(v) if v else None for v in column["fecha_alta"]]
    for product in SCHEMA.products:
        assert table[product.name] == [optional_int(v) for v in column[product.column]], product.column


def test_panel_months_and_customers(tmp_path, santander_panel):
    report = ingest([santander_panel], tmp_path / "ws")
    header, rows = read_rows(santander_panel)
    months = Counter(values[0][:7] for values in rows)
    customers = defaultdict(set)
    for values in rows:
        customers[values[1]].add(values[0][:7])

    assert dict(months) == {
        "2015-12": 16674,
        "2016-01": 17358,
        "2016-02": 17886,
        "2016-03": 18377,
        "2016-04": 19434,
        "2016-05": 19434,
    }
    assert report["files"][0]["customers_per_month"] == dict(sorted(months.items()))
    assert [entry["customers"] for entry in report["workspace_months"]] == [months[m] for m in sorted(months)]
    assert report["files"][0]["rows_kept"] == 109163
    assert report["customers"]["total"] == len(customers) == 19434
    assert report["customers"]["in_every_month"] == sum(1 for seen in customers.values() if len(seen) == 6)
    assert report["customers"]["absent_in_some_months"] == sum(1 for seen in customers.values() if len(seen) < 6)
    assert report["files"][0]["quirks"] == independent_quirks(santander_panel)
    assert report["files"][0]["quirks"]["renta"] == {"empty": 27906}
    assert Workspace(tmp_path / "ws").labelled_months() == sorted(months)


def test_snapshot_without_dates_needs_options(tmp_path, santander_snapshot_2016_03):
    with pytest.raises(InputFileError, match="missing: fecha_dato, fecha_alta") as caught:
        ingest([santander_snapshot_2016_03], tmp_path / "ws")
    assert "--month YYYY-MM" in str(caught.value)
    assert "--allow-missing-attributes" in str(caught.value)
    assert not (tmp_path / "ws").exists()


def test_snapshot_read_with_month(tmp_path, santander_snapshot_2016_03):
    report = ingest([santander_snapshot_2016_03], tmp_path / "ws", month="2016-03", allow_missing_attributes=True)
    header, rows = read_rows(santander_snapshot_2016_03)
    table = pq.read_table(Workspace(tmp_path / "ws").snapshot_path("2016-03"))

    assert table.num_rows == len(rows) == 92627
    assert report["workspace_months"] == [{"month": "2016-03", "layout": "train", "customers": 92627}]
    assert table.column("fecha_alta").null_count == 92627
    assert set(table.column("month").to_pylist()) == {dt.date(2016, 3, 1)}
    assert table.column("cco_fin").null_count == 0
    assert report["files"][0]["quirks"] == independent_quirks(santander_snapshot_2016_03)
    assert report["files"][0]["quirks"]["renta"] == {"empty": 22002}
    assert report["files"][0]["warnings"][0] == "columns absent from the file, read as null: fecha_alta"
