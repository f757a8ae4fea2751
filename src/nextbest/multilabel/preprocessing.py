"""Preprocessing learned from a feature table: scaled numerics and categorical vocabularies.

`TablePreprocessor` turns a table into the inputs of the network: one float32 matrix named
``numeric`` (standardised columns, then one 0/1 missing-value indicator for each numeric column
that had nulls in fit) and one int32 vector ``cat_<i>`` for each categorical column. Categorical
index 0 is the shared bucket for unknown and rare values, index 1 is the null value, and the
vocabulary (values seen at least `min_frequency` times, sorted) starts at index 2.

It learns from one table, or from a stream of tables through `partial_fit` followed by `finish`,
and it round-trips through a JSON-ready dict.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.multilabel.tables import InvalidInputError, CATEGORICAL, NUMERIC, TableView, column_positions, view_table

logger = logging.getLogger(__name__)

UNKNOWN_INDEX = 0
NULL_INDEX = 1
FIRST_VALUE_INDEX = 2


class ColumnMismatchError(InvalidInputError):
    """The columns of a table differ from those the model was fitted on.

    Like every `InvalidInputError` it is also a `ValueError`, the type scikit-learn raises for a
    wrong number of features.
    """


class TablePreprocessor:
    """Scaling and vocabularies for the columns of a feature table.

    Parameters
    ----------
    categorical_features : list of str or int, optional
        Columns to treat as categorical, by name or position. The default, None, treats string,
        categorical, boolean and object columns holding strings as categorical and the rest as
        numeric. When given, every other column must be numeric.
    min_frequency : int, default=5
        A categorical value seen fewer times than this in fit goes to the shared unknown bucket.
    """

    def __init__(self, categorical_features=None, min_frequency: int = 5):
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.columns: list[dict] = []
        self.has_feature_names = False
        self._numeric_stats: dict[str, _RunningStats] = {}
        self._counts: dict[str, Counter] = {}
        self._finished = False

    # Learning -----------------------------------------------------------------------------

    def fit(self, X) -> "TablePreprocessor":
        """Learn the scaling and vocabularies from one table and return self."""
        self.partial_fit(X)
        return self.finish()

    def partial_fit(self, X) -> "TablePreprocessor":
        """Add one table (for example one record batch of a stream) to the statistics."""
        view = view_table(X)
        if not self.columns:
            self._start(view)
        else:
            self.check_columns(view)
        for column in self.columns:
            name = column["name"]
            if column["kind"] == NUMERIC:
                self._numeric_stats[name].update(*_numeric_values(view, name))
            else:
                counts = pc.value_counts(view.strings(name))
                values = counts.field("values").to_pylist()
                self._counts[name].update(dict(zip(values, counts.field("counts").to_pylist())))
        return self

    def finish(self) -> "TablePreprocessor":
        """Turn the statistics gathered by `partial_fit` into scales and vocabularies."""
        if not self.columns:
            raise InvalidInputError("The preprocessing saw no table; pass at least one row of data to fit.")
        empty = []
        for column in self.columns:
            name = column["name"]
            if column["kind"] == NUMERIC:
                stats = self._numeric_stats.pop(name)
                if stats.count == 0:
                    empty.append(name)
                column.update(stats.result())
            else:
                counts = self._counts.pop(name)
                counts.pop(None, None)
                column["vocabulary"] = sorted(v for v, n in counts.items() if n >= self.min_frequency)
                column["rare_values"] = sum(1 for n in counts.values() if n < self.min_frequency)
        if empty:
            # INFO, not WARNING: the banking features include history columns that are empty
            # whenever a product never changed in the training months, and the user cannot act on it.
            logger.info(
                "%d numeric column(s) have no values in fit and will always read as 0: %s",
                len(empty), ", ".join(empty[:8]) + (", ..." if len(empty) > 8 else ""),
            )
        self._finished = True
        logger.debug("preprocessing fitted: %d numeric, %d categorical columns",
                     len(self.numeric_columns), len(self.categorical_columns))
        return self

    def _start(self, view: TableView) -> None:
        if not view.names:
            raise InvalidInputError(
                f"X has 0 feature(s) (shape=({view.n_rows}, 0)) while a minimum of 1 is required; pass a "
                "table with at least one feature column."
            )
        if view.n_rows == 0:
            raise InvalidInputError("X has no rows; pass at least one row of data to fit.")
        kinds = self._column_kinds(view)
        self.columns = [{"name": name, "kind": kinds[name]} for name in view.names]
        self.has_feature_names = view.has_feature_names
        for name in view.names:
            if kinds[name] == NUMERIC:
                self._numeric_stats[name] = _RunningStats()
            else:
                self._counts[name] = Counter()

    def _column_kinds(self, view: TableView) -> dict[str, str]:
        if self.categorical_features is None:
            return {name: view.inferred_kind(name) for name in view.names}
        declared = set(column_positions(view.names, list(self.categorical_features)))
        kinds = {}
        for name in view.names:
            if name in declared:
                kinds[name] = CATEGORICAL
            elif view.inferred_kind(name) == CATEGORICAL:
                raise InvalidInputError(
                    f"Column {name!r} contains strings or booleans but is not listed in categorical_features. "
                    "Add it to categorical_features, or leave categorical_features as None to detect "
                    "categorical columns from their types."
                )
            else:
                kinds[name] = NUMERIC
        return kinds

    # Reading the learned state ------------------------------------------------------------

    @property
    def feature_names(self) -> list[str]:
        """Column names in the order seen in fit."""
        return [column["name"] for column in self.columns]

    @property
    def numeric_columns(self) -> list[dict]:
        """Learned state of the numeric columns, in table order."""
        return [column for column in self.columns if column["kind"] == NUMERIC]

    @property
    def categorical_columns(self) -> list[dict]:
        """Learned state of the categorical columns, in table order."""
        return [column for column in self.columns if column["kind"] == CATEGORICAL]

    @property
    def n_numeric_inputs(self) -> int:
        """Width of the ``numeric`` input matrix: scaled columns plus missing-value indicators."""
        numeric = self.numeric_columns
        return len(numeric) + sum(column["missing_indicator"] for column in numeric)

    def vocabulary_sizes(self) -> list[int]:
        """Number of embedding rows of each categorical column (values plus the two buckets)."""
        return [len(column["vocabulary"]) + FIRST_VALUE_INDEX for column in self.categorical_columns]

    # Applying -----------------------------------------------------------------------------

    def transform(self, X) -> dict[str, np.ndarray]:
        """Return the network inputs of a table.

        Returns
        -------
        dict
            ``"numeric"``: float32 array of shape (n_samples, n_numeric_inputs), present when the
            table has numeric columns; ``"cat_<i>"``: int32 array of shape (n_samples,) for the
            i-th categorical column.

        Raises
        ------
        ColumnMismatchError
            When the columns differ from those seen in fit.
        """
        view = view_table(X)
        self.check_columns(view)
        inputs = {}
        if self.numeric_columns:
            inputs["numeric"] = self._numeric_matrix(view)
        for i, column in enumerate(self.categorical_columns):
            inputs[f"cat_{i}"] = _category_indices(view.strings(column["name"]), column["vocabulary"])
        return inputs

    def _numeric_matrix(self, view: TableView) -> np.ndarray:
        numeric = self.numeric_columns
        # Filled column by column in column-major order, where each column is contiguous, then
        # copied once to the row-major layout that slicing training batches by row wants.
        matrix = np.empty((view.n_rows, self.n_numeric_inputs), dtype=np.float32, order="F")
        indicator_position = len(numeric)
        for position, column in enumerate(numeric):
            values, missing = _numeric_values(view, column["name"])
            target = matrix[:, position]
            np.subtract(values, column["mean"], out=target, casting="same_kind")
            target /= np.float32(column["scale"])
            target[missing] = 0.0
            if column["missing_indicator"]:
                matrix[:, indicator_position] = missing
                indicator_position += 1
        return np.ascontiguousarray(matrix)

    def check_columns(self, view: TableView) -> None:
        """Raise `ColumnMismatchError` listing missing, extra and reordered columns.

        A table without column names (a NumPy array) is matched by position, with a warning when
        the model was fitted on named columns.
        """
        expected = self.feature_names
        if not view.has_feature_names:
            if len(view.names) != len(expected):
                raise ColumnMismatchError(
                    f"X has {len(view.names)} features, but MultiLabelNet is expecting {len(expected)} "
                    "features as input. Pass the same columns as in fit, in the same order."
                )
            if self.has_feature_names:
                warnings.warn(
                    "X does not have valid feature names, but the model was fitted with feature names; "
                    "its columns are matched by position.",
                    UserWarning,
                    stacklevel=3,
                )
            view.rename_columns(expected)
            return
        if view.names != expected:
            raise ColumnMismatchError(describe_column_drift(expected, view.names))

    # Saving -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Return the learned state as a JSON-ready dict."""
        if not self._finished:
            raise InvalidInputError("The preprocessing is not fitted yet; call fit before saving it.")
        categorical = self.categorical_features
        return {
            "categorical_features": None if categorical is None else [_json_entry(e) for e in categorical],
            "min_frequency": self.min_frequency,
            "has_feature_names": self.has_feature_names,
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, state: dict) -> "TablePreprocessor":
        """Rebuild a fitted preprocessor from `to_dict` output."""
        preprocessor = cls(state["categorical_features"], state["min_frequency"])
        preprocessor.has_feature_names = state["has_feature_names"]
        preprocessor.columns = [dict(column) for column in state["columns"]]
        preprocessor._finished = True
        return preprocessor


