"""The feature step on tiny hand-built histories whose every feature and label is known."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nextbest.banking.features import (
    FeatureSettings,
    build_examples,
    load_examples,
    read_manifest,
    shift_month,
)
from nextbest.banking.features_sql import WindowMonth, feature_query
from nextbest.banking.schema import Attribute, Product, SnapshotSchema
from nextbest.banking.workspace import Workspace
from nextbest.errors import NextbestError

TINY_SCHEMA = SnapshotSchema(
    name="tiny",
    customer_id="id",
    month="date",
    attributes=(
        Attribute("age", "integer", "age"),
        Attribute("income", "float", "income"),
        Attribute("activity", "integer", "activity"),
        Attribute("relation", "category", "relation_type"),
        Attribute("joined", "date", "join_date"),
    ),
    products=(Product("p_a", "a"), Product("p_b", "b"), Product("p_c", "c")),
)

_TYPES = {"integer": pa.int64(), "float": pa.float64(), "category": pa.string(), "date": pa.date32()}


def snapshot_table(schema: SnapshotSchema, month: str, rows: list[dict]) -> pa.Table:
    """Return a snapshot table of `month` from rows holding the attributes and products."""
    fields = [pa.field("customer_id", pa.int64()), pa.field("month", pa.date32())]
    fields += [pa.field(a.name, _TYPES[a.type]) for a in schema.attributes]
    fields += [pa.field(p, pa.int8()) for p in schema.product_names]
    first_day = dt.date(int(month[:4]), int(month[5:]), 1)
    records = [{"month": first_day, **row} for row in rows]
    return pa.Table.from_pylist(records, schema=pa.schema(fields))


def write_workspace(path: Path, months: dict[str, list[dict]], *, schema=TINY_SCHEMA, test_layout=()) -> Workspace:
    """Create a workspace holding one snapshot per month; months in `test_layout` are to predict."""
    workspace = Workspace.create(path / "workspace", schema)
    source = path / "source.csv"
    source.write_text("hand-built rows\n")
    for month, rows in months.items():
        layout = "test" if month in test_layout else "train"
        workspace.write_month(month, snapshot_table(schema, month, rows), layout=layout, source=source)
    return workspace


def row(customer, a, b, c, *, age=40, income=1000.0, activity=1, relation="A", joined=dt.date(2019, 11, 15)):
    """Return one customer's snapshot row of the tiny schema."""
    return {
        "customer_id": customer, "age": age, "income": income, "activity": activity,
        "relation": relation, "joined": joined, "a": a, "b": b, "c": c,
    }


# Customers of the tiny bank, by month (products a, b, c); the target month is 2020-05.
#   1: holds a throughout, adds b in 2020-03, adds c in T, activity 1 -> 0 in T
#   2: absent in 2020-03 (a gap), drops a across the gap, c null in 2020-04, adds b in T,
#      relation A -> I in T
#   3: drops a in 2020-04, adds nothing, income missing in T, activity null in 2020-04
#   4: joins in 2020-04, adds b in T
#   5: first seen in T (no row in T-1)
#   6: leaves after 2020-02
TINY_MONTHS = {
    "2020-01": [row(1, 1, 0, 0), row(2, 1, 0, 0), row(3, 1, 0, 1), row(6, 1, 1, 1)],
    "2020-02": [row(1, 1, 0, 0), row(2, 1, 0, 0), row(3, 1, 0, 1), row(6, 1, 1, 1)],
    "2020-03": [row(1, 1, 1, 0), row(3, 1, 0, 1)],
    "2020-04": [
        row(1, 1, 1, 0),
        row(2, 0, 0, None),
        row(3, 0, 0, 1, activity=None),
        row(4, 1, 0, 0, age=30),
    ],
    "2020-05": [
        row(1, 1, 1, 1, activity=0),
        row(2, 0, 1, 0, relation="I"),
        row(3, 0, 0, 1, income=None),
        row(4, 1, 1, 0, age=31),
        row(5, 0, 0, 1, age=22, joined=dt.date(2020, 5, 2)),
    ],
}

NO_CHANGE = {"adds": 0, "drops": 0, "months_since_change": None}
UNSEEN = {"adds": None, "drops": None, "months_since_change": None}

