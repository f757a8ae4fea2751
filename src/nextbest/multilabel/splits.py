"""Train/validation splits for multi-label data by iterative stratification.

A random split of multi-label data often leaves a rare label with no positive on one side,
and ordinary stratification handles one target only. Iterative stratification assigns rows
one label at a time, starting with the label with the fewest positives left, so that every
label keeps about its overall share of positives in each part. The method is from Sechidis,
Tsoumakas and Vlahavas, "On the Stratification of Multi-Label Data", ECML PKDD 2011; the
``iterative-stratification`` package (0.1.9) implements it, and this module adds input checks.
"""

from __future__ import annotations

import numpy as np
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

from nextbest.errors import NextbestError


class SplitError(NextbestError, ValueError):
    """A split that the data or the settings do not allow."""


def _check_labels(Y) -> np.ndarray:
    labels = np.asarray(Y)
    if labels.ndim != 2:
        raise SplitError(f"Y must be a 2-D 0/1 array of shape (n_samples, n_labels); received shape {labels.shape}.")
    invalid = (labels != 0) & (labels != 1)
    if invalid.any():
        raise SplitError(f"Y must hold only 0 and 1; found {np.unique(labels[invalid])[:5].tolist()}.")
    return labels.astype(np.int8)


def iterative_train_test_split(Y, test_size: float = 0.2, random_state: int | None = None):
    """Split row indices into two parts that keep each label's share of positives.

    Parameters
    ----------
    Y : array of shape (n_samples, n_labels)
        0/1 labels.
    test_size : float, default 0.2
        Share of rows in the second part, strictly between 0 and 1.
    random_state : int, optional
        Seed; the same seed and labels give the same split.

    Returns
    -------
    train_index, test_index : ndarray of int
        Sorted, disjoint row indices that together cover every row.
    """
    labels = _check_labels(Y)
    if not 0.0 < float(test_size) < 1.0:
        raise SplitError(f"test_size must be a share strictly between 0 and 1; received {test_size}.")
    n_test = round(labels.shape[0] * float(test_size))
    if n_test < 1 or n_test >= labels.shape[0]:
        raise SplitError(
            f"A share of {test_size} of {labels.shape[0]} rows leaves one part empty; use more rows or another share."
        )
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=float(test_size), random_state=random_state)
    train_index, test_index = next(splitter.split(np.zeros((labels.shape[0], 1)), labels))
    return np.sort(train_index), np.sort(test_index)


def iterative_kfold(n_splits: int = 5, random_state: int | None = None) -> MultilabelStratifiedKFold:
    """Return a shuffled k-fold splitter by iterative stratification.

    The object follows scikit-learn's splitter API, so it can be passed as ``cv`` to
    ``GridSearchCV`` or ``cross_val_score`` with a 0/1 label matrix as ``y``.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise SplitError(f"n_splits must be an integer of at least 2; received {n_splits!r}.")
    return MultilabelStratifiedKFold(n_splits=int(n_splits), shuffle=True, random_state=random_state)
