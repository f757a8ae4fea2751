"""Top-k selection of labels from a score matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from nextbest.multilabel.tables import InvalidInputError


def top_k_labels(scores: np.ndarray, k: int, exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Return the k best label indices of each row and their scores.

    Labels are ordered by score, highest first; equal scores keep the lower label index first.
    An excluded label is never returned. Where a row has fewer than k labels left, the places
    after them hold index -1 and a NaN score.

    Parameters
    ----------
    scores : array of shape (n_samples, n_labels)
    k : int
        Number of places per row, at least 1; it may exceed n_labels.
    exclude : array of shape (n_samples, n_labels), optional
        1 (or True) where a label must not be returned.

    Returns
    -------
    indices : int64 array of shape (n_samples, k)
    top_scores : float array of shape (n_samples, k)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k must be a whole number >= 1; received k={k!r}.")
    scores = np.asarray(scores)
    excluded = _exclusion_mask(exclude, scores.shape)

    # Excluded labels sort after every real score because their sort key is +inf.
    keys = -scores.astype(np.float64)
    if excluded is not None:
        keys[excluded] = np.inf
    order = np.argsort(keys, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(scores, order, axis=1).astype(np.float64)
    if excluded is not None:
        dropped = np.take_along_axis(excluded, order, axis=1)
        order[dropped] = -1
        top_scores[dropped] = np.nan

    short = k - order.shape[1]
    if short > 0:
        order = np.pad(order, ((0, 0), (0, short)), constant_values=-1)
        top_scores = np.pad(top_scores, ((0, 0), (0, short)), constant_values=np.nan)
    return order.astype(np.int64), top_scores.astype(scores.dtype if scores.dtype.kind == "f" else np.float64)


def _exclusion_mask(exclude, shape: tuple[int, ...]) -> np.ndarray | None:
    if exclude is None:
        return None
    if isinstance(exclude, pa.Table | pa.RecordBatch):
        exclude = exclude.to_pandas()
    if isinstance(exclude, pd.DataFrame):
        exclude = exclude.to_numpy()
    values = np.asarray(exclude)
    if values.shape != shape:
        raise InvalidInputError(
            f"exclude must have the shape of the scores, {shape}; received shape {values.shape}. "
            "Pass one 0/1 column per label, 1 where the label must not be ranked."
        )
    try:
        return values.astype(bool)
    except (TypeError, ValueError) as error:
        raise InvalidInputError("exclude must hold 0/1 or True/False values.") from error
