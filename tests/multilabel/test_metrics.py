"""Tests of the ranking metrics: hand-checked cases, slow obvious versions, invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from nextbest.errors import NextbestError
from nextbest.multilabel import metrics as m

# ---------------------------------------------------------------------------------------------
# Slow obvious versions, written from the definitions one row at a time.


def slow_ranking(score_row, exclude_row, k):
    """Label indices by decreasing score, lower index first on ties, excluded labels left out."""
    candidates = [j for j in range(len(score_row)) if not exclude_row[j]]
    ordered = sorted(candidates, key=lambda j: (-score_row[j], j))[:k]
    return ordered + [-1] * (k - len(ordered))


def slow_average_precision(actual, predicted, k):
    """AP@k as the Santander competition's reference code computes it."""
    if not actual:
        return 0.0
    score = 0.0
    hits = 0
    for place, label in enumerate(predicted[:k]):
        if label in actual and label not in predicted[:place]:
            hits += 1
            score += hits / (place + 1)
    return score / min(len(actual), k)


def true_sets(y_true, exclude):
    return [
        {j for j in range(y_true.shape[1]) if y_true[i, j] and not exclude[i, j]} for i in range(y_true.shape[0])
    ]


def slow_map_at_k(y_true, scores, k, exclude):
    actual = true_sets(y_true, exclude)
    rankings = [slow_ranking(scores[i], exclude[i], k) for i in range(len(actual))]
    return float(np.mean([slow_average_precision(actual[i], rankings[i], k) for i in range(len(actual))]))


def slow_precision_recall_at_k(y_true, scores, k, exclude):
    actual = true_sets(y_true, exclude)
    precisions, recalls = [], []
    for i, labels in enumerate(actual):
        top = set(slow_ranking(scores[i], exclude[i], k)) - {-1}
        precisions.append(len(top & labels) / k)
        if labels:
            recalls.append(len(top & labels) / len(labels))
    return float(np.mean(precisions)), (float(np.mean(recalls)) if recalls else float("nan"))


def slow_rowwise_sklearn(metric, y_true, scores, exclude):
    """Apply a scikit-learn ranking metric to each row with its excluded labels removed."""
    values = []
    for i in range(y_true.shape[0]):
        kept = ~exclude[i]
        row_truth = y_true[i, kept][None, :]
        if row_truth.shape[1] < 2:
            # One label or none leaves no (true, false) pair to order.
            values.append(1.0 if metric is skm.label_ranking_average_precision_score else 0.0)
            continue
        values.append(metric(row_truth, scores[i, kept][None, :]))
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------------
# Random data: few distinct scores, so ties are common.


@st.composite
def ranking_problems(draw, min_rows=1, min_labels=1):
    n_rows = draw(st.integers(min_rows, 12))
    n_labels = draw(st.integers(min_labels, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n_rows, n_labels)) < rng.random()).astype(np.int8)
    scores = rng.integers(0, 4, size=(n_rows, n_labels)).astype(np.float64)
    exclude = rng.random((n_rows, n_labels)) < draw(st.sampled_from([0.0, 0.3]))
    k = draw(st.integers(1, 8))
    return y_true, scores, exclude, k


# ---------------------------------------------------------------------------------------------
# Hand-checked cases


def test_map_hand_checked_row():
    # Truth {0, 2}; ranking 2, 1, 0: hits at places 1 and 3, so (1/1 + 2/3) / 2.
    assert m.ranked_map_at_k([[1, 0, 1]], [[2, 1, 0]], k=3) == pytest.approx(5 / 6)


def test_map_row_without_truth_counts_zero():
    y_true = np.array([[1, 0], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.5, 0.4]])
    assert m.map_at_k(y_true, scores, k=2) == pytest.approx(0.5)
    assert m.max_map_at_k(y_true) == pytest.approx(0.5)


def test_map_divides_by_min_truth_and_k():
    # Three true labels, k = 2, both top places hit: AP = (1 + 1) / min(3, 2) = 1.
    y_true = np.array([[1, 1, 1, 0]])
    scores = np.array([[0.9, 0.8, 0.1, 0.2]])
    assert m.map_at_k(y_true, scores, k=2) == pytest.approx(1.0)


