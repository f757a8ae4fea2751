"""Saving a fitted `MultiLabelNet` to one directory and loading it back.

The directory contains two files:

- ``model.keras``: the Keras network in Keras' own format (weights and architecture);
- ``nextbest-model.json``: the format version, the estimator's parameters, label names,
  thresholds, the input schema (column names, order and kinds), the preprocessing state
  (scales, missing-value indicators, vocabularies), the training history and the versions of
  Python, nextbest, Keras, its backend and NumPy that wrote it.

A save writes into a temporary folder beside `path` and renames it into place at the end, so
an interrupted save leaves no half-written model under `path`.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

import nextbest
from nextbest.errors import NextbestError
from nextbest.multilabel.preprocessing import TablePreprocessor
from nextbest._files import apply_default_permissions

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
STATE_FILE = "nextbest-model.json"


def save_model(net, path) -> Path:
    """Write a fitted `MultiLabelNet` to the directory `path` and return that path.

    An existing directory is replaced only when it is an earlier nextbest model or empty.

    Raises
    ------
    NextbestError
        When `path` is a file or a directory holding other things.
    """
    check_is_fitted(net, "model_")
    path = Path(path)
    check_model_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.saving-", dir=path.parent))
    apply_default_permissions(staging, directory=True)
    try:
        net.model_.save(staging / MODEL_FILE)
        state = _state(net)
        (staging / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        _move_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.debug("saved model with %d labels to %s", len(net.labels_), path)
    return path


# The file that marks a recommender model of `nextbest run` (nextbest.banking.recommender_model),
# named here so that the generic layer does not import the banking one.
_RECOMMENDER_FILE = "recommender.json"


def load_model(path):
    """Read a model directory written by `save_model` and return the fitted `MultiLabelNet`.

    Raises
    ------
    NextbestError
        When `path` is not a nextbest model directory, its files are damaged, or it was
        written by a newer format.
    """
    path = Path(path)
    state_file = path / STATE_FILE
    if (path / _RECOMMENDER_FILE).is_file():
        raise NextbestError(
            f"{path} is a recommender model written by `nextbest run`, not a model written by `nextbest fit`; "
            f"score a month with it with `nextbest recommend --model {path} --workspace DIR --month YYYY-MM`"
        )
    if not state_file.is_file() or not (path / MODEL_FILE).is_file():
        raise NextbestError(
            f"{path} is not a nextbest model directory: it must hold {STATE_FILE} and {MODEL_FILE}, as "
            "written by MultiLabelNet.save."
        )
    try:
        return _read_model(path, state_file)
    except (ValueError, KeyError, TypeError, AttributeError, OSError, zipfile.BadZipFile) as error:
        raise NextbestError(
            f"cannot load the model in {path}: its files are damaged or were not written by nextbest "
            f"({type(error).__name__}: {error}); fit the model again, or copy the whole directory again."
        ) from error


def _read_model(path: Path, state_file: Path):
    from nextbest.multilabel.net import MultiLabelNet

    state = json.loads(state_file.read_text(encoding="utf-8"))
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise NextbestError(
            f"{path} was written in model format {state['format_version']}, newer than this nextbest "
            f"({nextbest.__version__}) reads ({FORMAT_VERSION}); upgrade nextbest to load it."
        )
    _log_version_differences(path, state["versions"])

    net = MultiLabelNet(**_params_from_json(state["params"]))
    net.model_ = keras.saving.load_model(path / MODEL_FILE, compile=False)
    net.preprocessor_ = TablePreprocessor.from_dict(state["preprocessing"])
    net.labels_ = list(state["labels"])
    net.classes_ = np.arange(len(net.labels_))
    net.thresholds_ = np.asarray(state["thresholds"], dtype=np.float64)
    net.n_features_in_ = len(state["input_schema"])
    if net.preprocessor_.has_feature_names:
        net.feature_names_in_ = np.asarray([column["name"] for column in state["input_schema"]], dtype=object)
    net.history_ = state["history"]
    net.best_epoch_ = state["best_epoch"]
    return net


def _state(net) -> dict:
    preprocessing = net.preprocessor_.to_dict()
    return {
        "format_version": FORMAT_VERSION,
        "params": _params_to_json(net.get_params()),
        "labels": list(net.labels_),
        "thresholds": [float(t) for t in net.thresholds_],
        "input_schema": [{"name": c["name"], "kind": c["kind"]} for c in preprocessing["columns"]],
        "preprocessing": preprocessing,
        "history": net.history_,
        "best_epoch": net.best_epoch_,
        "versions": library_versions(),
    }


def library_versions() -> dict[str, str]:
    """Return the versions of the software that a saved model depends on."""
    import jax

    return {
        "python": platform.python_version(),
        "nextbest": nextbest.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax": jax.__version__,
        "numpy": np.__version__,
    }


def _params_to_json(params: dict) -> dict:
    converted = {}
    for name, value in params.items():
        if isinstance(value, tuple | list | np.ndarray):
            value = [v.item() if isinstance(v, np.generic) else v for v in list(value)]
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.random.RandomState):
            # NOTE: a RandomState cannot be written to JSON; the loaded model keeps None, which only
            # matters if it is fitted again.
            value = None
        converted[name] = value
    return converted


def _params_from_json(params: dict) -> dict:
    restored = dict(params)
    restored["hidden_units"] = tuple(restored["hidden_units"])
    return restored


def check_model_path(path: str | Path) -> None:
    """Raise `NextbestError` when saving a model to `path` would overwrite something else.

    Callers check this before training, so that a bad path fails in a second, not after a fit.
    """
    path = Path(path)
    if path.exists() and not _is_replaceable(path):
        raise NextbestError(
            f"{path} exists and is not a nextbest model directory; choose a new path or remove it first."
        )


def _is_replaceable(path: Path) -> bool:
    return path.is_dir() and ((path / STATE_FILE).is_file() or not any(path.iterdir()))


def _move_into_place(staging: Path, path: Path) -> None:
    if not path.exists():
        staging.rename(path)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    retired.rmdir()
    path.rename(retired)
    staging.rename(path)
    shutil.rmtree(retired, ignore_errors=True)


def _log_version_differences(path: Path, saved: dict) -> None:
    current = library_versions()
    differences = [f"{name} {saved.get(name)} -> {current[name]}" for name in current if saved.get(name) != current[name]]
    if differences:
        logger.info("model %s was saved with other library versions: %s", path, ", ".join(differences))
