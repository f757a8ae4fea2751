"""Tests of ranking, recommendation tables, submission files and the run directory."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nextbest.banking.evaluation import calibration_bins, model_metrics
from nextbest.banking.recommend import ranked_indices, recommendation_table, with_popularity_fallback
from nextbest.banking.run_months import parse_month_range, sample_population
from nextbest.banking.run_outputs import RunDirectory, json_ready, resolve_run
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.submission import write_submission
from nextbest.errors import NextbestError
from nextbest.multilabel.metrics import map_at_k, ranked_map_at_k

PRODUCTS = ["a", "b", "c", "d"]


def test_table_ranks_by_score_excluding_owned():
    scores = np.array([[0.1, 0.9, 0.5, 0.3], [0.4, 0.4, 0.2, 0.8]])
    owned = np.array([[0, 1, 0, 0], [0, 0, 0, 0]])
    table = recommendation_table([11, 12], scores, owned, PRODUCTS, k=2).to_pydict()
    assert table["customer_id"] == [11, 11, 12, 12]
    assert table["rank"] == [1, 2, 1, 2]
    assert table["product"] == ["c", "d", "d", "a"]
    assert table["score"] == [0.5, 0.3, 0.8, 0.4]


def test_table_breaks_ties_by_product_order():
    table = recommendation_table([1], np.array([[0.2, 0.2, 0.2, 0.2]]), np.zeros((1, 4)), PRODUCTS, k=4)
    assert table.column("product").to_pylist() == ["a", "b", "c", "d"]


def test_table_leaves_out_unfillable_places():
    owned = np.array([[1, 1, 1, 0]])
    table = recommendation_table([5], np.ones((1, 4)), owned, PRODUCTS, k=3)
    assert table.column("product").to_pylist() == ["d"]
    assert table.column("rank").to_pylist() == [1]


def test_fallback_replaces_rows_without_history():
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    result = with_popularity_fallback(scores, np.array([False, True]), np.array([1.0, 0.0, 0.0, 0.0]))
    assert result[0].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert result[1].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert scores[1].tolist() == [0.4, 0.3, 0.2, 0.1]


@settings(max_examples=40, deadline=None)
@given(
    truth=arrays(np.int8, (6, 4), elements=st.integers(0, 1)),
    scores=arrays(np.float64, (6, 4), elements=st.floats(0, 1)),
    owned=arrays(np.int8, (6, 4), elements=st.integers(0, 1)),
    k=st.integers(1, 5),
)
def test_metrics_recomputable_from_table(truth, scores, owned, k):
    truth = truth * (1 - owned)  # an owned product cannot be added
    customers = np.arange(100, 106)
    table = recommendation_table(customers, scores, owned, PRODUCTS, k)
    ranking = ranked_indices(table, customers, PRODUCTS, k)
    assert ranked_map_at_k(truth, ranking, k) == pytest.approx(map_at_k(truth, scores, k, exclude=owned))


def test_ranked_indices_rejects_unknown_product():
    table = pa.table({"customer_id": [1], "rank": pa.array([1], pa.int32()), "product": ["zzz"], "score": [0.5]})
    with pytest.raises(NextbestError, match="zzz"):
        ranked_indices(table, [1], PRODUCTS, 1)


def test_model_metrics_known_values():
    Y = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.0, 0.0], [0.9, 0.8, 0.7, 0.0], [0.5, 0.5, 0.5, 0.5]])
    owned = np.zeros_like(Y)
    result = model_metrics(Y, scores, owned, PRODUCTS, k=7)
    # AP@7 per customer: 1, 1/3, 0 (adds nothing); maximum 2/3.
    assert result["map_at_7"] == pytest.approx((1 + 1 / 3) / 3)
    assert result["share_of_max"] == pytest.approx((1 + 1 / 3) / 2)
    assert result["per_product_average_precision"]["b"] is None
    assert result["per_product_average_precision"]["a"] == pytest.approx(1 / 2)
    assert "map_at_3" not in result


def test_model_metrics_adds_k_when_not_seven():
    Y = np.array([[1, 0, 0, 0]])
    result = model_metrics(Y, np.array([[0.1, 0.9, 0.0, 0.0]]), np.zeros_like(Y), PRODUCTS, k=1)
    assert result["map_at_1"] == 0.0
    assert result["map_at_7"] == pytest.approx(0.5)
    assert result["precision_at_1"] == 0.0


def test_calibration_bins_cover_free_pairs():
    Y = np.array([[1, 0], [0, 0], [1, 1]])
    owned = np.array([[0, 1], [0, 0], [0, 0]])
    bins = calibration_bins(Y, np.array([[0.9, 0.5], [0.1, 0.2], [0.8, 0.7]]), owned, bins=5)
    assert sum(b["pairs"] for b in bins) == 5
    assert bins[-1]["mean_score"] == pytest.approx(0.9)
    assert bins[0]["addition_rate"] == 0.0


def test_submission_format(tmp_path):
    schema = SnapshotSchema.santander()
    products = schema.product_names
    table = recommendation_table([7, 3], np.tile(np.arange(24, dtype=float), (2, 1)), np.zeros((2, 24)), products, 2)
    path = write_submission(table, schema, tmp_path / "submission.csv", customer_ids=[7, 3, 9])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["ncodpers", "added_products"]
    assert rows[1] == ["7", f"{schema.products[23].column} {schema.products[22].column}"]
    assert rows[2][0] == "3"
    assert rows[3] == ["9", ""]
    assert not list(tmp_path.glob(".*"))


def test_run_directory_finish_points_latest(tmp_path):
    first = RunDirectory(tmp_path / "runs", run_id="one")
    first.write_json("metrics.json", {"value": float("nan"), "n": np.int64(3)})
    assert not (tmp_path / "runs" / "one").exists()
    first.finish()
    assert json.loads((tmp_path / "runs" / "one" / "metrics.json").read_text()) == {"value": None, "n": 3}
    second = RunDirectory(tmp_path / "runs", run_id="two")
    second.finish()
    assert resolve_run(tmp_path / "runs") == (tmp_path / "runs" / "two").resolve()
    assert resolve_run(tmp_path / "runs", "one") == (tmp_path / "runs" / "one").resolve()


def test_run_directory_discard_leaves_nothing(tmp_path):
    output = RunDirectory(tmp_path / "runs", run_id="failed")
    output.write_json("metrics.json", {})
    output.discard()
    assert list((tmp_path / "runs").iterdir()) == []


def test_run_directory_rejects_existing_id(tmp_path):
    RunDirectory(tmp_path / "runs", run_id="same").finish()
    with pytest.raises(NextbestError, match="exists"):
        RunDirectory(tmp_path / "runs", run_id="same")


def test_resolve_run_reads_text_pointer(tmp_path):
    (tmp_path / "abc").mkdir()
    (tmp_path / "latest").write_text("abc\n")
    assert resolve_run(tmp_path) == (tmp_path / "abc").resolve()
    with pytest.raises(NextbestError, match="not found"):
        resolve_run(tmp_path, "nope")


def test_json_ready_nested():
    assert json_ready({"a": [np.float32(0.5), float("inf")], 1: (np.int8(2),)}) == {"a": [0.5, None], "1": [2]}


def test_parse_month_range():
    assert parse_month_range("2015-11..2016-02") == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert parse_month_range("2016-05") == ["2016-05"]
    with pytest.raises(NextbestError, match="ends before it starts"):
        parse_month_range("2016-05..2016-01")
    with pytest.raises(NextbestError, match="YYYY-MM"):
        parse_month_range("2016-5..2016-06")


def test_sample_population_keeps_small_sets():
    rows, weights = sample_population(np.zeros((10, 2)), 100, 0)
    assert rows.tolist() == list(range(10))
    assert weights.tolist() == [1.0] * 10


def test_sample_population_keeps_adders_and_reweights():
    Y = np.zeros((10_000, 2), dtype=int)
    Y[:500, 0] = 1
    rows, weights = sample_population(Y, 2_500, 0)
    assert set(range(500)) <= set(rows.tolist())
    assert np.all(weights[:500] == 1.0)
    others = weights[500:]
    assert len(rows) == pytest.approx(2_500, rel=0.05)
    assert np.allclose(others, others[0])
    # The weighted count of customers adding nothing estimates the true count, 9,500.
    assert others.sum() == pytest.approx(9_500, rel=0.05)
