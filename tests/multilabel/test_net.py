"""MultiLabelNet: learning, reproducibility, masking, early stopping, top-k and input checks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nextbest  # noqa: F401  (selects the JAX backend before Keras is imported)

import jax
import keras
import numpy as np
import pandas as pd
import pytest
from rich.progress import Progress

from nextbest.multilabel import MultiLabelNet
from nextbest.multilabel.losses import MaskedBinaryCrossentropy, MaskedFocalLoss, MaskedSoftmaxRanking
from nextbest.multilabel.ranking import top_k_labels
from nextbest.multilabel.tables import InvalidInputError

jax.config.update("jax_compilation_cache_dir", str(Path(tempfile.gettempdir()) / "nextbest-test-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def known_structure(n_rows: int, seed: int):
    """Features and four labels, each a fixed rule of the features (so a model can learn it)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x0": rng.normal(size=n_rows),
            "x1": rng.normal(size=n_rows),
            "x2": rng.normal(size=n_rows),
            "x3": rng.normal(size=n_rows),
            "segment": rng.choice(["a", "b", "c", "d"], size=n_rows),
        }
    )
    X.loc[rng.random(n_rows) < 0.1, "x3"] = np.nan
    Y = pd.DataFrame(
        {
            "sum_positive": (X.x0 + X.x1 > 0).astype(int),
            "segment_ab": X.segment.isin(["a", "b"]).astype(int),
            "product_positive": (X.x0 * X.x2 > 0).astype(int),
            "x3_missing": X.x3.isna().astype(int),
        }
    )
    return X, Y


def mean_bce(Y, probabilities):
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return float(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)))


@pytest.fixture(scope="module")
def trained():
    X, Y = known_structure(3000, seed=0)
    X_val, Y_val = known_structure(1000, seed=1)
    net = MultiLabelNet(hidden_units=(32, 16), epochs=25, batch_size=256, random_state=0, patience=4)
    net.fit(X, Y, validation_data=(X_val, Y_val))
    return net, X_val, Y_val


def test_learns_known_structure(trained):
    net, X_val, Y_val = trained
    probabilities = net.predict_proba(X_val)
    constant = np.broadcast_to(Y_val.to_numpy().mean(axis=0), Y_val.shape)
    assert probabilities.shape == (1000, 4)
    assert probabilities.dtype == np.float32
    assert mean_bce(Y_val.to_numpy(), probabilities) < 0.5 * mean_bce(Y_val.to_numpy(), constant)
    hamming = np.mean(net.predict(X_val) != Y_val.to_numpy())
    constant_hamming = np.mean((constant >= 0.5) != Y_val.to_numpy())
    assert hamming < 0.5 * constant_hamming


def test_fitted_attributes(trained):
    net, X_val, _ = trained
    assert net.labels_ == ["sum_positive", "segment_ab", "product_positive", "x3_missing"]
    assert list(net.feature_names_in_) == list(X_val.columns)
    assert net.n_features_in_ == 5
    assert net.thresholds_.shape == (4,)
    assert not np.allclose(net.thresholds_, 0.5)
    assert set(net.history_) >= {"loss", "val_loss", "learning_rate"}


def test_best_epoch_weights_restored(trained):
    net, X_val, Y_val = trained
    val_losses = net.history_["val_loss"]
    assert net.best_epoch_ == int(np.argmin(val_losses)) + 1
    current = mean_bce(Y_val.to_numpy(), net.predict_proba(X_val))
    assert current == pytest.approx(min(val_losses), rel=1e-3)


def test_predict_applies_thresholds(trained):
    net, X_val, _ = trained
    probabilities = net.predict_proba(X_val)
    np.testing.assert_array_equal(net.predict(X_val), probabilities >= net.thresholds_)


def test_top_k_of_model_matches_probabilities(trained):
    net, X_val, _ = trained
    exclude = np.zeros((len(X_val), 4), dtype=bool)
    exclude[:, 1] = True
    indices, scores = net.top_k(X_val, k=2, exclude=exclude)
    assert indices.shape == scores.shape == (len(X_val), 2)
    assert not np.any(indices == 1)
    probabilities = net.predict_proba(X_val)
    np.testing.assert_array_equal(scores, np.take_along_axis(probabilities, indices, axis=1))
    assert np.all(scores[:, 0] >= scores[:, 1])


def test_top_k_accepts_owned_columns_table(trained):
    net, X_val, _ = trained
    owned = pd.DataFrame(np.zeros((len(X_val), 4), dtype=np.int8), columns=[f"owned_{i}" for i in range(4)])
    owned.iloc[:, 0] = 1
    indices, _ = net.top_k(X_val, k=4, exclude=owned)
    assert not np.any(indices == 0)
    assert np.all(indices[:, 3] == -1)


