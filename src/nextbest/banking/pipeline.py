"""The main job: from a bank's monthly files to evaluated, ranked next-best products.

`run` is what ``nextbest run`` calls, with the same arguments, so a notebook gets the same
outputs as the command line. Its steps:

1. ingest the files the workspace does not already hold unchanged;
2. build the examples of the training months, the validation month and the month to predict;
3. train the network on the training months, owned products masked out of the loss, stopping
   early on a split of the training customers (never on the validation month). Under the
   softmax ranking loss only the rows that add a product carry a loss, so only they are used;
4. evaluate it on the validation month beside the popularity and LightGBM baselines trained on
   the same examples;
5. retrain on the training months, the validation month and any labelled month after it
   (unless ``retrain=False``), and recommend the
   top k products of every customer of the month to predict, owned products excluded.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.baselines import LightGBMRanker, PopularityRanker, baseline_features
from nextbest.banking.evaluation import calibration_bins, model_metrics
from nextbest.banking.features_manifest import FeatureSettings, read_manifest
from nextbest.banking.recommend import recommendation_table
from nextbest.banking.recommender_model import RecommenderModel
from nextbest.banking.run_months import check_month_to_predict, choose_months, history_warnings
from nextbest.banking.run_outputs import RunDirectory, library_versions
from nextbest.banking.run_steps import (
    DEFAULT_NETWORK,
    StageTimer,
    build_run_examples,
    carry_forward,
    fit_network,
    ingest_inputs,
    load_arrays,
    load_training_arrays,
)
from nextbest.banking.submission import write_submission
from nextbest.errors import NextbestError

logger = logging.getLogger(__name__)

# Training rows beyond which the rows adding nothing are sampled (and weighted up to
# compensate); every row that adds a product is kept. At the Santander data's size (about
# 930,000 customers a month, 3 to 4 training months) this keeps about one in ten of the
# rows adding nothing.
# On a synthetic bank of that size the whole run took 7.3 minutes and peaked at 7.53 GiB on 2
# cores (bench/bench_full_scale.py), so a larger value risks the 8 GiB of a laptop.
DEFAULT_MAX_TRAINING_ROWS = 500_000


@dataclass
class RunResult:
    """Outcome of one run: its id and directory, the validation metrics and the seconds per stage."""

    run_id: str
    path: Path
    metrics: dict
    timings: dict[str, float]


def run(
    train: list[str | Path] = (),
    *,
    workspace: str | Path,
    test: str | Path | None = None,
    validation_month: str | None = None,
    training_months: str | None = None,
    top_k: int = 7,
    random_state: int = 0,
    retrain: bool = True,
    lags: int = 5,
    max_training_rows: int | None = DEFAULT_MAX_TRAINING_ROWS,
    network: dict | None = None,
    command: list[str] | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Ingest, build examples, train, evaluate against the baselines, and recommend.

    Parameters
    ----------
    train : list of path
        Files in the training layout (products known). May be empty when the workspace
        already contains the months.
    workspace : path
        Workspace directory; created when missing. Outputs go to ``workspace/runs/<run id>/``.
    test : path, optional
        A file in the test layout: its month is the month to predict. Without it, the month
        after the last labelled month is predicted for that month's customers.
    validation_month : str, optional
        ``YYYY-MM``; defaults to the last month with products.
    training_months : str, optional
        ``YYYY-MM..YYYY-MM``; defaults to the 3 months before the validation month, plus the
        same calendar month a year before the month to predict when the data reaches back
        that far.
    top_k : int, default 7
        Products recommended per customer. MAP@7 is always reported, and MAP@k too when k
        differs from 7.
    random_state : int, default 0
        Seed of the population sample, the early-stopping split, the network and LightGBM.
    retrain : bool, default True
        Whether to train again before recommending, on the training months, the validation
        month and the labelled months after it.
    lags : int, default 5
        Months of product history that become features.
    max_training_rows : int or None, default 500,000
        Above this many training rows, rows adding nothing are sampled and weighted up.
    network : dict, optional
        `MultiLabelNet` settings replacing those of `DEFAULT_NETWORK`.
    command : list of str, optional
        The command line to record in ``run.json``; defaults to ``sys.argv``.
    progress : rich.progress.Progress, optional

    Returns
    -------
    RunResult

    Raises
    ------
    NextbestError
        For invalid arguments, unreadable files and months the workspace cannot serve.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise NextbestError(f"invalid --top-k {top_k!r}; expected a whole number of products, 1 or more")
    settings = {**DEFAULT_NETWORK, **(network or {})}
    feature_settings = FeatureSettings(lags=lags)
    timer = StageTimer()

    with timer.stage("ingest"):
        workspace_, inputs = ingest_inputs(Path(workspace), [Path(p) for p in train], None if test is None else Path(test), progress)
    months = choose_months(workspace_, validation_month, training_months)
    check_month_to_predict(months, workspace_.labelled_months())
    output = RunDirectory(workspace_.path / "runs")
    try:
        with timer.stage("examples"):
            if months.predict_carried:
                carry_forward(workspace_, workspace_.labelled_months()[-1], months.predict)
            build_run_examples(workspace_, months, feature_settings, progress)
        warnings = history_warnings(months.training + [months.validation], workspace_.labelled_months(), lags)
        for message in warnings:
            logger.warning(message)
        evaluation = _train_and_evaluate(workspace_, months, settings, top_k, random_state, max_training_rows, timer, output, progress)
        model = _final_model(workspace_, months, settings, evaluation, retrain, random_state, max_training_rows, timer, progress)
        with timer.stage("recommend"):
            _recommend(workspace_, months.predict, model, top_k, output)
            model.save(output.file("model"))
        metrics = {**evaluation["metrics"], "warnings": warnings}
        output.write_json("metrics.json", metrics)
        with timer.stage("report"):
            _write_report(output, metrics, evaluation)
        output.write_json(
            "run.json",
            _run_record(command, locals_for_record(train, workspace, test, validation_month, training_months, top_k,
                                                   random_state, retrain, lags, max_training_rows, settings),
                        months, inputs, model, timer, output.run_id),
        )
        path = output.finish()
    except BaseException:
        output.discard()
        raise
    return RunResult(run_id=output.run_id, path=path, metrics=metrics, timings=timer.seconds)


def _train_and_evaluate(workspace, months, settings, top_k, random_state, max_training_rows, timer, output, progress) -> dict:
    """Train the network and the baselines on the training months and score the validation month."""
    products = workspace.schema.product_names
    with timer.stage("train"):
        data, weights = load_training_arrays(workspace, months.training, products, max_training_rows, random_state)
        network = fit_network(data, weights, settings, random_state, progress)
    with timer.stage("baselines"):
        popularity = PopularityRanker().fit(data.X, data.Y, sample_weight=weights)
        features = baseline_features(data.X.columns, workspace.schema)
        lightgbm = LightGBMRanker(random_state=random_state, features=features).fit(data.X, data.Y, data.owned, weights, progress=progress)
    training_rows = len(data)
    # Freed before the validation month is loaded, to lower the run's peak memory.
    del data, weights

    with timer.stage("evaluate"):
        validation = load_arrays(workspace, [months.validation], products)
        scores = {
            "nextbest": network.predict_proba(validation.X),
            "popularity": popularity.predict_proba(validation.X),
            "lightgbm": lightgbm.predict_proba(validation.X, validation.owned),
        }
        metrics = _headline(validation, months, training_rows, top_k)
        for name, model_scores in scores.items():
            metrics[name] = model_metrics(validation.Y, model_scores, validation.owned, products, top_k)
        # Seven places at least, so that MAP@7 can be recomputed from the file for any --top-k.
        places = max(top_k, 7)
        table = recommendation_table(validation.customer_ids, scores["nextbest"], validation.owned, products, places)
        pq.write_table(table, output.file("validation_recommendations.parquet"))
    return {
        "metrics": metrics,
        "network": network,
        "popularity": popularity,
        "history": network.history_,
        "best_epoch": network.best_epoch_,
        "calibration": calibration_bins(validation.Y, scores["nextbest"], validation.owned),
    }


def _headline(validation, months, training_rows: int, top_k: int) -> dict:
    from nextbest.multilabel.metrics import max_map_at_k

    return {
        "validation_month": months.validation,
        "training_months": months.training,
        "training_rows": training_rows,
        "top_k": top_k,
        "customers": len(validation),
        "customers_adding": int(validation.Y.any(axis=1).sum()),
        "max_map_at_7": max_map_at_k(validation.Y, 7, exclude=validation.owned),
    }


def _final_model(workspace, months, settings, evaluation, retrain, random_state, max_training_rows, timer, progress):
    """Return the model that recommends: the evaluated one, or one retrained with the validation month."""
    manifest = read_manifest(workspace.path)
    products = workspace.schema.product_names
    common = {"feature_settings": manifest.settings, "features": manifest.features, "products": products}
    if not retrain:
        return RecommenderModel(
            network=evaluation["network"], popularity=evaluation["popularity"], training_months=months.training, **common
        )
    with timer.stage("retrain"):
        month_list = months.retraining
        data, weights = load_training_arrays(workspace, month_list, products, max_training_rows, random_state)
        network = fit_network(data, weights, settings, random_state, progress)
        popularity = PopularityRanker().fit(data.X, data.Y, sample_weight=weights)
    return RecommenderModel(network=network, popularity=popularity, training_months=month_list, retrained=True, **common)


def _recommend(workspace, month: str, model: RecommenderModel, top_k: int, output: RunDirectory) -> None:
    """Write recommendations.parquet and submission.csv for every customer of the month to predict."""
    data = load_arrays(workspace, [month], model.products)
    table = recommendation_table(data.customer_ids, model.score(data), data.owned, model.products, top_k)
    pq.write_table(table, output.file("recommendations.parquet"))
    write_submission(table, workspace.schema, output.file("submission.csv"), data.customer_ids)
    logger.info(
        "recommended %d products to each of %d customers of %s (%d without history got the popularity ranking)",
        top_k, len(data), month, int(data.no_history.sum()),
    )


def _write_report(output: RunDirectory, metrics: dict, evaluation: dict) -> None:
    from nextbest.report.html import write_run_report

    write_run_report(
        output.file("report.html"),
        metrics=metrics,
        history=evaluation["history"],
        best_epoch=evaluation["best_epoch"],
        calibration=evaluation["calibration"],
        run_id=output.run_id,
    )


def locals_for_record(train, workspace, test, validation_month, training_months, top_k, random_state, retrain, lags,
                      max_training_rows, network) -> dict:
    """Return every setting of a run, by `run`'s argument names, ready for ``run.json``."""
    return {
        "train": [str(Path(p).resolve()) for p in train],
        "workspace": str(Path(workspace).resolve()),
        "test": None if test is None else str(Path(test).resolve()),
        "validation_month": validation_month,
        "training_months": training_months,
        "top_k": top_k,
        "random_state": random_state,
        "retrain": retrain,
        "lags": lags,
        "max_training_rows": max_training_rows,
        "network": {key: list(value) if isinstance(value, tuple) else value for key, value in network.items()},
    }


def _run_record(command, settings: dict, months, inputs, model: RecommenderModel, timer: StageTimer, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "command": list(command) if command is not None else list(sys.argv),
        "settings": settings,
        "random_state": settings["random_state"],
        "months": {
            "training": months.training,
            "validation": months.validation,
            "predict": months.predict,
            "predict_snapshot_carried_forward": months.predict_carried,
        },
        "model": {
            "retrained": model.retrained,
            "trained_on": model.training_months,
            "epochs_run": len(model.network.history_.get("loss", [])),
            "best_epoch": model.network.best_epoch_,
        },
        "inputs": inputs,
        "library_versions": library_versions(),
        "stage_seconds": timer.seconds,
        "peak_memory_gib_after_stage": timer.peak_memory_gib,
    }
