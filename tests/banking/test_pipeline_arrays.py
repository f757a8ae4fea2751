"""Tests of the model inputs built from examples tables, and of the rows the network trains on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from nextbest.banking.example_arrays import concat_arrays, example_arrays
from nextbest.banking.features_sql import CATEGORICAL, NUMERIC, FeatureColumn
from nextbest.banking.run_steps import network_rows

PRODUCTS = ["a", "b"]
FEATURES = (FeatureColumn("age", NUMERIC), FeatureColumn("segment", CATEGORICAL), FeatureColumn("a_lag1", NUMERIC))


def _examples(segments, lag_a, added_a, predict=False) -> pa.Table:
    n = len(segments)
    return pa.table(
        {
            "customer_id": pa.array(range(1, n + 1), pa.int64()),
            "month": pa.array([dt.date(2016, 5, 1)] * n, pa.date32()),
            "age": pa.array([30.0] * n),
            "segment": pa.array(segments, pa.string()),
            "a_lag1": pa.array(lag_a, pa.int8()),
            "b_lag1": pa.array(lag_a, pa.int8()),
            "owned_a": pa.array([None if v is None else v for v in lag_a], pa.int8()),
            "owned_b": pa.array([0] * n, pa.int8()),
            "added_a": pa.array([None] * n if predict else added_a, pa.int8()),
            "added_b": pa.array([None] * n if predict else [0] * n, pa.int8()),
        }
    )


def test_arrays_of_labelled_month():
    data = example_arrays(_examples(["x", "y", None], [1, 0, None], [0, 1, 1]), FEATURES, PRODUCTS)
    assert data.X.columns.tolist() == ["age", "segment", "a_lag1"]
    assert str(data.X["segment"].dtype) == "category"
    assert data.Y.tolist() == [[0, 0], [1, 0], [1, 0]]
    assert data.owned.tolist() == [[1, 0], [0, 0], [0, 0]]
    assert data.no_history.tolist() == [False, False, True]
    assert data.months.tolist() == ["2016-05"] * 3


def test_arrays_of_month_to_predict_have_no_labels():
    data = example_arrays(_examples(["x"], [1], [0], predict=True), FEATURES, PRODUCTS)
    assert data.Y is None
    assert data.owned.tolist() == [[1, 0]]


def test_concat_keeps_categories_of_both_parts():
    first = example_arrays(_examples(["x", "y"], [1, 0], [0, 1]), FEATURES, PRODUCTS)
    second = example_arrays(_examples(["z"], [0], [1]), FEATURES, PRODUCTS)
    both = concat_arrays([first, second.subset(np.array([0]))])
    assert str(both.X["segment"].dtype) == "category"
    assert both.X["segment"].tolist() == ["x", "y", "z"]
    assert both.Y.tolist() == [[0, 0], [1, 0], [1, 0]]
    assert len(both) == 3


def test_softmax_network_trains_only_on_rows_that_add():
    data = example_arrays(_examples(["x", "y", "x", "y"], [0, 0, 1, 0], [1, 0, 0, 1]), FEATURES, PRODUCTS)
    assert network_rows(data, "softmax").tolist() == [0, 3]
    assert network_rows(data, "bce").tolist() == [0, 1, 2, 3]


def test_softmax_network_without_adding_rows_keeps_every_row(caplog):
    data = example_arrays(_examples(["x", "y"], [0, 0], [0, 0]), FEATURES, PRODUCTS)
    assert network_rows(data, "softmax").tolist() == [0, 1]
    assert "no training row adds a product" in caplog.text


def test_label_matrix_reads_nulls_as_zero():
    from nextbest.banking.example_arrays import label_matrix

    table = _examples(["x", "y", "z"], [1, 0, None], [0, 1, None])
    assert label_matrix(table, PRODUCTS).tolist() == [[0, 0], [1, 0], [0, 0]]
    assert label_matrix(table, PRODUCTS).dtype == np.int8


def test_sampled_rows_taken_before_conversion_match_subset():
    # Taking the sampled rows from the Arrow table must give the arrays that subsetting the whole
    # month's arrays gives, which is how training rows were chosen before.
    from nextbest.banking.example_arrays import label_matrix
    from nextbest.banking.run_months import sample_population

    rng = np.random.default_rng(0)
    n = 400
    table = _examples(
        rng.choice(["x", "y", "z", None], n).tolist(), rng.integers(0, 2, n).tolist(), (rng.random(n) < 0.1).astype(int).tolist()
    )
    rows, _ = sample_population(label_matrix(table, PRODUCTS), 100, random_state=0)
    taken = concat_arrays([example_arrays(table.take(rows), FEATURES, PRODUCTS)])
    subset = concat_arrays([example_arrays(table, FEATURES, PRODUCTS).subset(rows)])
    assert len(taken) < n
    assert taken.X.equals(subset.X)
    assert np.array_equal(taken.Y, subset.Y)
    assert np.array_equal(taken.owned, subset.owned)
    assert np.array_equal(taken.customer_ids, subset.customer_ids)
