"""Turn score matrices into ranked recommendations, owned products excluded.

A recommendations table has one row per (customer, place): ``customer_id`` (int64), ``rank``
(int32, 1 = best), ``product`` (the product's short name) and ``score`` (float64, the model's
score for that product). Places that no product can fill, because the customer already owns all
but fewer than k products, are left out, so such a customer has fewer than k rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from nextbest.errors import NextbestError
from nextbest.multilabel.ranking import top_k_labels

RECOMMENDATION_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("rank", pa.int32()),
        ("product", pa.string()),
        ("score", pa.float64()),
    ]
)


def with_popularity_fallback(scores: np.ndarray, no_history: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Replace the scores of customers without history by the popularity scores.

    Parameters
    ----------
    scores : array of shape (n_customers, n_products)
    no_history : bool array of shape (n_customers,)
        True for customers with no row in the month before.
    popularity : array of shape (n_products,)

    Returns
    -------
    ndarray of shape (n_customers, n_products)
        A new array; `scores` is left unchanged.
    """
    result = np.array(scores, dtype=np.float64, copy=True)
    result[np.asarray(no_history, dtype=bool)] = np.asarray(popularity, dtype=np.float64)
    return result


def recommendation_table(customer_ids, scores: np.ndarray, owned: np.ndarray, products: list[str], k: int) -> pa.Table:
    """Rank the products of each customer and return the top k as a recommendations table.

    Parameters
    ----------
    customer_ids : array of int, shape (n_customers,)
    scores : array of shape (n_customers, n_products)
    owned : array of shape (n_customers, n_products)
        1 where the customer held the product in the month before; those are never recommended.
    products : list of str
        Short product names, in the column order of `scores`.
    k : int
        Places per customer.

    Returns
    -------
    pyarrow.Table
        Rows sorted by customer order of the input, then rank.
    """
    indices, top_scores = top_k_labels(np.asarray(scores, dtype=np.float64), k, exclude=owned)
    n_customers = indices.shape[0]
    filled = indices >= 0
    rows = np.repeat(np.arange(n_customers), k).reshape(n_customers, k)[filled]
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), (n_customers, 1))[filled]
    names = np.asarray(products, dtype=object)[indices[filled]]
    return pa.table(
        {
            "customer_id": pa.array(np.asarray(customer_ids, dtype=np.int64)[rows], pa.int64()),
            "rank": pa.array(ranks, pa.int32()),
            "product": pa.array(names.tolist(), pa.string()),
            "score": pa.array(top_scores[filled].astype(np.float64), pa.float64()),
        },
        schema=RECOMMENDATION_SCHEMA,
    )


def ranked_indices(table: pa.Table, customer_ids, products: list[str], k: int) -> np.ndarray:
    """Rebuild the (n_customers, k) product-index ranking of a recommendations table.

    This is the input `nextbest.multilabel.metrics.ranked_map_at_k` scores, so the metrics of a
    run can be recomputed from its recommendations file.

    Returns
    -------
    ndarray of int64, shape (n_customers, k)
        Product column indices, best first, -1 for an empty place or a customer absent from
        `table`.
    """
    customers = pd.Index(np.asarray(customer_ids, dtype=np.int64))
    rows = customers.get_indexer(table.column("customer_id").to_numpy())
    places = table.column("rank").to_numpy().astype(np.int64) - 1
    columns = pd.Index(products).get_indexer(table.column("product").to_pylist())
    if (columns < 0).any():
        unknown = sorted(set(np.asarray(table.column("product").to_pylist(), dtype=object)[columns < 0]))
        raise NextbestError(f"recommendations name products that the model does not know: {unknown[:5]}.")
    keep = (rows >= 0) & (places >= 0) & (places < k)
    ranking = np.full((len(customers), k), -1, dtype=np.int64)
    ranking[rows[keep], places[keep]] = columns[keep]
    return ranking
