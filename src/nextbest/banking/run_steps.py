"""Steps of `nextbest.banking.pipeline.run` that are more than a call: ingest, examples, training."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import Progress

from nextbest.banking.example_arrays import ExampleArrays, concat_arrays, example_arrays, label_matrix
from nextbest.banking.features import build_examples, load_examples
from nextbest.banking.features_manifest import FeatureSettings, read_manifest
from nextbest.banking.run_months import RunMonths, sample_population
from nextbest.banking.workspace import Workspace, describe_file
from nextbest.errors import NextbestError

logger = logging.getLogger(__name__)

# Settings of the network that `nextbest run` trains. docs/benchmarks.md records what they
# reach on the real Santander panel, beside the baselines, and the settings tried there
# (bench/bench_panel_tuning.py).
DEFAULT_NETWORK = {
    "hidden_units": (512, 256),
    "dropout": 0.2,
    # On the Santander panel with 3 lags, 3e-4 gave MAP@7 0.867 against 0.864 for 1e-3 (mean of
    # 6 seeds) and varied less between seeds. 1e-4 gave 0.869 there but fell far short on a
    # 1,500-customer slice, where it gets too few steps before the epoch limit.
    "learning_rate": 3e-4,
    "batch_size": 512,
    "epochs": 40,
    "patience": 4,
    "threshold_tuning": False,
    # Ranks products within a customer, which is what MAP@7 scores; the scores are not
    # calibrated probabilities.
    "loss": "softmax",
}

# Share of the training customers held out for early stopping.
EARLY_STOPPING_SHARE = 0.1


class StageTimer:
    """Wall time of each named stage, in seconds, and the process's peak memory after it.

    The peak (maximum resident set size) only grows, so the first stage after which it rises
    is the one that set it.
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.peak_memory_gib: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        """Time the block and log its end."""
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        self.peak_memory_gib[name] = round(peak_memory_gib(), 2)
        logger.info("stage %s took %.1f s (peak memory so far %.2f GiB)", name, self.seconds[name], self.peak_memory_gib[name])


def peak_memory_gib() -> float:
    """Return the peak resident memory of this process so far, in GiB (0 where unknown)."""
    try:
        import resource
    except ImportError:  # Windows has no resource module.
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def ingest_inputs(workspace_path: Path, train: list[Path], test: Path | None, progress: Progress | None) -> tuple[Workspace, list[dict]]:
    """Ingest the input files that the workspace does not already contain unchanged.

    Returns
    -------
    workspace : Workspace
    inputs : list of dict
        Per input file: ``path``, ``size``, ``sha256``, ``months`` (the months read from it) and
        ``skipped`` (True when the workspace already contained it unchanged).
    """
    paths = [Path(p) for p in train] + ([Path(test)] if test is not None else [])
    for path in paths:
        if not path.is_file():
            raise NextbestError(f"input file {path} not found; check the path given to --train or --test")
    existing = Workspace.open_existing(workspace_path)
    changed = [p for p in paths if existing is None or not existing.file_unchanged(p)]
    if changed:
        from nextbest.banking import ingest

        ingest.ingest(changed, workspace_path, progress=progress)
    elif not paths:
        logger.info("no input files given; using the months already in %s", workspace_path)
    workspace = Workspace(workspace_path)
    records = workspace.files()
    inputs = []
    for path in paths:
        record = records.get(str(path.resolve()), {})
        inputs.append(
            {
                "path": str(path.resolve()),
                "size": record.get("size"),
                "sha256": record.get("sha256"),
                "months": record.get("months"),
                "skipped": path not in changed,
            }
        )
    return workspace, inputs


def carry_forward(workspace: Workspace, last_month: str, month: str) -> None:
    """Store `month` as a month to predict: `last_month`'s customers and attributes, products null.

    Used when no file of the month to predict was given. The snapshot's source is recorded as
    the last month's snapshot file.
    """
    source_path = workspace.snapshot_path(last_month)
    table = pq.read_table(source_path)
    first_day = dt.date(int(month[:4]), int(month[5:7]), 1)
    table = table.set_column(table.column_names.index("month"), "month", pa.array([first_day] * table.num_rows, pa.date32()))
    for product in workspace.schema.product_names:
        index = table.column_names.index(product)
        table = table.set_column(index, product, pa.nulls(table.num_rows, table.schema.field(product).type))
    workspace.write_month(month, table, layout="test", source=describe_file(source_path))
    logger.warning(
        "no file of the month to predict was given: %s is predicted for the customers of %s with their %s "
        "attributes; pass --test FILE with the bank's %s file for real attributes and new customers",
        month,
        last_month,
        last_month,
        month,
    )


