"""The package imports, selects the JAX backend and reports its version."""

import subprocess
import sys

import nextbest


def test_version_is_set():
    assert nextbest.__version__.count(".") == 2


def test_cli_prints_version():
    done = subprocess.run(
        [sys.executable, "-m", "nextbest", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"nextbest {nextbest.__version__}"


def test_default_backend_is_jax():
    code = "import os; os.environ.pop('KERAS_BACKEND', None); import nextbest, keras; print(keras.backend.backend())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "jax", done.stderr