# Every column of the target month 2020-05 with 3 lags (T-1 = 2020-04, T-2 = 2020-03, T-3 = 2020-02).
EXPECTED = {
    1: {
        "attributes": {"age": 40, "income": 1000.0, "income_missing": 0, "activity": 1 - 1, "relation": "A",
                       "months_since_joined": 6},
        "transitions": {"activity_transition": "1>0", "activity_changed": 1,
                        "relation_type_transition": "A>A", "relation_type_changed": 0},
        "lags": {"a": [1, 1, 1], "b": [1, 1, 0], "c": [0, 0, 0]},
        "changes": {"a": NO_CHANGE, "b": {"adds": 1, "drops": 0, "months_since_change": 2}, "c": NO_CHANGE},
        "summary": {"products_held_lag1": 2, "products_held_lag2": 2, "products_held_change": 0,
                    "products_added_window": 1, "products_dropped_window": 0,
                    "ownership_pattern_lag1": "110", "months_since_first_seen": 3, "months_present_window": 3},
        "owned": [1, 1, 0],
        "added": [0, 0, 1],
    },
    2: {
        "attributes": {"age": 40, "income": 1000.0, "income_missing": 0, "activity": 1, "relation": "I",
                       "months_since_joined": 6},
        "transitions": {"activity_transition": "1>1", "activity_changed": 0,
                        "relation_type_transition": "A>I", "relation_type_changed": 1},
        # The drop of a happened across the gap, so no pair of known months shows it.
        "lags": {"a": [0, None, 1], "b": [0, None, 0], "c": [0, None, 0]},
        "changes": {"a": UNSEEN, "b": UNSEEN, "c": UNSEEN},
        "summary": {"products_held_lag1": 0, "products_held_lag2": None, "products_held_change": None,
                    "products_added_window": None, "products_dropped_window": None,
                    "ownership_pattern_lag1": "000", "months_since_first_seen": 3, "months_present_window": 2},
        "owned": [0, 0, 0],
        "added": [0, 1, 0],
    },
    3: {
        "attributes": {"age": 40, "income": None, "income_missing": 1, "activity": 1, "relation": "A",
                       "months_since_joined": 6},
        "transitions": {"activity_transition": "NA>1", "activity_changed": 1,
                        "relation_type_transition": "A>A", "relation_type_changed": 0},
        "lags": {"a": [0, 1, 1], "b": [0, 0, 0], "c": [1, 1, 1]},
        "changes": {"a": {"adds": 0, "drops": 1, "months_since_change": 1}, "b": NO_CHANGE, "c": NO_CHANGE},
        "summary": {"products_held_lag1": 1, "products_held_lag2": 2, "products_held_change": -1,
                    "products_added_window": 0, "products_dropped_window": 1,
                    "ownership_pattern_lag1": "001", "months_since_first_seen": 3, "months_present_window": 3},
        "owned": [0, 0, 1],
        "added": [0, 0, 0],
    },
    4: {
        "attributes": {"age": 31, "income": 1000.0, "income_missing": 0, "activity": 1, "relation": "A",
                       "months_since_joined": 6},
        "transitions": {"activity_transition": "1>1", "activity_changed": 0,
                        "relation_type_transition": "A>A", "relation_type_changed": 0},
        "lags": {"a": [1, None, None], "b": [0, None, None], "c": [0, None, None]},
        "changes": {"a": UNSEEN, "b": UNSEEN, "c": UNSEEN},
        "summary": {"products_held_lag1": 1, "products_held_lag2": None, "products_held_change": None,
                    "products_added_window": None, "products_dropped_window": None,
                    "ownership_pattern_lag1": "100", "months_since_first_seen": 1, "months_present_window": 1},
        "owned": [1, 0, 0],
        "added": [0, 1, 0],
    },
}


def expected_row(customer: int) -> dict:
    """Flatten the expected values of one customer into column name -> value."""
    spec = EXPECTED[customer]
    columns = {"customer_id": customer, "month": dt.date(2020, 5, 1), **spec["attributes"], **spec["transitions"]}
    for product in "abc":
        for k, value in enumerate(spec["lags"][product], start=1):
            columns[f"{product}_lag{k}"] = value
        for name, value in spec["changes"][product].items():
            columns[f"{product}_{name}"] = value
    columns.update(spec["summary"])
    columns.update({f"owned_{p}": v for p, v in zip("abc", spec["owned"])})
    columns.update({f"added_{p}": v for p, v in zip("abc", spec["added"])})
    return columns


