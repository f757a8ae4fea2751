"""Tests of the decision metrics, the per-label figures and the whole report."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from nextbest.multilabel import metrics as m


@st.composite
def decision_problems(draw):
    n_rows = draw(st.integers(1, 15))
    # scikit-learn reads a single column as binary, not multi-label, so at least two labels.
    n_labels = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y_true = (rng.random((n_rows, n_labels)) < rng.random()).astype(np.int8)
    y_pred = (rng.random((n_rows, n_labels)) < rng.random()).astype(np.int8)
    scores = rng.integers(0, 5, size=(n_rows, n_labels)).astype(np.float64)
    return y_true, y_pred, scores


def sklearn_decisions(y_true, y_pred):
    """The same figures from scikit-learn, undefined entries left out of averages."""
    expected = {
        "hamming_loss": skm.hamming_loss(y_true, y_pred),
        "subset_accuracy": skm.accuracy_score(y_true, y_pred),
    }
    scorers = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, scorer in scorers.items():
            for average in ("micro", "macro", "samples"):
                expected[f"{name}_{average}"] = scorer(y_true, y_pred, average=average, zero_division=np.nan)
    return expected


def slow_jaccard(y_true, y_pred, average):
    """Jaccard index from the definition, undefined labels or rows left out."""
    truth, decisions = y_true.astype(bool), y_pred.astype(bool)
    if average == "micro":
        union = (truth | decisions).sum()
        return (truth & decisions).sum() / union if union else None
    axis = 1 if average == "macro" else 0  # iterate over labels (columns) or rows
    values = [
        (t & d).sum() / (t | d).sum()
        for t, d in zip(np.moveaxis(truth, axis, 0), np.moveaxis(decisions, axis, 0))
        if (t | d).any()
    ]
    return float(np.mean(values)) if values else None


@settings(max_examples=40, deadline=None)
@given(decision_problems())
def test_decisions_match_sklearn(problem):
    y_true, y_pred, _ = problem
    result = m.decision_metrics(y_true, y_pred)
    for name, value in sklearn_decisions(y_true, y_pred).items():
        expected = None if math.isnan(value) else pytest.approx(value)
        assert result[name] == expected, name
    for average in ("micro", "macro", "samples"):
        expected_jaccard = slow_jaccard(y_true, y_pred, average)
        expected = None if expected_jaccard is None else pytest.approx(expected_jaccard)
        assert result[f"jaccard_{average}"] == expected, average


@settings(max_examples=50, deadline=None)
@given(decision_problems())
def test_per_label_matches_sklearn(problem):
    y_true, y_pred, scores = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        table = m.per_label_metrics(y_true, y_pred, scores)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y_true, y_pred, average=None, zero_division=np.nan
        )
    for index, figures in enumerate(table.values()):
        assert figures["support"] == support[index]
        for name, expected in (("precision", precision), ("recall", recall), ("f1", f1)):
            assert figures[name] == (None if math.isnan(expected[index]) else pytest.approx(expected[index])), name
        column = y_true[:, index]
        if 0 < column.sum():
            ap = skm.average_precision_score(column, scores[:, index])
            assert figures["average_precision"] == pytest.approx(ap)
        if 0 < column.sum() < len(column):
            assert figures["roc_auc"] == pytest.approx(skm.roc_auc_score(column, scores[:, index]))


@settings(max_examples=60, deadline=None)
@given(decision_problems(), st.integers(0, 2**32 - 1))
def test_row_shuffle_keeps_report(problem, seed):
    y_true, y_pred, scores = problem
    order = np.random.default_rng(seed).permutation(y_true.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        before = m.multilabel_report(y_true, y_pred, scores)
        after = m.multilabel_report(y_true[order], y_pred[order], scores[order])
    assert_reports_close(before, after)


def assert_reports_close(before, after):
    """Compare two reports value by value, allowing floating-point rounding."""
    for name, value in before.items():
        if name == "per_label":
            for label, figures in value.items():
                for figure, number in figures.items():
                    assert after[name][label][figure] == pytest.approx(number), (label, figure)
        else:
            assert after[name] == pytest.approx(value), name


def test_hand_checked_decisions():
    y_true = np.array([[1, 0, 1], [0, 1, 0]])
    y_pred = np.array([[1, 1, 0], [0, 1, 0]])
    result = m.decision_metrics(y_true, y_pred)
    assert result["hamming_loss"] == pytest.approx(2 / 6)
    assert result["subset_accuracy"] == pytest.approx(0.5)
    # tp 2, fp 1, fn 1.
    assert result["f1_micro"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert result["jaccard_micro"] == pytest.approx(2 / 4)


def test_keras_accuracy_beside_all_zeros():
    # Rare labels: predicting nothing is right on 95% of entries.
    y_true = np.zeros((20, 5), dtype=int)
    y_true[:5, 0] = 1
    result = m.decision_metrics(y_true, np.zeros_like(y_true))
    assert result["binary_accuracy"] == pytest.approx(0.95)
    assert result["binary_accuracy_all_zeros"] == pytest.approx(0.95)
    assert result["f1_micro"] == 0.0


def test_excluded_entries_are_not_predictions():
    y_true = np.array([[0, 1]])
    y_pred = np.array([[1, 1]])
    result = m.decision_metrics(y_true, y_pred, exclude=[[1, 0]])
    assert result["precision_micro"] == 1.0
    assert result["hamming_loss"] == 0.0


def test_label_without_positives_is_undefined():
    y_true = np.array([[1, 0], [0, 0], [1, 0]])
    y_pred = np.array([[1, 0], [0, 0], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [0.4, 0.2]])
    with pytest.warns(UndefinedMetricWarning, match=r"recall for b; f1 for b; roc_auc for b; average_precision for b"):
        report = m.multilabel_report(y_true, y_pred, scores, labels=["a", "b"])
    empty = report["per_label"]["b"]
    assert empty["support"] == 0
    assert empty["recall"] is None
    assert empty["roc_auc"] is None
    assert empty["average_precision"] is None
    assert report["per_label"]["a"]["recall"] == pytest.approx(0.5)
    assert '"roc_auc": null' in json.dumps(report)


def test_label_without_negatives_has_no_roc_auc():
    y_true = np.array([[1, 1], [1, 0]])
    scores = np.array([[0.9, 0.1], [0.2, 0.3]])
    with pytest.warns(UndefinedMetricWarning, match="roc_auc for a"):
        table = m.per_label_metrics(y_true, scores=scores, labels=["a", "b"])
    assert table["a"]["roc_auc"] is None
    assert table["a"]["average_precision"] == 1.0
    # b's only positive scores below its negative.
    assert table["b"]["roc_auc"] == 0.0


def test_report_keys_and_share_of_max():
    rng = np.random.default_rng(1)
    y_true = (rng.random((300, 4)) < 0.3).astype(int)
    scores = rng.random((300, 4))
    report = m.multilabel_report(y_true, scores > 0.5, scores, labels=list("wxyz"), k=2)
    expected_keys = {
        "n_samples", "n_labels", "label_cardinality", "k", "map_at_k", "max_map_at_k", "map_at_k_share_of_max",
        "precision_at_k", "recall_at_k", "label_ranking_average_precision", "ranking_loss", "coverage",
        "hamming_loss", "subset_accuracy", "binary_accuracy", "binary_accuracy_all_zeros", "per_label",
    } | {f"{name}_{average}" for name in ("f1", "precision", "recall", "jaccard") for average in ("micro", "macro", "samples")}
    assert set(report) == expected_keys
    assert report["k"] == 2
    assert report["map_at_k_share_of_max"] == pytest.approx(report["map_at_k"] / report["max_map_at_k"])
    assert list(report["per_label"]) == list("wxyz")
    json.dumps(report)


def test_report_without_decisions_or_scores():
    y_true = np.array([[1, 0], [0, 1]])
    ranking_only = m.multilabel_report(y_true, scores=np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert ranking_only["map_at_k"] == 1.0
    assert "hamming_loss" not in ranking_only
    decisions_only = m.multilabel_report(y_true, y_pred=y_true)
    assert decisions_only["f1_micro"] == 1.0
    assert "map_at_k" not in decisions_only
    with pytest.raises(m.MetricInputError, match="needs y_pred, scores or both"):
        m.multilabel_report(y_true)


def test_report_rejects_wrong_label_names():
    with pytest.raises(m.MetricInputError, match="names 1 labels but the arrays have 2 columns"):
        m.multilabel_report(np.array([[1, 0]]), y_pred=np.array([[1, 0]]), labels=["a"])
