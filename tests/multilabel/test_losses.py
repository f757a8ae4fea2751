"""The masked losses against slow NumPy versions, their gradients, and their save-reload round trips."""

from __future__ import annotations

import nextbest  # noqa: F401  (selects the JAX backend before Keras is imported)

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from nextbest.multilabel.losses import MaskedBinaryCrossentropy, MaskedFocalLoss, MaskedSoftmaxRanking, positive_weights
from nextbest.multilabel.tables import InvalidInputError

EPSILON = 1e-7


def slow_masked_loss(y_true, y_pred, pos_weight=None, gamma=0.0, alpha=None):
    """Mean over samples of (sum of unmasked entries' losses / n_labels), entry by entry."""
    n_samples, n_labels = y_true.shape
    total = 0.0
    for i in range(n_samples):
        row = 0.0
        for j in range(n_labels):
            if y_true[i, j] < 0:
                continue
            p = min(max(float(y_pred[i, j]), EPSILON), 1 - EPSILON)
            weight = 1.0 if pos_weight is None else pos_weight[j]
            if y_true[i, j] == 1:
                a = 1.0 if alpha is None else alpha
                row += -a * weight * (1 - p) ** gamma * np.log(p)
            else:
                a = 1.0 if alpha is None else 1 - alpha
                row += -a * p**gamma * np.log(1 - p)
        total += row / n_labels
    return total / n_samples


def random_batch(seed, n_samples=16, n_labels=5, masked_share=0.3):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=(n_samples, n_labels)).astype(np.float32)
    y_true[rng.random((n_samples, n_labels)) < masked_share] = -1.0
    y_pred = rng.uniform(0.001, 0.999, size=(n_samples, n_labels)).astype(np.float32)
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(5))
def test_masked_bce_matches_slow_version(seed):
    y_true, y_pred = random_batch(seed)
    fast = float(MaskedBinaryCrossentropy()(y_true, y_pred))
    assert fast == pytest.approx(slow_masked_loss(y_true, y_pred), rel=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_weighted_bce_matches_slow_version(seed):
    y_true, y_pred = random_batch(seed)
    weights = [1.0, 2.0, 5.0, 10.0, 0.5]
    fast = float(MaskedBinaryCrossentropy(pos_weight=weights)(y_true, y_pred))
    assert fast == pytest.approx(slow_masked_loss(y_true, y_pred, pos_weight=weights), rel=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_focal_loss_matches_slow_version(seed):
    y_true, y_pred = random_batch(seed)
    weights = [3.0, 1.0, 1.0, 2.0, 1.0]
    loss = MaskedFocalLoss(gamma=2.0, alpha=0.25, pos_weight=weights)
    expected = slow_masked_loss(y_true, y_pred, pos_weight=weights, gamma=2.0, alpha=0.25)
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def test_focal_with_gamma_zero_is_bce():
    y_true, y_pred = random_batch(7)
    focal = float(MaskedFocalLoss(gamma=0.0)(y_true, y_pred))
    assert focal == pytest.approx(float(MaskedBinaryCrossentropy()(y_true, y_pred)), rel=1e-6)


def test_bce_without_mask_equals_keras_bce():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, size=(32, 4)).astype(np.float32)
    y_pred = rng.uniform(0.01, 0.99, size=(32, 4)).astype(np.float32)
    ours = float(MaskedBinaryCrossentropy()(y_true, y_pred))
    theirs = float(keras.losses.BinaryCrossentropy()(y_true, y_pred))
    assert ours == pytest.approx(theirs, rel=1e-5)


def test_fully_masked_row_adds_zero():
    y_pred = np.full((2, 3), 0.3, dtype=np.float32)
    y_true = np.array([[-1, -1, -1], [1, 0, 1]], dtype=np.float32)
    both = float(MaskedBinaryCrossentropy()(y_true, y_pred))
    second_only = float(MaskedBinaryCrossentropy()(y_true[1:], y_pred[1:]))
    assert both == pytest.approx(second_only / 2, rel=1e-6)


@pytest.mark.parametrize("loss", [MaskedBinaryCrossentropy(pos_weight=[2.0] * 5), MaskedFocalLoss(gamma=2.0)])
def test_masked_entries_get_zero_gradient(loss):
    y_true, y_pred = random_batch(11)
    gradient = np.asarray(jax.grad(lambda p: loss(jnp.asarray(y_true), p))(jnp.asarray(y_pred)))
    masked = y_true < 0
    assert masked.any()
    assert np.all(gradient[masked] == 0.0)
    assert np.all(gradient[~masked] != 0.0)


def test_masked_target_value_never_matters():
    y_true, y_pred = random_batch(5)
    other = y_true.copy()
    # Any negative target marks a masked entry; what the label would have been is irrelevant.
    other[other < 0] = -1.0
    flipped = np.where(y_true < 0, -1.0, y_true).astype(np.float32)
    loss = MaskedBinaryCrossentropy()
    assert float(loss(other, y_pred)) == float(loss(flipped, y_pred))


@pytest.mark.parametrize(
    "loss",
    [
        MaskedBinaryCrossentropy(),
        MaskedBinaryCrossentropy(pos_weight=[1.5, 3.0]),
        MaskedFocalLoss(gamma=1.5, alpha=0.3, pos_weight=[2.0, 1.0]),
    ],
)
def test_loss_config_round_trip(loss):
    rebuilt = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(rebuilt) is type(loss)
    assert rebuilt.get_config() == loss.get_config()
    y_true = np.array([[1, -1], [0, 1]], dtype=np.float32)
    y_pred = np.array([[0.8, 0.4], [0.3, 0.6]], dtype=np.float32)
    assert float(rebuilt(y_true, y_pred)) == float(loss(y_true, y_pred))


@pytest.mark.parametrize("loss", [MaskedBinaryCrossentropy(pos_weight=[2.0, 4.0]), MaskedFocalLoss(gamma=3.0)])
def test_model_with_loss_saves_and_reloads(loss, tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="sigmoid")(inputs))
    model.compile(optimizer="adam", loss=loss)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.saving.load_model(path)
    assert type(reloaded.loss) is type(loss)
    assert reloaded.loss.get_config() == loss.get_config()
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_positive_weights_ratio_and_cap():
    Y = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1]])
    # label 0: 3 negatives / 1 positive; label 1: no positive, so the cap; label 2: 1/3, raised to 1.
    assert positive_weights(Y, cap=50.0) == [3.0, 50.0, 1.0]
    assert positive_weights(Y, cap=2.0) == [2.0, 2.0, 1.0]


