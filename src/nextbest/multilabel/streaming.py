"""Training from data larger than memory, read as a stream of Arrow record batches.

`MultiLabelNet.fit(ArrowStream(...), None)` reads the stream once to learn the preprocessing and
count the rows, then once per epoch to train. Only one window of rows (`shuffle_rows`, by
default 32 batches) is held in memory at a time. Rows are shuffled only within that window, so a
source sorted by a label or by time should be stored in random order first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from nextbest.multilabel.tables import InvalidInputError
from nextbest.multilabel.preprocessing import TablePreprocessor
from nextbest.multilabel.targets import encode_targets, label_matrix, mask_matrix, sample_weights

logger = logging.getLogger(__name__)


class ArrowStream:
    """Training rows read batch by batch from Parquet files, an Arrow dataset or a callable.

    Parameters
    ----------
    source : str, os.PathLike, pyarrow.dataset.Dataset or callable
        A Parquet file or folder of Parquet files, an Arrow dataset, or a function that returns
        a fresh iterable of `pyarrow.RecordBatch` (or `pyarrow.Table`) each time it is called.
    label_columns : list of str
        The 0/1 label columns, in the order of the model's outputs.
    mask_columns : list of str, optional
        One 0/1 column per label, 1 where that entry must not count in the loss.
    weight_column : str, optional
        Column of per-row sample weights.
    feature_columns : list of str, optional
        Feature columns, in order. The default is every other column, in the source's order.
    shuffle_rows : int, optional
        Rows held and shuffled together; the default is 32 training batches.
    """

    def __init__(self, source, label_columns: Sequence[str], *, mask_columns: Sequence[str] | None = None,
                 weight_column: str | None = None, feature_columns: Sequence[str] | None = None,
                 shuffle_rows: int | None = None):
        self.source = source
        self.label_columns = list(label_columns)
        self.mask_columns = None if mask_columns is None else list(mask_columns)
        self.weight_column = weight_column
        self.feature_columns = None if feature_columns is None else list(feature_columns)
        self.shuffle_rows = shuffle_rows
        if not self.label_columns:
            raise InvalidInputError("ArrowStream needs at least one label column in label_columns.")
        if self.mask_columns is not None and len(self.mask_columns) != len(self.label_columns):
            raise InvalidInputError(
                f"ArrowStream has {len(self.mask_columns)} mask columns for {len(self.label_columns)} labels; "
                "pass one mask column per label, in the same order."
            )

    def batches(self) -> Iterable[pa.Table]:
        """Return a fresh iterable over the stream's record batches, each as an Arrow table."""
        source = self.source
        if isinstance(source, str | Path):
            source = ds.dataset(source, format="parquet")
        if isinstance(source, ds.Dataset):
            return (pa.Table.from_batches([batch]) for batch in source.to_batches() if batch.num_rows)
        if callable(source):
            return (_as_table(batch) for batch in source())
        raise InvalidInputError(
            f"ArrowStream source must be a Parquet path, a pyarrow dataset or a function returning record "
            f"batches; received {type(source).__name__}."
        )

    def split(self, table: pa.Table) -> tuple[pa.Table, pa.Table, pa.Table | None, pa.Table | None]:
        """Return the feature, label, mask and weight parts of one batch."""
        missing = [name for name in self._side_columns() if name not in table.column_names]
        if missing:
            raise InvalidInputError(
                f"The stream's batches lack the column(s) {missing}; they have {table.column_names[:10]}."
            )
        feature_columns = self.feature_columns
        if feature_columns is None:
            side = set(self._side_columns())
            feature_columns = [name for name in table.column_names if name not in side]
        features = table.select(feature_columns)
        masks = table.select(self.mask_columns) if self.mask_columns else None
        weights = table.select([self.weight_column]) if self.weight_column else None
        return features, table.select(self.label_columns), masks, weights

    def _side_columns(self) -> list[str]:
        return self.label_columns + (self.mask_columns or []) + ([self.weight_column] if self.weight_column else [])


