"""Commands of the `synth` group: `nextbest synth` (a synthetic bank) and `nextbest demo`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from nextbest.cli import _common

# Bank size of the demo: customers in the last training month. About 14.65 training rows per
# customer, so this writes about 44,000 rows.
DEMO_CUSTOMERS = 3_000
DEMO_SEED = 7


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("synth")(synth)
    app.command("demo")(demo)


def synth(
    customers: int = typer.Option(
        ...,
        "--customers",
        min=10,
        help="Customers of the last training month (931453 in the real data's 2016-05). Customers who leave "
        "earlier add to the file's total, and the test month has about as many.",
    ),
    months: str = typer.Option(
        "2015-01..2016-05", "--months", help="Training months, YYYY-MM..YYYY-MM, inside 2015-01..2016-05."
    ),
    out_train: Path = typer.Option(..., "--out-train", help="Training-layout file to write; gzip when the name ends in .gz."),
    out_test: Path | None = typer.Option(
        None, "--out-test", help="Test-layout file to write for the month after the last training month; gzip when the name ends in .gz."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed and options give the same files."),
) -> None:
    """Write a synthetic bank in the Santander training and test file layouts.

    Attributes, holdings, row counts, rates and mix of additions, and messy values follow a calibration on real Santander data that ships with nextbest.
    """
    from nextbest.banking.synth import generate_bank

    started = time.perf_counter()
    with _common.make_progress() as progress:
        summary = generate_bank(customers, out_train=out_train, out_test=out_test, months=months, seed=seed, progress=progress)
    _common.stdout.print(
        f"wrote {summary.train_rows:,} rows of {len(summary.rows_per_month)} months "
        f"({summary.customers:,} customers) to {summary.train_path}"
    )
    if summary.test_path is not None:
        _common.stdout.print(f"wrote {summary.test_rows:,} customers of the test month to {summary.test_path}")
    _common.stdout.print(f"in {time.perf_counter() - started:.0f} s")


def demo(
    workspace: Path = typer.Option(Path("nextbest-demo"), "--workspace", "-w", help="Folder for the demo's data and outputs (created in the current folder by default)."),
    customers: int = typer.Option(
        DEMO_CUSTOMERS, "--customers", min=1000, help="Customers in the last month of the generated bank."
    ),
) -> None:
    """Generate a small synthetic bank, run the main job on it and show the results.

    WORKSPACE is ./nextbest-demo unless --workspace names another folder.

    The bank's files go to WORKSPACE/data/.

    The run's outputs go to WORKSPACE/workspace/runs/<run id>/.
    """
    from nextbest.banking.synth_demo import run_demo

    with _common.make_progress() as progress:
        result = run_demo(workspace, customers=customers, seed=DEMO_SEED, progress=progress)
    _print_results(result)


def _print_results(result) -> None:
    from nextbest.report.tables import run_comparison_table

    _common.stdout.print(run_comparison_table(result.run.metrics))
    path = result.run.path
    _common.stdout.print(f"synthetic bank: {result.train_path} and {result.test_path}", soft_wrap=True)
    _common.stdout.print(f"run outputs:    {path}", soft_wrap=True)
    for name in ("report.html", "metrics.json", "recommendations.parquet", "submission.csv"):
        if (path / name).exists():
            _common.stdout.print(f"  {name:<24} {path / name}", soft_wrap=True)
    _common.stdout.print(f"finished in {result.seconds:.0f} s")
