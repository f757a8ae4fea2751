"""The `features` command: build the training examples of target months in a workspace."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.table import Table

from nextbest.cli import _common

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("features")(features)


def expand_months(values: list[str]) -> list[str]:
    """Expand ``YYYY-MM`` and ``YYYY-MM..YYYY-MM`` values into a list of months, in order given.

    Raises
    ------
    NextbestError
        When a month is malformed or a range ends before it starts.
    """
    from nextbest.banking.features import shift_month
    from nextbest.banking.workspace import check_month
    from nextbest.errors import NextbestError

    months: list[str] = []
    for value in values:
        first, separator, last = value.partition("..")
        if not separator:
            months.append(check_month(value))
            continue
        check_month(first)
        check_month(last)
        if last < first:
            raise NextbestError(f"invalid month range {value!r}: it ends before it starts; write FIRST..LAST")
        month = first
        while month <= last:
            months.append(month)
            month = shift_month(month, 1)
    return list(dict.fromkeys(months))


def features(
    workspace: Path = typer.Option(..., "--workspace", "-w", help="Workspace directory that `nextbest ingest` filled."),
    target_month: list[str] = typer.Option(
        [],
        "--target-month",
        "-t",
        help="Target month, YYYY-MM, or a range YYYY-MM..YYYY-MM. Repeat for more.",
    ),
    predict_month: list[str] = typer.Option(
        [],
        "--predict-month",
        help="Target month built as a month to predict (labels null, customers without a row in the "
        "month before kept) even where its products are known; it replaces that month's labelled "
        "examples. Repeat for more. Months ingested from test-layout files are built this way "
        "without it.",
    ),
    lags: int = typer.Option(5, "--lags", min=1, help="Months before the target month whose products become features."),
) -> None:
    """Build training examples: features, owned products and added-product labels per target month.

    Writes WORKSPACE/examples/YYYY-MM.parquet per target month and examples/manifest.json.
    """
    from nextbest.banking.features import build_examples
    from nextbest.banking.workspace import Workspace
    from nextbest.errors import NextbestError

    from nextbest.banking.run_months import history_warnings

    opened = Workspace(workspace)
    if not target_month and not predict_month:
        raise NextbestError("no target month given; pass --target-month YYYY-MM (or a range YYYY-MM..YYYY-MM)")
    targets = expand_months(target_month)
    predicted = expand_months(predict_month)
    # Logged before the build, which can take long when --lags reaches far before the data.
    for message in history_warnings(targets + predicted, opened.labelled_months(), lags):
        logger.warning(message)
    with _common.make_progress() as progress:
        summary = build_examples(opened, targets, lags=lags, predict_months=predicted, progress=progress)
    _print_summary(summary)


def _print_summary(summary) -> None:
    """Print the months built, the additions per product and the feature count to stdout."""
    months = Table(title="Examples built")
    for column in ("month", "customers", "adding a product", "without a row in T-1", "null products counted as not held"):
        months.add_column(column, justify="left" if column == "month" else "right")
    for month in summary.months:
        adding = "to predict" if month.predict else f"{month.customers_adding:,}"
        months.add_row(
            month.month,
            f"{month.customers:,}",
            adding,
            f"{month.customers_without_history:,}",
            f"{sum(month.null_products.values()):,}",
        )
    _common.stdout.print(months)

    labelled = [month for month in summary.months if not month.predict]
    if labelled:
        additions = Table(title="Customers adding each product")
        additions.add_column("product")
        for month in labelled:
            additions.add_column(month.month, justify="right")
        for product in labelled[0].additions:
            additions.add_row(product, *(f"{month.additions[product]:,}" for month in labelled))
        _common.stdout.print(additions)

    kinds = [feature.kind for feature in summary.features]
    _common.stdout.print(
        f"{len(kinds)} features ({kinds.count('numeric')} numeric, {kinds.count('categorical')} categorical) "
        f"with {summary.settings.lags} lags; manifest: {summary.manifest_path}"
    )