def fit_stream(net, stream: ArrowStream, *, validation_data=None, progress=None):
    """Fit `net` on an `ArrowStream`; `MultiLabelNet.fit` calls this for stream inputs."""
    preprocessor = TablePreprocessor(net.categorical_features, net.min_frequency)
    n_rows, positives, negatives = 0, np.zeros(len(stream.label_columns)), np.zeros(len(stream.label_columns))
    for table in stream.batches():
        features, labels, masks, _ = stream.split(table)
        preprocessor.partial_fit(features)
        values, masked = _labels(labels, masks)
        present = np.ones(values.shape, bool) if masked is None else ~masked
        positives += ((values == 1) & present).sum(axis=0)
        negatives += ((values == 0) & present).sum(axis=0)
        n_rows += table.num_rows
    net.preprocessor_ = preprocessor.finish()
    logger.info("stream: %d rows, %d feature columns", n_rows, len(preprocessor.columns))

    net.n_features_in_ = len(preprocessor.columns)
    net.feature_names_in_ = np.asarray(preprocessor.feature_names, dtype=object)
    net.labels_ = list(stream.label_columns)
    net.classes_ = np.arange(len(net.labels_))
    validation = net._validation_arrays(validation_data)
    pos_weight = _stream_positive_weights(net, positives, negatives)

    dataset = StreamBatches(stream, preprocessor, net.batch_size, n_rows, net.random_state, stream.shuffle_rows)
    net._train(dataset, None, None, validation, pos_weight, steps_per_epoch=len(dataset), progress=progress)
    net.thresholds_ = net._fitted_thresholds(validation)
    return net


class StreamBatches(keras.utils.PyDataset):
    """Keras training batches cut from an `ArrowStream`, read in order once per epoch.

    Keras asks for batches 0, 1, 2, ... in order when a PyDataset runs without workers; a
    request for batch 0 starts a new pass over the stream. The last batch of an epoch may be
    smaller than `batch_size`.
    """

    def __init__(self, stream: ArrowStream, preprocessor: TablePreprocessor, batch_size: int, n_rows: int,
                 random_state, shuffle_rows: int | None):
        super().__init__(workers=1, use_multiprocessing=False)
        self.stream = stream
        self.preprocessor = preprocessor
        self.batch_size = batch_size
        self.n_rows = n_rows
        self.window_rows = shuffle_rows or 32 * batch_size
        self.seed = random_state if isinstance(random_state, int) else None
        self.epoch = 0
        self._batches = None
        self._next_index = 0

    def __len__(self) -> int:
        return -(-self.n_rows // self.batch_size)

    def __getitem__(self, index: int):
        if index == 0:
            self._batches = self._cut_batches()
        elif index != self._next_index:
            raise RuntimeError(f"stream batches must be read in order; batch {index} was requested after "
                               f"{self._next_index - 1}")
        self._next_index = index + 1
        try:
            return next(self._batches)
        except StopIteration:
            raise InvalidInputError(
                "The stream returned fewer rows than in its first pass; it must return the same rows each time."
            ) from None

    def on_epoch_end(self):
        self.epoch += 1

    def _cut_batches(self):
        rng = np.random.default_rng(None if self.seed is None else [self.seed, self.epoch])
        pending: list[pa.Table] = []
        pending_rows = 0
        for table in self.stream.batches():
            pending.append(table)
            pending_rows += table.num_rows
            if pending_rows >= self.window_rows:
                window = pa.concat_tables(pending, promote_options="permissive")
                full = (window.num_rows // self.batch_size) * self.batch_size
                window = window.take(rng.permutation(window.num_rows))
                yield from self._batches_of(window.slice(0, full))
                pending, pending_rows = [window.slice(full)], window.num_rows - full
        if pending_rows:
            window = pa.concat_tables(pending, promote_options="permissive")
            yield from self._batches_of(window.take(rng.permutation(window.num_rows)))

    def _batches_of(self, window: pa.Table):
        for start in range(0, window.num_rows, self.batch_size):
            features, labels, masks, weights = self.stream.split(window.slice(start, self.batch_size))
            values, masked = _labels(labels, masks)
            inputs = self.preprocessor.transform(features)
            targets = encode_targets(values, masked, "stream labels")
            if weights is None:
                yield inputs, targets
            else:
                column = weights.column(0).to_numpy(zero_copy_only=False)
                yield inputs, targets, sample_weights(column, len(column))


def _labels(labels: pa.Table, masks: pa.Table | None) -> tuple[np.ndarray, np.ndarray | None]:
    values, _ = label_matrix(labels, labels.num_rows, "stream labels")
    masked = None if masks is None else mask_matrix(masks, values.shape, "stream mask")
    return values, masked


def _stream_positive_weights(net, positives: np.ndarray, negatives: np.ndarray) -> list[float] | None:
    if net.pos_weight is None:
        return None
    if not isinstance(net.pos_weight, str):
        return net._positive_weights(np.zeros((0, len(net.labels_))), None)
    ratio = np.where(positives > 0, negatives / np.maximum(positives, 1), net.max_pos_weight)
    return [float(w) for w in np.clip(ratio, 1.0, net.max_pos_weight)]


def _as_table(batch) -> pa.Table:
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, pa.Table):
        return batch
    raise InvalidInputError(
        f"The ArrowStream source function must yield pyarrow RecordBatch or Table objects; it yielded "
        f"{type(batch).__name__}."
    )

