"""The feature step on the real Santander panel (2015-12 .. 2016-05), checked with pandas.

Every customer of the panel added at least one product in 2016-05. The panel goes through
`nextbest.banking.ingest`; the checks compute the same figures from the raw CSV with pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from conftest import SANTANDER, shared_file

from nextbest.banking.features import build_examples, load_examples
from nextbest.banking.ingest import ingest
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.workspace import Workspace

TARGET = "2016-05"
LAGS = 5
PANEL_MONTHS = ["2015-12", "2016-01", "2016-02", "2016-03", "2016-04", "2016-05"]


@pytest.fixture(scope="module")
def panel_path() -> Path:
    return shared_file(SANTANDER, "panel_2015-12_to_2016-05_may_adders.csv.gz")


@pytest.fixture(scope="module")
def panel_examples(panel_path, tmp_path_factory):
    directory = tmp_path_factory.mktemp("panel") / "workspace"
    ingest([panel_path], directory)
    workspace = Workspace(directory)
    summary = build_examples(workspace, [TARGET], lags=LAGS)
    return summary, load_examples(workspace, TARGET).to_pandas()


@pytest.fixture(scope="module")
def raw_products(panel_path) -> dict[str, pd.DataFrame]:
    """Return the 0/1 products of each month from the raw CSV, indexed by customer, with short names."""
    schema = SnapshotSchema.santander()
    columns = [p.column for p in schema.products]
    options = pa_csv.ConvertOptions(
        include_columns=["fecha_dato", "ncodpers", *columns],
        column_types={"fecha_dato": pa.string(), "ncodpers": pa.int64(), **dict.fromkeys(columns, pa.float64())},
    )
    raw = pa_csv.read_csv(panel_path, convert_options=options).to_pandas()
    flags = raw[columns].fillna(0)
    flags.columns = schema.product_names
    flags.index = raw["ncodpers"]
    months = raw["fecha_dato"].str[:7].to_numpy()
    return {month: flags[months == month] for month in PANEL_MONTHS}


def test_panel_population_all_adding(panel_examples):
    summary, examples = panel_examples
    month = summary.months[0]

    assert month.customers == 19_434
    assert len(examples) == 19_434
    assert month.customers_adding == 19_434
    added = examples[[c for c in examples.columns if c.startswith("added_")]].sum(axis=1)
    assert (added >= 1).all()


def test_panel_additions_match_pandas(panel_examples, raw_products):
    summary, _ = panel_examples
    may = raw_products["2016-05"]
    april = raw_products["2016-04"]
    both = may.index.intersection(april.index)
    expected = ((may.loc[both] == 1) & (april.loc[both] == 0)).sum()

    assert len(both) == 19_434
    assert summary.months[0].additions == {p: int(expected[p]) for p in expected.index}


def test_panel_lags_match_raw_flags(panel_examples, raw_products):
    _, examples = panel_examples
    examples = examples.set_index("customer_id")
    for k in range(1, LAGS + 1):
        month = PANEL_MONTHS[-1 - k]
        flags = raw_products[month].reindex(examples.index)
        for product in flags.columns:
            lag = examples[f"{product}_lag{k}"].astype(float)
            assert lag.isna().equals(flags[product].isna()), f"{product}_lag{k}: absent months"
            assert (lag.dropna() == flags[product].dropna()).all(), f"{product}_lag{k}: values"


def test_panel_window_changes_match_pandas(panel_examples, raw_products):
    _, examples = panel_examples
    examples = examples.set_index("customer_id")
    # Months T-1 .. T-5, newest first, absent customers as NaN.
    history = [raw_products[m].reindex(examples.index) for m in reversed(PANEL_MONTHS[:-1])]
    for product in history[0].columns:
        newer = np.column_stack([h[product].to_numpy() for h in history[:-1]])
        older = np.column_stack([h[product].to_numpy() for h in history[1:]])
        assert examples[f"{product}_adds"].sum() == ((older == 0) & (newer == 1)).sum(), product
        assert examples[f"{product}_drops"].sum() == ((older == 1) & (newer == 0)).sum(), product


def test_panel_transitions_all_unchanged(panel_examples):
    # The panel repeats each customer's 2016-05 attributes in every month.
    _, examples = panel_examples
    assert examples["activity_changed"].sum() == 0
    assert examples["relation_type_changed"].sum() == 0
    assert examples["activity_transition"].notna().all()
