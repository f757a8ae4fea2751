"""Fitting MultiLabelNet from an ArrowStream of record batches instead of an in-memory table."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nextbest  # noqa: F401  (selects the JAX backend before Keras is imported)

import jax
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nextbest.multilabel import ArrowStream, MultiLabelNet, TablePreprocessor
from nextbest.multilabel.streaming import StreamBatches
from nextbest.multilabel.tables import InvalidInputError

jax.config.update("jax_compilation_cache_dir", str(Path(tempfile.gettempdir()) / "nextbest-test-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def bank_like_table(n_rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n_rows)
    segment = rng.choice(["01", "02", "03"], size=n_rows)
    owned = rng.random(n_rows) < 0.3
    return pa.table(
        {
            "x0": x0,
            "x1": rng.normal(size=n_rows),
            "segment": segment,
            "added_a": (x0 > 0).astype(np.int8),
            "added_b": (segment == "01").astype(np.int8),
            "owned_a": owned.astype(np.int8),
            "owned_b": np.zeros(n_rows, dtype=np.int8),
        }
    )


def make_stream(source, **options) -> ArrowStream:
    return ArrowStream(
        source, ["added_a", "added_b"], mask_columns=["owned_a", "owned_b"], **options
    )


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "examples.parquet"
    pq.write_table(bank_like_table(2000, seed=0), path, row_group_size=300)
    return path


def test_stream_fit_learns_like_in_memory(parquet_file):
    table = pq.read_table(parquet_file)
    features = table.select(["x0", "x1", "segment"])
    net = MultiLabelNet(hidden_units=(16,), epochs=8, batch_size=128, learning_rate=0.01, random_state=0)
    net.fit(make_stream(parquet_file, shuffle_rows=512), None)

    streamed = net.preprocessor_.to_dict()["columns"]
    in_memory = TablePreprocessor().fit(features).to_dict()["columns"]
    for column_streamed, column_in_memory in zip(streamed[:2], in_memory[:2]):
        assert column_streamed["mean"] == pytest.approx(column_in_memory["mean"], rel=1e-9)
        assert column_streamed["scale"] == pytest.approx(column_in_memory["scale"], rel=1e-9)
    assert streamed[2] == in_memory[2]
    assert net.labels_ == ["added_a", "added_b"]

    test = bank_like_table(500, seed=1)
    probabilities = net.predict_proba(test.select(["x0", "x1", "segment"]))
    truth = np.column_stack([test.column("added_a").to_numpy(), test.column("added_b").to_numpy()])
    accuracy = np.mean((probabilities >= 0.5) == truth, axis=0)
    assert np.all(accuracy > 0.9)


def test_stream_batches_cover_every_row_once(parquet_file):
    stream = make_stream(parquet_file, shuffle_rows=700)
    net = MultiLabelNet(hidden_units=(4,), epochs=1, batch_size=128, random_state=0)
    net.fit(stream, None)
    batches = StreamBatches(stream, net.preprocessor_, 128, 2000, 0, 700)
    sizes, x0_values = [], []
    for index in range(len(batches)):
        inputs, targets = batches[index]
        sizes.append(len(targets))
        x0_values.append(inputs["numeric"][:, 0])
    assert len(batches) == 16
    assert sizes == [128] * 15 + [80]
    expected = np.sort(net.preprocessor_.transform(pq.read_table(parquet_file).select(["x0", "x1", "segment"]))["numeric"][:, 0])
    np.testing.assert_allclose(np.sort(np.concatenate(x0_values)), expected)


def test_stream_mask_becomes_masked_targets(parquet_file):
    stream = make_stream(parquet_file)
    net = MultiLabelNet(hidden_units=(4,), epochs=1, batch_size=2000, random_state=0).fit(stream, None)
    _, targets = StreamBatches(stream, net.preprocessor_, 2000, 2000, 0, None)[0]
    owned_share = np.mean(targets[:, 0] == -1)
    assert 0.25 < owned_share < 0.35
    assert not np.any(targets[:, 1] == -1)


def test_stream_from_callable_of_record_batches():
    table = bank_like_table(600, seed=2)

    def batches():
        return iter(table.to_batches(max_chunksize=100))

    net = MultiLabelNet(hidden_units=(4,), epochs=2, batch_size=100, random_state=0)
    net.fit(make_stream(batches, weight_column=None), None)
    assert net.predict_proba(table.select(["x0", "x1", "segment"])).shape == (600, 2)


def test_stream_with_weight_column_and_validation():
    table = bank_like_table(400, seed=3).append_column("weight", pa.array(np.full(400, 2.0)))
    validation = bank_like_table(200, seed=4)
    stream = ArrowStream(table.to_batches, ["added_a", "added_b"], weight_column="weight",
                         feature_columns=["x0", "x1", "segment"])
    net = MultiLabelNet(hidden_units=(4,), epochs=2, batch_size=100, random_state=0)
    net.fit(stream, None, validation_data=(validation.select(["x0", "x1", "segment"]),
                                           validation.select(["added_a", "added_b"]).to_pandas()))
    assert "val_loss" in net.history_
    inputs, targets, weights = StreamBatches(stream, net.preprocessor_, 100, 400, 0, None)[0]
    np.testing.assert_array_equal(weights, np.full(100, 2.0, dtype=np.float32))


def test_stream_rejects_separate_labels(parquet_file):
    with pytest.raises(InvalidInputError, match="When X is an ArrowStream, pass Y=None"):
        MultiLabelNet(epochs=1).fit(make_stream(parquet_file), np.zeros((2000, 2)))


def test_stream_reports_missing_label_column():
    table = bank_like_table(50, seed=5)
    stream = ArrowStream(table.to_batches, ["added_a", "added_c"])
    with pytest.raises(InvalidInputError, match=r"lack the column\(s\) \['added_c'\]"):
        MultiLabelNet(epochs=1).fit(stream, None)


def test_stream_batches_must_be_read_in_order(parquet_file):
    stream = make_stream(parquet_file)
    net = MultiLabelNet(hidden_units=(4,), epochs=1, batch_size=1000, random_state=0).fit(stream, None)
    batches = StreamBatches(stream, net.preprocessor_, 500, 2000, 0, None)
    batches[0]
    with pytest.raises(RuntimeError, match="must be read in order"):
        batches[2]