def test_positive_weights_skip_masked_entries():
    Y = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])
    present = np.array([[1, 1], [0, 1], [0, 1], [1, 1]], dtype=bool)
    assert positive_weights(Y, present) == [1.0, 3.0]


@pytest.mark.parametrize("weights", [[1.0, -2.0], [0.0], [np.nan]])
def test_invalid_pos_weight_rejected(weights):
    with pytest.raises(InvalidInputError, match="pos_weight must hold positive finite numbers"):
        MaskedBinaryCrossentropy(pos_weight=weights)


def test_invalid_focal_settings_rejected():
    with pytest.raises(InvalidInputError, match="gamma >= 0"):
        MaskedFocalLoss(gamma=-1.0)
    with pytest.raises(InvalidInputError, match="alpha between 0 and 1"):
        MaskedFocalLoss(alpha=1.5)


def slow_softmax_ranking(y_true, y_pred):
    """Mean over samples of -log softmax over unmasked labels, averaged over positive labels."""
    total = 0.0
    for truth, probability in zip(y_true, y_pred):
        present = truth >= 0
        p = np.clip(probability.astype(np.float64), EPSILON, 1 - EPSILON)
        logits = np.log(p) - np.log(1 - p)
        log_normaliser = np.log(np.sum(np.exp(logits[present])))
        positives = present & (truth == 1)
        if positives.any():
            total += -np.mean(logits[positives] - log_normaliser)
    return total / len(y_true)


@pytest.mark.parametrize("seed", range(5))
def test_softmax_ranking_matches_slow_version(seed):
    y_true, y_pred = random_batch(seed)
    expected = slow_softmax_ranking(y_true, y_pred)
    assert float(MaskedSoftmaxRanking()(y_true, y_pred)) == pytest.approx(expected, rel=1e-4)


def test_softmax_ranking_row_without_positives_adds_zero():
    y_pred = np.array([[0.3, 0.6, 0.2], [0.3, 0.6, 0.2]], dtype=np.float32)
    y_true = np.array([[0, 0, -1], [1, 0, -1]], dtype=np.float32)
    both = float(MaskedSoftmaxRanking()(y_true, y_pred))
    second_only = float(MaskedSoftmaxRanking()(y_true[1:], y_pred[1:]))
    assert both == pytest.approx(second_only / 2, rel=1e-6)


def test_softmax_ranking_masked_entries_get_zero_gradient():
    y_true, y_pred = random_batch(11)
    loss = MaskedSoftmaxRanking()
    gradient = np.asarray(jax.grad(lambda p: loss(jnp.asarray(y_true), p))(jnp.asarray(y_pred)))
    masked = y_true < 0
    assert masked.any()
    assert np.all(gradient[masked] == 0.0)
    # In a row with a positive label every unmasked entry moves the softmax.
    rows_with_positive = (y_true == 1).any(axis=1)
    assert np.all(gradient[~masked & rows_with_positive[:, None]] != 0.0)


def test_softmax_ranking_prefers_positive_ranked_first():
    y_true = np.array([[1, 0, 0]], dtype=np.float32)
    right = np.array([[0.9, 0.2, 0.1]], dtype=np.float32)
    wrong = np.array([[0.1, 0.2, 0.9]], dtype=np.float32)
    assert float(MaskedSoftmaxRanking()(y_true, right)) < float(MaskedSoftmaxRanking()(y_true, wrong))


def test_softmax_ranking_config_round_trip():
    loss = MaskedSoftmaxRanking()
    rebuilt = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(rebuilt) is MaskedSoftmaxRanking
    assert rebuilt.get_config() == loss.get_config()
