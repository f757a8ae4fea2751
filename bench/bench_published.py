"""Benchmark MultiLabelNet on the standard MULAN splits of emotions, scene and yeast.

Each data set's standard train/test split is scored with five metrics (Hamming loss, micro-F1,
macro-F1, subset accuracy, ranking loss) for nextbest's `MultiLabelNet` and three scikit-learn
baselines, all in the same run:

- binary relevance: ``OneVsRestClassifier(LogisticRegression)``;
- classifier chain: ``ClassifierChain(LogisticRegression)`` in a random label order;
- ``MLPClassifier``, whose multi-label mode trains one network with a sigmoid per label.

Every hyper-parameter is chosen on the training split only. The baselines use a grid search
with 3-fold iterative-stratification cross-validation, scored by Hamming loss. MultiLabelNet
tries a few settings, each fitted on 80% of the training split with early stopping on the
other 20% (an iterative-stratification split), and keeps the setting with the lowest Hamming
loss there. Five networks of that setting, differing only in seed, are then refitted on the
whole training split, and their probabilities are averaged.

MultiLabelNet is shown with two decision rules on the same probabilities: a threshold of 0.5 on
every label (as the baselines' ``predict``), and per-label thresholds tuned for F1 on the 20%
held out of training. The figures go to stdout as Markdown tables; ``--json`` also writes them.

Usage::

    python bench/bench_published.py                       # all three data sets
    python bench/bench_published.py --datasets emotions   # one
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.metrics import hamming_loss as sklearn_hamming_loss
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nextbest.multilabel import MultiLabelNet, tune_thresholds
from nextbest.multilabel.metrics import decision_metrics, ranking_loss
from nextbest.multilabel.readers import read_table
from nextbest.multilabel.splits import iterative_kfold, iterative_train_test_split

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "multilabel"
DATASETS = ("emotions", "scene", "yeast")
SEED = 0

# Settings MultiLabelNet tries on each data set; the rest are shared.
NET_GRID = [
    {"hidden_units": (256,), "dropout": 0.3},
    {"hidden_units": (512, 256), "dropout": 0.5},
    {"hidden_units": (128,), "dropout": 0.5, "loss": "focal"},
    {"hidden_units": (1024,), "dropout": 0.5},
]
NET_SHARED = {"batch_size": 64, "learning_rate": 1e-3, "epochs": 300, "patience": 15, "random_state": SEED}
# Networks of the chosen setting, differing only in seed, whose probabilities are averaged.
ENSEMBLE_SIZE = 5

HAMMING_SCORER = make_scorer(sklearn_hamming_loss, greater_is_better=False)


def baselines() -> dict:
    """Return each scikit-learn baseline with its hyper-parameter grid."""
    logistic = LogisticRegression(max_iter=3000)
    return {
        "BR (logistic regression)": (
            make_pipeline(StandardScaler(), OneVsRestClassifier(logistic)),
            {"onevsrestclassifier__estimator__C": [0.01, 0.1, 1.0, 10.0]},
        ),
        "classifier chain (logistic regression)": (
            make_pipeline(StandardScaler(), ClassifierChain(logistic, order="random", random_state=SEED)),
            {"classifierchain__estimator__C": [0.01, 0.1, 1.0, 10.0]},
        ),
        "MLPClassifier": (
            make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, early_stopping=True, random_state=SEED)),
            {"mlpclassifier__hidden_layer_sizes": [(64,), (256,)], "mlpclassifier__alpha": [1e-3, 1e-1, 1.0]},
        ),
    }


def scores_of(y_true, y_pred, scores) -> dict:
    """Return the five reported metrics, from nextbest's metrics module."""
    decisions = decision_metrics(y_true, y_pred)
    return {
        "hamming_loss": decisions["hamming_loss"],
        "f1_micro": decisions["f1_micro"],
        "f1_macro": decisions["f1_macro"],
        "subset_accuracy": decisions["subset_accuracy"],
        "ranking_loss": ranking_loss(y_true, scores),
    }


def run_baseline(name, estimator, grid, train, test) -> dict:
    started = time.perf_counter()
    search = GridSearchCV(estimator, grid, scoring=HAMMING_SCORER, cv=iterative_kfold(3, random_state=SEED))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(train.features.to_numpy(), train.labels)
    features = test.features.to_numpy()
    result = scores_of(test.labels, search.predict(features), search.predict_proba(features))
    result["settings"] = {key.split("__", 1)[1]: value for key, value in search.best_params_.items()}
    result["seconds"] = time.perf_counter() - started
    return result


