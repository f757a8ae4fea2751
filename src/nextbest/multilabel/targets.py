"""Checks and conversions of the label matrix, the mask and sample weights passed to fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from nextbest.multilabel.tables import InvalidInputError

MASKED = -1.0


def label_matrix(Y, n_samples: int, what: str = "Y") -> tuple[np.ndarray, list[str] | None]:
    """Return `Y` as a float64 matrix of shape (n_samples, n_labels) and its column names.

    Null entries stay NaN here; `encode_targets` decides whether they are allowed.

    Raises
    ------
    InvalidInputError
        When `Y` is not 2-D, has the wrong number of rows, or holds values other than 0 and 1.
    """
    if Y is None:
        raise InvalidInputError(
            f"MultiLabelNet requires y to be passed, but the target y is None. Pass {what} as a 0/1 matrix "
            "of shape (n_samples, n_labels)."
        )
    names = None
    if isinstance(Y, pa.Table | pa.RecordBatch):
        Y = Y.to_pandas()
    if isinstance(Y, pd.DataFrame):
        names = [str(name) for name in Y.columns]
        values = Y.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            values = np.asarray(Y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"{what} must hold 0/1 numbers; it could not be read as numbers ({error}).") from error
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        value = float(values[index])
        where = f"row {index[0]}, column {index[1]}" if len(index) == 2 else f"position {index}"
        if not value.is_integer():
            raise InvalidInputError(
                f"{what} must hold only 0 and 1 (a multi-label indicator matrix); {where} "
                f"contains the continuous value {value!r}. Pass 0/1 labels, not scores or regression targets."
            )
        raise InvalidInputError(
            f"{what} must hold only 0 and 1 (a multi-label indicator matrix); {where} "
            f"contains the value {value!r}. Only binary classification is supported for each label, so turn "
            "class labels into 0/1 columns first, for example with sklearn.preprocessing.MultiLabelBinarizer."
        )
    if values.ndim != 2:
        raise InvalidInputError(
            f"{what} must be a 0/1 matrix of shape (n_samples, n_labels); received shape {values.shape}. "
            "For a single label, pass Y.reshape(-1, 1)."
        )
    if values.shape[0] != n_samples:
        raise InvalidInputError(f"{what} has {values.shape[0]} rows but X has {n_samples}; pass one row of labels per row of X.")
    if values.shape[1] == 0:
        raise InvalidInputError(f"{what} has no label columns; pass at least one 0/1 column.")
    return values, names


def mask_matrix(mask, shape: tuple[int, int], what: str = "mask") -> np.ndarray | None:
    """Return `mask` as a bool matrix of the labels' shape (True = entry does not count)."""
    if mask is None:
        return None
    if isinstance(mask, pa.Table | pa.RecordBatch):
        mask = mask.to_pandas()
    if isinstance(mask, pd.DataFrame):
        mask = mask.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.asarray(mask, dtype=np.float64)
    if values.shape != shape:
        raise InvalidInputError(
            f"{what} must have the shape of the labels, {shape}; received shape {values.shape}. "
            "Pass one 0/1 column per label, 1 where the entry must not count."
        )
    if np.isnan(values).any() or ((values != 0) & (values != 1)).any():
        raise InvalidInputError(f"{what} must hold only 0 and 1, without nulls; 1 marks an entry that must not count.")
    return values.astype(bool)


def sample_weights(sample_weight, n_samples: int) -> np.ndarray | None:
    """Return `sample_weight` as float32 of shape (n_samples,), checked non-negative and finite."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise InvalidInputError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; received shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise InvalidInputError("sample_weight must hold finite numbers >= 0.")
    if not weights.any():
        raise InvalidInputError("sample_weight is zero for every row, so nothing would be learned; give some rows a weight > 0.")
    return weights.astype(np.float32)


def encode_targets(values: np.ndarray, mask: np.ndarray | None, what: str = "Y") -> np.ndarray:
    """Return float32 targets with -1 at masked entries, the form the losses read.

    Raises
    ------
    InvalidInputError
        When a null label sits at an entry that the mask does not cover.
    """
    missing = np.isnan(values)
    if mask is not None:
        missing &= ~mask
    if missing.any():
        row, column = np.argwhere(missing)[0]
        raise InvalidInputError(
            f"{what} has a null at row {row}, column {column}. Fill it with 0 or 1, or set mask to 1 there "
            "so that the entry does not count."
        )
    targets = values.astype(np.float32)
    if mask is not None:
        targets[mask] = MASKED
    return targets
