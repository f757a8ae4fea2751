"""Multi-label metrics: rankings (MAP@k and friends), decisions and per-label figures.

Every function takes NumPy-compatible arrays of shape ``(n_samples, n_labels)``:
``y_true`` contains 0/1 truth, ``scores`` any finite real-valued scores (higher means more
likely), ``y_pred`` 0/1 decisions. An optional ``exclude`` mask of the same shape marks entries
that are never predicted (1 = excluded, such as a product the customer already holds). An
excluded entry is never ranked, counts as a negative decision and is dropped from the truth.

Where scikit-learn has a metric, this module uses its definition, tie rule and handling of
empty rows, but computes it with array operations: the banking pipeline scores about 1,000,000
rows of 24 labels, where scikit-learn 1.9 loops over rows in Python for label ranking average
precision and ranking loss (about 40 s per 100,000 rows) and takes seconds per decision
metric. The tests compare every metric with scikit-learn's function or a slow obvious version.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from nextbest.errors import NextbestError

# Rows compared at once by the pairwise ranking metrics: 20,000 rows of 24 labels use about
# 12 MB per boolean comparison matrix.
_PAIRWISE_CHUNK_ROWS = 20_000


class MetricInputError(NextbestError, ValueError):
    """Arrays passed to a metric that do not have the expected shape or values."""


# ---------------------------------------------------------------------------------------------
# Input checks


def _as_indicator(name: str, values, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return `values` as a 2-D boolean array after checking it holds only 0 and 1."""
    array = np.asarray(values)
    if array.ndim != 2:
        raise MetricInputError(
            f"{name} must be a 2-D array of shape (n_samples, n_labels); received shape {array.shape}."
        )
    if shape is not None and array.shape != shape:
        raise MetricInputError(f"{name} has shape {array.shape} but y_true has shape {shape}; they must match.")
    if array.dtype != bool:
        invalid = (array != 0) & (array != 1)
        if invalid.any():
            bad_values = np.unique(array[invalid])[:5].tolist()
            raise MetricInputError(f"{name} must hold only 0 and 1; found {bad_values}.")
    return array.astype(bool, copy=False)


def _as_scores(scores, shape: tuple[int, int]) -> np.ndarray:
    """Return `scores` as a float array of `shape` after checking every value is finite."""
    array = np.asarray(scores, dtype=np.float64)
    if array.shape != shape:
        raise MetricInputError(f"scores has shape {array.shape} but y_true has shape {shape}; they must match.")
    finite = np.isfinite(array)
    if not finite.all():
        raise MetricInputError(
            f"scores contains {int((~finite).sum())} NaN or infinite values; every score must be a finite number."
        )
    return array


def _prepare(y_true, scores=None, exclude=None):
    """Check the inputs and return truth with excluded entries removed, scores and the mask."""
    truth = _as_indicator("y_true", y_true)
    mask = np.zeros(truth.shape, dtype=bool) if exclude is None else _as_indicator("exclude", exclude, truth.shape)
    truth = truth & ~mask
    checked_scores = None if scores is None else _as_scores(scores, truth.shape)
    return truth, checked_scores, mask


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise MetricInputError(f"k must be a positive integer; received k={k!r}.")
    return int(k)


# ---------------------------------------------------------------------------------------------
# Ranking at k


def rank_labels(scores, k: int, exclude=None) -> np.ndarray:
    """Rank the labels of each row by decreasing score, leaving out excluded labels.

    Ties go to the label with the lower column index, so a ranking never depends on chance.

    Parameters
    ----------
    scores : array of shape (n_samples, n_labels)
    k : int
        Places to fill per row.
    exclude : array of shape (n_samples, n_labels), optional
        1 where a label must not be ranked.

    Returns
    -------
    ndarray of int64, shape (n_samples, k)
        Column indices, best first; -1 where fewer than k labels remain.
    """
    k = _check_k(k)
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2:
        raise MetricInputError(f"scores must be a 2-D array; received shape {values.shape}.")
    if not np.isfinite(values).all():
        raise MetricInputError("scores must be finite numbers; found NaN or infinity.")
    available = np.ones(values.shape, dtype=bool)
    if exclude is not None:
        available &= ~_as_indicator("exclude", exclude, values.shape)

    # k passes of argmax beat a full sort of each row, and argmax returns the first of equal
    # scores, which is the tie rule. -inf marks labels excluded or already placed.
    work = np.where(available, values, -np.inf)
    flat = work.reshape(-1)
    row_offsets = np.arange(values.shape[0]) * values.shape[1]
    order = np.full((values.shape[0], k), -1, dtype=np.int64)
    for place in range(min(k, values.shape[1])):
        best = work.argmax(axis=1)
        positions = row_offsets + best
        order[:, place] = np.where(flat[positions] > -np.inf, best, -1)
        flat[positions] = -np.inf
    return order


