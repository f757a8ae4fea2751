"""Rich tables of a multi-label metrics report, as `nextbest.multilabel.metrics.multilabel_report` returns it."""

from __future__ import annotations

from rich.table import Table

# Display name and group of each top-level key of a report, in display order. "{k}" is
# replaced by the report's cut-off.
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "map_at_k": ("ranking", "MAP@{k}"),
    "max_map_at_k": ("ranking", "best possible MAP@{k}"),
    "map_at_k_share_of_max": ("ranking", "MAP@{k} as a share of the best possible"),
    "precision_at_k": ("ranking", "precision@{k}"),
    "recall_at_k": ("ranking", "recall@{k}"),
    "label_ranking_average_precision": ("ranking", "label ranking average precision"),
    "ranking_loss": ("ranking", "ranking loss (lower is better)"),
    "coverage": ("ranking", "coverage error (lower is better)"),
    "hamming_loss": ("decisions", "Hamming loss (lower is better)"),
    "subset_accuracy": ("decisions", "subset accuracy"),
    "f1_micro": ("decisions", "F1, micro"),
    "f1_macro": ("decisions", "F1, macro"),
    "f1_samples": ("decisions", "F1, per sample"),
    "precision_micro": ("decisions", "precision, micro"),
    "precision_macro": ("decisions", "precision, macro"),
    "precision_samples": ("decisions", "precision, per sample"),
    "recall_micro": ("decisions", "recall, micro"),
    "recall_macro": ("decisions", "recall, macro"),
    "recall_samples": ("decisions", "recall, per sample"),
    "jaccard_micro": ("decisions", "Jaccard, micro"),
    "jaccard_macro": ("decisions", "Jaccard, macro"),
    "jaccard_samples": ("decisions", "Jaccard, per sample"),
    "binary_accuracy": ("decisions", "Keras binary accuracy"),
    "binary_accuracy_all_zeros": ("decisions", "Keras binary accuracy of predicting no label"),
}

PER_LABEL_FIGURES = ("support", "precision", "recall", "f1", "roc_auc", "average_precision")


def format_value(value) -> str:
    """Format one metric value: integers as they are, floats to 4 decimals, None as "undefined"."""
    if value is None:
        return "undefined"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}"


def metrics_table(report: dict, title: str | None = None) -> Table:
    """Build a two-column table (metric, value) of a report's top-level metrics.

    Keys the report lacks are skipped, so a report without scores or without decisions gives
    a shorter table. Keras' binary accuracy sits next to the value for predicting no label,
    because on rare labels that predictor already scores close to 1.
    """
    caption = f"{report.get('n_samples', '?')} rows, {report.get('n_labels', '?')} labels"
    table = Table(title=title, caption=caption, show_lines=False)
    table.add_column("group", style="dim")
    table.add_column("metric")
    table.add_column("value", justify="right")
    k = report.get("k", "k")
    for key, (group, name) in METRIC_NAMES.items():
        if key in report:
            table.add_row(group, name.format(k=k), format_value(report[key]))
    return table


def per_label_table(report: dict, title: str | None = None) -> Table:
    """Build a table with one row per label and one column per figure of ``report["per_label"]``."""
    per_label = report.get("per_label", {})
    figures = [figure for figure in PER_LABEL_FIGURES if any(figure in row for row in per_label.values())]
    table = Table(title=title)
    longest = max((len(label) for label in per_label), default=5)
    table.add_column("label", no_wrap=True, min_width=min(longest, 40))
    for figure in figures:
        table.add_column(figure.replace("_", " "), justify="right")
    for label, row in per_label.items():
        table.add_row(label, *(format_value(row.get(figure)) for figure in figures))
    return table


def run_comparison_table(metrics: dict) -> Table:
    """Build the table of a run's validation metrics, one row per model.

    Parameters
    ----------
    metrics : dict
        The content of a run's `metrics.json`.
    """
    k = metrics.get("top_k", 7)
    title = (
        f"Validation month {metrics['validation_month']}: {metrics['customers']:,} customers, "
        f"{metrics['customers_adding']:,} adding; best possible MAP@7 {metrics['max_map_at_7']:.4f}"
    )
    columns = ["map_at_7", "share_of_max", "precision_at_7", "recall_at_7"]
    if k != 7:
        columns.append(f"map_at_{k}")

    table = Table(title=title)
    table.add_column("model")
    for name in columns:
        table.add_column(name, justify="right")
    for model in ("nextbest", "lightgbm", "popularity"):
        values = [metrics[model].get(name) for name in columns]
        table.add_row(model, *(format_value(value) for value in values))
    return table