@pytest.fixture
def tiny_workspace(tmp_path) -> Workspace:
    return write_workspace(tmp_path, TINY_MONTHS)


def rows_by_customer(table: pa.Table) -> dict[int, dict]:
    return {record["customer_id"]: record for record in table.to_pylist()}


def test_tiny_history_every_column(tiny_workspace):
    build_examples(tiny_workspace, ["2020-05"], lags=3)
    rows = rows_by_customer(load_examples(tiny_workspace, ["2020-05"]))

    # Customers 5 (no row in T-1) and 6 (no row in T) are outside the population.
    assert sorted(rows) == [1, 2, 3, 4]
    for customer in EXPECTED:
        expected = expected_row(customer)
        assert set(rows[customer]) == set(expected), f"columns of customer {customer}"
        for column, value in expected.items():
            assert rows[customer][column] == value, f"customer {customer}, column {column}"


def test_tiny_summary_counts(tiny_workspace):
    summary = build_examples(tiny_workspace, ["2020-05"], lags=3)
    (month,) = summary.months

    assert month.customers == 4
    assert month.customers_adding == 3
    assert month.additions == {"a": 0, "b": 2, "c": 1}
    assert month.customers_without_history == 0
    # Customer 2's c is null in 2020-04; the months read are 2020-02 .. 2020-05.
    assert month.null_products == {"a": 0, "b": 0, "c": 1}
    assert month.predict is False


def test_columns_in_contract_order(tiny_workspace):
    summary = build_examples(tiny_workspace, ["2020-05"], lags=3)
    table = load_examples(tiny_workspace, "2020-05")
    feature_names = [feature.name for feature in summary.features]

    assert table.column_names == ["customer_id", "month", *feature_names,
                                  "owned_a", "owned_b", "owned_c", "added_a", "added_b", "added_c"]
    assert table.schema.field("month").type == pa.date32()
    for name in ("owned_a", "added_c", "a_lag1"):
        assert table.schema.field(name).type == pa.int8()


def test_manifest_lists_feature_kinds(tiny_workspace):
    summary = build_examples(tiny_workspace, ["2020-05"], lags=3)
    data = json.loads(summary.manifest_path.read_text())
    kinds = {item["name"]: item["kind"] for item in data["features"]}

    assert summary.manifest_path == tiny_workspace.path / "examples" / "manifest.json"
    assert kinds["relation"] == "categorical"
    assert kinds["activity_transition"] == "categorical"
    assert kinds["ownership_pattern_lag1"] == "categorical"
    assert kinds["age"] == "numeric"
    assert kinds["b_months_since_change"] == "numeric"
    assert data["settings"]["lags"] == 3
    assert data["products"] == ["a", "b", "c"]
    assert data["months"]["2020-05"]["customers"] == 4


def test_lag_before_data_is_null(tiny_workspace):
    build_examples(tiny_workspace, ["2020-05"], lags=5)
    rows = rows_by_customer(load_examples(tiny_workspace, ["2020-05"]))

    # T-4 is 2020-01, the first month; T-5 (2019-12) is before the data.
    assert rows[1]["a_lag4"] == 1
    assert rows[1]["a_lag5"] is None
    assert rows[1]["months_since_first_seen"] == 4
    assert rows[1]["b_adds"] == 1
    assert rows[1]["b_months_since_change"] == 2


def test_month_to_predict_keeps_new_customers(tmp_path):
    months = dict(TINY_MONTHS)
    months["2020-05"] = [{**r, "a": None, "b": None, "c": None} for r in TINY_MONTHS["2020-05"]]
    workspace = write_workspace(tmp_path, months, test_layout=("2020-05",))
    summary = build_examples(workspace, ["2020-05"], lags=3)
    rows = rows_by_customer(load_examples(workspace, ["2020-05"]))

    assert sorted(rows) == [1, 2, 3, 4, 5]
    assert summary.months[0].predict is True
    assert summary.months[0].customers_without_history == 1
    assert summary.months[0].customers_adding is None
    assert all(rows[c][f"added_{p}"] is None for c in rows for p in "abc")
    new = rows[5]
    assert new["a_lag1"] is None
    assert new["products_held_lag1"] is None
    assert new["activity_transition"] is None
    assert new["months_since_first_seen"] == 0
    assert new["owned_c"] == 0
    assert new["age"] == 22
    # The history of known customers is what the labelled build gives.
    for customer in EXPECTED:
        expected = expected_row(customer)
        for column in expected:
            if not column.startswith("added_"):
                assert rows[customer][column] == expected[column], f"customer {customer}, column {column}"