def select_net(train, fit_rows, held_rows) -> tuple[dict, MultiLabelNet]:
    """Fit each grid setting on the fit rows; keep the best by Hamming loss on the held-out rows."""
    x_fit, y_fit = train.features.iloc[fit_rows], train.labels[fit_rows]
    x_held, y_held = train.features.iloc[held_rows], train.labels[held_rows]
    best = None
    for settings in NET_GRID:
        net = MultiLabelNet(**settings, **NET_SHARED).fit(x_fit, y_fit, validation_data=(x_held, y_held))
        held_loss = sklearn_hamming_loss(y_held, net.predict_proba(x_held) >= 0.5)
        print(f"    {settings}: best epoch {net.best_epoch_}, held-out Hamming loss {held_loss:.4f}", file=sys.stderr)
        if best is None or held_loss < best[2]:
            best = (settings, net, held_loss)
    return best[0], best[1]


def run_net(train, test) -> dict[str, dict]:
    """Select a setting, then average ENSEMBLE_SIZE seeds of it, refitted on the whole training split.

    The F1 thresholds are tuned on the held-out rows with the average of the seeds fitted on
    the other 80%; the epoch count of the refit is the median of those seeds' best epochs.
    """
    started = time.perf_counter()
    fit_rows, held_rows = iterative_train_test_split(train.labels, 0.2, random_state=SEED)
    settings, selected = select_net(train, fit_rows, held_rows)
    x_fit, y_fit = train.features.iloc[fit_rows], train.labels[fit_rows]
    x_held, y_held = train.features.iloc[held_rows], train.labels[held_rows]

    members = [selected] + [
        MultiLabelNet(**settings, **{**NET_SHARED, "random_state": seed}).fit(
            x_fit, y_fit, validation_data=(x_held, y_held)
        )
        for seed in range(1, ENSEMBLE_SIZE)
    ]
    held_probabilities = np.mean([net.predict_proba(x_held) for net in members], axis=0)
    thresholds = tune_thresholds(y_held, held_probabilities)
    epochs = int(np.median([net.best_epoch_ for net in members]))

    refit = {**NET_SHARED, **settings, "epochs": epochs, "patience": None, "threshold_tuning": False}
    probabilities = np.mean(
        [
            MultiLabelNet(**{**refit, "random_state": seed}).fit(train.features, train.labels).predict_proba(test.features)
            for seed in range(ENSEMBLE_SIZE)
        ],
        axis=0,
    )
    seconds = time.perf_counter() - started
    shown = {**settings, "epochs": epochs, "seeds averaged": ENSEMBLE_SIZE}
    return {
        "nextbest MultiLabelNet, thresholds 0.5": {
            **scores_of(test.labels, probabilities >= 0.5, probabilities), "settings": shown, "seconds": seconds,
        },
        "nextbest MultiLabelNet, F1-tuned thresholds": {
            **scores_of(test.labels, probabilities >= thresholds, probabilities), "settings": shown, "seconds": seconds,
        },
    }


def markdown_table(name: str, results: dict[str, dict]) -> str:
    columns = ("hamming_loss", "f1_micro", "f1_macro", "subset_accuracy", "ranking_loss")
    header = "| method | Hamming loss ↓ | micro-F1 ↑ | macro-F1 ↑ | subset accuracy ↑ | ranking loss ↓ | chosen settings |"
    lines = [f"**{name}**", "", header, "|---|---|---|---|---|---|---|"]
    for method, result in results.items():
        figures = " | ".join(f"{result[column]:.4f}" for column in columns)
        lines.append(f"| {method} | {figures} | {_settings_text(result['settings'])} |")
    return "\n".join(lines)


def _settings_text(settings: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Folder with NAME-train.arff, NAME-test.arff, NAME.xml.")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--json", type=Path, help="Also write every figure to this JSON file.")
    arguments = parser.parse_args()

    everything = {}
    for name in arguments.datasets:
        xml = arguments.data / f"{name}.xml"
        train = read_table(arguments.data / f"{name}-train.arff", labels_xml=xml)
        test = read_table(arguments.data / f"{name}-test.arff", labels_xml=xml)
        print(f"{name}: {len(train.labels)} train rows, {len(test.labels)} test rows", file=sys.stderr)
        results = {}
        for method, (estimator, grid) in baselines().items():
            results[method] = run_baseline(method, estimator, grid, train, test)
            print(f"  {method}: {results[method]}", file=sys.stderr)
        results |= run_net(train, test)
        everything[name] = results
        print(markdown_table(name, results) + "\n", flush=True)

    if arguments.json:
        arguments.json.write_text(json.dumps(everything, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