class _RunningStats:
    """Count, mean and sum of squared deviations, merged batch by batch (Chan et al., 1979)."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.nulls = 0

    def update(self, values: np.ndarray, missing: np.ndarray) -> None:
        n_missing = int(missing.sum())
        present = values[~missing] if n_missing else values
        self.nulls += n_missing
        if present.size == 0:
            return
        batch_mean = float(present.mean())
        centered = present - batch_mean
        batch_m2 = float(centered @ centered)
        total = self.count + present.size
        delta = batch_mean - self.mean
        self.m2 += batch_m2 + delta * delta * self.count * present.size / total
        self.mean += delta * present.size / total
        self.count = total

    def result(self) -> dict:
        std = float(np.sqrt(self.m2 / self.count)) if self.count else 0.0
        return {"mean": self.mean, "scale": std if std > 0 else 1.0, "missing_indicator": self.nulls > 0}


def _numeric_values(view: TableView, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a numeric column as float64 values and its missing-value mask, rejecting infinities."""
    values = view.numeric(name)
    missing = ~np.isfinite(values)
    if missing.any():
        infinite = np.isinf(values)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise InvalidInputError(
                f"Column {name!r} contains an infinite value at row {row} (value: {values[row]}). "
                "Replace infinities with finite numbers or with nulls (NaN), which the model treats as missing."
            )
    return values, missing