def test_predict_month_given_explicitly(tiny_workspace):
    summary = build_examples(tiny_workspace, [], lags=3, predict_months=["2020-05"])
    table = load_examples(tiny_workspace, "2020-05")

    assert summary.months[0].predict is True
    assert table.num_rows == 5
    assert table.column("added_b").null_count == 5


def test_rebuild_with_other_lags_drops_stale_months(tiny_workspace):
    build_examples(tiny_workspace, ["2020-04", "2020-05"], lags=3)
    build_examples(tiny_workspace, ["2020-05"], lags=2)
    manifest = read_manifest(tiny_workspace.path)

    assert sorted(manifest.months) == ["2020-05"]
    assert not (tiny_workspace.path / "examples" / "2020-04.parquet").exists()
    assert manifest.settings.lags == 2
    assert "a_lag3" not in load_examples(tiny_workspace, "2020-05").column_names


def test_one_lag_has_no_change_features(tiny_workspace):
    summary = build_examples(tiny_workspace, ["2020-05"], lags=1)
    names = {feature.name for feature in summary.features}

    assert "a_lag1" in names
    assert "a_adds" not in names
    assert "products_held_lag2" not in names
    assert rows_by_customer(load_examples(tiny_workspace, "2020-05"))[1]["months_since_first_seen"] == 1


def test_attribute_subset(tiny_workspace):
    settings = FeatureSettings(lags=2, attributes=("age", "income"))
    summary = build_examples(tiny_workspace, ["2020-05"], settings=settings)
    names = [feature.name for feature in summary.features]

    assert names[:3] == ["age", "income", "income_missing"]
    assert "relation" not in names
    # Transitions come from the tags, whichever attributes are features.
    assert "activity_transition" in names


def test_no_partial_file_left(tiny_workspace):
    build_examples(tiny_workspace, ["2020-04", "2020-05"], lags=3)
    leftovers = [p.name for p in (tiny_workspace.path / "examples").iterdir() if p.name.startswith(".")]

    assert leftovers == []
    # The population of 2020-04 is the customers with rows in 2020-03 and 2020-04: 1 and 3.
    assert pq.read_metadata(tiny_workspace.path / "examples" / "2020-04.parquet").num_rows == 2


def test_failed_build_keeps_old_examples(tiny_workspace):
    build_examples(tiny_workspace, ["2020-04", "2020-05"], lags=2)
    tiny_workspace.snapshot_path("2020-05").write_bytes(b"not a parquet file")
    with pytest.raises(NextbestError, match="building the examples of 2020-05 failed") as error:
        build_examples(tiny_workspace, ["2020-04", "2020-05"], lags=3)
    examples = tiny_workspace.path / "examples"

    assert "ingest those months again" in str(error.value)
    assert "a_lag3" not in pq.read_schema(examples / "2020-04.parquet").names
    assert read_manifest(tiny_workspace.path).settings.lags == 2
    assert [p.name for p in examples.iterdir() if p.name.startswith(".")] == []


# Settings.


def test_settings_round_trip():
    settings = FeatureSettings(lags=4, attributes=("age",))
    assert FeatureSettings.from_dict(settings.to_dict()) == settings
    assert FeatureSettings.from_dict(FeatureSettings().to_dict()) == FeatureSettings()


@pytest.mark.parametrize("lags", [0, -1, 2.5, True, "5"])
def test_settings_reject_invalid_lags(lags):
    with pytest.raises(NextbestError, match="invalid number of lags"):
        FeatureSettings(lags=lags)


def test_settings_reject_other_version():
    data = {**FeatureSettings().to_dict(), "features_version": 99}
    with pytest.raises(NextbestError, match="features version 99"):
        FeatureSettings.from_dict(data)


