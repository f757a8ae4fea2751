"""`MultiLabelNet`: a multi-label neural network for tables, with scikit-learn's estimator API."""

from __future__ import annotations

import logging
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from nextbest.multilabel.callbacks import EpochLogger, LearningRateRecorder, ProgressCallback
from nextbest.multilabel.losses import MaskedBinaryCrossentropy, MaskedFocalLoss, MaskedSoftmaxRanking, positive_weights
from nextbest.multilabel.network import build_network
from nextbest.multilabel.preprocessing import TablePreprocessor
from nextbest.multilabel.ranking import top_k_labels
from nextbest.multilabel.streaming import ArrowStream, fit_stream
from nextbest.multilabel.tables import InvalidInputError, view_table
from nextbest.multilabel.targets import encode_targets, label_matrix, mask_matrix, sample_weights
from nextbest.multilabel.thresholds import DEFAULT_THRESHOLD, tune_thresholds

logger = logging.getLogger(__name__)

LOSSES = ("bce", "focal", "softmax")
LR_SCHEDULES = ("plateau", "cosine", "constant")
PREDICT_BATCH_SIZE = 16384
# Prediction batches per chunk of rows that `predict_proba` preprocesses at a time.
PREDICT_CHUNK_BATCHES = 8


class MultiLabelNet(ClassifierMixin, BaseEstimator):
    """Multi-label neural network for tables: one sigmoid output per label.

    Numeric columns are standardised (with a 0/1 missing-value indicator for each column that
    has nulls in fit); categorical columns go through a vocabulary into embeddings. The inputs
    feed a stack of dense ReLU layers, trained with Adam on a masked binary cross-entropy or
    focal loss. Keras runs on the JAX backend unless ``KERAS_BACKEND`` names another.

    Parameters
    ----------
    hidden_units : tuple of int, default=(256, 128)
        Width of each hidden dense layer, input side first.
    dropout : float, default=0.1
        Dropout rate after each hidden layer, in [0, 1).
    batch_norm : bool, default=False
        Whether to add batch normalisation before each hidden activation.
    embedding_dim : int, optional
        Width of every categorical embedding. None sizes each from its vocabulary: about twice
        the square root of the vocabulary size, between 2 and 32.
    categorical_features : list of str or int, optional
        Columns to treat as categorical, by name or position. None treats string, categorical,
        boolean and object-of-string columns as categorical and the rest as numeric.
    min_frequency : int, default=5
        Categorical values seen fewer times in fit share one bucket with values unseen in fit.
    loss : {"bce", "focal", "softmax"}, default="bce"
        Binary cross-entropy, focal loss, or a listwise softmax ranking loss over each row's
        labels (`MaskedSoftmaxRanking`, which ignores `pos_weight` and gives uncalibrated
        scores). All three skip the entries that `mask` marks.
    focal_gamma : float, default=2.0
        Focusing exponent of the focal loss.
    pos_weight : {None, "balanced"} or array-like of shape (n_labels,), default=None
        Weight on the loss of positive entries. "balanced" uses each label's ratio of negatives
        to positives in the training data. Values are clipped to [1, max_pos_weight] for
        "balanced", and used as given for an array.
    max_pos_weight : float, default=50.0
        Cap on the "balanced" weights.
    learning_rate : float, default=1e-3
        Initial learning rate of Adam.
    lr_schedule : {"plateau", "cosine", "constant"}, default="plateau"
        "plateau" halves the learning rate after `max(1, patience // 2)` epochs without
        improvement of the monitored loss; "cosine" decays it to 1% over `epochs`.
    batch_size : int, default=2048
        Rows per training step.
    epochs : int, default=20
        Maximum number of passes over the training data.
    patience : int or None, default=3
        Epochs without improvement of the validation loss before training stops, keeping the
        best epoch's weights. Applies only when `validation_data` is passed; None disables it.
    threshold_tuning : bool, default=True
        Whether fit tunes each label's threshold for F1 on `validation_data`. Without
        validation data every threshold is 0.5.
    random_state : int, optional
        Seed for weight initialisation, dropout and the order of the training rows. Two fits
        with the same seed and data give identical predictions. Fit seeds Keras, NumPy and
        Python's global generators with `keras.utils.set_random_seed`.
    verbose : {0, 1, 2, "auto"}, default=0
        Keras progress output: 0 silent, 1 a progress bar, 2 one line per epoch.

    Attributes
    ----------
    labels_ : list of str
        Label names: the column names of `Y` when it is a table, else ``label_0``, ``label_1``, ...
    thresholds_ : ndarray of shape (n_labels,)
        Per-label decision thresholds that `predict` applies.
    preprocessor_ : TablePreprocessor
        Learned scaling and vocabularies.
    model_ : keras.Model
        The trained network.
    history_ : dict of str to list of float
        Per-epoch losses (and learning rate) from Keras.
    best_epoch_ : int
        1-based epoch whose weights were kept.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when X had string column names.
    classes_ : ndarray of shape (n_labels,)
        Label indices 0 .. n_labels - 1, as scikit-learn's multi-label classifiers store them.

    Examples
    --------
    >>> import numpy as np
    >>> from nextbest.multilabel import MultiLabelNet
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    >>> net = MultiLabelNet(hidden_units=(8,), epochs=2, random_state=0).fit(X, Y)
    >>> net.predict_proba(X).shape
    (200, 2)
    >>> indices, scores = net.top_k(X[:1], k=3)
    >>> indices.shape, int(indices[0, 2])
    ((1, 3), -1)
    """

    def __init__(
        self,
        hidden_units=(256, 128),
        dropout=0.1,
        batch_norm=False,
        embedding_dim=None,
        categorical_features=None,
        min_frequency=5,
        loss="bce",
        focal_gamma=2.0,
        pos_weight=None,
        max_pos_weight=50.0,
        learning_rate=1e-3,
        lr_schedule="plateau",
        batch_size=2048,
        epochs=20,
        patience=3,
        threshold_tuning=True,
        random_state=None,
        verbose=0,
    ):
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.embedding_dim = embedding_dim
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.pos_weight = pos_weight
        self.max_pos_weight = max_pos_weight
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.threshold_tuning = threshold_tuning
        self.random_state = random_state
        self.verbose = verbose

    # Training -----------------------------------------------------------------------------

    def fit(self, X, Y, *, sample_weight=None, mask=None, validation_data=None, progress=None):
        """Learn the preprocessing and train the network.

        Parameters
        ----------
        X : pandas.DataFrame, pyarrow.Table, array of shape (n_samples, n_features), or ArrowStream
            Features. An `ArrowStream` streams record batches from data larger than memory; `Y`
            must then be None because the stream carries the labels.
        Y : array-like of shape (n_samples, n_labels)
            0/1 labels; a DataFrame's or Arrow table's column names become `labels_`. Nulls are
            allowed only where `mask` is 1.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row in the loss.
        mask : array-like of shape (n_samples, n_labels), optional
            1 where an entry must not count in the loss (for example a product already held).
        validation_data : tuple, optional
            ``(X_val, Y_val)`` or ``(X_val, Y_val, mask_val)``, used for early stopping and
            threshold tuning.
        progress : rich.progress.Progress, optional
            Display to which fit adds a task advanced once per epoch.

        Returns
        -------
        self
        """
        self._check_params()
        if isinstance(X, ArrowStream):
            if Y is not None or sample_weight is not None or mask is not None:
                raise InvalidInputError(
                    "When X is an ArrowStream, pass Y=None and no sample_weight or mask: the stream names "
                    "its label, mask and weight columns."
                )
            return fit_stream(self, X, validation_data=validation_data, progress=progress)

        view = view_table(X)
        values, label_names = label_matrix(Y, view.n_rows)
        masked = mask_matrix(mask, values.shape)
        targets = encode_targets(values, masked)
        weights = sample_weights(sample_weight, view.n_rows)

        self.preprocessor_ = TablePreprocessor(self.categorical_features, self.min_frequency).fit(view)
        inputs = self.preprocessor_.transform(view)
        self._set_fitted_names(view, label_names, values.shape[1])
        validation = self._validation_arrays(validation_data)
        pos_weight = self._positive_weights(values, masked)

        self._train(inputs, targets, weights, validation, pos_weight, steps_per_epoch=None, progress=progress)
        self.thresholds_ = self._fitted_thresholds(validation)
        return self

    def _train(self, data, targets, weights, validation, pos_weight, *, steps_per_epoch, progress):
        """Build, compile and fit the network; `data` is a dict of arrays or a Keras PyDataset."""
        self._seed()
        self.model_ = build_network(
            self.preprocessor_.n_numeric_inputs,
            self.preprocessor_.vocabulary_sizes(),
            len(self.labels_),
            hidden_units=tuple(self.hidden_units),
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            embedding_dim=self.embedding_dim,
        )
        steps = steps_per_epoch or -(-_n_rows(data) // self.batch_size)
        self.model_.compile(
            optimizer=keras.optimizers.Adam(self._learning_rate(steps)),
            loss=self._loss_object(pos_weight),
        )

        callbacks = self._callbacks(validation is not None, progress)
        keras_validation = None if validation is None else (validation["inputs"], validation["targets"])
        # A stream shuffles within its own windows; Keras must ask for its batches in order.
        batch_args = {"shuffle": False} if steps_per_epoch else {"batch_size": self.batch_size, "shuffle": True}
        history = self.model_.fit(
            data,
            targets,
            sample_weight=weights,
            epochs=self.epochs,
            validation_data=keras_validation,
            callbacks=callbacks,
            verbose=self.verbose,
            **batch_args,
        )
        self.history_ = {name: [float(v) for v in values] for name, values in history.history.items()}
        self.best_epoch_ = self._best_epoch(callbacks)

    def _check_params(self) -> None:
        checks = [
            ("hidden_units", _is_units(self.hidden_units), "a tuple of positive whole numbers, such as (256, 128)"),
            ("dropout", _is_real(self.dropout) and 0 <= self.dropout < 1, "a number in [0, 1)"),
            ("embedding_dim", self.embedding_dim is None or _is_positive_int(self.embedding_dim),
             "None or a positive whole number"),
            ("min_frequency", _is_positive_int(self.min_frequency), "a positive whole number"),
            ("loss", self.loss in LOSSES, f"one of {LOSSES}"),
            ("focal_gamma", _is_real(self.focal_gamma) and self.focal_gamma >= 0, "a number >= 0"),
            ("pos_weight", _is_pos_weight(self.pos_weight), 'None, "balanced" or one positive number per label'),
            ("max_pos_weight", _is_real(self.max_pos_weight) and self.max_pos_weight >= 1, "a number >= 1"),
            ("learning_rate", _is_real(self.learning_rate) and self.learning_rate > 0, "a number > 0"),
            ("lr_schedule", self.lr_schedule in LR_SCHEDULES, f"one of {LR_SCHEDULES}"),
            ("batch_size", _is_positive_int(self.batch_size), "a positive whole number"),
            ("epochs", _is_positive_int(self.epochs), "a positive whole number"),
            ("patience", self.patience is None or _is_positive_int(self.patience), "None or a positive whole number"),
            ("verbose", self.verbose in (0, 1, 2, "auto"), '0, 1, 2 or "auto"'),
        ]
        for name, valid, expected in checks:
            if not valid:
                raise InvalidInputError(
                    f"Invalid value for parameter `{name}` of MultiLabelNet. Expected {expected}. "
                    f"Received: {name}={getattr(self, name)!r}."
                )

    def _set_fitted_names(self, view, label_names, n_labels: int) -> None:
        self.n_features_in_ = len(view.names)
        if view.has_feature_names:
            self.feature_names_in_ = np.asarray(view.names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.labels_ = label_names or [f"label_{j}" for j in range(n_labels)]
        self.classes_ = np.arange(n_labels)

    def _validation_arrays(self, validation_data) -> dict | None:
        if validation_data is None:
            return None
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise InvalidInputError(
                "validation_data must be a tuple (X_val, Y_val) or (X_val, Y_val, mask_val); "
                f"received {type(validation_data).__name__}."
            )
        X_val, Y_val = validation_data[0], validation_data[1]
        view = view_table(X_val, "validation X")
        values, _ = label_matrix(Y_val, view.n_rows, "validation Y")
        if values.shape[1] != len(self.labels_):
            raise InvalidInputError(
                f"validation Y has {values.shape[1]} label columns but Y has {len(self.labels_)}; "
                "pass the same labels in the same order."
            )
        masked = mask_matrix(validation_data[2], values.shape, "validation mask") if len(validation_data) == 3 else None
        return {
            "inputs": self.preprocessor_.transform(view),
            "targets": encode_targets(values, masked, "validation Y"),
            "labels": values,
            "mask": masked,
        }

    def _positive_weights(self, values: np.ndarray, masked: np.ndarray | None) -> list[float] | None:
        if self.pos_weight is None:
            return None
        if isinstance(self.pos_weight, str):
            present = None if masked is None else ~masked
            return positive_weights(np.nan_to_num(values, nan=0.0), present, cap=self.max_pos_weight)
        weights = np.asarray(self.pos_weight, dtype=float).ravel()
        if weights.shape != (len(self.labels_),):
            raise InvalidInputError(
                f"pos_weight has {weights.size} values but Y has {len(self.labels_)} labels; pass one weight per label."
            )
        return [float(w) for w in weights]

    def _loss_object(self, pos_weight) -> keras.losses.Loss:
        if self.loss == "focal":
            return MaskedFocalLoss(gamma=self.focal_gamma, pos_weight=pos_weight)
        if self.loss == "softmax":
            return MaskedSoftmaxRanking()
        return MaskedBinaryCrossentropy(pos_weight=pos_weight)

    def _learning_rate(self, steps_per_epoch: int):
        if self.lr_schedule == "cosine":
            return keras.optimizers.schedules.CosineDecay(
                self.learning_rate, decay_steps=max(1, self.epochs * steps_per_epoch), alpha=0.01
            )
        return float(self.learning_rate)

    def _callbacks(self, has_validation: bool, progress) -> list[keras.callbacks.Callback]:
        monitor = "val_loss" if has_validation else "loss"
        callbacks = [LearningRateRecorder(), EpochLogger()]
        if has_validation and self.patience is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(monitor=monitor, patience=self.patience, restore_best_weights=True)
            )
        if self.lr_schedule == "plateau":
            wait = max(1, (self.patience or 2) // 2)
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=wait))
        if progress is not None:
            callbacks.append(ProgressCallback(progress, self.epochs))
        return callbacks

    def _best_epoch(self, callbacks) -> int:
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.EarlyStopping) and callback.best_weights is not None:
                return int(callback.best_epoch) + 1
        return len(next(iter(self.history_.values()), []))

    def _seed(self) -> None:
        if self.random_state is None:
            return
        seed = self.random_state
        if not isinstance(seed, Integral):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        keras.utils.set_random_seed(int(seed))

    def _fitted_thresholds(self, validation) -> np.ndarray:
        if validation is None or not self.threshold_tuning:
            return np.full(len(self.labels_), DEFAULT_THRESHOLD)
        scores = self._predict_inputs(validation["inputs"])
        return tune_thresholds(validation["labels"], scores, mask=validation["mask"], labels=self.labels_)

    # Scoring ------------------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Return the probability of each label.

        Parameters
        ----------
        X : pandas.DataFrame, pyarrow.Table or array of shape (n_samples, n_features)
            The columns seen in fit, in the same order.

        Returns
        -------
        float32 array of shape (n_samples, n_labels)

        Raises
        ------
        ColumnMismatchError
            When X's columns are missing, extra or reordered compared with fit.
        """
        check_is_fitted(self, "model_")
        view = view_table(X)
        # Chunks bound the memory of the network's inputs. Each chunk is a whole number of
        # prediction batches, so the batch shapes, and with them the compiled code, stay the same.
        chunk = PREDICT_CHUNK_BATCHES * max(self.batch_size, PREDICT_BATCH_SIZE)
        if view.n_rows <= chunk:
            return self._predict_inputs(self.preprocessor_.transform(view))
        parts = [
            self._predict_inputs(self.preprocessor_.transform(view.rows(start, start + chunk)))
            for start in range(0, view.n_rows, chunk)
        ]
        return np.concatenate(parts)

    def _predict_inputs(self, inputs: dict) -> np.ndarray:
        n_rows = _n_rows(inputs)
        if n_rows == 0:
            return np.empty((0, len(self.labels_)), dtype=np.float32)
        batch = max(self.batch_size, PREDICT_BATCH_SIZE)
        return np.asarray(self.model_.predict(inputs, batch_size=batch, verbose=0), dtype=np.float32)

    def predict(self, X) -> np.ndarray:
        """Return 0/1 predictions of shape (n_samples, n_labels), applying `thresholds_`."""
        return (self.predict_proba(X) >= self.thresholds_).astype(np.int64)

    def top_k(self, X, k: int, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's k most probable labels, never ranking an excluded one.

        Parameters
        ----------
        X : table of shape (n_samples, n_features)
        k : int
            Places per row; where fewer than k labels remain, the rest hold index -1 and a
            NaN score.
        exclude : array-like of shape (n_samples, n_labels), optional
            1 where a label must not be ranked (for example a product already held).

        Returns
        -------
        indices : int64 array of shape (n_samples, k)
            Label indices into `labels_`, best first; equal scores rank the lower index first.
        scores : array of shape (n_samples, k)
            Their probabilities.
        """
        return top_k_labels(self.predict_proba(X), k, exclude)

    def tune_thresholds(self, X, Y, *, mask=None) -> "MultiLabelNet":
        """Retune `thresholds_` for each label's F1 on the given data and return self."""
        check_is_fitted(self, "model_")
        view = view_table(X)
        values, _ = label_matrix(Y, view.n_rows)
        masked = mask_matrix(mask, values.shape)
        encode_targets(values, masked)
        scores = self.predict_proba(view)
        self.thresholds_ = tune_thresholds(values, scores, mask=masked, labels=self.labels_)
        return self

    # Saving -------------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the fitted model to directory `path`; see `nextbest.multilabel.saving`."""
        from nextbest.multilabel.saving import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "MultiLabelNet":
        """Read a model directory written by `save`."""
        from nextbest.multilabel.saving import load_model

        return load_model(path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        # Each output is one binary label; this also makes scikit-learn's checks pass 0/1 targets.
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags


def _n_rows(data) -> int:
    if isinstance(data, dict):
        return len(next(iter(data.values())))
    return len(data)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)


def _is_positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value > 0


def _is_pos_weight(value) -> bool:
    if isinstance(value, str):
        return value == "balanced"
    # None is valid; an array's length and values are checked in fit, once the labels are known.
    return True


def _is_units(value) -> bool:
    return isinstance(value, tuple | list) and all(_is_positive_int(units) for units in value)
