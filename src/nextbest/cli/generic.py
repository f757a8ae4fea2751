"""The commands for any multi-label table: `fit`, `predict` and `evaluate`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer

from nextbest.cli import _common
from nextbest._files import apply_default_permissions

TABLE_HELP = "Table to read: .csv (or .csv.gz), .parquet or .arff (dense or sparse)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("fit")(fit)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)


def split_names(values: list[str]) -> list[str]:
    """Flatten repeated and comma-separated option values into a list of non-empty names."""
    names = [part.strip() for value in values for part in value.split(",")]
    return [name for name in names if name]


def parse_hidden_units(values: list[str]) -> tuple[int, ...]:
    """Read layer widths such as ``256,128`` (or the option repeated) as a tuple of integers.

    Raises
    ------
    typer.BadParameter
        When a width is not a positive integer, which the command line reports with exit status 2.
    """
    widths = split_names(values)
    try:
        units = tuple(int(width) for width in widths)
    except ValueError:
        units = ()
    if not units or any(width < 1 for width in units):
        raise typer.BadParameter(
            f"{','.join(values)!r} is not a list of positive integers such as 256,128", param_hint="'--hidden-units'"
        )
    return units


def fit(
    table: Path = typer.Argument(..., help=TABLE_HELP),
    model: Path = typer.Option(..., "--model", "-m", help="Directory to write the fitted model to."),
    labels: list[str] = typer.Option(
        [], "--labels", "-l", help="Label columns, comma-separated (a,b,c) or the option repeated."
    ),
    labels_last: int | None = typer.Option(
        None, "--labels-last", min=1, help="Number of label columns at the end of the table (MULAN ARFF files)."
    ),
    labels_xml: Path | None = typer.Option(
        None, "--labels-xml", help="MULAN XML file naming the label columns."
    ),
    ignore: list[str] = typer.Option(
        [], "--ignore", help="Columns that are neither features nor labels, such as ids; comma-separated or repeated."
    ),
    epochs: int = typer.Option(100, "--epochs", min=1, help="Maximum number of passes over the training rows."),
    hidden_units: list[str] = typer.Option(
        ["256,128"], "--hidden-units", help="Width of each hidden layer, input side first, such as 256,128."
    ),
    dropout: float = typer.Option(0.1, "--dropout", min=0.0, max=0.95, help="Dropout rate after each hidden layer."),
    learning_rate: float = typer.Option(1e-3, "--learning-rate", min=0.0, help="Initial learning rate of Adam."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Rows per training step."),
    patience: int = typer.Option(
        10, "--patience", min=1, help="Epochs without a better validation loss before training stops."
    ),
    validation_share: float = typer.Option(
        0.2,
        "--validation-share",
        min=0.0,
        max=0.9,
        help="Share of rows held out, by iterative stratification, for early stopping and per-label "
        "thresholds. 0 trains on every row for --epochs epochs with all thresholds at 0.5.",
    ),
    random_state: int = typer.Option(0, "--random-state", help="Seed of the split, the weights and the row order."),
) -> None:
    """Train a multi-label network on a table and save it to a model directory.

    Every column that is not a label (or ignored) is a feature: numbers are standardised, text
    and ARFF nominal columns become categories. Prints the metrics on the validation rows.
    """
    label_options_used = sum(option is not None and option != [] for option in (labels, labels_last, labels_xml))
    if label_options_used != 1:
        raise typer.BadParameter(
            f"{label_options_used} label options given; name the label columns with exactly one of --labels, "
            "--labels-last or --labels-xml",
            param_hint="'--labels'",
        )
    if labels and not split_names(labels):
        raise typer.BadParameter(
            f"{','.join(labels)!r} names no column; pass names such as --labels y1,y2", param_hint="'--labels'"
        )
    layer_widths = parse_hidden_units(hidden_units)
    check_input_files(table, labels_xml)
    # Imported once the input files are known to exist: saving imports Keras, which takes seconds.
    from nextbest.multilabel.readers import read_table
    from nextbest.multilabel.saving import check_model_path

    check_model_path(model)
    check_folder_writable(model.parent)
    data = read_table(
        table, labels=split_names(labels) or None, labels_last=labels_last, labels_xml=labels_xml
    )
    features = _drop_ignored(data.features, split_names(ignore), table)

    # Imported once the input is known to be valid: Keras takes seconds to import.
    from nextbest.multilabel import MultiLabelNet

    net = MultiLabelNet(
        hidden_units=layer_widths,
        dropout=dropout,
        learning_rate=learning_rate,
        batch_size=batch_size,
        epochs=epochs,
        patience=patience,
        random_state=random_state,
    )
    train, validation = _split(data.labels, validation_share, random_state)
    label_frame = _label_frame(data)
    fit_arguments = {}
    if validation is not None:
        fit_arguments["validation_data"] = (features.iloc[validation], label_frame.iloc[validation])
    with _common.make_progress() as progress:
        net.fit(features.iloc[train], label_frame.iloc[train], progress=progress, **fit_arguments)
    net.save(model)
    _common.stderr.print(
        f"trained on {len(train)} rows ({features.shape[1]} features, {len(data.label_names)} labels); "
        f"best epoch {net.best_epoch_}; saved to {model}"
    )
    if validation is not None:
        # The thresholds were tuned on these rows, so their decision metrics flatter the model.
        _print_report(
            net,
            features.iloc[validation],
            data.labels[validation],
            k=7,
            title="Validation rows (thresholds tuned on them)",
            per_label=False,
        )


def check_input_files(*paths: Path | None) -> None:
    """Raise InputFileError for an input path that is not a file, before any slow import."""
    from nextbest.errors import InputFileError

    for path in paths:
        if path is not None and not path.is_file():
            problem = "is a directory, not a file" if path.is_dir() else "file not found"
            raise InputFileError(path, problem, fix="Check the path")


def check_folder_writable(folder: Path) -> None:
    """Create and remove a temporary folder in `folder`, or in its nearest existing parent.

    A model folder that cannot be written then fails before training instead of after it.

    Raises
    ------
    OSError
        From the file system, which the command line prints as one line.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    os.rmdir(tempfile.mkdtemp(prefix=".nextbest-write-check-", dir=existing))


