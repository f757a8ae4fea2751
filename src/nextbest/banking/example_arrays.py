"""Split an examples table into the arrays the models take: features, labels, owned mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.banking.features_sql import CATEGORICAL, FeatureColumn
from nextbest.errors import NextbestError


@dataclass
class ExampleArrays:
    """The examples of one or more target months as model inputs.

    Attributes
    ----------
    customer_ids : ndarray of int64, shape (n_rows,)
    months : ndarray of str, shape (n_rows,)
        Target month of each row, ``YYYY-MM``.
    X : DataFrame of shape (n_rows, n_features)
        Feature columns; categorical ones have the pandas ``category`` dtype.
    Y : ndarray of int8, shape (n_rows, n_products), or None
        1 where the product was added in the target month; None for a month to predict.
    owned : ndarray of int8, shape (n_rows, n_products)
        1 where the product was held in the month before.
    no_history : ndarray of bool, shape (n_rows,)
        True for customers with no row in the month before.
    """

    customer_ids: np.ndarray
    months: np.ndarray
    X: pd.DataFrame
    Y: np.ndarray | None
    owned: np.ndarray
    no_history: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_ids)

    def subset(self, rows: np.ndarray) -> "ExampleArrays":
        """Return the rows selected by an index or boolean array."""
        return ExampleArrays(
            customer_ids=self.customer_ids[rows],
            months=self.months[rows],
            X=self.X.iloc[rows].reset_index(drop=True) if rows.dtype != bool else self.X[rows].reset_index(drop=True),
            Y=None if self.Y is None else self.Y[rows],
            owned=self.owned[rows],
            no_history=self.no_history[rows],
        )


def concat_arrays(parts: list[ExampleArrays]) -> ExampleArrays:
    """Stack the rows of several `ExampleArrays`; categorical columns keep the ``category`` dtype."""
    X = pd.concat([part.X for part in parts], ignore_index=True)
    for name in parts[0].X.columns:
        if isinstance(parts[0].X[name].dtype, pd.CategoricalDtype):
            X[name] = X[name].astype("string").astype("category")
    labels = [part.Y for part in parts]
    return ExampleArrays(
        customer_ids=np.concatenate([part.customer_ids for part in parts]),
        months=np.concatenate([part.months for part in parts]),
        X=X,
        Y=None if any(Y is None for Y in labels) else np.concatenate(labels),
        owned=np.concatenate([part.owned for part in parts]),
        no_history=np.concatenate([part.no_history for part in parts]),
    )


def example_arrays(table: pa.Table, features: tuple[FeatureColumn, ...], products: list[str]) -> ExampleArrays:
    """Return the model inputs of an examples table.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of `nextbest.banking.features.load_examples`.
    features : tuple of FeatureColumn
        The feature columns to use, from the examples manifest (or a saved model).
    products : list of str
        Short product names, in the column order the models use.

    Raises
    ------
    NextbestError
        When a feature, ``owned_`` or ``added_`` column is missing from `table`.
    """
    names = [feature.name for feature in features]
    required = names + [f"owned_{p}" for p in products] + [f"added_{p}" for p in products]
    missing = [name for name in required if name not in table.column_names]
    if missing:
        raise NextbestError(
            f"the examples lack {len(missing)} columns the model needs, for example {missing[:5]}; "
            "build the examples again with the feature settings saved with the model"
        )
    X = table.select(names).to_pandas()
    for feature in features:
        if feature.kind == CATEGORICAL:
            X[feature.name] = X[feature.name].astype("string").astype("category")
    owned = np.column_stack([_zero_filled(table, f"owned_{p}") for p in products]).astype(np.int8)
    labels = [table.column(f"added_{p}") for p in products]
    Y = None if any(column.null_count == len(column) and len(column) for column in labels) else (
        np.column_stack([_zero_filled(table, f"added_{p}") for p in products]).astype(np.int8)
    )
    return ExampleArrays(
        customer_ids=table.column("customer_id").to_numpy().astype(np.int64),
        months=np.asarray(pc.strftime(table.column("month"), format="%Y-%m").to_pylist(), dtype=object),
        X=X,
        Y=Y,
        owned=owned,
        no_history=_no_history(table, products),
    )


def label_matrix(table: pa.Table, products: list[str]) -> np.ndarray:
    """Return the ``added_`` columns of an examples table as 0/1 int8, nulls read as 0."""
    missing = [f"added_{p}" for p in products if f"added_{p}" not in table.column_names]
    if missing:
        raise NextbestError(
            f"the examples lack {len(missing)} label columns, for example {missing[:5]}; "
            "build the examples again with `nextbest features`"
        )
    if not products:
        return np.zeros((table.num_rows, 0), dtype=np.int8)
    return np.column_stack([_zero_filled(table, f"added_{p}") for p in products]).astype(np.int8)


def _zero_filled(table: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(table.column(name), 0).to_numpy().astype(np.int8)


def _no_history(table: pa.Table, products: list[str]) -> np.ndarray:
    """Flag rows whose customer has no row in T-1: every first-lag product is null there."""
    lag_one = [f"{p}_lag1" for p in products if f"{p}_lag1" in table.column_names]
    if not lag_one:
        return np.zeros(table.num_rows, dtype=bool)
    nulls = np.column_stack([pc.is_null(table.column(name)).to_numpy(zero_copy_only=False) for name in lag_one])
    return nulls.all(axis=1)
