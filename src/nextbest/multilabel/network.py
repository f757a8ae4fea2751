"""The Keras network of `MultiLabelNet`: embeddings and numeric inputs into dense layers."""

from __future__ import annotations

import math

import keras


def embedding_size(vocabulary_size: int, maximum: int = 32) -> int:
    """Return the embedding width for a categorical column: about twice the root of its size.

    Parameters
    ----------
    vocabulary_size : int
        Number of embedding rows, including the unknown and null buckets.
    maximum : int, default=32
        Upper bound on the width.
    """
    return max(2, min(maximum, math.ceil(2 * math.sqrt(vocabulary_size))))


def build_network(
    n_numeric: int,
    vocabulary_sizes: list[int],
    n_labels: int,
    *,
    hidden_units: tuple[int, ...],
    dropout: float,
    batch_norm: bool,
    embedding_dim: int | None,
) -> keras.Model:
    """Build the network: one input per categorical column and one for the numeric matrix.

    Parameters
    ----------
    n_numeric : int
        Width of the ``numeric`` input; 0 leaves that input out.
    vocabulary_sizes : list of int
        Embedding rows of each categorical input ``cat_<i>``.
    n_labels : int
        Number of sigmoid outputs.
    hidden_units : tuple of int
        Width of each dense hidden layer, in order.
    dropout : float
        Dropout rate after each hidden layer; 0 adds no dropout layer.
    batch_norm : bool
        Whether to normalise each hidden layer's pre-activations over the batch.
    embedding_dim : int or None
        Width of every embedding; None sizes each from its vocabulary with `embedding_size`.

    Returns
    -------
    keras.Model
        Taking a dict of inputs and returning probabilities of shape (batch, n_labels).
    """
    inputs, parts = {}, []
    if n_numeric:
        inputs["numeric"] = keras.Input(shape=(n_numeric,), dtype="float32", name="numeric")
        parts.append(inputs["numeric"])
    for i, size in enumerate(vocabulary_sizes):
        name = f"cat_{i}"
        inputs[name] = keras.Input(shape=(), dtype="int32", name=name)
        width = embedding_dim or embedding_size(size)
        parts.append(keras.layers.Embedding(size, width, name=f"embedding_{i}")(inputs[name]))

    hidden = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    for depth, units in enumerate(hidden_units):
        hidden = keras.layers.Dense(units, use_bias=not batch_norm, name=f"dense_{depth}")(hidden)
        if batch_norm:
            hidden = keras.layers.BatchNormalization(name=f"batch_norm_{depth}")(hidden)
        hidden = keras.layers.Activation("relu", name=f"relu_{depth}")(hidden)
        if dropout > 0:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{depth}")(hidden)
    outputs = keras.layers.Dense(n_labels, activation="sigmoid", name="probabilities")(hidden)
    return keras.Model(inputs=inputs, outputs=outputs, name="multilabel_net")