def _label_frame(data):
    import pandas as pd

    return pd.DataFrame(data.labels, columns=data.label_names)


def _drop_ignored(features, ignored: list[str], path: Path):
    from nextbest.multilabel.readers import check_columns_present

    check_columns_present(path, list(features.columns), ignored, role="ignored")
    return features.drop(columns=ignored)


def _split(labels, validation_share: float, random_state: int):
    """Return train and validation row indices; validation is None for a share of 0."""
    import numpy as np

    from nextbest.multilabel.splits import iterative_train_test_split

    if validation_share == 0:
        return np.arange(labels.shape[0]), None
    return iterative_train_test_split(labels, validation_share, random_state=random_state)


def _load_model(model: Path):
    from nextbest.multilabel import MultiLabelNet

    return MultiLabelNet.load(model)


def _model_features(net, features):
    """Select the model's feature columns by name, so extra columns such as ids are ignored.

    When a feature column is missing, the table goes to the model unchanged, whose error lists
    the missing, extra and reordered columns.
    """
    names = getattr(net, "feature_names_in_", None)
    if names is None or not set(names) <= set(features.columns):
        return features
    return features[list(names)]


def predict(
    table: Path = typer.Argument(..., help=TABLE_HELP),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory written by `nextbest fit`."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="File to write: .csv or .parquet. Written aside and renamed when complete."
    ),
    keep: list[str] = typer.Option(
        [], "--keep", help="Columns of TABLE to copy into the output first, such as an id; comma-separated or repeated."
    ),
) -> None:
    """Score a table: one row per input row, with columns proba_<label> and pred_<label>.

    proba_<label> is the model's probability of the label (0 to 1); pred_<label> is the 0/1
    decision at the label's threshold tuned in fit. Label columns in TABLE are ignored.
    """
    import pandas as pd

    from nextbest.multilabel.readers import check_columns_present, read_table

    out_format = _output_format(out)
    _check_output_folder(out)
    check_input_files(table)
    net = _load_model(model)
    data = read_table(table, labels=list(net.labels_), require_labels=False)
    kept = split_names(keep)
    check_columns_present(table, list(data.features.columns), kept, role="--keep")

    features = _model_features(net, data.features)
    probabilities = net.predict_proba(features)
    decisions = (probabilities >= net.thresholds_).astype("int8")
    columns = {name: data.features[name].to_numpy() for name in kept}
    columns |= {f"proba_{label}": probabilities[:, index] for index, label in enumerate(net.labels_)}
    columns |= {f"pred_{label}": decisions[:, index] for index, label in enumerate(net.labels_)}
    _write_table(pd.DataFrame(columns), out, out_format)
    _common.stderr.print(f"wrote {len(probabilities)} rows to {out}")


