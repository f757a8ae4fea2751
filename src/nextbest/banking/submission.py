"""Write recommendations in the Santander competition's submission format.

The file is CSV with the header ``<customer id column>,added_products`` (``ncodpers`` in the
Santander schema) and one line per customer. ``added_products`` holds the full product column
names of the bank's files (``ind_recibo_ult1``), best first, separated by single spaces, which
is the format the competition scores.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa

from nextbest.banking.schema import SnapshotSchema
from nextbest._files import replaced_on_success


def submission_lines(recommendations: pa.Table, schema: SnapshotSchema, customer_ids=None) -> list[tuple[int, str]]:
    """Return (customer id, space-separated product columns) for each customer, best first.

    Parameters
    ----------
    recommendations : pyarrow.Table
        A recommendations table (``customer_id``, ``rank``, ``product``, ``score``).
    schema : SnapshotSchema
        Maps short product names to the column names of the bank's files.
    customer_ids : array of int, optional
        Customers to write, in this order; a customer without recommendations gets an empty
        list. Defaults to the customers of `recommendations` in order of first appearance.
    """
    column_of = {product.name: product.column for product in schema.products}
    table = recommendations.sort_by([("customer_id", "ascending"), ("rank", "ascending")])
    customers = table.column("customer_id").to_numpy()
    products = table.column("product").to_pylist()
    by_customer: dict[int, list[str]] = {}
    for customer, product in zip(customers.tolist(), products):
        by_customer.setdefault(customer, []).append(column_of[product])
    if customer_ids is None:
        order = list(dict.fromkeys(recommendations.column("customer_id").to_pylist()))
    else:
        order = np.asarray(customer_ids, dtype=np.int64).tolist()
    return [(customer, " ".join(by_customer.get(customer, []))) for customer in order]


def write_submission(recommendations: pa.Table, schema: SnapshotSchema, path: str | Path, customer_ids=None) -> Path:
    """Write the submission CSV atomically: to a temporary file beside `path`, then renamed.

    Returns
    -------
    Path
        `path`.
    """
    path = Path(path)
    with replaced_on_success(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([schema.customer_id, "added_products"])
        writer.writerows(submission_lines(recommendations, schema, customer_ids))
    return path