def test_settings_reject_unknown_key():
    with pytest.raises(NextbestError, match="unknown feature settings"):
        FeatureSettings.from_dict({**FeatureSettings().to_dict(), "window": 3})


def test_settings_unknown_attribute(tiny_workspace):
    with pytest.raises(NextbestError, match="lacks: height") as error:
        build_examples(tiny_workspace, ["2020-05"], settings=FeatureSettings(attributes=("age", "height")))
    assert "age, income, activity" in str(error.value)


# Bad input.


def test_empty_workspace(tmp_path):
    workspace = write_workspace(tmp_path, {})
    with pytest.raises(NextbestError, match="contains no snapshots") as error:
        build_examples(workspace, ["2020-05"])
    assert "nextbest ingest" in str(error.value)


def test_month_outside_data(tiny_workspace):
    with pytest.raises(NextbestError, match="target month 2020-07 is not in workspace") as error:
        build_examples(tiny_workspace, ["2020-07"])
    assert "it contains 2020-01..2020-05" in str(error.value)


def test_month_without_previous_snapshot(tiny_workspace):
    with pytest.raises(NextbestError, match=r"month before \(2019-12\)") as error:
        build_examples(tiny_workspace, ["2020-01"])
    assert "2020-01..2020-05" in str(error.value)


def test_month_after_gap_in_data(tmp_path):
    months = {m: rows for m, rows in TINY_MONTHS.items() if m != "2020-03"}
    workspace = write_workspace(tmp_path, months)
    with pytest.raises(NextbestError, match=r"month before \(2020-03\)") as error:
        build_examples(workspace, ["2020-04"])
    assert "2020-01..2020-02, 2020-04..2020-05" in str(error.value)


def test_previous_month_without_products(tmp_path):
    workspace = write_workspace(tmp_path, TINY_MONTHS, test_layout=("2020-04",))
    with pytest.raises(NextbestError, match="test-layout file without products") as error:
        build_examples(workspace, ["2020-05"])
    assert "2020-04 (to predict)" in str(error.value)


def test_malformed_month(tiny_workspace):
    with pytest.raises(NextbestError, match="invalid month '2020-5'"):
        build_examples(tiny_workspace, ["2020-5"])


def test_load_several_months_in_order(tiny_workspace):
    build_examples(tiny_workspace, ["2020-04", "2020-05"], lags=3)
    table = load_examples(tiny_workspace, ["2020-05", "2020-04"])
    months = [value.isoformat() for value in table.column("month").to_pylist()]

    assert months == ["2020-05-01"] * 4 + ["2020-04-01"] * 2
    assert table.column("customer_id").to_pylist() == [1, 2, 3, 4, 1, 3]


def test_load_month_not_built(tiny_workspace):
    build_examples(tiny_workspace, ["2020-05"], lags=3)
    with pytest.raises(NextbestError, match="examples of 2020-04 are not built") as error:
        load_examples(tiny_workspace, ["2020-04"])
    assert "built: 2020-05" in str(error.value)


def test_colliding_feature_name(tmp_path):
    schema = SnapshotSchema(
        name="colliding", customer_id="id", month="date",
        attributes=(Attribute("a_lag1", "integer"),), products=(Product("p_a", "a"),),
    )
    window = (WindowMonth(0, "2020-02", True, True), WindowMonth(1, "2020-01", True, True))
    with pytest.raises(NextbestError, match="two columns named 'a_lag1'"):
        feature_query(schema, window, predict=False)


# Month arithmetic.


@pytest.mark.parametrize(
    ("month", "offset", "expected"),
    [("2016-05", -1, "2016-04"), ("2016-01", -1, "2015-12"), ("2015-12", 1, "2016-01"), ("2016-05", -17, "2014-12")],
)
def test_shift_month(month, offset, expected):
    assert shift_month(month, offset) == expected


def test_query_avoids_duckdb_only_syntax():
    window = tuple(WindowMonth(k, shift_month("2020-05", -k), True, True) for k in range(4))
    sql = feature_query(TINY_SCHEMA, window, predict=False).sql

    assert "DATE '2020-05-01' AS month" in sql
    # DuckDB spellings that Spark SQL does not parse, or parses with another meaning.
    for construct in ("::", "read_parquet", "EXCLUDE", "QUALIFY", "COLUMNS(", "date_diff", "list_", '"'):
        assert construct not in sql, construct
