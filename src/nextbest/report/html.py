"""The HTML report of a run: one self-contained file with the metrics table and embedded plots."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nextbest.report import plots
from nextbest._files import replaced_on_success

MODELS = ("nextbest", "lightgbm", "popularity")

_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def metrics_table(metrics: dict, models=MODELS) -> str:
    """Return an HTML table with one row per model and one column per headline metric."""
    k = metrics.get("top_k", 7)
    columns = ["map_at_7", "share_of_max", "precision_at_7", "recall_at_7"]
    if k != 7:
        columns += [f"map_at_{k}", f"share_of_max_at_{k}", f"precision_at_{k}", f"recall_at_{k}"]
    header = "".join(f"<th>{html.escape(name)}</th>" for name in ["model", *columns])
    rows = []
    for model in models:
        cells = "".join(f"<td>{_number(metrics[model].get(name))}</td>" for name in columns)
        rows.append(f"<tr><td>{html.escape(model)}</td>{cells}</tr>")
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def product_table(metrics: dict, models=MODELS) -> str:
    """Return an HTML table of average precision per product (rows) and model (columns)."""
    products = list(metrics[models[0]]["per_product_average_precision"])
    header = "".join(f"<th>{html.escape(name)}</th>" for name in ["product", *models])
    rows = []
    for product in products:
        cells = "".join(f"<td>{_number(metrics[m]['per_product_average_precision'][product])}</td>" for m in models)
        rows.append(f"<tr><td>{html.escape(product)}</td>{cells}</tr>")
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def render_run_report(*, metrics: dict, history: dict, best_epoch: int | None, calibration: list[dict], run_id: str) -> str:
    """Return the report's HTML text."""
    models = list(MODELS)
    warnings = "".join(f"<li>{html.escape(message)}</li>" for message in metrics.get("warnings", []))
    parts = [
        "<!DOCTYPE html>",
        f"<html><head><meta charset='utf-8'><title>nextbest run {html.escape(run_id)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>nextbest run {html.escape(run_id)}</h1>",
        f"<p>Validation month {html.escape(metrics['validation_month'])}: {metrics['customers']:,} customers, "
        f"{metrics['customers_adding']:,} of whom added at least one product. Best possible MAP@7: "
        f"{metrics['max_map_at_7']:.4f}. Models trained on {html.escape(', '.join(metrics['training_months']))} "
        f"({metrics['training_rows']:,} rows).</p>",
        f"<ul class='note'>{warnings}</ul>" if warnings else "",
        "<h2>Metrics on the validation month</h2>",
        metrics_table(metrics, models),
        "<p class='note'>MAP@7 as the competition defines it; share_of_max divides it by the best possible value. "
        "Owned products are never ranked. docs/guide.md explains each metric.</p>",
        _image(plots.share_of_max(metrics, models), "MAP@7 as a share of the maximum"),
        "<h2>Network training</h2>",
        _image(plots.training_curves(history, best_epoch), "training curves"),
        "<h2>Per-product average precision</h2>",
        _image(plots.per_product_average_precision(metrics, models), "per-product average precision"),
        product_table(metrics, models),
        "<h2>Calibration</h2>",
        _image(plots.calibration(calibration), "calibration plot") if calibration else "<p>No validation rows.</p>",
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def write_run_report(path: str | Path, **content) -> Path:
    """Write the report to `path` through a temporary file, so a failure leaves no partial report."""
    path = Path(path)
    with replaced_on_success(path) as temporary:
        temporary.write_text(render_run_report(**content), encoding="utf-8")
    return path