def test_tune_thresholds_method_retunes(trained):
    net, X_val, Y_val = trained
    before = net.thresholds_.copy()
    try:
        net.tune_thresholds(X_val.iloc[:300], Y_val.iloc[:300])
        assert net.thresholds_.shape == (4,)
        assert not np.array_equal(net.thresholds_, before)
    finally:
        net.thresholds_ = before


def test_top_k_ties_exclusions_and_padding():
    scores = np.array([[0.2, 0.5, 0.5, 0.1], [0.3, 0.3, 0.3, 0.3], [0.9, 0.8, 0.7, 0.6]])
    exclude = np.array([[0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0]])
    indices, top = top_k_labels(scores, 3, exclude)
    np.testing.assert_array_equal(indices, [[1, 2, 0], [1, 3, -1], [3, -1, -1]])
    np.testing.assert_array_equal(top[0], [0.5, 0.5, 0.2])
    np.testing.assert_array_equal(top[1, :2], [0.3, 0.3])
    assert np.isnan(top[1, 2])
    assert np.isnan(top[2, 1:]).all()


def test_top_k_beyond_label_count_pads():
    indices, top = top_k_labels(np.array([[0.1, 0.9]]), 4)
    np.testing.assert_array_equal(indices, [[1, 0, -1, -1]])
    assert np.isnan(top[0, 2:]).all()


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_top_k_rejects_bad_k(k):
    with pytest.raises(InvalidInputError, match="k must be a whole number >= 1"):
        top_k_labels(np.zeros((1, 2)), k)


def test_top_k_rejects_wrong_exclude_shape():
    with pytest.raises(InvalidInputError, match=r"exclude must have the shape of the scores, \(2, 3\)"):
        top_k_labels(np.zeros((2, 3)), 1, np.zeros((2, 2)))


def small_problem(seed=0, n_rows=400):
    X, Y = known_structure(n_rows, seed)
    return X, Y


def test_same_seed_gives_identical_predictions():
    X, Y = small_problem()
    first = MultiLabelNet(hidden_units=(8,), epochs=2, batch_size=64, random_state=7).fit(X, Y)
    second = MultiLabelNet(hidden_units=(8,), epochs=2, batch_size=64, random_state=7).fit(X, Y)
    other = MultiLabelNet(hidden_units=(8,), epochs=2, batch_size=64, random_state=8).fit(X, Y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_masked_labels_do_not_influence_training():
    X, Y = small_problem()
    rng = np.random.default_rng(1)
    mask = rng.random(Y.shape) < 0.3
    flipped = Y.to_numpy().astype(float)
    flipped[mask] = 1 - flipped[mask]
    unknown = Y.to_numpy().astype(float)
    unknown[mask] = np.nan
    settings = dict(hidden_units=(8,), epochs=2, batch_size=64, random_state=3)
    a = MultiLabelNet(**settings).fit(X, Y, mask=mask).predict_proba(X)
    b = MultiLabelNet(**settings).fit(X, flipped, mask=mask).predict_proba(X)
    c = MultiLabelNet(**settings).fit(X, unknown, mask=mask).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    unmasked = MultiLabelNet(**settings).fit(X, flipped).predict_proba(X)
    assert not np.array_equal(a, unmasked)


def test_null_label_outside_mask_rejected():
    X, Y = small_problem(n_rows=20)
    labels = Y.to_numpy().astype(float)
    labels[4, 2] = np.nan
    with pytest.raises(InvalidInputError, match="Y has a null at row 4, column 2.*set mask to 1 there"):
        MultiLabelNet(epochs=1).fit(X, labels)


@pytest.mark.parametrize(
    ("settings", "loss_type"),
    [({"loss": "focal", "pos_weight": "balanced"}, MaskedFocalLoss), ({"pos_weight": [2.0, 1.0, 1.0, 3.0]}, MaskedBinaryCrossentropy)],
)
def test_loss_settings_reach_the_network(settings, loss_type):
    X, Y = small_problem(n_rows=200)
    net = MultiLabelNet(hidden_units=(4,), epochs=1, random_state=0, max_pos_weight=5.0, **settings).fit(X, Y)
    assert isinstance(net.model_.loss, loss_type)
    weights = np.asarray(net.model_.loss.pos_weight)
    if settings["pos_weight"] == "balanced":
        counts = Y.to_numpy().sum(axis=0)
        expected = np.clip((len(Y) - counts) / counts, 1.0, 5.0)
        np.testing.assert_allclose(weights, expected)
    else:
        np.testing.assert_allclose(weights, settings["pos_weight"])


def test_softmax_loss_trains_and_saves(tmp_path):
    X, Y = small_problem(n_rows=200)
    mask = np.zeros(Y.shape, dtype=int)
    mask[:, 0] = 1
    net = MultiLabelNet(hidden_units=(4,), epochs=2, loss="softmax", random_state=0).fit(X, Y, mask=mask)
    assert isinstance(net.model_.loss, MaskedSoftmaxRanking)
    assert np.all(np.isfinite(net.history_["loss"]))
    net.save(tmp_path / "net")
    reloaded = MultiLabelNet.load(tmp_path / "net")
    np.testing.assert_allclose(reloaded.predict_proba(X), net.predict_proba(X), rtol=1e-5)


def test_cosine_schedule_decays_learning_rate():
    X, Y = small_problem(n_rows=200)
    net = MultiLabelNet(hidden_units=(4,), epochs=3, batch_size=50, lr_schedule="cosine", random_state=0).fit(X, Y)
    rates = net.history_["learning_rate"]
    assert rates[0] < 1e-3
    assert rates[2] < rates[1] < rates[0]


def test_progress_task_completed():
    X, Y = small_problem(n_rows=100)
    with Progress(disable=True) as progress:
        MultiLabelNet(hidden_units=(4,), epochs=2, random_state=0).fit(X, Y, progress=progress)
        task = progress.tasks[0]
    assert task.total == 2
    assert task.completed == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("loss", "hinge"), ("dropout", 1.0), ("hidden_units", (8, 0)), ("lr_schedule", "step"), ("epochs", 0),
     ("pos_weight", "auto"), ("verbose", 3)],
)
def test_invalid_parameter_named_in_error(name, value):
    X, Y = small_problem(n_rows=20)
    with pytest.raises(InvalidInputError, match=rf"Invalid value for parameter `{name}` of MultiLabelNet\..*Received: {name}="):
        MultiLabelNet(**{name: value}).fit(X, Y)