def _category_indices(strings: pa.ChunkedArray, vocabulary: list[str]) -> np.ndarray:
    positions = pc.index_in(strings, value_set=pa.array(vocabulary, pa.string()))
    indices = pc.add(positions, FIRST_VALUE_INDEX)
    indices = pc.if_else(pc.is_null(strings), NULL_INDEX, pc.fill_null(indices, UNKNOWN_INDEX))
    return indices.to_numpy().astype(np.int32, copy=False)


def describe_column_drift(expected: list[str], received: list[str], limit: int = 5) -> str:
    """Describe how the received column names differ from the expected ones, as one message."""
    missing = [name for name in expected if name not in set(received)]
    extra = [name for name in received if name not in set(expected)]
    common_expected = [name for name in expected if name in set(received)]
    common_received = [name for name in received if name in set(expected)]
    reordered = [a for a, b in zip(common_expected, common_received) if a != b]
    parts = []
    for label, names in (("missing", missing), ("extra", extra), ("out of order", reordered)):
        if names:
            shown = ", ".join(repr(name) for name in names[:limit])
            more = f" and {len(names) - limit} more" if len(names) > limit else ""
            parts.append(f"{len(names)} {label}: {shown}{more}")
    return (
        "The columns of X differ from those the model was fitted on ("
        + "; ".join(parts)
        + "). Pass the same columns as in fit, in the same order."
    )


def _json_entry(entry):
    return int(entry) if isinstance(entry, (int, np.integer)) else str(entry)
