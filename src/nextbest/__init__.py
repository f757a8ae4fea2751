"""nextbest: multi-label deep learning for tables, and a next-best-product recommender."""

import os

# Keras reads its backend once, at its first import. JAX is the default because it trains our
# networks several times faster on a CPU than the PyTorch backend; a user's own choice wins.
os.environ.setdefault("KERAS_BACKEND", "jax")

__version__ = "0.1.0"
