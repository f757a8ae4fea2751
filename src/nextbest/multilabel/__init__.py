"""The generic multi-label core: preprocessing, the `MultiLabelNet` estimator, losses and thresholds.

Metrics and table readers live in their own modules (`nextbest.multilabel.metrics`,
`nextbest.multilabel.readers`) and are imported from there.

The names below are imported on first use, so that importing a light module of this package
(metrics, readers) does not import Keras, which takes seconds.
"""

from importlib import import_module

_EXPORTS = {
    "ArrowStream": "nextbest.multilabel.streaming",
    "ColumnMismatchError": "nextbest.multilabel.preprocessing",
    "InvalidInputError": "nextbest.multilabel.tables",
    "MaskedBinaryCrossentropy": "nextbest.multilabel.losses",
    "MaskedFocalLoss": "nextbest.multilabel.losses",
    "MultiLabelNet": "nextbest.multilabel.net",
    "TablePreprocessor": "nextbest.multilabel.preprocessing",
    "tune_thresholds": "nextbest.multilabel.thresholds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nextbest.multilabel' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