def evaluate(
    table: Path = typer.Argument(..., help=TABLE_HELP + " It must contain the model's label columns."),
    model: Path = typer.Option(..., "--model", "-m", help="Model directory written by `nextbest fit`."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="JSON file for the metrics: one key per metric and a per_label object."
    ),
    k: int = typer.Option(7, "--k", min=1, help="Cut-off of MAP@k, precision@k and recall@k."),
    per_label: bool = typer.Option(True, "--per-label/--no-per-label", help="Print the per-label table too."),
) -> None:
    """Score a labelled table and print its multi-label metrics.

    Ranking metrics use the probabilities; decision metrics use the 0/1 decisions at the tuned
    thresholds. A label without positives in TABLE has undefined recall, ROC AUC and average
    precision, printed as "undefined" and written as null.
    """
    from nextbest.multilabel.readers import read_table

    if out is not None:
        _check_output_folder(out)
    check_input_files(table)
    net = _load_model(model)
    data = read_table(table, labels=list(net.labels_))
    features = _model_features(net, data.features)
    report = _print_report(net, features, data.labels, k=k, title=str(table), per_label=per_label)
    if out is not None:
        _write_text(json.dumps(report, indent=2) + "\n", out)
        _common.stderr.print(f"wrote the metrics to {out}")


def _print_report(net, features, labels, *, k: int, title: str, per_label: bool) -> dict:
    """Compute the metrics of `net` on a labelled table, print them and return the report."""
    import logging
    import warnings

    from nextbest.multilabel.metrics import multilabel_report
    from nextbest.report.tables import metrics_table, per_label_table

    probabilities = net.predict_proba(features)
    decisions = (probabilities >= net.thresholds_).astype("int8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = multilabel_report(labels, decisions, probabilities, labels=list(net.labels_), k=k)
    for warning in caught:
        logging.getLogger(__name__).warning("%s", warning.message)
    _common.stdout.print(metrics_table(report, title=title))
    if per_label:
        _common.stdout.print(per_label_table(report))
    return report


def _output_format(path: Path) -> str:
    from nextbest.errors import NextbestError

    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise NextbestError(f"invalid --out {str(path)!r}: the file name must end in .csv or .parquet")


def _write_table(frame, path: Path, out_format: str) -> None:
    """Write a DataFrame beside `path` and rename it into place, so no partial file remains."""
    staging = _staging_file(path)
    try:
        if out_format == "csv":
            frame.to_csv(staging, index=False)
        else:
            frame.to_parquet(staging, index=False)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def _write_text(text: str, path: Path) -> None:
    staging = _staging_file(path)
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def _check_output_folder(path: Path) -> None:
    from nextbest.errors import NextbestError

    if path.is_dir():
        raise NextbestError(f"cannot write {path}: it is a directory; pass the path of a file")
    if not path.parent.is_dir():
        raise NextbestError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")


def _staging_file(path: Path) -> Path:
    _check_output_folder(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    apply_default_permissions(Path(name))
    return Path(name)
