"""Per-label F1 thresholds: hand-checked cases and a brute-force comparison."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nextbest.multilabel.thresholds import best_f1_threshold, tune_thresholds


def f1_at(y_true, scores, threshold):
    predicted = scores >= threshold
    true_positives = np.sum(predicted & (y_true == 1))
    denominator = predicted.sum() + (y_true == 1).sum()
    return 2 * true_positives / denominator if denominator else 0.0


def test_threshold_separating_classes():
    y_true = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.3, 0.6, 0.9])
    # Predicting the two top scores gives F1 = 1; the threshold sits between 0.3 and 0.6.
    assert best_f1_threshold(y_true, scores) == pytest.approx(0.45)


def test_threshold_with_overlap():
    y_true = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    # Top 1: F1 = 2/3; top 3: 2*2/(3+2) = 0.8, the best; the threshold is halfway from 0.7 to 0.2.
    assert best_f1_threshold(y_true, scores) == pytest.approx(0.45)


def test_tied_scores_are_one_threshold():
    y_true = np.array([1, 0, 0, 1])
    scores = np.array([0.5, 0.5, 0.5, 0.2])
    # Cutting inside the tie is impossible: take all three 0.5s (F1 = 2/(3+2)) or all four (F1 = 4/6).
    assert best_f1_threshold(y_true, scores) == pytest.approx(0.2)


def test_label_without_positives_returns_none():
    assert best_f1_threshold(np.zeros(4), np.linspace(0, 1, 4)) is None


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 30).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, n, elements=st.integers(0, 1)),
            arrays(np.float64, n, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])),
        )
    )
)
def test_threshold_f1_equals_brute_force(case):
    y_true, scores = case
    threshold = best_f1_threshold(y_true, scores)
    if y_true.sum() == 0:
        assert threshold is None
        return
    best_possible = max(f1_at(y_true, scores, t) for t in np.unique(scores))
    assert f1_at(y_true, scores, threshold) == pytest.approx(best_possible)


def test_tune_thresholds_per_label_and_warning():
    y_true = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    scores = np.array([[0.9, 0.2], [0.4, 0.8], [0.7, 0.1], [0.2, 0.3]])
    with pytest.warns(UserWarning, match=r"1 label\(s\) have no positive entry.*stays at 0.5: b"):
        thresholds = tune_thresholds(y_true, scores, labels=["a", "b"])
    assert thresholds[0] == pytest.approx(0.55)
    assert thresholds[1] == 0.5


def test_tune_thresholds_skip_masked_entries():
    y_true = np.array([[1], [0], [0], [1]])
    scores = np.array([[0.9], [0.8], [0.3], [0.2]])
    mask = np.array([[0], [1], [0], [1]])
    # Without the masked rows only 0.9 (positive) and 0.3 (negative) remain.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        thresholds = tune_thresholds(y_true, scores, mask=mask)
    assert thresholds[0] == pytest.approx(0.6)
