"""Metrics of one model's scores on the validation month, as written to ``metrics.json``."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from nextbest.multilabel.metrics import map_at_k, max_map_at_k, precision_at_k, recall_at_k

COMPETITION_K = 7


def model_metrics(Y: np.ndarray, scores: np.ndarray, owned: np.ndarray, products: list[str], k: int = 7) -> dict:
    """Return MAP@7 (raw and as a share of its maximum), precision@7, recall@7 and per-product AP.

    When `k` is not 7, ``map_at_<k>``, ``share_of_max_at_<k>``, ``precision_at_<k>`` and
    ``recall_at_<k>`` are added. Owned products are never ranked.

    Parameters
    ----------
    Y : array of shape (n_customers, n_products)
        1 where the product was added.
    scores : array of shape (n_customers, n_products)
    owned : array of shape (n_customers, n_products)
        1 where the product was held in the month before.
    products : list of str
    k : int, default 7

    Returns
    -------
    dict
        ``per_product_average_precision`` maps each product to the average precision of its
        scores over the customers who did not hold it, or None for a product nobody added.
    """
    best = max_map_at_k(Y, COMPETITION_K, exclude=owned)
    result = {}
    for depth in sorted({COMPETITION_K, k}):
        suffix = f"at_{depth}"
        value = map_at_k(Y, scores, depth, exclude=owned)
        result[f"map_{suffix}"] = value
        result[f"share_of_max{'' if depth == COMPETITION_K else '_' + suffix}"] = value / best if best > 0 else None
        result[f"precision_{suffix}"] = precision_at_k(Y, scores, depth, exclude=owned)
        result[f"recall_{suffix}"] = recall_at_k(Y, scores, depth, exclude=owned)
    result["per_product_average_precision"] = per_product_average_precision(Y, scores, owned, products)
    return result


def per_product_average_precision(Y, scores, owned, products: list[str]) -> dict[str, float | None]:
    """Return each product's average precision over the customers who did not hold it."""
    result: dict[str, float | None] = {}
    for j, product in enumerate(products):
        rows = np.asarray(owned)[:, j] == 0
        truth = np.asarray(Y)[rows, j]
        result[product] = float(average_precision_score(truth, np.asarray(scores)[rows, j])) if truth.any() else None
    return result


def calibration_bins(Y, scores, owned, bins: int = 10) -> list[dict]:
    """Return the mean score and the observed addition rate in each score decile.

    Only (customer, product) pairs not owned in the month before count. Each bin holds about
    the same number of pairs; bins with no pairs are left out.
    """
    free = np.asarray(owned) == 0
    truth = np.asarray(Y)[free].astype(np.float64)
    values = np.asarray(scores, dtype=np.float64)[free]
    if values.size == 0:
        return []
    order = np.argsort(values, kind="stable")
    result = []
    for part in np.array_split(order, bins):
        if part.size:
            result.append({"mean_score": float(values[part].mean()), "addition_rate": float(truth[part].mean()), "pairs": int(part.size)})
    return result
