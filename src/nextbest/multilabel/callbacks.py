"""Keras callbacks that report training to Python logging and to a Rich progress display.

They exist only while `MultiLabelNet.fit` runs and are never saved with a model, so they have no
`get_config`.
"""

from __future__ import annotations

import logging

import keras

logger = logging.getLogger("nextbest.multilabel.net")


class LearningRateRecorder(keras.callbacks.Callback):
    """Add the optimizer's current learning rate to each epoch's logs, and so to the history."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class EpochLogger(keras.callbacks.Callback):
    """Log each epoch's losses and learning rate at INFO level."""

    def on_epoch_end(self, epoch, logs=None):
        figures = ", ".join(f"{name}={value:.5g}" for name, value in sorted((logs or {}).items()))
        logger.info("epoch %d: %s", epoch + 1, figures)


class ProgressCallback(keras.callbacks.Callback):
    """Advance one task of a Rich progress display by one step per epoch.

    Parameters
    ----------
    progress : rich.progress.Progress
        The display to add the task to.
    epochs : int
        Maximum number of epochs; early stopping may end training sooner, and the task is then
        marked complete.
    description : str
        Task label shown beside the bar.
    """

    def __init__(self, progress, epochs: int, description: str = "training"):
        super().__init__()
        self.progress = progress
        self.epochs = epochs
        self.task = progress.add_task(description, total=epochs)

    def on_epoch_end(self, epoch, logs=None):
        self.progress.update(self.task, completed=epoch + 1)

    def on_train_end(self, logs=None):
        self.progress.update(self.task, completed=self.epochs)
