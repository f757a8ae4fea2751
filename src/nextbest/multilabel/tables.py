"""Uniform column access to the feature tables that the model accepts: pandas, Arrow and NumPy.

The preprocessing code reads one column at a time, either as float64 values (nulls as NaN) or as
an Arrow string array (nulls kept). Each view reads straight from the caller's table and never
changes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.errors import NextbestError

NUMERIC = "numeric"
CATEGORICAL = "categorical"


class InvalidInputError(NextbestError, ValueError):
    """Data or settings passed to the model that it cannot use.

    It is also a `ValueError`, the type scikit-learn and NumPy raise for invalid input values.
    """


class TableView:
    """Read-only column access to a feature table.

    Parameters
    ----------
    names : list of str
        Column names in table order. NumPy arrays get the names ``x0``, ``x1``, ...
    n_rows : int
        Number of rows.
    has_feature_names : bool
        Whether the names came from the table (pandas or Arrow) rather than from positions.
    """

    def __init__(self, names: list[str], n_rows: int, has_feature_names: bool):
        self.names = names
        self.n_rows = n_rows
        self.has_feature_names = has_feature_names

    def rename_columns(self, names: list[str]) -> None:
        """Give the columns new names, in order; used to match unnamed columns by position."""
        raise NotImplementedError

    def rows(self, start: int, stop: int) -> "TableView":
        """Return a view of the rows from `start` up to `stop`, sharing the data."""
        raise NotImplementedError

    def inferred_kind(self, name: str) -> str:
        """Return ``"numeric"`` or ``"categorical"`` for a column, raising for other types."""
        raise NotImplementedError

    def numeric(self, name: str) -> np.ndarray:
        """Return a column as float64 values with NaN for nulls."""
        raise NotImplementedError

    def strings(self, name: str) -> pa.ChunkedArray:
        """Return a column as Arrow strings with nulls kept."""
        raise NotImplementedError


class PandasView(TableView):
    """Column access to a pandas DataFrame (also used for NumPy arrays)."""

    def __init__(self, frame: pd.DataFrame, has_feature_names: bool):
        names = [str(name) for name in frame.columns]
        super().__init__(names, len(frame), has_feature_names)
        self._columns = dict(zip(names, (frame.iloc[:, i] for i in range(frame.shape[1]))))

    def rename_columns(self, names: list[str]) -> None:
        self._columns = dict(zip(names, self._columns.values()))
        self.names = list(names)

    def rows(self, start: int, stop: int) -> "PandasView":
        view = PandasView(pd.DataFrame(), self.has_feature_names)
        view._columns = {name: series.iloc[start:stop] for name, series in self._columns.items()}
        view.names = list(self.names)
        view.n_rows = len(range(start, min(stop, self.n_rows)))
        return view

    def inferred_kind(self, name: str) -> str:
        series = self._columns[name]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return CATEGORICAL
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) and dtype != object:
            return CATEGORICAL
        if pd.api.types.is_numeric_dtype(dtype):
            return NUMERIC
        if dtype == object:
            return _object_kind(name, series)
        raise _unsupported_type(name, str(dtype))

    def numeric(self, name: str) -> np.ndarray:
        series = self._columns[name]
        try:
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise _not_numeric(name, series) from error

    def strings(self, name: str) -> pa.ChunkedArray:
        series = self._columns[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            # Decoded in Arrow, because casting back to the categories' own type fails on nulls.
            decoded = pa.array(series, from_pandas=True).dictionary_decode()
            return _as_strings(pa.chunked_array([decoded]))
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed Python objects (numbers next to strings) become their string forms.
            array = pa.array(series.astype("string"), from_pandas=True)
        return _as_strings(pa.chunked_array([array]))


class ArrowView(TableView):
    """Column access to a pyarrow Table or RecordBatch."""

    def __init__(self, table: pa.Table):
        super().__init__(list(table.column_names), table.num_rows, True)
        self._table = table

    def rows(self, start: int, stop: int) -> "ArrowView":
        return ArrowView(self._table.slice(start, max(stop - start, 0)))

    def inferred_kind(self, name: str) -> str:
        kind = self._table.schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return CATEGORICAL
        if pa.types.is_string_view(kind):
            return CATEGORICAL
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            return NUMERIC
        raise _unsupported_type(name, str(kind))

    def numeric(self, name: str) -> np.ndarray:
        column = self._table.column(name)
        try:
            values = pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise _not_numeric(name, column.to_pandas()) from error
        return values.to_numpy()

    def strings(self, name: str) -> pa.ChunkedArray:
        column = self._table.column(name)
        if pa.types.is_dictionary(column.type):
            column = pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks], column.type.value_type)
        return _as_strings(column)


def view_table(X, what: str = "X") -> TableView:
    """Wrap a pandas DataFrame, Arrow table or record batch, or 2-D array in a `TableView`.

    Raises
    ------
    InvalidInputError
        When `X` is none of those, or an array is not 2-D.
    """
    if isinstance(X, TableView):
        return X
    if isinstance(X, pd.DataFrame):
        has_names = all(isinstance(name, str) for name in X.columns)
        if not has_names:
            X = X.set_axis([str(name) for name in X.columns], axis=1)
        return PandasView(X, has_feature_names=has_names)
    if isinstance(X, pa.RecordBatch):
        return ArrowView(pa.Table.from_batches([X]))
    if isinstance(X, pa.Table):
        return ArrowView(X)
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise InvalidInputError(
            f"{what} is a sparse matrix, and sparse input is not supported; convert it with X.toarray() "
            "or pass a DataFrame."
        )
    if isinstance(X, pd.Series):
        raise InvalidInputError(f"{what} is a pandas Series; pass a DataFrame with one column per feature instead.")
    array = np.asarray(X)
    if array.ndim != 2:
        raise InvalidInputError(
            f"{what} must be a 2-D table of shape (n_samples, n_features); received an array of shape "
            f"{array.shape}. Reshape your data with X.reshape(-1, 1) if it contains a single feature, or "
            "X.reshape(1, -1) if it contains a single sample."
        )
    if array.dtype.kind == "c":
        raise InvalidInputError(f"{what} contains complex numbers. Complex data not supported; pass real numbers.")
    frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])], copy=False)
    return PandasView(frame, has_feature_names=False)


def _object_kind(name: str, series: pd.Series) -> str:
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("string", "boolean", "empty"):
        return CATEGORICAL
    if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
        return NUMERIC
    first = series.dropna().iloc[0] if series.notna().any() else None
    raise InvalidInputError(
        f"Column {name!r} contains Python objects of mixed or unsupported types ({inferred}, first value "
        f"{first!r}). Convert it to numbers, or to strings and list it in categorical_features."
    )


def _as_strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _unsupported_type(name: str, type_name: str) -> InvalidInputError:
    return InvalidInputError(
        f"Column {name!r} has type {type_name}, which the model cannot use. Convert it to a number "
        "(for a date, for example, the days since a reference date) or to strings for a categorical column."
    )


def _not_numeric(name: str, series: pd.Series) -> InvalidInputError:
    bad = _first_non_numeric(series)
    return InvalidInputError(
        f"Column {name!r} was numeric when the model was fitted but now contains a value that is not a "
        f"number (value: {bad!r}). Pass numbers in this column."
    )


def _first_non_numeric(series: pd.Series):
    converted = pd.to_numeric(series, errors="coerce")
    bad = series[converted.isna() & series.notna()]
    return bad.iloc[0] if len(bad) else None


def column_positions(names: Sequence[str], wanted: Sequence) -> list[str]:
    """Resolve `categorical_features` entries (names or integer positions) to column names.

    Raises
    ------
    InvalidInputError
        When an entry names no column or a position is out of range.
    """
    resolved = []
    for entry in wanted:
        if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
            if not -len(names) <= entry < len(names):
                raise InvalidInputError(
                    f"categorical_features contains position {entry}, but X has {len(names)} columns."
                )
            resolved.append(names[entry])
        elif str(entry) in names:
            resolved.append(str(entry))
        else:
            raise InvalidInputError(
                f"categorical_features names column {entry!r}, which X does not have. "
                f"X has the columns: {_preview(names)}."
            )
    return resolved


def _preview(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
