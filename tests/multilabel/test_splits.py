"""Tests of the iterative stratification splits."""

from __future__ import annotations

import numpy as np
import pytest

from nextbest.multilabel.splits import SplitError, iterative_kfold, iterative_train_test_split


@pytest.fixture
def skewed_labels():
    rng = np.random.default_rng(0)
    return (rng.random((600, 6)) < [0.5, 0.3, 0.1, 0.05, 0.02, 0.01]).astype(int)


def test_split_covers_rows_once(skewed_labels):
    train, test = iterative_train_test_split(skewed_labels, 0.25, random_state=1)
    assert len(test) == 150
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(600))


def test_split_keeps_label_shares(skewed_labels):
    train, test = iterative_train_test_split(skewed_labels, 0.25, random_state=1)
    positives = skewed_labels.sum(axis=0)
    # Each label's positives divide about 3 to 1; a rare label keeps at least one on each side.
    assert np.all(np.abs(skewed_labels[test].sum(axis=0) - positives * 0.25) <= 1.5)
    assert np.all(skewed_labels[train].sum(axis=0) >= 1)
    assert np.all(skewed_labels[test].sum(axis=0) >= 1)


def test_split_repeats_with_seed(skewed_labels):
    first = iterative_train_test_split(skewed_labels, 0.2, random_state=7)
    second = iterative_train_test_split(skewed_labels, 0.2, random_state=7)
    assert np.array_equal(first[1], second[1])


def test_kfold_folds_partition_rows(skewed_labels):
    folds = [test for _, test in iterative_kfold(4, random_state=0).split(np.zeros(600), skewed_labels)]
    assert len(folds) == 4
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(600))
    for fold in folds:
        assert np.all(np.abs(skewed_labels[fold].sum(axis=0) - skewed_labels.sum(axis=0) / 4) <= 1.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: iterative_train_test_split(np.array([[0, 2], [1, 0]])), r"only 0 and 1; found \[2\]"),
        (lambda: iterative_train_test_split(np.ones((10, 2)), test_size=1.0), "strictly between 0 and 1"),
        (lambda: iterative_train_test_split(np.ones((2, 2)), test_size=0.1), "leaves one part empty"),
        (lambda: iterative_train_test_split(np.ones(5)), "2-D"),
        (lambda: iterative_kfold(1), "at least 2"),
    ],
)
def test_split_errors(call, message):
    with pytest.raises(SplitError, match=message):
        call()
