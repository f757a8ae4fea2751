"""Saving a fitted MultiLabelNet to a directory and loading it back."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nextbest  # noqa: F401  (selects the JAX backend before Keras is imported)

import jax
import numpy as np
import pandas as pd
import pytest

from nextbest.errors import NextbestError
from nextbest.multilabel import ColumnMismatchError, MultiLabelNet
from nextbest.multilabel import saving

jax.config.update("jax_compilation_cache_dir", str(Path(tempfile.gettempdir()) / "nextbest-test-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=n),
            "income": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "channel": rng.choice(["KAT", "KFC", "KHE", "rare"], size=n, p=[0.4, 0.3, 0.29, 0.01]),
        }
    )
    Y = pd.DataFrame({"cco_fin": (X.age > 40).astype(int), "recibo": (X.channel == "KAT").astype(int)})
    net = MultiLabelNet(hidden_units=(8,), epochs=3, batch_size=64, loss="focal", pos_weight="balanced", random_state=0)
    net.fit(X, Y, validation_data=(X, Y))
    return net, X


def test_round_trip_keeps_predictions(fitted, tmp_path):
    net, X = fitted
    net.save(tmp_path / "model")
    loaded = MultiLabelNet.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(loaded.thresholds_, net.thresholds_)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.labels_ == ["cco_fin", "recibo"]
    assert loaded.get_params() == net.get_params()
    assert list(loaded.feature_names_in_) == ["age", "income", "channel"]
    assert loaded.best_epoch_ == net.best_epoch_


def test_saved_state_describes_model(fitted, tmp_path):
    net, _ = fitted
    net.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.keras", "nextbest-model.json"]
    state = json.loads((tmp_path / "model" / "nextbest-model.json").read_text())
    assert state["format_version"] == saving.FORMAT_VERSION
    assert state["input_schema"] == [
        {"name": "age", "kind": "numeric"},
        {"name": "income", "kind": "numeric"},
        {"name": "channel", "kind": "categorical"},
    ]
    channel = state["preprocessing"]["columns"][2]
    assert channel["vocabulary"] == ["KAT", "KFC", "KHE"]
    assert state["preprocessing"]["columns"][1]["missing_indicator"] is True
    assert set(state["versions"]) == {"python", "nextbest", "keras", "keras_backend", "jax", "numpy"}
    assert state["versions"]["keras_backend"] == "jax"
    assert state["labels"] == ["cco_fin", "recibo"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda X: X.drop(columns="income"), "1 missing: 'income'"),
        (lambda X: X.assign(extra=1.0), "1 extra: 'extra'"),
        (lambda X: X[["income", "age", "channel"]], "2 out of order: 'age', 'income'"),
    ],
)
def test_loaded_model_reports_column_drift(fitted, tmp_path, change, expected):
    net, X = fitted
    net.save(tmp_path / "model")
    loaded = MultiLabelNet.load(tmp_path / "model")
    with pytest.raises(ColumnMismatchError, match=expected):
        loaded.predict_proba(change(X))


def test_save_replaces_earlier_model(fitted, tmp_path):
    net, X = fitted
    target = tmp_path / "model"
    net.save(target)
    (target / "nextbest-model.json").write_text(json.dumps({"format_version": 1, "stale": True}))
    net.save(target)
    assert "stale" not in json.loads((target / "nextbest-model.json").read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_save_refuses_foreign_directory(fitted, tmp_path):
    net, _ = fitted
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(NextbestError, match="exists and is not a nextbest model directory"):
        net.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_failed_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    net, _ = fitted

    def broken_state(_net):
        raise RuntimeError("disk full")

    monkeypatch.setattr(saving, "_state", broken_state)
    with pytest.raises(RuntimeError, match="disk full"):
        net.save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_non_model_directory(tmp_path):
    with pytest.raises(NextbestError, match="is not a nextbest model directory: it must hold nextbest-model.json"):
        MultiLabelNet.load(tmp_path)


def test_load_rejects_newer_format(fitted, tmp_path):
    net, _ = fitted
    net.save(tmp_path / "model")
    state_file = tmp_path / "model" / "nextbest-model.json"
    state = json.loads(state_file.read_text())
    state["format_version"] = saving.FORMAT_VERSION + 1
    state_file.write_text(json.dumps(state))
    with pytest.raises(NextbestError, match="newer than this nextbest"):
        MultiLabelNet.load(tmp_path / "model")


def test_save_before_fit_raises(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MultiLabelNet().save(tmp_path / "model")