def _hits(truth: np.ndarray, ranked: np.ndarray, may_repeat: bool = False) -> np.ndarray:
    """Return a boolean (n_samples, k) array: place j of row i contains a true label.

    An empty place (-1) is never a hit. With `may_repeat`, neither is a label repeated at a
    later place, so a ranking cannot score twice with one label.
    """
    valid = ranked >= 0
    hits = np.take_along_axis(truth, np.where(valid, ranked, 0), axis=1) & valid
    if not may_repeat:
        return hits
    for place in range(1, ranked.shape[1]):
        repeated = (ranked[:, :place] == ranked[:, place : place + 1]).any(axis=1)
        hits[:, place] &= ~repeated
    return hits


def _check_ranking(ranked_indices, n_samples: int, n_labels: int, k: int) -> np.ndarray:
    ranked = np.asarray(ranked_indices)
    if ranked.ndim != 2 or ranked.shape[0] != n_samples:
        raise MetricInputError(
            f"ranked_indices must have shape (n_samples, n_places) with n_samples={n_samples}; "
            f"received shape {ranked.shape}."
        )
    if not np.issubdtype(ranked.dtype, np.integer):
        raise MetricInputError(f"ranked_indices must hold integers; received dtype {ranked.dtype}.")
    invalid = (ranked < -1) | (ranked >= n_labels)
    if invalid.any():
        bad_values = np.unique(ranked[invalid])[:5].tolist()
        raise MetricInputError(
            f"ranked_indices must hold label indices 0..{n_labels - 1} or -1 for an empty place; found {bad_values}."
        )
    return ranked[:, :k].astype(np.int64, copy=False)


def _average_precision_rows(truth: np.ndarray, ranked: np.ndarray, k: int, may_repeat: bool = False) -> np.ndarray:
    """Return AP@k of every row: the sum of precision@j at each hit, over min(true labels, k)."""
    hits = _hits(truth, ranked, may_repeat)
    places = np.arange(1, hits.shape[1] + 1)
    precision = np.cumsum(hits, axis=1) / places
    n_true = np.minimum(truth.sum(axis=1), k)
    total = (precision * hits).sum(axis=1)
    return np.divide(total, n_true, out=np.zeros(len(total)), where=n_true > 0)


def ranked_map_at_k(y_true, ranked_indices, k: int = 7) -> float:
    """Compute MAP@k of a ready ranking, as the Santander competition defines it.

    For each row, AP@k is the sum over places j = 1..k of precision@j times 1 if place j contains
    a true label, divided by min(number of true labels, k). A row without true labels scores 0
    and still counts in the mean. A label repeated in a row counts at its first place only.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_labels)
        0/1 truth.
    ranked_indices : array of int, shape (n_samples, n_places)
        Label column indices, best first; -1 marks an empty place. Places after k are ignored.
    k : int, default 7

    Returns
    -------
    float
        The mean AP@k over all rows; 0.0 for no rows.

    Examples
    --------
    >>> ranked_map_at_k([[1, 0, 1]], [[2, 1, 0]], k=3)
    0.8333333333333333
    """
    k = _check_k(k)
    truth = _as_indicator("y_true", y_true)
    ranked = _check_ranking(ranked_indices, truth.shape[0], truth.shape[1], k)
    if truth.shape[0] == 0:
        return 0.0
    return float(_average_precision_rows(truth, ranked, k, may_repeat=True).mean())


