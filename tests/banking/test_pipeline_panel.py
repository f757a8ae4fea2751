"""End-to-end test of `nextbest run` and `nextbest recommend` on a slice of the real Santander panel."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from nextbest.banking.recommend import ranked_indices
from nextbest.banking.schema import SnapshotSchema
from nextbest.cli.main import app
from nextbest.multilabel.metrics import ranked_map_at_k
from conftest import SANTANDER, shared_file

CUSTOMERS = 1500
TOP_K = 5

pytestmark = pytest.mark.slow


def _slice_panel(source: Path, target: Path, customers: int) -> None:
    """Copy the rows of the first `customers` customer ids of the panel, keeping its layout."""
    with gzip.open(source, "rt", newline="") as reader, gzip.open(target, "wt", newline="") as writer:
        rows = csv.reader(reader)
        out = csv.writer(writer, lineterminator="\n")
        header = next(rows)
        out.writerow(header)
        id_column = header.index("ncodpers")
        kept: set[str] = set()
        for row in rows:
            if row[id_column] not in kept and len(kept) < customers:
                kept.add(row[id_column])
            if row[id_column] in kept:
                out.writerow(row)


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    panel = shared_file(SANTANDER, "panel_2015-12_to_2016-05_may_adders.csv.gz")
    folder = tmp_path_factory.mktemp("panel_run")
    sliced = folder / "panel_slice.csv.gz"
    _slice_panel(panel, sliced, CUSTOMERS)
    workspace = folder / "ws"
    arguments = [
        "run", "--train", str(sliced), "--workspace", str(workspace),
        "--validation-month", "2016-05", "--training-months", "2016-03..2016-04",
        "--top-k", str(TOP_K), "--lags", "2", "--random-state", "3", "--no-retrain",
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return workspace, workspace / "runs" / "latest"


def test_run_writes_every_output(panel_run):
    _, run_dir = panel_run
    for name in ("metrics.json", "recommendations.parquet", "validation_recommendations.parquet",
                 "submission.csv", "report.html", "run.json", "model/recommender.json"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.parent.glob(".*.partial"))


def test_every_customer_gets_k_new_products(panel_run):
    workspace, run_dir = panel_run
    recommendations = pq.read_table(run_dir / "recommendations.parquet").to_pandas()
    snapshot = pq.read_table(workspace / "snapshots" / "2016-05.parquet").to_pandas().set_index("customer_id")
    assert set(recommendations["customer_id"]) == set(snapshot.index)
    per_customer = recommendations.groupby("customer_id")["product"]
    assert (per_customer.nunique() == TOP_K).all()
    assert (per_customer.size() == TOP_K).all()
    owned = snapshot.loc[recommendations["customer_id"]].to_numpy()
    columns = list(snapshot.columns)
    held = [owned[i, columns.index(product)] == 1 for i, product in enumerate(recommendations["product"])]
    assert not any(held)
    ranks = recommendations.groupby("customer_id")["rank"].apply(list)
    assert all(customer_ranks == list(range(1, TOP_K + 1)) for customer_ranks in ranks)


def test_metrics_within_range(panel_run):
    _, run_dir = panel_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["validation_month"] == "2016-05"
    assert 0 < metrics["customers"] <= CUSTOMERS
    # Every customer of the panel adds a product in 2016-05.
    assert metrics["customers_adding"] == metrics["customers"]
    assert metrics["max_map_at_7"] == 1.0
    for model in ("nextbest", "popularity", "lightgbm"):
        values = metrics[model]
        for name in ("map_at_7", "share_of_max", "precision_at_7", "recall_at_7", f"map_at_{TOP_K}"):
            assert 0.0 <= values[name] <= 1.0, (model, name)
        assert values["map_at_7"] <= metrics["max_map_at_7"]
        assert set(values["per_product_average_precision"]) == set(SnapshotSchema.santander().product_names)
    # Whatever was learned from 2,700 rows, history beats a ranking that ignores it.
    assert metrics["lightgbm"]["map_at_7"] > metrics["popularity"]["map_at_7"]
    assert metrics["nextbest"]["map_at_7"] > 0.5


def test_validation_file_reproduces_metrics(panel_run):
    workspace, run_dir = panel_run
    from nextbest.banking.features import load_examples
    from nextbest.banking.workspace import Workspace

    products = SnapshotSchema.santander().product_names
    examples = load_examples(Workspace(workspace), ["2016-05"]).to_pandas()
    truth = examples[[f"added_{p}" for p in products]].to_numpy()
    table = pq.read_table(run_dir / "validation_recommendations.parquet")
    ranking = ranked_indices(table, examples["customer_id"].to_numpy(), products, 7)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert ranked_map_at_k(truth, ranking, 7) == pytest.approx(metrics["nextbest"]["map_at_7"])


def test_submission_parses(panel_run):
    _, run_dir = panel_run
    columns = {product.column for product in SnapshotSchema.santander().products}
    with open(run_dir / "submission.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["ncodpers", "added_products"]
    assert len(rows) - 1 == len(pq.read_table(run_dir / "recommendations.parquet").column("customer_id").unique())
    for customer, products in rows[1:]:
        assert int(customer) > 0
        names = products.split(" ")
        assert len(names) == TOP_K
        assert set(names) <= columns


def test_run_record_and_report(panel_run):
    _, run_dir = panel_run
    record = json.loads((run_dir / "run.json").read_text())
    assert record["command"][:2] == ["nextbest", "run"]
    assert record["command"][record["command"].index("--top-k") + 1] == str(TOP_K)
    assert "--no-retrain" in record["command"]
    assert record["settings"]["top_k"] == TOP_K
    assert record["random_state"] == 3
    assert record["model"]["retrained"] is False
    assert record["model"]["trained_on"] == ["2016-03", "2016-04"]
    assert len(record["inputs"][0]["sha256"]) == 64
    assert record["library_versions"]["keras"]
    assert {"ingest", "examples", "train", "baselines", "evaluate", "recommend", "report"} <= set(record["stage_seconds"])
    assert "retrain" not in record["stage_seconds"]
    peaks = list(record["peak_memory_gib_after_stage"].values())
    assert list(record["peak_memory_gib_after_stage"]) == list(record["stage_seconds"])
    assert peaks == sorted(peaks)
    assert peaks[0] > 0
    report = (run_dir / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 4
    assert "http" not in report


def test_recommend_reproduces_run(panel_run, tmp_path):
    workspace, run_dir = panel_run
    out = tmp_path / "again.parquet"
    arguments = ["recommend", "--model", str(run_dir / "model"), "--workspace", str(workspace),
                 "--month", "2016-06", "--out", str(out), "--top-k", str(TOP_K)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output + repr(result.exception)
    again = pq.read_table(out).to_pandas()
    original = pq.read_table(run_dir / "recommendations.parquet").to_pandas()
    assert again[["customer_id", "rank", "product"]].equals(original[["customer_id", "rank", "product"]])
    assert np.allclose(again["score"], original["score"], atol=1e-6)


def test_validation_month_without_month_before(panel_run):
    workspace, run_dir = panel_run
    source = json.loads((run_dir / "run.json").read_text())["inputs"][0]["path"]
    runs_before = sorted(path.name for path in run_dir.parent.iterdir())
    arguments = ["run", "--train", source, "--workspace", str(workspace), "--validation-month", "2015-12"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code != 0
    assert "validation month 2015-12 has no month before it (2015-11)" in str(result.exception)
    assert sorted(path.name for path in run_dir.parent.iterdir()) == runs_before


def test_recommend_refuses_labelled_month(panel_run, tmp_path):
    workspace, run_dir = panel_run
    examples = workspace / "examples" / "2016-05.parquet"
    before = examples.read_bytes()
    out = tmp_path / "may.csv"
    arguments = ["recommend", "--model", str(run_dir / "model"), "--workspace", str(workspace), "--month", "2016-05", "--out", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code != 0
    assert "month 2016-05 has products" in str(result.exception)
    assert "--validation-month 2016-05" in str(result.exception)
    assert examples.read_bytes() == before
    assert not out.exists()