def test_validation_data_checked():
    X, Y = small_problem(n_rows=40)
    with pytest.raises(InvalidInputError, match=r"validation_data must be a tuple \(X_val, Y_val\)"):
        MultiLabelNet(epochs=1).fit(X, Y, validation_data=X)
    with pytest.raises(InvalidInputError, match="validation Y has 2 label columns but Y has 4"):
        MultiLabelNet(epochs=1).fit(X, Y, validation_data=(X, Y.iloc[:, :2]))


def test_label_errors_explained():
    X, _ = small_problem(n_rows=10)
    with pytest.raises(InvalidInputError, match=r"Y must be a 0/1 matrix .* received shape \(10,\)"):
        MultiLabelNet(epochs=1).fit(X, np.zeros(10))
    with pytest.raises(InvalidInputError, match="Y has 9 rows but X has 10"):
        MultiLabelNet(epochs=1).fit(X, np.zeros((9, 2)))
    with pytest.raises(InvalidInputError, match="row 3, column 1 contains the value 2.0"):
        labels = np.zeros((10, 2))
        labels[3, 1] = 2
        MultiLabelNet(epochs=1).fit(X, labels)
    with pytest.raises(InvalidInputError, match=r"mask must have the shape of the labels, \(10, 2\)"):
        MultiLabelNet(epochs=1).fit(X, np.zeros((10, 2)), mask=np.zeros((10, 3)))


def test_predict_proba_on_empty_table(trained):
    net, X_val, _ = trained
    assert net.predict_proba(X_val.iloc[:0]).shape == (0, 4)


def test_unfitted_model_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MultiLabelNet().predict_proba(np.zeros((1, 2)))


def test_backend_is_jax():
    assert keras.backend.backend() == "jax"


@pytest.mark.parametrize("kind", ["pandas", "arrow", "numpy"])
def test_predict_in_chunks_equals_whole(monkeypatch, kind):
    import pyarrow as pa

    from nextbest.multilabel import net as net_module

    X, Y = known_structure(300, seed=3)
    if kind == "numpy":
        X = X.drop(columns="segment").to_numpy()
    net = MultiLabelNet(hidden_units=(8,), epochs=2, batch_size=8, random_state=0).fit(X, Y)
    data = pa.Table.from_pandas(X, preserve_index=False) if kind == "arrow" else X
    whole = net.predict_proba(data)
    # 8 rows per batch and 2 batches per chunk: 300 rows in 19 chunks, the last one short.
    monkeypatch.setattr(net_module, "PREDICT_BATCH_SIZE", 8)
    monkeypatch.setattr(net_module, "PREDICT_CHUNK_BATCHES", 2)
    chunked = net.predict_proba(data)
    assert chunked.shape == (300, Y.shape[1])
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