def map_at_k(y_true, scores, k: int = 7, exclude=None) -> float:
    """Compute MAP@k of the ranking that `scores` give, as the Santander competition defines it.

    Labels are ranked by decreasing score (ties to the lower column index), excluded labels
    are never ranked, and the ranking is scored by :func:`ranked_map_at_k`. A true label that
    is also excluded is dropped from the truth.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_labels)
    scores : array of shape (n_samples, n_labels)
    k : int, default 7
    exclude : array of shape (n_samples, n_labels), optional
        1 where a label must not be ranked.

    Returns
    -------
    float
    """
    k = _check_k(k)
    truth, values, mask = _prepare(y_true, scores, exclude)
    if truth.shape[0] == 0:
        return 0.0
    ranked = rank_labels(values, k, mask)
    return float(_average_precision_rows(truth, ranked, k).mean())


def max_map_at_k(y_true, k: int = 7, exclude=None) -> float:
    """Compute the best MAP@k any ranking can reach on this truth.

    A perfect ranking puts every true, non-excluded label first, so every row with at least
    one such label scores 1 and every other row scores 0. The maximum is therefore the share of
    rows with at least one true label that is not excluded. It does not depend on `k`; the
    argument is accepted so that calls mirror :func:`map_at_k`.

    Returns
    -------
    float
        0.0 for no rows.
    """
    _check_k(k)
    truth, _, _ = _prepare(y_true, None, exclude)
    if truth.shape[0] == 0:
        return 0.0
    return float(truth.any(axis=1).mean())


def precision_at_k(y_true, scores, k: int = 7, exclude=None) -> float:
    """Compute the mean over all rows of (true labels among the top k) / k.

    Empty places, left when fewer than k labels are not excluded, count as misses.
    """
    k = _check_k(k)
    truth, values, mask = _prepare(y_true, scores, exclude)
    if truth.shape[0] == 0:
        return 0.0
    hits = _hits(truth, rank_labels(values, k, mask))
    return float((hits.sum(axis=1) / k).mean())


def recall_at_k(y_true, scores, k: int = 7, exclude=None) -> float:
    """Compute the mean of (true labels among the top k) / (true labels) over rows with any.

    Rows without a true (non-excluded) label have no recall and are left out of the mean.

    Returns
    -------
    float
        NaN when no row has a true label.
    """
    k = _check_k(k)
    truth, values, mask = _prepare(y_true, scores, exclude)
    n_true = truth.sum(axis=1)
    rows = n_true > 0
    if not rows.any():
        return math.nan
    hits = _hits(truth[rows], rank_labels(values[rows], k, mask[rows]))
    return float((hits.sum(axis=1) / n_true[rows]).mean())


# ---------------------------------------------------------------------------------------------
# Whole-ranking metrics


def _pairwise_chunks(truth: np.ndarray, scores: np.ndarray, mask: np.ndarray):
    """Yield truth, mask and ge[i, j, m] = scores[i, m] >= scores[i, j], a chunk of rows at a time."""
    for start in range(0, truth.shape[0], _PAIRWISE_CHUNK_ROWS):
        stop = start + _PAIRWISE_CHUNK_ROWS
        chunk = scores[start:stop]
        yield truth[start:stop], mask[start:stop], chunk[:, None, :] >= chunk[:, :, None]


def label_ranking_average_precision(y_true, scores, exclude=None) -> float:
    """Compute label ranking average precision with scikit-learn's definition and tie rule.

    For each true label of a row: (true labels scored at least as high) / (labels scored at
    least as high), averaged over the row's true labels. Rows without a true label score 1.
    Excluded labels are left out of the row. Without `exclude`, equals
    ``sklearn.metrics.label_ranking_average_precision_score``.

    Returns
    -------
    float
        NaN for no rows.
    """
    truth, values, mask = _prepare(y_true, scores, exclude)
    if truth.shape[0] == 0:
        return math.nan
    row_scores = []
    for chunk_truth, chunk_mask, ge in _pairwise_chunks(truth, values, mask):
        ge &= ~chunk_mask[:, None, :]
        rank = ge.sum(axis=2)
        true_ranked_above = (ge & chunk_truth[:, None, :]).sum(axis=2)
        precision = np.divide(true_ranked_above, rank, out=np.zeros(rank.shape), where=chunk_truth)
        n_true = chunk_truth.sum(axis=1)
        row_scores.append(np.divide(precision.sum(axis=1), n_true, out=np.ones(len(n_true)), where=n_true > 0))
    return float(np.concatenate(row_scores).mean())


