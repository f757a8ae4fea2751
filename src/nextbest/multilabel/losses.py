"""Multi-label losses with masked entries and per-label positive weights.

Every loss here takes probabilities (the network ends in a sigmoid) and targets of shape
(batch, n_labels) holding 1, 0 or -1. An entry of -1 is masked: it adds nothing to the loss and
gets no gradient. `MultiLabelNet.fit` writes -1 where its `mask` argument is 1, which is how a
product a customer already holds is kept out of training.

For the binary cross-entropy and focal losses, the loss of one sample is the sum of its
unmasked entries' losses divided by the number of labels, so a masked entry counts as a zero.
`MaskedSoftmaxRanking` instead scores the order of a sample's unmasked labels. Keras then
averages samples, weighted by `sample_weight` when given.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from nextbest.multilabel.tables import InvalidInputError

EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="nextbest")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy over labels, skipping entries whose target is -1.

    Parameters
    ----------
    pos_weight : list of float, optional
        Factor on the loss of each label's positive entries, one per label. None weighs
        positives and negatives alike.
    name : str, default="masked_binary_crossentropy"
    reduction : str, default="sum_over_batch_size"
        How Keras combines the per-sample losses.
    """

    def __init__(self, pos_weight=None, name="masked_binary_crossentropy", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.pos_weight = _checked_weights(pos_weight)

    def call(self, y_true, y_pred):
        target, present, probability = _split_targets(y_true, y_pred)
        positive_term = target * ops.log(probability)
        if self.pos_weight is not None:
            positive_term = positive_term * ops.convert_to_tensor(self.pos_weight, dtype=y_pred.dtype)
        negative_term = (1.0 - target) * ops.log(1.0 - probability)
        return ops.mean(-(positive_term + negative_term) * present, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight}


@keras.saving.register_keras_serializable(package="nextbest")
class MaskedFocalLoss(keras.losses.Loss):
    """Focal loss over labels, skipping entries whose target is -1.

    The loss of an entry is the cross-entropy scaled by ``(1 - p_t) ** gamma``, where ``p_t`` is
    the probability given to the true value, so well-classified entries count less
    (Lin et al., "Focal Loss for Dense Object Detection", 2017).

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing exponent; 0 gives the (weighted) cross-entropy.
    alpha : float, optional
        Weight of positive entries, with ``1 - alpha`` on negatives. None weighs them alike.
    pos_weight : list of float, optional
        Factor on the loss of each label's positive entries, one per label.
    """

    def __init__(self, gamma=2.0, alpha=None, pos_weight=None, name="masked_focal_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if gamma < 0:
            raise InvalidInputError(f"The focal loss needs gamma >= 0; received gamma={gamma}.")
        if alpha is not None and not 0 < alpha < 1:
            raise InvalidInputError(f"The focal loss needs alpha between 0 and 1 or None; received alpha={alpha}.")
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)
        self.pos_weight = _checked_weights(pos_weight)

    def call(self, y_true, y_pred):
        target, present, probability = _split_targets(y_true, y_pred)
        positive_term = target * ops.power(1.0 - probability, self.gamma) * ops.log(probability)
        negative_term = (1.0 - target) * ops.power(probability, self.gamma) * ops.log(1.0 - probability)
        if self.alpha is not None:
            positive_term = self.alpha * positive_term
            negative_term = (1.0 - self.alpha) * negative_term
        if self.pos_weight is not None:
            positive_term = positive_term * ops.convert_to_tensor(self.pos_weight, dtype=y_pred.dtype)
        return ops.mean(-(positive_term + negative_term) * present, axis=-1)

    def get_config(self):
        config = super().get_config()
        return {**config, "gamma": self.gamma, "alpha": self.alpha, "pos_weight": self.pos_weight}


@keras.saving.register_keras_serializable(package="nextbest")
class MaskedSoftmaxRanking(keras.losses.Loss):
    """Listwise ranking loss: softmax cross-entropy over each sample's unmasked labels.

    The sigmoid outputs are turned back into logits, masked entries get no probability mass,
    and the loss of a sample is the mean of ``-log softmax`` over its positive labels. A sample
    without positives contributes 0. The loss scores only the order of labels within a sample,
    so the outputs rank well but are not calibrated probabilities.

    Parameters
    ----------
    name : str, default="masked_softmax_ranking"
    reduction : str, default="sum_over_batch_size"
        How Keras combines the per-sample losses.
    """

    def __init__(self, name="masked_softmax_ranking", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        target, present, probability = _split_targets(y_true, y_pred)
        logits = ops.log(probability) - ops.log(1.0 - probability)
        # Masked entries get a logit far below any reachable one (|logit| <= about 16).
        logits = ops.where(present > 0, logits, -1e4)
        log_softmax = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        positives = target * present
        count = ops.sum(positives, axis=-1)
        return -ops.sum(positives * log_softmax, axis=-1) / ops.maximum(count, 1.0)


def positive_weights(Y: np.ndarray, present: np.ndarray | None = None, cap: float = 50.0) -> list[float]:
    """Return each label's ratio of negatives to positives, clipped to the range [1, cap].

    A label with more positives than negatives gets 1, so only rare labels are weighted up.

    Parameters
    ----------
    Y : array of shape (n_samples, n_labels)
        0/1 targets.
    present : array of shape (n_samples, n_labels), optional
        True where an entry counts; masked entries are left out of both counts.
    cap : float, default=50.0
        Largest weight returned; a label without positives also gets `cap`.
    """
    counted = np.ones(Y.shape, dtype=bool) if present is None else present.astype(bool)
    positives = ((Y == 1) & counted).sum(axis=0)
    negatives = ((Y == 0) & counted).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(positives > 0, negatives / np.maximum(positives, 1), cap)
    return [float(w) for w in np.clip(ratio, 1.0, cap)]


def _split_targets(y_true, y_pred):
    y_true = ops.cast(y_true, y_pred.dtype)
    present = ops.cast(y_true >= 0, y_pred.dtype)
    target = ops.maximum(y_true, 0.0)
    probability = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return target, present, probability


def _checked_weights(pos_weight):
    if pos_weight is None:
        return None
    weights = np.asarray(pos_weight, dtype=float).ravel()
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise InvalidInputError(f"pos_weight must hold positive finite numbers; received {list(weights)}.")
    return [float(w) for w in weights]
