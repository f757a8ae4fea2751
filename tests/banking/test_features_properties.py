"""Properties of the feature step on random histories: no leakage, and agreement with a reference.

The reference is a plain-Python version of every feature, written from the definitions in
`nextbest.banking.features_sql`, and compared with the SQL on every row of random histories.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_features import write_workspace

from nextbest.banking.features import build_examples, load_examples, shift_month

MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]
TARGET = "2020-04"
LAGS = 4  # so that T-4 (2019-12) is before the data
PRODUCTS = ("a", "b", "c")
CUSTOMERS = range(1, 6)

flags = st.sampled_from([0, 1, None])


@st.composite
def snapshot_rows(draw, customer: int) -> dict:
    return {
        "customer_id": customer,
        "age": draw(st.integers(18, 90)),
        "income": draw(st.one_of(st.none(), st.floats(1000, 100_000, allow_nan=False))),
        "activity": draw(st.sampled_from([0, 1, None])),
        "relation": draw(st.sampled_from(["A", "I", None])),
        "joined": draw(st.dates(dt.date(2000, 1, 1), dt.date(2020, 6, 28))),
        "a": draw(flags),
        "b": draw(flags),
        "c": draw(flags),
    }


@st.composite
def month_rows(draw) -> list[dict]:
    present = draw(st.lists(st.booleans(), min_size=len(CUSTOMERS), max_size=len(CUSTOMERS)))
    return [draw(snapshot_rows(customer)) for customer, here in zip(CUSTOMERS, present) if here]


@st.composite
def histories(draw) -> dict[str, list[dict]]:
    return {month: draw(month_rows()) for month in MONTHS}


def examples_of(history: dict[str, list[dict]], directory: Path) -> dict[int, dict]:
    workspace = write_workspace(directory, history)
    build_examples(workspace, [TARGET], lags=LAGS)
    return {record["customer_id"]: record for record in load_examples(workspace, TARGET).to_pylist()}


@st.composite
def later_changes(draw, history: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Return `history` with new products in T and every month after T drawn afresh."""
    changed = dict(history)
    changed[TARGET] = [{**row, **{p: draw(flags) for p in PRODUCTS}} for row in history[TARGET]]
    for month in MONTHS[MONTHS.index(TARGET) + 1 :]:
        changed[month] = draw(month_rows())
    return changed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_later_values_never_change_features(data):
    # Products of month T, and every value of the months after T, are drawn afresh.
    history = data.draw(histories())
    changed = data.draw(later_changes(history))
    with tempfile.TemporaryDirectory() as before_dir, tempfile.TemporaryDirectory() as after_dir:
        before = examples_of(history, Path(before_dir))
        after = examples_of(changed, Path(after_dir))

    assert sorted(before) == sorted(after)
    for customer, row in before.items():
        for column, value in row.items():
            if not column.startswith("added_"):
                assert after[customer][column] == value, f"customer {customer}, column {column}"


# The reference implementation.


def _held(row: dict | None, product: str) -> int | None:
    if row is None:
        return None
    return row[product] or 0


def reference_examples(history: dict[str, list[dict]]) -> dict[int, dict]:
    """Return the expected row of every customer of the target month, column by column."""
    by_month = {month: {r["customer_id"]: r for r in rows} for month, rows in history.items()}
    target = by_month[TARGET]
    window = [by_month.get(shift_month(TARGET, -k), {}) for k in range(LAGS + 1)]
    expected = {}
    for customer, now in target.items():
        rows = [window[k].get(customer) for k in range(LAGS + 1)]
        if rows[1] is None:
            continue
        expected[customer] = reference_row(customer, now, rows)
    return expected


def reference_row(customer: int, now: dict, rows: list[dict | None]) -> dict:
    before = rows[1]
    joined = now["joined"]
    result = {
        "customer_id": customer,
        "month": dt.date(2020, 4, 1),
        "age": now["age"],
        "income": now["income"],
        "income_missing": int(now["income"] is None),
        "activity": now["activity"],
        "relation": now["relation"],
        "months_since_joined": (2020 - joined.year) * 12 + (4 - joined.month),
    }
    for tag, name in (("activity", "activity"), ("relation_type", "relation")):
        old = "NA" if before[name] is None else str(before[name])
        new = "NA" if now[name] is None else str(now[name])
        result[f"{tag}_transition"] = f"{old}>{new}"
        result[f"{tag}_changed"] = int(old != new)

    lags = {p: [_held(rows[k], p) for k in range(1, LAGS + 1)] for p in PRODUCTS}
    for product in PRODUCTS:
        values = lags[product]
        for k, value in enumerate(values, start=1):
            result[f"{product}_lag{k}"] = value
        pairs = [(values[j], values[j - 1]) for j in range(1, LAGS)]  # (older, newer) for j = 1..L-1
        seen = [(old, new) for old, new in pairs if old is not None and new is not None]
        result[f"{product}_adds"] = sum(old == 0 and new == 1 for old, new in seen) if seen else None
        result[f"{product}_drops"] = sum(old == 1 and new == 0 for old, new in seen) if seen else None
        changes = [j for j, (old, new) in enumerate(pairs, start=1) if None not in (old, new) and old != new]
        result[f"{product}_months_since_change"] = changes[0] if changes else None

    held1 = sum(lags[p][0] for p in PRODUCTS)
    held2 = None if lags["a"][1] is None else sum(lags[p][1] for p in PRODUCTS)
    adds = [result[f"{p}_adds"] for p in PRODUCTS]
    drops = [result[f"{p}_drops"] for p in PRODUCTS]
    present = [k for k in range(1, LAGS + 1) if rows[k] is not None]
    result.update(
        {
            "products_held_lag1": held1,
            "products_held_lag2": held2,
            "products_held_change": None if held2 is None else held1 - held2,
            "products_added_window": None if None in adds else sum(adds),
            "products_dropped_window": None if None in drops else sum(drops),
            "ownership_pattern_lag1": "".join(str(lags[p][0]) for p in PRODUCTS),
            "months_since_first_seen": max(present),
            "months_present_window": len(present),
        }
    )
    for product in PRODUCTS:
        result[f"owned_{product}"] = lags[product][0]
        result[f"added_{product}"] = int((now[product] or 0) == 1 and lags[product][0] == 0)
    return result


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_sql_matches_reference(history):
    with tempfile.TemporaryDirectory() as directory:
        built = examples_of(history, Path(directory))
    expected = reference_examples(history)

    assert sorted(built) == sorted(expected)
    for customer, row in expected.items():
        assert set(built[customer]) == set(row)
        for column, value in row.items():
            actual = built[customer][column]
            if isinstance(value, float):
                assert abs(actual - value) <= 1e-9 * abs(value), f"customer {customer}, column {column}"
            else:
                assert actual == value, f"customer {customer}, column {column}"
