"""Training and scoring throughput of MultiLabelNet against a bare Keras model of the same shape.

Both models train on the same generated table (numeric and categorical columns, 24 labels) for the
same number of epochs with the same batch size. MultiLabelNet.fit starts from the pandas table,
so its time includes learning the preprocessing, transforming the table, building and compiling
the network and tuning nothing (no validation data). The bare Keras model gets the already
transformed arrays, a hand-built copy of the architecture and Keras' own binary cross-entropy.
After one untimed warm-up fit of each, runs alternate between the two models, and the script
prints each run (with a separate timing of the preprocessing alone) and the median ratio.

Usage:
    python bench/bench_fit.py [--rows 200000] [--numeric 140] [--categorical 10] [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import nextbest  # noqa: F401  (selects the JAX backend before Keras is imported)

import keras
import numpy as np
import pandas as pd

from nextbest.multilabel import MultiLabelNet, TablePreprocessor
from nextbest.multilabel.network import embedding_size

N_LABELS = 24


def make_table(n_rows: int, n_numeric: int, n_categorical: int, seed: int = 0):
    """Return a feature DataFrame and a 0/1 label matrix with some dependence between them."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n_rows, n_numeric)).astype(np.float64)
    numeric[rng.random((n_rows, n_numeric)) < 0.02] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"num_{i}" for i in range(n_numeric)])
    for j in range(n_categorical):
        levels = np.array([f"level_{k}" for k in range(5 + 10 * j)])
        frame[f"cat_{j}"] = levels[rng.integers(0, len(levels), size=n_rows)]
    weights = rng.normal(size=(min(n_numeric, 20), N_LABELS))
    logits = np.nan_to_num(numeric[:, : weights.shape[0]]) @ weights / 4 - 3
    labels = (rng.random((n_rows, N_LABELS)) < 1 / (1 + np.exp(-logits))).astype(np.int8)
    return frame, labels


def bare_model(net: MultiLabelNet) -> keras.Model:
    """Build the same layers as MultiLabelNet's network, by hand, with Keras' plain BCE loss."""
    preprocessor = net.preprocessor_
    inputs = {"numeric": keras.Input(shape=(preprocessor.n_numeric_inputs,), name="numeric")}
    parts = [inputs["numeric"]]
    for i, size in enumerate(preprocessor.vocabulary_sizes()):
        inputs[f"cat_{i}"] = keras.Input(shape=(), dtype="int32", name=f"cat_{i}")
        parts.append(keras.layers.Embedding(size, embedding_size(size))(inputs[f"cat_{i}"]))
    hidden = keras.layers.Concatenate()(parts)
    for units in net.hidden_units:
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
        hidden = keras.layers.Dropout(net.dropout)(hidden)
    outputs = keras.layers.Dense(N_LABELS, activation="sigmoid")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(net.learning_rate), loss=keras.losses.BinaryCrossentropy())
    return model


def time_ours(frame, labels, epochs: int, batch_size: int) -> tuple[float, MultiLabelNet]:
    net = MultiLabelNet(epochs=epochs, batch_size=batch_size, random_state=0)
    start = time.perf_counter()
    net.fit(frame, labels)
    return time.perf_counter() - start, net


def time_bare(net: MultiLabelNet, arrays: dict, labels, epochs: int, batch_size: int) -> float:
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = bare_model(net)
    model.fit(arrays, labels.astype(np.float32), batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    return time.perf_counter() - start


def time_preprocessing(frame) -> float:
    start = time.perf_counter()
    TablePreprocessor().fit(frame).transform(frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="training rows")
    parser.add_argument("--numeric", type=int, default=140, help="numeric feature columns")
    parser.add_argument("--categorical", type=int, default=10, help="categorical feature columns")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit")
    parser.add_argument("--batch-size", type=int, default=2048, help="rows per training step")
    parser.add_argument("--repeats", type=int, default=3, help="fits of each model, alternating")
    args = parser.parse_args()

    frame, labels = make_table(args.rows, args.numeric, args.categorical)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"keras {keras.__version__} on {keras.backend.backend()}")
    print(f"data: {args.rows} rows, {args.numeric} numeric + {args.categorical} categorical columns, "
          f"{N_LABELS} labels; {args.epochs} epochs, batch {args.batch_size}")

    # One untimed small fit of each model first, so that neither pays the process's one-off JAX start-up.
    _, warm_net = time_ours(frame.iloc[:4096], labels[:4096], 1, args.batch_size)
    time_bare(warm_net, warm_net.preprocessor_.transform(frame.iloc[:4096]), labels[:4096], 1, args.batch_size)

    ratios = []
    trained_rows = args.rows * args.epochs
    for repeat in range(args.repeats):
        # Alternate which model runs first, so that a slow spell of a shared machine hits both alike.
        if repeat % 2 == 0:
            ours_seconds, net = time_ours(frame, labels, args.epochs, args.batch_size)
            bare_seconds = time_bare(net, net.preprocessor_.transform(frame), labels, args.epochs, args.batch_size)
        else:
            bare_seconds = time_bare(net, net.preprocessor_.transform(frame), labels, args.epochs, args.batch_size)
            ours_seconds, net = time_ours(frame, labels, args.epochs, args.batch_size)
        preprocessing_seconds = time_preprocessing(frame)
        ratio = bare_seconds / ours_seconds
        ratios.append(ratio)
        print(f"run {repeat + 1}: MultiLabelNet.fit {trained_rows / ours_seconds:,.0f} rows/s ({ours_seconds:.1f} s, "
              f"of which about {preprocessing_seconds:.1f} s preprocessing), bare Keras "
              f"{trained_rows / bare_seconds:,.0f} rows/s ({bare_seconds:.1f} s), ratio {ratio:.3f}")

    start = time.perf_counter()
    net.predict_proba(frame)
    predict_seconds = time.perf_counter() - start
    print(f"MultiLabelNet.predict_proba (table in, including preprocessing): {args.rows / predict_seconds:,.0f} rows/s")
    print(f"median throughput ratio MultiLabelNet / bare Keras: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
