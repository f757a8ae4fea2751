"""Commands of the `run` group: `nextbest run` (the main job) and `nextbest recommend`."""

from __future__ import annotations

from pathlib import Path

import typer

from nextbest.cli import _common


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("run")(run)
    app.command("recommend")(recommend)


def equivalent_command(context: typer.Context) -> list[str]:
    """Return a command line that repeats this invocation, every option written out."""
    words = ["nextbest", context.info_name or "run"]
    for parameter in context.command.params:
        value = context.params.get(parameter.name)
        if value is None or not parameter.opts:
            continue
        if isinstance(value, bool) and getattr(parameter, "is_flag", False):
            names = parameter.opts if value else parameter.secondary_opts
            words += names[:1]
        elif isinstance(value, (list, tuple)):
            for item in value:
                words += [parameter.opts[0], str(item)]
        else:
            words += [parameter.opts[0], str(value)]
    return words


def check_month_option(value: str | None) -> str | None:
    """Check a YYYY-MM option before any work; a malformed month is a usage error (exit status 2)."""
    from nextbest.banking.workspace import check_month
    from nextbest.errors import NextbestError

    if value is None:
        return None
    try:
        return check_month(value)
    except NextbestError as error:
        raise typer.BadParameter(str(error)) from None


def check_month_range_option(value: str | None) -> str | None:
    """Check a YYYY-MM..YYYY-MM option for its format and order before any work (exit status 2)."""
    from nextbest.banking.run_months import parse_month_range
    from nextbest.errors import NextbestError

    if value is None:
        return None
    try:
        parse_month_range(value)
    except NextbestError as error:
        raise typer.BadParameter(str(error)) from None
    return value


def run(
    context: typer.Context,
    train: list[Path] = typer.Option(
        [], "--train", help="Monthly file in the training layout (products known): CSV, CSV.gz, CSV.zip or Parquet. Repeat for more."
    ),
    test: Path | None = typer.Option(
        None, "--test", help="File in the test layout (no products): its month is the month to predict."
    ),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="Workspace directory; created when missing."),
    validation_month: str | None = typer.Option(
        None, "--validation-month", callback=check_month_option, help="Month the models are evaluated on, YYYY-MM. Default: the last month with products."
    ),
    training_months: str | None = typer.Option(
        None,
        "--training-months",
        callback=check_month_range_option,
        help="Months to train on, YYYY-MM..YYYY-MM. Default: the 3 months before the validation month, plus the "
        "month a year before the month to predict when the data reaches back that far.",
    ),
    top_k: int = typer.Option(7, "--top-k", min=1, help="Products recommended per customer. MAP@7 is always reported, and MAP@k too."),
    random_state: int = typer.Option(0, "--random-state", help="Seed of every random step, for repeatable runs."),
    retrain: bool = typer.Option(
        True, "--retrain/--no-retrain", help="Train again before recommending, on the training months, the validation month and any labelled month after it."
    ),
    lags: int = typer.Option(5, "--lags", min=1, help="Months of product history that become features."),
    max_training_rows: int = typer.Option(
        500_000,
        "--max-training-rows",
        min=1,
        help="Above this many training rows, customers adding nothing are sampled (and weighted up); customers "
        "adding a product are always kept. The default keeps a run at the Santander data's size under 8 GiB.",
    ),
) -> None:
    """Train, evaluate against the popularity and LightGBM baselines, and recommend the next best products.

    Writes WORKSPACE/runs/<run id>/ (metrics.json, recommendations.parquet,
    validation_recommendations.parquet, submission.csv, report.html, run.json, model/) and points
    WORKSPACE/runs/latest to it.
    """
    from nextbest.banking.pipeline import run as run_pipeline

    with _common.make_progress() as progress:
        result = run_pipeline(
            train,
            workspace=workspace,
            test=test,
            validation_month=validation_month,
            training_months=training_months,
            top_k=top_k,
            random_state=random_state,
            retrain=retrain,
            lags=lags,
            max_training_rows=max_training_rows,
            command=equivalent_command(context),
            progress=progress,
        )
    _print_summary(result)


def _print_summary(result) -> None:
    from nextbest.report.tables import run_comparison_table

    _common.stdout.print(run_comparison_table(result.metrics))
    total = sum(result.timings.values())
    _common.stdout.print(f"run {result.run_id} written to {result.path} in {total:.0f} s", soft_wrap=True)


def recommend(
    model: Path = typer.Option(..., "--model", help="A run's model directory, for example WORKSPACE/runs/latest/model."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="Workspace holding the month and its history."),
    month: str = typer.Option(..., "--month", callback=check_month_option, help="Month to recommend for, YYYY-MM."),
    out: Path = typer.Option(..., "--out", help="Output file: .parquet for a recommendations table, .csv for a submission file."),
    top_k: int = typer.Option(7, "--top-k", min=1, help="Products recommended per customer."),
) -> None:
    """Score one month with a saved model, without retraining, and write its recommendations.

    The month's examples are built again with the feature settings saved with the model. Every
    customer of the month gets recommendations, owned products excluded; customers with no
    history get the popularity ranking.
    """
    from nextbest.banking.recommend_month import recommend_month

    with _common.make_progress() as progress:
        written = recommend_month(model, workspace, month, out, top_k=top_k, progress=progress)
    _common.stdout.print(f"recommendations for {written.customers:,} customers of {month} written to {written.path}")