def test_map_excluded_label_never_ranked():
    y_true = np.array([[0, 1, 0]])
    scores = np.array([[0.9, 0.5, 0.1]])
    assert m.map_at_k(y_true, scores, k=1) == 0.0
    assert m.map_at_k(y_true, scores, k=1, exclude=[[1, 0, 0]]) == 1.0


def test_excluded_true_label_leaves_truth():
    # The only true label is excluded, so the row has nothing to find and cannot score.
    y_true = np.array([[1, 0], [0, 1]])
    exclude = np.array([[1, 0], [0, 0]])
    assert m.max_map_at_k(y_true, exclude=exclude) == pytest.approx(0.5)


def test_rank_labels_ties_and_empty_places():
    scores = np.array([[0.5, 0.5, 0.9, 0.5]])
    assert m.rank_labels(scores, 3).tolist() == [[2, 0, 1]]
    ranked = m.rank_labels(scores, 4, exclude=[[0, 1, 1, 1]])
    assert ranked.tolist() == [[0, -1, -1, -1]]


def test_rank_labels_pads_beyond_label_count():
    assert m.rank_labels(np.array([[0.1, 0.2]]), 4).tolist() == [[1, 0, -1, -1]]


def test_ranked_map_counts_repeated_label_once():
    assert m.ranked_map_at_k([[1, 1]], [[0, 0]], k=2) == pytest.approx(0.5)


def test_ranked_map_ignores_places_after_k():
    assert m.ranked_map_at_k([[1, 0, 0]], [[2, 1, 0]], k=2) == 0.0


def test_precision_recall_at_k_hand_checked():
    y_true = np.array([[1, 0, 1, 0], [0, 0, 0, 0]])
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.4, 0.3, 0.2, 0.1]])
    # Row 1: one hit in two places. Row 2: no hit. Precision (0.5 + 0) / 2.
    assert m.precision_at_k(y_true, scores, k=2) == pytest.approx(0.25)
    # Recall averages over row 1 only: one of its two true labels.
    assert m.recall_at_k(y_true, scores, k=2) == pytest.approx(0.5)


def test_recall_at_k_without_truth_is_nan():
    assert np.isnan(m.recall_at_k(np.zeros((2, 3)), np.ones((2, 3)), k=2))


def test_perfect_scores_reach_max_map():
    rng = np.random.default_rng(3)
    y_true = (rng.random((200, 6)) < 0.2).astype(int)
    exclude = (rng.random((200, 6)) < 0.2) & (y_true == 0)
    assert m.map_at_k(y_true, y_true + 0.0, k=7, exclude=exclude) == pytest.approx(m.max_map_at_k(y_true, 7, exclude))


def test_no_rows_gives_zero_map():
    assert m.map_at_k(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    assert m.ranked_map_at_k(np.zeros((0, 3)), np.zeros((0, 7), dtype=int)) == 0.0


# ---------------------------------------------------------------------------------------------
# Input errors


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: m.map_at_k([[2, 0]], [[0.1, 0.2]]), r"y_true must hold only 0 and 1; found \[2\]"),
        (lambda: m.map_at_k([[1, 0]], [[0.1, 0.2, 0.3]]), r"scores has shape \(1, 3\)"),
        (lambda: m.map_at_k([[1, 0]], [[np.nan, 0.2]]), "NaN or infinite"),
        (lambda: m.map_at_k([[1, 0]], [[0.1, 0.2]], k=0), "k must be a positive integer"),
        (lambda: m.map_at_k([1, 0], [0.1, 0.2]), "2-D array"),
        (lambda: m.ranked_map_at_k([[1, 0]], [[2]]), r"label indices 0..1 or -1.*\[2\]"),
        (lambda: m.ranked_map_at_k([[1, 0]], [[0.5]]), "must hold integers"),
        (lambda: m.map_at_k([[1, 0]], [[0.1, 0.2]], exclude=[[1]]), "exclude has shape"),
    ],
)
def test_invalid_inputs_raise(call, message):
    with pytest.raises(m.MetricInputError, match=message) as raised:
        call()
    assert isinstance(raised.value, NextbestError)
    assert isinstance(raised.value, ValueError)


# ---------------------------------------------------------------------------------------------
# Against the slow versions and scikit-learn


