"""scikit-learn's estimator checks, clone and get_params round trips, and unchanged arguments."""

from __future__ import annotations

import tempfile
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from nextbest.multilabel import MultiLabelNet

# Fits of equally shaped networks compile to the same XLA program, so a disk cache lets later fits
# in this session reuse it instead of compiling again.
jax.config.update("jax_compilation_cache_dir", str(Path(tempfile.gettempdir()) / "nextbest-test-jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

CLASS_LABELS = "the check builds class labels 0, 1 and 2 itself; MultiLabelNet takes only 0/1 label matrices"
ONE_D_TARGET = "the check passes a 1-D target; MultiLabelNet takes a 2-D (n_samples, n_labels) matrix"

EXPECTED_FAILED_CHECKS = {
    "check_estimators_dtypes": CLASS_LABELS,
    "check_sample_weights_pandas_series": CLASS_LABELS,
    "check_sample_weights_not_an_array": CLASS_LABELS,
    "check_sample_weights_shape": CLASS_LABELS,
    "check_sample_weights_not_overwritten": CLASS_LABELS,
    "check_classifier_data_not_an_array": CLASS_LABELS,
    "check_sample_weight_equivalence_on_dense_data": "the check calls fit(y=...); MultiLabelNet names its "
    "target Y, as a label matrix",
    "check_classifiers_one_label": ONE_D_TARGET,
    "check_classifiers_one_label_sample_weights": ONE_D_TARGET,
    "check_classifiers_classes": "the check uses string class labels; MultiLabelNet takes 0/1 label matrices",
    "check_classifiers_train": "the check expects predict to return one class per sample, shape (n_samples,); "
    "MultiLabelNet returns (n_samples, n_labels)",
}


@parametrize_with_checks(
    [MultiLabelNet(hidden_units=(4,), epochs=1, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_clone_and_get_params_round_trip():
    net = MultiLabelNet(hidden_units=(16, 8), dropout=0.2, loss="focal", pos_weight="balanced", random_state=3)
    copy = clone(net)
    assert copy is not net
    assert copy.get_params() == net.get_params()
    rebuilt = MultiLabelNet(**net.get_params())
    assert rebuilt.get_params() == net.get_params()
    rebuilt.set_params(epochs=7, hidden_units=(5,))
    assert rebuilt.get_params()["epochs"] == 7
    assert rebuilt.get_params()["hidden_units"] == (5,)


def test_clone_of_fitted_model_is_unfitted():
    X = np.random.default_rng(0).normal(size=(40, 3))
    Y = (X[:, :2] > 0).astype(int)
    net = MultiLabelNet(hidden_units=(4,), epochs=1, random_state=0).fit(X, Y)
    copy = clone(net)
    assert hasattr(net, "model_")
    assert not hasattr(copy, "model_")


def test_fit_leaves_arguments_unchanged():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.choice(["x", "y"], size=60)})
    X.loc[3, "a"] = np.nan
    Y = pd.DataFrame({"p": rng.integers(0, 2, 60), "q": rng.integers(0, 2, 60)})
    mask = np.zeros((60, 2))
    mask[:10, 0] = 1
    weights = rng.uniform(0.5, 2.0, size=60)
    validation = (X.iloc[:20], Y.iloc[:20], mask[:20])
    categorical = ["b"]
    copies = [X.copy(), Y.copy(), mask.copy(), weights.copy(), list(categorical)]

    net = MultiLabelNet(hidden_units=(4,), epochs=2, categorical_features=categorical, min_frequency=1, random_state=0)
    net.fit(X, Y, sample_weight=weights, mask=mask, validation_data=validation)

    pd.testing.assert_frame_equal(X, copies[0])
    pd.testing.assert_frame_equal(Y, copies[1])
    np.testing.assert_array_equal(mask, copies[2])
    np.testing.assert_array_equal(weights, copies[3])
    assert net.categorical_features is categorical
    assert categorical == copies[4]
    assert net.labels_ == ["p", "q"]