def ranking_loss(y_true, scores, exclude=None) -> float:
    """Compute the label ranking loss with scikit-learn's definition and tie rule.

    For each row: the share of (true, false) label pairs where the false label scores at least
    as high as the true one. Rows without a pair (every label true, or none) score 0. Excluded
    labels are left out of the row. Without `exclude`, equals ``sklearn.metrics.label_ranking_loss``.

    Returns
    -------
    float
        NaN for no rows.
    """
    truth, values, mask = _prepare(y_true, scores, exclude)
    if truth.shape[0] == 0:
        return math.nan
    row_losses = []
    for chunk_truth, chunk_mask, ge in _pairwise_chunks(truth, values, mask):
        false_labels = ~chunk_truth & ~chunk_mask
        # ge[i, j, m]: label m scores at least as high as label j; count j true and m false.
        wrong = (ge & chunk_truth[:, :, None] & false_labels[:, None, :]).sum(axis=(1, 2))
        n_pairs = chunk_truth.sum(axis=1) * false_labels.sum(axis=1)
        row_losses.append(np.divide(wrong, n_pairs, out=np.zeros(len(wrong)), where=n_pairs > 0))
    return float(np.concatenate(row_losses).mean())


def coverage(y_true, scores, exclude=None) -> float:
    """Compute coverage error: how far down the ranking one must go to cover all true labels.

    For each row, the number of labels scored at least as high as its lowest-scored true
    label, so ties count against the model. A row without true labels scores 0, and excluded
    labels are left out. Without `exclude`, equals ``sklearn.metrics.coverage_error``, which
    rejects arrays of a single label.

    Returns
    -------
    float
        NaN for no rows.
    """
    truth, values, mask = _prepare(y_true, scores, exclude)
    if truth.shape[0] == 0:
        return math.nan
    lowest_true = np.where(truth, values, np.inf).min(axis=1)
    covered = ((values >= lowest_true[:, None]) & ~mask).sum(axis=1)
    return float(np.where(truth.any(axis=1), covered, 0).mean())


# ---------------------------------------------------------------------------------------------
# Decisions


def _defined(value) -> float | None:
    """Return `value` as a float, or None where it is NaN (an undefined metric)."""
    value = float(value)
    return None if math.isnan(value) else value


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Divide element-wise, giving NaN where the denominator is 0 (an undefined figure)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.full(numerator.shape, np.nan), where=denominator > 0)


def _count_figures(true_pos, false_pos, false_neg) -> dict[str, np.ndarray]:
    """Return precision, recall, F1 and Jaccard from counts, NaN where undefined."""
    return {
        "precision": _ratio(true_pos, true_pos + false_pos),
        "recall": _ratio(true_pos, true_pos + false_neg),
        "f1": _ratio(2 * true_pos, 2 * true_pos + false_pos + false_neg),
        "jaccard": _ratio(true_pos, true_pos + false_pos + false_neg),
    }


