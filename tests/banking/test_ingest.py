"""Ingest of small hand-built files whose every count is known: values, quirks, bad rows, months."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from nextbest.banking.ingest import ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.workspace import Workspace

SCHEMA = SnapshotSchema.santander()
TRAIN_HEADER = SCHEMA.file_columns("train")
TEST_HEADER = SCHEMA.file_columns("test")

# One clean raw row of the training layout, by column.
BASE_ROW = {
    "fecha_dato": "2016-01-28",
    "ncodpers": "1000",
    "ind_empleado": "N",
    "pais_residencia": "ES",
    "sexo": "V",
    "age": "40",
    "fecha_alta": "2010-05-28",
    "ind_nuevo": "0",
    "antiguedad": "60",
    "indrel": "1",
    "ult_fec_cli_1t": "",
    "indrel_1mes": "1",
    "tiprel_1mes": "A",
    "indresi": "S",
    "indext": "N",
    "conyuemp": "",
    "canal_entrada": "KAT",
    "indfall": "N",
    "tipodom": "1",
    "cod_prov": "28",
    "nomprov": "MADRID",
    "ind_actividad_cliente": "1",
    "renta": "50000.5",
    "segmento": "02 - PARTICULARES",
    **{product.column: "0" for product in SCHEMA.products},
}


def row(**changes: str) -> dict[str, str]:
    values = dict(BASE_ROW)
    values.update(changes)
    return values


def line(values: dict[str, str], header: list[str] = TRAIN_HEADER) -> str:
    fields = [values[name] for name in header]
    return ",".join(f'"{field}"' if "," in field else field for field in fields)


def write_csv(path, rows: list[dict[str, str]], header: list[str] = TRAIN_HEADER, extra_lines: dict[int, str] | None = None):
    """Write rows as CSV; `extra_lines` inserts raw lines before the row with that 0-based index."""
    lines = [",".join(f'"{name}"' for name in header)]
    for index, values in enumerate(rows):
        if extra_lines and index in extra_lines:
            lines.append(extra_lines[index])
        lines.append(line(values, header))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_month(workspace_dir, month: str) -> pa.Table:
    return pq.read_table(Workspace(workspace_dir).snapshot_path(month))


def entries(tmp_path) -> set[str]:
    """Return everything under tmp_path, to check that a failed ingest left nothing behind."""
    return {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")}


# Values, types and quirk counts.


def test_values_are_typed_and_cleaned(tmp_path):
    source = write_csv(
        tmp_path / "train.csv",
        [
            row(ncodpers="1", age=" 35", antiguedad="     -999999", indrel_1mes="1.0", renta="   87218.10", ind_nomina_ult1="NA"),
            row(ncodpers="2", age="     NA", sexo="", nomprov="CORUÑA, A", indrel_1mes="P", ind_recibo_ult1=" 1"),
        ],
    )
    report = ingest([source], tmp_path / "ws")
    table = read_month(tmp_path / "ws", "2016-01")

    assert table.column_names == SCHEMA.snapshot_columns()
    assert table.schema.field("customer_id").type == pa.int64()
    assert table.schema.field("month").type == pa.date32()
    assert table.schema.field("age").type == pa.int64()
    assert table.schema.field("renta").type == pa.float64()
    assert table.schema.field("fecha_alta").type == pa.date32()
    assert table.schema.field("sexo").type == pa.string()
    assert table.schema.field("nomina").type == pa.int8()

    data = table.to_pydict()
    assert data["customer_id"] == [1, 2]
    assert data["month"] == [dt.date(2016, 1, 1)] * 2
    assert data["age"] == [35, None]
    assert data["antiguedad"] == [None, 60]
    assert data["indrel_1mes"] == ["1", "P"]
    assert data["renta"] == [87218.10, 50000.5]
    assert data["sexo"] == ["V", None]
    assert data["nomprov"] == ["MADRID", "CORUÑA, A"]
    assert data["fecha_alta"] == [dt.date(2010, 5, 28)] * 2
    assert data["ult_fec_cli_1t"] == [None, None]
    assert data["nomina"] == [None, 0]
    assert data["recibo"] == [0, 1]

    quirks = report["files"][0]["quirks"]
    assert quirks["age"] == {"missing_spelling": 1, "trimmed": 2}
    assert quirks["antiguedad"] == {"sentinel": 1, "trimmed": 1}
    assert quirks["indrel_1mes"] == {"merged": 1}
    assert quirks["renta"] == {"trimmed": 1}
    assert quirks["sexo"] == {"empty": 1}
    assert quirks["ult_fec_cli_1t"] == {"empty": 2}
    assert quirks["ind_nomina_ult1"] == {"missing_spelling": 1}
    assert quirks["ind_recibo_ult1"] == {"trimmed": 1}
    assert "ncodpers" not in quirks
    assert report["files"][0]["rows_with_null_products"] == 1


def test_rows_missing_most_attributes_counted(tmp_path):
    blank = {name: "" for name in SCHEMA.attribute_names}
    source = write_csv(tmp_path / "train.csv", [row(ncodpers="1", **blank), row(ncodpers="2"), row(ncodpers="3", age="NA")])
    report = ingest([source], tmp_path / "ws")
    assert report["files"][0]["rows_missing_most_attributes"] == 1
    assert read_month(tmp_path / "ws", "2016-01").num_rows == 3


def test_months_rows_and_customer_presence(tmp_path):
    rows = [
        row(fecha_dato="2016-01-28", ncodpers="1"),
        row(fecha_dato="2016-01-28", ncodpers="2"),
        row(fecha_dato="2016-01-28", ncodpers="3"),
        row(fecha_dato="2016-02-28", ncodpers="1"),
        row(fecha_dato="2016-03-28", ncodpers="1"),
        row(fecha_dato="2016-03-28", ncodpers="2"),
        row(fecha_dato="2016-03-28", ncodpers="4"),
    ]
    report = ingest([write_csv(tmp_path / "train.csv", rows)], tmp_path / "ws")
    assert report["workspace_months"] == [
        {"month": "2016-01", "layout": "train", "customers": 3},
        {"month": "2016-02", "layout": "train", "customers": 1},
        {"month": "2016-03", "layout": "train", "customers": 3},
    ]
    assert report["customers"] == {
        "total": 4,
        "in_every_month": 1,
        "absent_in_some_months": 3,
        "with_gaps": 1,
        "first_seen_after_first_month": 1,
        "last_seen_before_last_month": 1,
    }
    assert report["files"][0]["customers_per_month"] == {"2016-01": 3, "2016-02": 1, "2016-03": 3}


def test_test_layout_gives_month_to_predict(tmp_path):
    train = write_csv(tmp_path / "train.csv", [row(ncodpers="1", ind_cco_fin_ult1="1")])
    test = write_csv(tmp_path / "test.csv", [row(fecha_dato="2016-02-28", ncodpers="1", renta="         NA")], TEST_HEADER)
    report = ingest([train, test], tmp_path / "ws")

    workspace = Workspace(tmp_path / "ws")
    assert workspace.labelled_months() == ["2016-01"]
    assert workspace.months_to_predict() == ["2016-02"]
    predicted = read_month(tmp_path / "ws", "2016-02")
    assert predicted.column_names == SCHEMA.snapshot_columns()
    for name in SCHEMA.product_names:
        assert predicted.column(name).null_count == 1
    assert predicted.column("renta").to_pylist() == [None]
    assert report["files"][1]["layout"] == "test"
    assert report["files"][1]["quirks"]["renta"] == {"missing_spelling": 1, "trimmed": 1}


# Bad rows and duplicates.


def test_bad_rows_listed_with_line_numbers(tmp_path):
    rows = [row(ncodpers=str(i)) for i in range(1, 301)]
    rows[10] = row(ncodpers="abc")  # line 2 + 10 + 1 rejected line before it = 13
    rows[20] = row(ncodpers="  NA")
    rows[30] = row(fecha_dato="")
    rows[40] = row(fecha_dato="2016-02-30")
    short = "2016-01-28,999,N"
    source = write_csv(tmp_path / "train.csv", rows, extra_lines={5: short})
    report = ingest([source], tmp_path / "ws", max_bad_share=0.05)

    bad = report["files"][0]["bad_rows"]
    assert [(entry["line"], entry["reason"]) for entry in bad] == [
        (7, "too few fields (expected 48)"),
        (13, "invalid customer id"),
        (23, "missing customer id"),
        (33, "missing month"),
        (43, "invalid month '2016-02-30' (expected %Y-%m-%d)"),
    ]
    assert bad[0]["value"] == short
    assert bad[1]["value"] == "abc"
    assert bad[4]["value"] == "2016-02-30"
    assert report["files"][0]["rows_in_file"] == 301
    assert report["files"][0]["rows_kept"] == 296
    lines = (tmp_path / "train.csv").read_text().splitlines()
    assert lines[12].split(",")[1] == "abc"
    assert lines[42].startswith("2016-02-30")


def test_too_many_bad_rows_fail_without_output(tmp_path):
    rows = [row(ncodpers=str(i)) for i in range(1, 51)]
    rows[3] = row(ncodpers="x")
    source = write_csv(tmp_path / "train.csv", rows)
    before = entries(tmp_path)
    with pytest.raises(Exception, match=r"1 of 50 rows \(2\.0%\) cannot be used, more than the limit of 1\.0%.*line 5: invalid customer id"):
        ingest([source], tmp_path / "ws")
    assert entries(tmp_path) == before


def test_duplicate_rows_keep_last(tmp_path):
    rows = [row(ncodpers="1", age="30"), row(ncodpers="2"), row(ncodpers="1", age="31"), row(ncodpers="1", age="32")]
    report = ingest([write_csv(tmp_path / "train.csv", rows)], tmp_path / "ws")
    table = read_month(tmp_path / "ws", "2016-01").to_pydict()
    assert sorted(zip(table["customer_id"], table["age"])) == [(1, 32), (2, 40)]
    duplicates = report["files"][0]["duplicate_rows"]
    assert duplicates == [
        {"month": "2016-01", "customer_id": 1, "line": 2, "kept_line": 5},
        {"month": "2016-01", "customer_id": 1, "line": 4, "kept_line": 5},
    ]
    assert report["files"][0]["rows_duplicate"] == 2
    assert report["files"][0]["rows_per_month"] == {"2016-01": 4}
    assert report["files"][0]["customers_per_month"] == {"2016-01": 2}
    assert report["workspace_months"][0]["customers"] == 2


# Several files, formats and re-ingest.


def test_reingest_replaces_month_and_records_file(tmp_path):
    first = write_csv(tmp_path / "a.csv", [row(ncodpers="1"), row(ncodpers="2", fecha_dato="2016-02-28")])
    ingest([first], tmp_path / "ws")
    second = write_csv(tmp_path / "b.csv", [row(ncodpers="7", fecha_dato="2016-02-28"), row(ncodpers="8", fecha_dato="2016-03-28")])
    report = ingest([second], tmp_path / "ws")

    assert report["months_replaced"] == ["2016-02"]
    assert [entry["replaced"] for entry in report["months_written"]] == [True, False]
    assert read_month(tmp_path / "ws", "2016-02").column("customer_id").to_pylist() == [7]
    workspace = Workspace(tmp_path / "ws")
    assert workspace.months() == ["2016-01", "2016-02", "2016-03"]
    files = workspace.files()
    assert files[str(first.resolve())]["months"] == ["2016-01"]
    assert files[str(second.resolve())]["months"] == ["2016-02", "2016-03"]
    assert workspace.file_unchanged(first)
    assert json.loads((tmp_path / "ws" / "ingest-report.json").read_text())["months_replaced"] == ["2016-02"]


def test_formats_give_same_snapshots(tmp_path):
    rows = [row(ncodpers=str(i), age=f" {20 + i}", renta="NA" if i % 2 else "1000.25") for i in range(1, 21)]
    plain = write_csv(tmp_path / "plain.csv", rows)
    gz = tmp_path / "packed.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    zipped = tmp_path / "packed.csv.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, "train_ver2.csv")
    parquet = tmp_path / "packed.parquet"
    all_text = pacsv.ConvertOptions(column_types={name: pa.string() for name in TRAIN_HEADER}, strings_can_be_null=False)
    pq.write_table(pacsv.read_csv(plain, convert_options=all_text), parquet)

    expected = None
    for index, path in enumerate([plain, gz, zipped, parquet]):
        report = ingest([path], tmp_path / f"ws{index}")
        table = read_month(tmp_path / f"ws{index}", "2016-01")
        expected = expected or table
        assert table.equals(expected), path.name
        assert report["files"][0]["quirks"]["renta"] == {"missing_spelling": 10}
    assert report["files"][0]["format"] == "parquet"


def test_overlapping_months_in_one_command_fail(tmp_path):
    first = write_csv(tmp_path / "a.csv", [row(ncodpers="1")])
    second = write_csv(tmp_path / "b.csv", [row(ncodpers="2")])
    before = entries(tmp_path)
    with pytest.raises(Exception, match="month 2016-01 is in both .*a.csv and .*b.csv"):
        ingest([first, second], tmp_path / "ws")
    assert entries(tmp_path) == before


def test_unambiguous_other_date_format_is_read(tmp_path):
    rows = [
        row(ncodpers="1", fecha_dato="28/01/2016", fecha_alta="13/05/2010"),
        row(ncodpers="2", fecha_dato="28/01/2016", fecha_alta="05/06/2011"),
        row(ncodpers="3", fecha_dato="28/01/2016", fecha_alta="31/02/2011"),
    ]
    report = ingest([write_csv(tmp_path / "train.csv", rows)], tmp_path / "ws")
    table = read_month(tmp_path / "ws", "2016-01").to_pydict()
    assert table["month"] == [dt.date(2016, 1, 1)] * 3
    assert table["fecha_alta"] == [dt.date(2010, 5, 13), dt.date(2011, 6, 5), None]
    assert report["files"][0]["date_formats"]["fecha_dato"] == "%d/%m/%Y"
    assert report["files"][0]["date_formats"]["fecha_alta"] == "%d/%m/%Y"
    warnings = " ".join(report["files"][0]["warnings"])
    assert "fecha_dato holds dates in the format %d/%m/%Y" in warnings
    assert report["files"][0]["quirks"]["fecha_alta"] == {"invalid": 1}


def test_month_option_for_file_without_month_column(tmp_path):
    header = [name for name in TRAIN_HEADER if name not in ("fecha_dato", "fecha_alta")]
    source = write_csv(tmp_path / "snapshot.csv", [row(ncodpers="5"), row(ncodpers="6")], header)
    report = ingest([source], tmp_path / "ws", month="2016-03", allow_missing_attributes=True)
    table = read_month(tmp_path / "ws", "2016-03").to_pydict()
    assert table["month"] == [dt.date(2016, 3, 1)] * 2
    assert table["fecha_alta"] == [None, None]
    assert table["age"] == [40, 40]
    warnings = report["files"][0]["warnings"]
    assert "columns absent from the file, read as null: fecha_alta" in warnings
    assert any("given the month 2016-03" in warning for warning in warnings)