@settings(max_examples=150, deadline=None)
@given(ranking_problems())
def test_map_matches_slow_version(problem):
    y_true, scores, exclude, k = problem
    assert m.map_at_k(y_true, scores, k, exclude) == pytest.approx(slow_map_at_k(y_true, scores, k, exclude))


@settings(max_examples=100, deadline=None)
@given(ranking_problems(), st.integers(0, 2**32 - 1))
def test_ranked_map_matches_slow_version(problem, seed):
    y_true, _, _, k = problem
    rng = np.random.default_rng(seed)
    ranked = rng.integers(-1, y_true.shape[1], size=(y_true.shape[0], k + 1))
    expected = np.mean([slow_average_precision(set(np.flatnonzero(row)), list(r), k) for row, r in zip(y_true, ranked)])
    assert m.ranked_map_at_k(y_true, ranked, k) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(ranking_problems())
def test_rank_labels_matches_slow_version(problem):
    _, scores, exclude, k = problem
    expected = [slow_ranking(scores[i], exclude[i], k) for i in range(scores.shape[0])]
    assert m.rank_labels(scores, k, exclude).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(ranking_problems())
def test_precision_recall_at_k_match_slow_version(problem):
    y_true, scores, exclude, k = problem
    precision, recall = slow_precision_recall_at_k(y_true, scores, k, exclude)
    assert m.precision_at_k(y_true, scores, k, exclude) == pytest.approx(precision)
    assert m.recall_at_k(y_true, scores, k, exclude) == pytest.approx(recall, nan_ok=True)


@settings(max_examples=50, deadline=None)
@given(ranking_problems(min_labels=2))
def test_pairwise_metrics_match_sklearn(problem):
    y_true, scores, _, _ = problem
    lrap = skm.label_ranking_average_precision_score(y_true, scores)
    assert m.label_ranking_average_precision(y_true, scores) == pytest.approx(lrap)
    assert m.ranking_loss(y_true, scores) == pytest.approx(skm.label_ranking_loss(y_true, scores))
    assert m.coverage(y_true, scores) == pytest.approx(skm.coverage_error(y_true, scores))


@settings(max_examples=50, deadline=None)
@given(ranking_problems(min_labels=2))
def test_pairwise_metrics_drop_excluded_labels(problem):
    y_true, scores, exclude, _ = problem
    lrap = slow_rowwise_sklearn(skm.label_ranking_average_precision_score, y_true, scores, exclude)
    loss = slow_rowwise_sklearn(skm.label_ranking_loss, y_true, scores, exclude)
    kept_truth = np.where(exclude, 0, y_true)
    kept_scores = np.where(exclude, scores.min() - 1, scores)
    assert m.label_ranking_average_precision(y_true, scores, exclude) == pytest.approx(lrap)
    assert m.ranking_loss(y_true, scores, exclude) == pytest.approx(loss)
    assert m.coverage(y_true, scores, exclude) == pytest.approx(skm.coverage_error(kept_truth, kept_scores))


def test_pairwise_metrics_cross_chunk_boundary(monkeypatch):
    monkeypatch.setattr(m, "_PAIRWISE_CHUNK_ROWS", 7)
    rng = np.random.default_rng(5)
    y_true = (rng.random((50, 5)) < 0.3).astype(int)
    scores = rng.random((50, 5))
    lrap = skm.label_ranking_average_precision_score(y_true, scores)
    assert m.label_ranking_average_precision(y_true, scores) == pytest.approx(lrap)
    assert m.ranking_loss(y_true, scores) == pytest.approx(skm.label_ranking_loss(y_true, scores))


# ---------------------------------------------------------------------------------------------
# Invariance: the order of rows never changes a score.


@settings(max_examples=60, deadline=None)
@given(ranking_problems(min_rows=2), st.integers(0, 2**32 - 1))
def test_row_shuffle_keeps_ranking_metrics(problem, seed):
    y_true, scores, exclude, k = problem
    order = np.random.default_rng(seed).permutation(y_true.shape[0])
    before = m.ranking_metrics(y_true, scores, k, exclude)
    after = m.ranking_metrics(y_true[order], scores[order], k, exclude[order])
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert after[name] == pytest.approx(value, nan_ok=True), name