def _mean_defined(values: np.ndarray) -> float | None:
    """Return the mean of the values that are not NaN, or None when every value is NaN."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else None


def decision_metrics(y_true, y_pred, exclude=None) -> dict[str, float | None]:
    """Compute the standard metrics of 0/1 decisions.

    Excluded entries count as 0 in both the truth and the decisions. The definitions are
    scikit-learn's with ``zero_division=np.nan``: a figure whose denominator is 0 for a label
    (macro) or a row (samples) is undefined and left out of the mean, and a metric with no
    defined entry at all is None. The figures come from true/false positive counts instead
    of scikit-learn's functions, which take about 10 s each on 1,000,000 rows of 24 labels;
    the tests check that both agree.

    Returns
    -------
    dict
        ``hamming_loss``, ``subset_accuracy``; ``f1_``, ``precision_``, ``recall_`` and
        ``jaccard_`` each followed by ``micro``, ``macro`` and ``samples``; ``binary_accuracy``,
        the share of correct entries that Keras reports as "accuracy", beside
        ``binary_accuracy_all_zeros``, the same figure for a model that predicts no label.
    """
    truth, _, mask = _prepare(y_true, None, exclude)
    decisions = _as_indicator("y_pred", y_pred, truth.shape) & ~mask
    if truth.shape[0] == 0:
        raise MetricInputError("decision metrics need at least one row; y_true has none.")

    true_pos = truth & decisions
    false_pos = decisions & ~truth
    false_neg = truth & ~decisions
    wrong = false_pos | false_neg
    result: dict[str, float | None] = {
        "hamming_loss": float(wrong.mean()),
        "subset_accuracy": float((~wrong.any(axis=1)).mean()),
    }

    totals = [int(count.sum()) for count in (true_pos, false_pos, false_neg)]
    micro = _count_figures(*(np.array(total) for total in totals))
    macro = _count_figures(*(count.sum(axis=0) for count in (true_pos, false_pos, false_neg)))
    samples = _count_figures(*(count.sum(axis=1) for count in (true_pos, false_pos, false_neg)))
    for name in ("f1", "precision", "recall", "jaccard"):
        result[f"{name}_micro"] = _defined(micro[name])
        result[f"{name}_macro"] = _mean_defined(macro[name])
        result[f"{name}_samples"] = _mean_defined(samples[name])

    result["binary_accuracy"] = 1.0 - result["hamming_loss"]
    result["binary_accuracy_all_zeros"] = float((~truth).mean())
    return result


# ---------------------------------------------------------------------------------------------
# Per label


def _ranking_curves(truth_column: np.ndarray, score_column: np.ndarray) -> tuple[float | None, float | None]:
    """Return the ROC AUC and average precision of one label from a single sort.

    The definitions are those of scikit-learn's ``roc_auc_score`` (trapezoids between the
    points of distinct thresholds) and ``average_precision_score`` (precision at each distinct
    threshold weighted by the recall gained there); both are None for a label without
    positives, and ROC AUC is None for a label without negatives as well.
    """
    n_positive = int(truth_column.sum())
    if n_positive == 0:
        return None, None
    order = np.argsort(-score_column)
    sorted_scores = score_column[order]
    # The last place of each run of equal scores: one point of the curves per distinct threshold.
    ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    true_pos = np.cumsum(truth_column[order])[ends].astype(np.float64)
    false_pos = ends + 1 - true_pos

    recall = true_pos / n_positive
    precision = true_pos / (ends + 1)
    average_precision = float(np.sum(np.diff(recall, prepend=0.0) * precision))

    n_negative = len(truth_column) - n_positive
    if n_negative == 0:
        return None, average_precision
    tpr = np.concatenate([[0.0], recall])
    fpr = np.concatenate([[0.0], false_pos / n_negative])
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return roc_auc, average_precision


def per_label_metrics(
    y_true, y_pred=None, scores=None, labels: Sequence[str] | None = None, exclude=None
) -> dict[str, dict[str, float | int | None]]:
    """Compute support, precision, recall, F1, ROC AUC and average precision of each label.

    A figure that a label's data cannot define is None, and one ``UndefinedMetricWarning``
    names the labels concerned. Recall, ROC AUC and average precision are undefined for a
    label without positives, precision for a label never predicted, and ROC AUC for a label
    without negatives.
    Excluded entries are left out of that label's ROC AUC and average precision.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_labels)
    y_pred : array of shape (n_samples, n_labels), optional
        0/1 decisions; without them, precision, recall and F1 are left out.
    scores : array of shape (n_samples, n_labels), optional
        Without them, ROC AUC and average precision are left out.
    labels : sequence of str, optional
        Label names, in column order; ``label_0``, ``label_1``, ... by default.
    exclude : array of shape (n_samples, n_labels), optional

    Returns
    -------
    dict
        One entry per label name, each a dict of figure name to value.
    """
    truth, values, mask = _prepare(y_true, scores, exclude)
    names = _label_names(labels, truth.shape[1])
    support = truth.sum(axis=0)
    table = {name: {"support": int(count)} for name, count in zip(names, support)}

    if y_pred is not None:
        decisions = _as_indicator("y_pred", y_pred, truth.shape) & ~mask
        figures = _count_figures(
            (truth & decisions).sum(axis=0), (decisions & ~truth).sum(axis=0), (truth & ~decisions).sum(axis=0)
        )
        for index, name in enumerate(names):
            for figure in ("precision", "recall", "f1"):
                table[name][figure] = _defined(figures[figure][index])
    if values is not None:
        for index, name in enumerate(names):
            kept = ~mask[:, index]
            truth_column, score_column = truth[kept, index], values[kept, index]
            roc_auc, average_precision = _ranking_curves(truth_column, score_column)
            table[name]["roc_auc"] = roc_auc
            table[name]["average_precision"] = average_precision

    _warn_undefined(table)
    return table


def _label_names(labels: Sequence[str] | None, n_labels: int) -> list[str]:
    if labels is None:
        return [f"label_{index}" for index in range(n_labels)]
    names = [str(label) for label in labels]
    if len(names) != n_labels:
        raise MetricInputError(f"labels names {len(names)} labels but the arrays have {n_labels} columns; pass one name per column.")
    if len(set(names)) != len(names):
        raise MetricInputError(f"labels must be unique; received {names}.")
    return names


def _warn_undefined(table: dict[str, dict]) -> None:
    """Issue one warning listing, per figure, the labels where it is undefined."""
    undefined: dict[str, list[str]] = {}
    for name, figures in table.items():
        for figure, value in figures.items():
            if value is None:
                undefined.setdefault(figure, []).append(name)
    if not undefined:
        return
    parts = [f"{figure} for {', '.join(names)}" for figure, names in undefined.items()]
    message = (
        "Some per-label metrics are undefined and reported as None, because a label has no "
        f"positives, no negatives or no predictions: {'; '.join(parts)}."
    )
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------
# The whole report


def ranking_metrics(y_true, scores, k: int = 7, exclude=None) -> dict[str, float | int | None]:
    """Compute every ranking metric of this module in one dict (see :func:`multilabel_report`)."""
    # Checked once here: the metrics below then find a boolean truth and float64 scores, which
    # they check without copying.
    y_true, scores, exclude = _prepare(y_true, scores, exclude)
    best = max_map_at_k(y_true, k, exclude)
    achieved = map_at_k(y_true, scores, k, exclude)
    return {
        "k": int(k),
        "map_at_k": achieved,
        "max_map_at_k": best,
        "map_at_k_share_of_max": achieved / best if best > 0 else None,
        "precision_at_k": precision_at_k(y_true, scores, k, exclude),
        "recall_at_k": _defined(recall_at_k(y_true, scores, k, exclude)),
        "label_ranking_average_precision": _defined(label_ranking_average_precision(y_true, scores, exclude)),
        "ranking_loss": _defined(ranking_loss(y_true, scores, exclude)),
        "coverage": _defined(coverage(y_true, scores, exclude)),
    }


def multilabel_report(
    y_true, y_pred=None, scores=None, labels: Sequence[str] | None = None, exclude=None, k: int = 7
) -> dict:
    """Compute every metric of this module as one JSON-ready dict.

    Parameters
    ----------
    y_true : array of shape (n_samples, n_labels)
        0/1 truth.
    y_pred : array of shape (n_samples, n_labels), optional
        0/1 decisions; without them the decision metrics and per-label precision, recall and
        F1 are left out.
    scores : array of shape (n_samples, n_labels), optional
        Scores or probabilities; without them the ranking metrics and per-label ROC AUC and
        average precision are left out.
    labels : sequence of str, optional
        Label names in column order.
    exclude : array of shape (n_samples, n_labels), optional
        1 where a label is never predicted for that row (an owned product).
    k : int, default 7
        Cut-off of MAP@k, precision@k and recall@k.

    Returns
    -------
    dict
        ``n_samples``, ``n_labels``, ``label_cardinality``; the keys of :func:`ranking_metrics`
        and :func:`decision_metrics`; ``per_label``, one dict per label name. Undefined values
        are None, so ``json.dumps`` writes them as null.
    """
    if y_pred is None and scores is None:
        raise MetricInputError("multilabel_report needs y_pred, scores or both; both are None.")
    truth, values, mask = _prepare(y_true, scores, exclude)
    report: dict = {
        "n_samples": int(truth.shape[0]),
        "n_labels": int(truth.shape[1]),
        "label_cardinality": float(truth.sum(axis=1).mean()) if truth.shape[0] else None,
    }
    if values is not None:
        report.update(ranking_metrics(truth, values, k, mask))
    if y_pred is not None:
        report.update(decision_metrics(truth, y_pred, mask))
    report["per_label"] = per_label_metrics(truth, y_pred, values, labels, mask)
    return report
