"""Plots of a run's report, drawn with matplotlib's Agg backend and returned as PNG bytes.

PNG bytes, rather than files, let the HTML report embed every plot as base64 so that it reads
offline as a single file.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

MODEL_COLOURS = {"nextbest": "#1f77b4", "lightgbm": "#2ca02c", "popularity": "#7f7f7f"}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def training_curves(history: dict[str, list[float]], best_epoch: int | None) -> bytes:
    """Plot the training and early-stopping losses per epoch, marking the epoch kept."""
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for key, label in (("loss", "training rows"), ("val_loss", "early-stopping rows")):
        values = history.get(key)
        if values:
            axis.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    if best_epoch:
        axis.axvline(best_epoch, color="black", linestyle="--", linewidth=1, label=f"epoch kept ({best_epoch})")
    axis.set_xlabel("epoch")
    axis.set_ylabel("masked loss")
    axis.set_title("Network training")
    axis.legend()
    return _png(figure)


def share_of_max(metrics: dict, models: list[str]) -> bytes:
    """Plot each model's MAP@7 as a share of the best possible MAP@7 of the month."""
    values = [metrics[name]["share_of_max"] or 0.0 for name in models]
    figure, axis = plt.subplots(figsize=(6, 3))
    bars = axis.barh(models, values, color=[MODEL_COLOURS.get(name, "#444444") for name in models])
    for bar, value in zip(bars, values):
        axis.text(value + 0.01, bar.get_y() + bar.get_height() / 2, f"{value:.3f}", va="center")
    axis.set_xlim(0, 1.1)
    axis.set_xlabel("MAP@7 / maximum MAP@7")
    axis.invert_yaxis()
    axis.set_title("MAP@7 as a share of the maximum")
    return _png(figure)


def per_product_average_precision(metrics: dict, models: list[str]) -> bytes:
    """Plot each model's average precision per product, leaving out products nobody added."""
    products = [p for p, value in metrics[models[0]]["per_product_average_precision"].items() if value is not None]
    figure, axis = plt.subplots(figsize=(8, max(3, 0.3 * len(products) + 1)))
    height = 0.8 / len(models)
    positions = np.arange(len(products))
    for i, name in enumerate(models):
        values = [metrics[name]["per_product_average_precision"][p] or 0.0 for p in products]
        axis.barh(positions + i * height, values, height, label=name, color=MODEL_COLOURS.get(name))
    axis.set_yticks(positions + height * (len(models) - 1) / 2, products)
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel("average precision (customers not holding the product)")
    axis.legend(loc="lower right")
    axis.set_title("Per-product average precision")
    return _png(figure)


def calibration(bins: list[dict]) -> bytes:
    """Plot the observed addition rate against the mean network score, per score decile."""
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    scores = [b["mean_score"] for b in bins]
    rates = [b["addition_rate"] for b in bins]
    top = max(scores + rates + [1e-3])
    axis.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    axis.plot(scores, rates, marker="o", label="network")
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("observed addition rate")
    axis.set_title("Calibration on the validation month")
    axis.legend()
    return _png(figure)
