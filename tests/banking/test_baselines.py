"""Tests of the popularity and LightGBM baselines on small data with known results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbest.banking.baselines import LightGBMRanker, PopularityRanker, baseline_features


def test_popularity_counts_additions():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0]])
    ranker = PopularityRanker().fit(None, Y)
    assert ranker.additions_.tolist() == [3.0, 2.0, 0.0]
    scores = ranker.predict_proba(np.zeros((2, 1)))
    assert scores.shape == (2, 3)
    assert np.allclose(scores[0], [0.6, 0.4, 0.0])
    assert np.array_equal(scores[0], scores[1])


def test_popularity_uses_sample_weight():
    Y = np.array([[1, 0], [0, 1], [0, 1]])
    ranker = PopularityRanker().fit(None, Y, sample_weight=[5.0, 1.0, 1.0])
    assert ranker.additions_.tolist() == [5.0, 2.0]


def test_popularity_round_trip():
    ranker = PopularityRanker().fit(None, np.array([[1, 0], [1, 1]]))
    restored = PopularityRanker.from_dict(ranker.to_dict())
    assert np.array_equal(restored.predict_proba(np.zeros((1, 1))), ranker.predict_proba(np.zeros((1, 1))))


def test_popularity_without_additions_scores_zero():
    ranker = PopularityRanker().fit(None, np.zeros((3, 2)))
    assert np.array_equal(ranker.predict_proba(np.zeros((1, 1))), np.zeros((1, 2)))


def _toy_bank(n: int = 600, seed: int = 0):
    """Product 0 is added exactly when x > 0 and product 1 when the segment is 'b'."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(size=n), "segment": pd.Categorical(rng.choice(["a", "b"], size=n))})
    Y = np.column_stack([(X["x"] > 0).astype(int), (X["segment"] == "b").astype(int), np.zeros(n, dtype=int)])
    owned = np.zeros_like(Y)
    return X, Y, owned


def test_lightgbm_learns_each_product():
    X, Y, owned = _toy_bank()
    ranker = LightGBMRanker(n_estimators=30, n_jobs=1).fit(X, Y, owned)
    scores = ranker.predict_proba(X)
    assert scores.shape == (len(X), 3)
    assert ((scores[:, 0] > 0.5) == (Y[:, 0] == 1)).mean() > 0.97
    assert ((scores[:, 1] > 0.5) == (Y[:, 1] == 1)).mean() > 0.97


def test_lightgbm_product_never_added_scores_zero():
    X, Y, owned = _toy_bank()
    ranker = LightGBMRanker(n_estimators=10, n_jobs=1).fit(X, Y, owned)
    assert ranker.models_[2] is None
    assert np.all(ranker.predict_proba(X)[:, 2] == 0)


def test_lightgbm_ignores_rows_owning_product():
    # Owned rows carry the opposite of the rule; a model that trained on them would be wrong.
    X, Y, owned = _toy_bank()
    held = np.arange(len(X)) % 2 == 0
    Y = Y.copy()
    owned[:, 0] = held
    Y[held, 0] = 1 - Y[held, 0]
    ranker = LightGBMRanker(n_estimators=30, n_jobs=1).fit(X, Y, owned)
    free = ~held
    predicted = ranker.predict_proba(X)[free, 0] > 0.5
    assert (predicted == (X["x"][free] > 0)).mean() > 0.95


def test_lightgbm_skips_owned_entries():
    X, Y, owned = _toy_bank()
    ranker = LightGBMRanker(n_estimators=30, n_jobs=2).fit(X, Y, owned)
    held = np.zeros_like(Y)
    held[::3, 0] = 1
    held[1::4, 1] = 1
    full = ranker.predict_proba(X)
    partial = ranker.predict_proba(X, held)
    assert np.all(partial[held == 1] == 0)
    np.testing.assert_allclose(partial[held == 0], full[held == 0])
    with pytest.raises(ValueError, match="owned must have shape"):
        ranker.predict_proba(X, held[:, :2])


def test_lightgbm_requires_matching_shapes():
    X, Y, owned = _toy_bank(50)
    with pytest.raises(ValueError, match=r"owned of shape \(10, 3\)"):
        LightGBMRanker(n_estimators=5, n_jobs=1).fit(X, Y, owned[:10])


def test_lightgbm_reads_only_given_features():
    # The "noise" column copies the label of product 1, so a model reading it would be perfect.
    X, Y, owned = _toy_bank()
    X["noise"] = Y[:, 1]
    ranker = LightGBMRanker(n_estimators=10, n_jobs=1, features=["x"]).fit(X, Y, owned)
    assert ranker.models_[0].n_features_in_ == 1
    assert ranker.models_[1].n_features_in_ == 1
    assert ranker.predict_proba(X).shape == (len(X), 3)


def test_lightgbm_missing_feature_raises():
    X, Y, owned = _toy_bank(50)
    with pytest.raises(ValueError, match="lacks 1 of the baseline's features"):
        LightGBMRanker(n_estimators=5, n_jobs=1, features=["x", "absent"]).fit(X, Y, owned)


def test_baseline_features_lags_and_tagged_attributes():
    from nextbest.banking.schema import SnapshotSchema

    schema = SnapshotSchema.santander()
    names = [
        "age", "antiguedad", "renta", "segmento", "sexo", "canal_entrada", "ind_actividad_cliente", "tiprel_1mes",
        "nomprov", "ind_empleado", "indrel_1mes", "cco_fin_lag1", "cco_fin_lag3", "recibo_lag2", "cco_fin_adds",
        "cco_fin_months_since_change", "products_held_lag1", "ownership_pattern_lag1", "months_present_window",
    ]
    chosen = baseline_features(names, schema)
    assert chosen == names[:9] + ["cco_fin_lag1", "cco_fin_lag3", "recibo_lag2"]
