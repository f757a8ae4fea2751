"""Benchmark: settings of the run's network on the real Santander panel, several seeds each.

Builds the examples of panel_2015-12_to_2016-05_may_adders.csv.gz once per lag window and
keeps them under --work between calls. Then it trains only the network of `nextbest run` with
each named experiment. It prints MAP@7 on 2016-05 for every seed, their mean and spread, the
seconds per fit and the epochs run. Training months are 2016-02..2016-04 unless an experiment
names others. Early stopping uses the run's customer split of the training months, never
2016-05.

Every customer of the panel adds a product in 2016-05, so the best possible MAP@7 is 1.0.

Usage:
    python bench/bench_panel_tuning.py [--lags N] [--seeds 0,1,2] [--experiments NAME,...] [--describe]
        [--slice-check] [--list]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PANEL = ROOT.parent / "shared" / "data" / "santander" / "panel_2015-12_to_2016-05_may_adders.csv.gz"
# Summaries of the product history over the lag window: they take other values in 2016-05
# (five months of history) than in the training months (two to four) on this short file.
SUMMARY_PATTERNS = ("_adds", "_drops", "_months_since_change", "months_present_window", "products_added_window",
                    "products_dropped_window", "months_since_first_seen")

# Each experiment maps to `MultiLabelNet` settings that replace the run's defaults, plus these
# options of this script:
# - "all_rows": train on every row, as the run did before it kept only the rows that add a product;
# - "adders_only": drop the rows that add nothing before the fit (the run now does so itself);
# - "months": the training months;
# - "drop": leave out the feature columns whose names start or end with one of these patterns;
# - "members": average the logits of this many networks trained with different seeds;
# - "lightgbm": train the LightGBM baseline on the network's features instead of the network;
# - "cross_fit": train and score on 2016-05 itself (see `cross_fit`).
# The adders_only* experiments were measured with the learning rate of 1e-3 that the run used
# then, and they keep it so that they measure the same thing again.
ADDERS = {"adders_only": True, "learning_rate": 1e-3}
EXPERIMENTS = {
    "default": {},
    "all_rows": {"all_rows": True, "learning_rate": 1e-3},
    "adders_only": ADDERS,
    "adders_only_ensemble3": {**ADDERS, "members": 3},
    "adders_only_ensemble5": {**ADDERS, "members": 5},
    "adders_only_lr3e-4": {**ADDERS, "learning_rate": 3e-4},
    "adders_only_lr3e-3": {**ADDERS, "learning_rate": 3e-3},
    "adders_only_lr1e-4": {**ADDERS, "learning_rate": 1e-4},
    "lr3e-4_months4": {"learning_rate": 3e-4, "months": ["2016-01", "2016-02", "2016-03", "2016-04"]},
    "lr3e-4_ensemble3": {"learning_rate": 3e-4, "members": 3},
    "lr3e-4_no_summaries": {"learning_rate": 3e-4, "drop": SUMMARY_PATTERNS},
    "lr3e-4_dropout0.4": {"learning_rate": 3e-4, "dropout": 0.4},
    "adders_only_batch128": {**ADDERS, "batch_size": 128},
    "adders_only_batch2048": {**ADDERS, "batch_size": 2048},
    "adders_only_patience8": {**ADDERS, "patience": 8},
    "adders_only_cosine": {**ADDERS, "lr_schedule": "cosine", "epochs": 20, "patience": None},
    "adders_only_hidden256_128": {**ADDERS, "hidden_units": (256, 128)},
    "adders_only_hidden1024_512": {**ADDERS, "hidden_units": (1024, 512)},
    "adders_only_hidden512": {**ADDERS, "hidden_units": (512,)},
    "adders_only_hidden512_256_128": {**ADDERS, "hidden_units": (512, 256, 128)},
    "adders_only_dropout0.4": {**ADDERS, "dropout": 0.4},
    "adders_only_dropout0.1": {**ADDERS, "dropout": 0.1},
    "adders_only_embedding4": {**ADDERS, "embedding_dim": 4},
    "adders_only_embedding16": {**ADDERS, "embedding_dim": 16},
    "adders_only_batch_norm": {**ADDERS, "batch_norm": True},
    "adders_only_no_summaries": {**ADDERS, "drop": SUMMARY_PATTERNS},
    "adders_only_no_pattern": {**ADDERS, "drop": ("ownership_pattern",)},
    "adders_only_no_summaries_no_pattern": {**ADDERS, "drop": SUMMARY_PATTERNS + ("ownership_pattern",)},
    "adders_only_months4": {**ADDERS, "months": ["2016-01", "2016-02", "2016-03", "2016-04"]},
    "bce": {"loss": "bce"},
    "months4": {"months": ["2016-01", "2016-02", "2016-03", "2016-04"]},
    "no_summaries": {"drop": SUMMARY_PATTERNS},
    "ensemble3": {"members": 3},
    "lightgbm_all_features": {"lightgbm": True},
    "lightgbm_adders_only": {**ADDERS, "lightgbm": True},
    "cross_fit_2016-05": {"cross_fit": True, "learning_rate": 1e-3},
    "cross_fit_2016-05_default": {"cross_fit": True},
    "cross_fit_2016-05_lightgbm": {"cross_fit": True, "lightgbm": True},
}
SCRIPT_OPTIONS = ("all_rows", "months", "adders_only", "drop", "members", "lightgbm", "cross_fit")


def prepare(panel: Path, work: Path, lags: int, months: list[str]):
    """Ingest the panel and build the examples of `months` and 2016-05 (kept between calls)."""
    from nextbest.banking.features import build_examples
    from nextbest.banking.features_manifest import FeatureSettings
    from nextbest.banking.run_steps import ingest_inputs

    workspace, _ = ingest_inputs(work / f"ws-lags{lags}", [panel], None, None)
    build_examples(workspace, months + ["2016-05"], settings=FeatureSettings(lags=lags))
    return workspace


def load(workspace, months: list[str]):
    """Return the training arrays of `months`, their weights and the validation arrays."""
    from nextbest.banking.run_steps import load_arrays, load_training_arrays

    products = workspace.schema.product_names
    data, weights = load_training_arrays(workspace, months, products, None, 0)
    return data, weights, load_arrays(workspace, ["2016-05"], products)


def drop_features(data, patterns: tuple[str, ...]):
    """Return `data` without the feature columns whose names start or end with one of `patterns`."""
    kept = [name for name in data.X.columns if not (name.startswith(tuple(patterns)) or name.endswith(tuple(patterns)))]
    data.X = data.X[kept]
    return data


def score_once(data, weights, validation, settings: dict, options: dict, seed: int, epochs: list | None = None) -> np.ndarray:
    """Train one model (or the averaged members of an ensemble) and score the validation month.

    The number of epochs each network ran is appended to `epochs` when given.
    """
    from nextbest.banking.run_steps import fit_network

    if options.get("lightgbm"):
        from nextbest.banking.baselines import LightGBMRanker

        model = LightGBMRanker(random_state=seed, features=list(data.X.columns)).fit(data.X, data.Y, data.owned, weights)
        return model.predict_proba(validation.X)
    members = options.get("members", 1)
    logits = []
    for member in range(members):
        network = fit_network(data, weights, settings, seed * 100 + member, None)
        if epochs is not None:
            epochs.append(len(network.history_.get("loss", [])))
        probability = np.clip(network.predict_proba(validation.X[data.X.columns]), 1e-7, 1 - 1e-7)
        logits.append(np.log(probability) - np.log1p(-probability))
    return np.mean(logits, axis=0)


def cross_fit(validation, settings: dict, options: dict, seed: int) -> np.ndarray:
    """Score 2016-05 by two-fold cross-fitting over its own customers: no shift between months.

    Each half of the customers is scored by a model trained on the other half, so no customer
    is scored by a model that saw them. The training rows come from the month scored, with the
    same lags and the same share of adders.
    """
    fold = np.random.default_rng(seed).random(len(validation)) < 0.5
    predicted = np.zeros(validation.Y.shape)
    for scored in (fold, ~fold):
        train = validation.subset(np.flatnonzero(~scored))
        part = validation.subset(np.flatnonzero(scored))
        predicted[scored] = score_once(train, np.ones(len(train)), part, settings, options, seed)
    return predicted


def run_experiment(name: str, spec: dict, workspace, seeds: list[int]) -> dict:
    """Run one experiment for every seed; return its MAP@7 per seed and seconds per fit."""
    from nextbest.banking import run_steps

    options = {key: spec[key] for key in SCRIPT_OPTIONS if key in spec}
    settings = {**run_steps.DEFAULT_NETWORK, **{key: value for key, value in spec.items() if key not in SCRIPT_OPTIONS}}
    months = options.get("months", ["2016-02", "2016-03", "2016-04"])
    data, weights, validation = load(workspace, months)
    if options.get("adders_only"):
        rows = np.flatnonzero(data.Y.any(axis=1))
        data, weights = data.subset(rows), weights[rows]
    if options.get("drop"):
        data = drop_features(data, options["drop"])
    chosen_rows = run_steps.network_rows
    if options.get("all_rows"):
        run_steps.network_rows = lambda data, loss: np.arange(len(data))
    try:
        rows = len(data) if options.get("lightgbm") else len(run_steps.network_rows(data, settings["loss"]))
        if options.get("cross_fit"):
            rows = len(validation) // 2
        scores, seconds, epochs = score_seeds(name, data, weights, validation, settings, options, seeds)
    finally:
        run_steps.network_rows = chosen_rows
    return {"experiment": name, "rows": rows, "features": data.X.shape[1], "map_at_7": scores,
            "mean": float(np.mean(scores)), "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
            "seconds_per_fit": float(np.mean(seconds)), "epochs": epochs}


def score_seeds(name, data, weights, validation, settings, options, seeds):
    """Score the validation month once per seed; return MAP@7 and seconds of each."""
    from nextbest.multilabel.metrics import map_at_k

    scores, seconds, epochs = [], [], []
    for seed in seeds:
        started = time.perf_counter()
        if options.get("cross_fit"):
            predicted = cross_fit(validation, settings, options, seed)
        else:
            predicted = score_once(data, weights, validation, settings, options, seed, epochs)
        seconds.append(time.perf_counter() - started)
        scores.append(float(map_at_k(validation.Y, predicted, 7, exclude=validation.owned)))
        print(f"  {name} seed {seed}: MAP@7 {scores[-1]:.4f} in {seconds[-1]:.0f} s", flush=True)
    return scores, seconds, epochs


def describe(workspace, months: list[str]) -> None:
    """Print the rows and adders of each month, the adds of each product, and their month-to-month mix."""
    from nextbest.multilabel.metrics import map_at_k

    data, _, validation = load(workspace, months)
    products = workspace.schema.product_names
    shares = {}
    for month in months:
        in_month = data.months == month
        adding = data.Y[in_month].any(axis=1)
        print(f"{month}: {in_month.sum()} rows, {adding.sum()} adding ({adding.mean():.1%})")
        shares[month] = data.Y[in_month].sum(axis=0) / data.Y[in_month].sum()
    shares["2016-05"] = validation.Y.sum(axis=0) / validation.Y.sum()
    print(f"2016-05: {len(validation)} rows, {validation.Y.any(axis=1).sum()} adding")
    train_adds, valid_adds = data.Y[data.months != months[0]].sum(axis=0), validation.Y.sum(axis=0)
    print(f"product: adds in {months[1]}..{months[-1]}, adds in 2016-05; share of the adds of each month "
          f"({', '.join(shares)})")
    for index in np.argsort(-valid_adds):
        mix = " ".join(f"{share[index]:.3f}" for share in shares.values())
        print(f"  {products[index]}: {train_adds[index]}, {valid_adds[index]}; {mix}")
    # One ranking for every customer, from the add counts of the training months or, knowing
    # the outcome, of 2016-05 itself. The difference is what the shift of the product mix costs.
    for label, counts in ((f"{months[1]}..{months[-1]}", train_adds), ("2016-05 itself", valid_adds)):
        ranking = np.tile(counts.astype(float), (len(validation), 1))
        print(f"popularity from {label}: MAP@7 {map_at_k(validation.Y, ranking, 7, exclude=validation.owned):.4f}")


def slice_panel(source: Path, target: Path, customers: int) -> None:
    """Copy the rows of the first `customers` customer ids of the panel, keeping its layout."""
    with gzip.open(source, "rt", newline="") as reader, gzip.open(target, "wt", newline="") as writer:
        rows = csv.reader(reader)
        out = csv.writer(writer, lineterminator="\n")
        header = next(rows)
        out.writerow(header)
        id_column = header.index("ncodpers")
        kept: set[str] = set()
        for row in rows:
            if row[id_column] not in kept and len(kept) < customers:
                kept.add(row[id_column])
            if row[id_column] in kept:
                out.writerow(row)


def slice_check(panel: Path, work: Path) -> None:
    """Run `nextbest run` on the panel's first 1,500 customers, as the end-to-end test does.

    Lags 2, training months 2016-03..2016-04, no retraining, random state 3; one line per
    network setting with MAP@7 on 2016-05 and the seconds of the training stage.
    """
    from nextbest.banking import run_steps
    from nextbest.banking.pipeline import run

    sliced = work / "slice" / "panel_slice.csv.gz"
    sliced.parent.mkdir(parents=True, exist_ok=True)
    slice_panel(panel, sliced, 1500)
    chosen_rows = run_steps.network_rows
    for all_rows, learning_rate in ((True, 1e-3), (False, 1e-3), (False, 3e-4), (False, 1e-4), (True, 1e-4)):
        shutil.rmtree(work / "slice" / "ws", ignore_errors=True)
        if all_rows:
            run_steps.network_rows = lambda data, loss: np.arange(len(data))
        try:
            result = run([sliced], workspace=work / "slice" / "ws", validation_month="2016-05",
                         training_months="2016-03..2016-04", top_k=5, lags=2, random_state=3, retrain=False,
                         network={"learning_rate": learning_rate})
        finally:
            run_steps.network_rows = chosen_rows
        rows = "every row" if all_rows else "adding rows"
        print(f"slice of 1,500 customers, {rows}, learning rate {learning_rate:g}: MAP@7 "
              f"{result.metrics['nextbest']['map_at_7']:.4f}, training stage {result.timings['train']:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", type=Path, default=DEFAULT_PANEL, help="The panel file (training layout).")
    parser.add_argument("--work", type=Path, default=Path("/tmp/nextbest-bench-panel"), help="Scratch directory, kept between calls.")
    parser.add_argument("--lags", type=int, default=3, help="Months of product history that become features.")
    parser.add_argument("--seeds", default="0,1,2", help="Comma-separated random states.")
    parser.add_argument("--experiments", default="default", help="Comma-separated experiment names (see --list).")
    parser.add_argument("--results", type=Path, help="Append one JSON line per experiment to this file.")
    parser.add_argument("--list", action="store_true", help="Print the experiments and exit.")
    parser.add_argument("--describe", action="store_true", help="Print rows and adds per month and product first.")
    parser.add_argument("--slice-check", action="store_true",
                        help="First run `nextbest run` on the first 1,500 customers with several learning rates.")
    options = parser.parse_args()

    if options.list:
        for name, spec in EXPERIMENTS.items():
            print(f"{name}: {spec}")
        return 0
    names = [name for name in options.experiments.split(",") if name]
    unknown = [name for name in names if name not in EXPERIMENTS]
    if unknown:
        print(f"unknown experiments {unknown}; --list prints the known ones", file=sys.stderr)
        return 1
    if not options.panel.is_file():
        print(f"panel file {options.panel} not found; it comes with the project's shared/ data folder", file=sys.stderr)
        return 1

    seeds = [int(seed) for seed in options.seeds.split(",")]
    if options.slice_check:
        slice_check(options.panel, options.work)
    workspace = prepare(options.panel, options.work, options.lags, ["2016-01", "2016-02", "2016-03", "2016-04"])
    if options.describe:
        describe(workspace, ["2016-01", "2016-02", "2016-03", "2016-04"])
    for name in names:
        result = {"lags": options.lags, **run_experiment(name, EXPERIMENTS[name], workspace, seeds)}
        print(f"{name} (lags {options.lags}, {result['rows']} rows, {result['features']} features): MAP@7 mean "
              f"{result['mean']:.4f}, sd {result['std']:.4f}, per seed {[round(s, 4) for s in result['map_at_7']]}, "
              f"{result['seconds_per_fit']:.0f} s per fit, epochs run {result['epochs']}", flush=True)
        if options.results:
            with options.results.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
