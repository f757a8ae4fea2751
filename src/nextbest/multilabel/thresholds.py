"""Per-label decision thresholds tuned for F1 on validation data."""

from __future__ import annotations

import logging
import warnings

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5


def tune_thresholds(y_true, scores, *, mask=None, labels=None, default: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Find, for each label, the score threshold that maximises its F1 on the given data.

    A sample is predicted positive for a label when its score is at least the threshold. The
    threshold returned lies halfway between the lowest score predicted positive and the next
    lower score, so that the same F1 holds on these data with some margin. Among thresholds
    with the same F1 the highest is kept.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_labels)
        0/1 targets.
    scores : array of shape (n_samples, n_labels)
        Predicted probabilities.
    mask : array of shape (n_samples, n_labels), optional
        1 where an entry is left out of the tuning (for example a product already held).
    labels : list of str, optional
        Label names, used in the warning.
    default : float, default=0.5
        Threshold of a label without positive entries.

    Returns
    -------
    ndarray of shape (n_labels,)

    Warns
    -----
    UserWarning
        Naming the labels without positive entries, which keep `default`.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    present = np.ones(y_true.shape, dtype=bool) if mask is None else ~np.asarray(mask).astype(bool)
    n_labels = y_true.shape[1]
    labels = [f"label {j}" for j in range(n_labels)] if labels is None else list(labels)

    thresholds = np.full(n_labels, default, dtype=np.float64)
    without_positives = []
    for j in range(n_labels):
        rows = present[:, j]
        best = best_f1_threshold(y_true[rows, j], scores[rows, j])
        if best is None:
            without_positives.append(labels[j])
        else:
            thresholds[j] = best

    if without_positives:
        warnings.warn(
            f"{len(without_positives)} label(s) have no positive entry in the tuning data, so their "
            f"threshold stays at {default}: {', '.join(map(str, without_positives))}.",
            UserWarning,
            stacklevel=2,
        )
    logger.debug("tuned thresholds: %s", np.round(thresholds, 4).tolist())
    return thresholds


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """Return the F1-maximising threshold of one label, or None when it has no positive entry."""
    n_positives = int((y_true == 1).sum())
    if n_positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_positives = np.cumsum(y_true[order] == 1)
    predicted = np.arange(1, len(order) + 1)

    # Only the last place of a run of equal scores is a threshold that can be applied.
    run_ends = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    f1 = np.where(run_ends, 2 * true_positives / (predicted + n_positives), -1.0)
    best = int(np.argmax(f1))
    if best + 1 < len(sorted_scores):
        return float((sorted_scores[best] + sorted_scores[best + 1]) / 2)
    return float(sorted_scores[best])
