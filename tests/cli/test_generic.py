"""Tests of `nextbest fit`, `predict` and `evaluate` on the real MULAN emotions split."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import MULTILABEL, shared_file
from nextbest.cli.main import app
from nextbest.errors import InputFileError, NextbestError
from nextbest.multilabel.metrics import multilabel_report
from nextbest.multilabel.readers import read_table

runner = CliRunner()
SMALL_NET = ["--epochs", "3", "--hidden-units", "16", "--batch-size", "64", "--random-state", "1"]


def invoke(args):
    """Run the command line in-process; user errors come back as result.exception."""
    return runner.invoke(app, ["--quiet", *args], catch_exceptions=True)


@pytest.fixture(scope="module")
def emotions_model(tmp_path_factory):
    train = shared_file(MULTILABEL, "emotions-train.arff")
    model = tmp_path_factory.mktemp("models") / "emotions"
    result = invoke(["fit", str(train), "--labels-xml", str(MULTILABEL / "emotions.xml"), "--model", str(model), *SMALL_NET])
    assert result.exit_code == 0, result.output
    return model


def test_fit_writes_model_and_validation_metrics(emotions_model):
    assert (emotions_model / "nextbest-model.json").is_file()
    state = json.loads((emotions_model / "nextbest-model.json").read_text())
    assert "amazed-suprised" in json.dumps(state)


def test_predict_columns_follow_labels(emotions_model, multilabel_dir, tmp_path):
    out = tmp_path / "scores.parquet"
    result = invoke(["predict", str(multilabel_dir / "emotions-test.arff"), "--model", str(emotions_model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = pd.read_parquet(out)
    labels = read_table(multilabel_dir / "emotions-test.arff", labels_last=6).label_names
    assert list(scores.columns) == [f"proba_{name}" for name in labels] + [f"pred_{name}" for name in labels]
    assert len(scores) == 202
    probabilities = scores.filter(like="proba_").to_numpy()
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert set(np.unique(scores.filter(like="pred_").to_numpy())) <= {0, 1}
    assert [path.name for path in tmp_path.iterdir()] == ["scores.parquet"]


def test_evaluate_json_matches_predictions(emotions_model, multilabel_dir, tmp_path):
    test_file = multilabel_dir / "emotions-test.arff"
    predictions, metrics = tmp_path / "p.csv", tmp_path / "m.json"
    assert invoke(["predict", str(test_file), "--model", str(emotions_model), "--out", str(predictions)]).exit_code == 0
    result = invoke(["evaluate", str(test_file), "--model", str(emotions_model), "--out", str(metrics), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "Hamming loss" in result.stdout
    assert "angry-aggresive" in result.stdout

    report = json.loads(metrics.read_text())
    truth = read_table(test_file, labels_last=6)
    scores = pd.read_csv(predictions)
    expected = multilabel_report(
        truth.labels, scores.filter(like="pred_").to_numpy(), scores.filter(like="proba_").to_numpy(),
        labels=truth.label_names, k=3,
    )
    assert report["k"] == 3
    assert report["hamming_loss"] == pytest.approx(expected["hamming_loss"])
    assert report["map_at_k"] == pytest.approx(expected["map_at_k"], rel=1e-5)
    assert set(report["per_label"]) == set(truth.label_names)
    assert report["per_label"]["sad-lonely"]["support"] == int(truth.labels[:, 4].sum())


def test_predict_keeps_id_and_skips_extra_columns(emotions_model, multilabel_dir, tmp_path):
    test_table = read_table(multilabel_dir / "emotions-test.arff", labels_last=6)
    frame = test_table.features.copy()
    frame.insert(0, "id", np.arange(100, 100 + len(frame)))
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "out.csv"
    result = invoke(["predict", str(tmp_path / "t.csv"), "--model", str(emotions_model), "--out", str(out), "--keep", "id"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert list(scores.columns[:2]) == ["id", "proba_amazed-suprised"]
    assert scores["id"].tolist() == list(range(100, 302))


def test_fit_rejects_unknown_ignored_column(multilabel_dir, tmp_path):
    train = multilabel_dir / "emotions-train.arff"
    result = invoke(["fit", str(train), "--labels-last", "6", "--ignore", "id", "--model", str(tmp_path / "m")])
    assert isinstance(result.exception, InputFileError)
    assert "1 ignored column(s) not found: 'id'" in str(result.exception)


def test_fit_rejects_non_binary_label(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,0\n2,1\n3,2\n")
    result = invoke(["fit", str(tmp_path / "t.csv"), "--labels", "y", "--model", str(tmp_path / "m")])
    assert isinstance(result.exception, InputFileError)
    assert "column 'y'" in str(result.exception)
    assert "other than 0 and 1: 2;" in str(result.exception)
    assert not (tmp_path / "m").exists()


def test_fit_needs_one_label_option(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,0\n")
    result = invoke(["fit", str(tmp_path / "t.csv"), "--model", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "exactly one of --labels, --labels-last or --labels-xml" in " ".join(result.output.replace("│", " ").split())


def test_predict_rejects_unknown_output_extension(emotions_model, multilabel_dir, tmp_path):
    result = invoke(["predict", str(multilabel_dir / "emotions-test.arff"), "--model", str(emotions_model), "--out", str(tmp_path / "p.txt")])
    assert isinstance(result.exception, NextbestError)
    assert "must end in .csv or .parquet" in str(result.exception)


def test_user_error_exits_1_without_traceback(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,0\n2,yes\n")
    completed = subprocess.run(
        [sys.executable, "-m", "nextbest", "fit", str(tmp_path / "t.csv"), "--labels", "y", "--model", str(tmp_path / "m")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 1
    assert "error:" in completed.stderr
    assert "'yes'" in completed.stderr
    assert "Traceback" not in completed.stderr