def build_run_examples(workspace: Workspace, months: RunMonths, settings: FeatureSettings, progress: Progress | None) -> None:
    """Build the examples of every month of the run: training, validation and the month to predict."""
    labelled = sorted(set(months.training + months.retraining))
    build_examples(workspace, labelled, settings=settings, progress=progress)
    build_examples(workspace, [months.predict], settings=settings, predict_months=[months.predict], progress=progress)


def load_arrays(workspace: Workspace, month_list: list[str], products: list[str]) -> ExampleArrays:
    """Load the examples of the months as model inputs, with the manifest's feature columns."""
    manifest = read_manifest(workspace.path)
    return example_arrays(load_examples(workspace, month_list), manifest.features, products)


def load_training_arrays(
    workspace: Workspace, months: list[str], products: list[str], max_rows: int | None, random_state: int
) -> tuple[ExampleArrays, np.ndarray]:
    """Load the training months one at a time, sampling each to its share of `max_rows`.

    Sampling month by month keeps memory to about one month's examples plus the sample.

    Returns
    -------
    data : ExampleArrays
    weights : ndarray of shape (n_rows,)
        Sample weights that undo the sampling (see `sample_population`).
    """
    budget = None if max_rows is None else max(1, max_rows // len(months))
    manifest = read_manifest(workspace.path)
    parts, weights = [], []
    for offset, month in enumerate(months):
        table = load_examples(workspace, [month])
        # The sample is drawn from the labels alone, so that only its rows become DataFrames.
        rows, month_weights = sample_population(label_matrix(table, products), budget, random_state + offset)
        parts.append(example_arrays(table.take(rows), manifest.features, products))
        weights.append(month_weights)
        del table
    return concat_arrays(parts), np.concatenate(weights)


def early_stopping_split(customer_ids: np.ndarray, random_state: int) -> np.ndarray:
    """Return a boolean array marking the rows held out for early stopping.

    All rows of a customer fall on the same side, so the held-out rows never share a customer
    with the rows trained on.
    """
    customers = np.unique(customer_ids)
    rng = np.random.default_rng(random_state)
    held = customers[rng.random(len(customers)) < EARLY_STOPPING_SHARE]
    return np.isin(customer_ids, held)


def network_rows(data: ExampleArrays, loss: str) -> np.ndarray:
    """Return the indices of the rows the network trains on.

    Under the softmax ranking loss a row that adds no product has no loss and no gradient, so
    only the rows that add something are kept. That leaves every row's loss as it was, at a
    fraction of the cost: on the Santander panel a fifth of the rows add a product. Other
    losses train on every row.
    """
    if loss != "softmax":
        return np.arange(len(data))
    adding = np.flatnonzero(data.Y.any(axis=1))
    if len(adding) == 0:
        logger.warning("no training row adds a product, so the network learns nothing and its scores are those of an untrained network")
        return np.arange(len(data))
    logger.info("network: training on the %d of %d rows that add a product (softmax ranking loss)", len(adding), len(data))
    return adding


def fit_network(data: ExampleArrays, weights: np.ndarray, settings: dict, random_state: int, progress: Progress | None):
    """Train the network on `data` with owned products masked, stopping early on a customer split."""
    from nextbest.multilabel import MultiLabelNet

    used = network_rows(data, settings.get("loss", "bce"))
    held = early_stopping_split(data.customer_ids[used], random_state)
    fit_rows, stop_rows = used[~held], used[held]
    categorical = [name for name in data.X.columns if str(data.X[name].dtype) == "category"]
    network = MultiLabelNet(**settings, categorical_features=categorical, random_state=random_state)
    network.fit(
        data.X.iloc[fit_rows],
        data.Y[fit_rows],
        sample_weight=weights[fit_rows],
        mask=data.owned[fit_rows],
        validation_data=(data.X.iloc[stop_rows], data.Y[stop_rows], data.owned[stop_rows]),
        progress=progress,
    )
    logger.info("network: best epoch %d of %d", network.best_epoch_, len(network.history_.get("loss", [])))
    return network
