"""Preprocessing: scaling, missing-value indicators, vocabularies, type inference and drift errors."""

from __future__ import annotations

import datetime
import json
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.multilabel.preprocessing import (
    NULL_INDEX,
    UNKNOWN_INDEX,
    ColumnMismatchError,
    TablePreprocessor,
    describe_column_drift,
)
from nextbest.multilabel.tables import InvalidInputError


def small_frame():
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, np.nan, 50.0],
            "income": [1, 2, 3, 4],
            "segment": ["a", "b", "a", None],
        }
    )


def test_numeric_columns_standardised():
    inputs = TablePreprocessor().fit(small_frame()).transform(small_frame())
    numeric = inputs["numeric"]
    # age: mean of 20, 30, 50 = 100/3; the null becomes 0 after scaling.
    age_std = np.std([20.0, 30.0, 50.0])
    np.testing.assert_allclose(numeric[:, 0], [(20 - 100 / 3) / age_std, (30 - 100 / 3) / age_std, 0, (50 - 100 / 3) / age_std], rtol=1e-6)
    np.testing.assert_allclose(numeric[:, 1], (np.arange(1, 5) - 2.5) / np.std([1, 2, 3, 4]), rtol=1e-6)
    assert numeric.dtype == np.float32


def test_missing_indicator_only_for_columns_with_nulls():
    preprocessor = TablePreprocessor().fit(small_frame())
    numeric = preprocessor.transform(small_frame())["numeric"]
    # age has a null in fit, income has none: one indicator column after the two scaled ones.
    assert numeric.shape == (4, 3)
    np.testing.assert_array_equal(numeric[:, 2], [0, 0, 1, 0])
    later = pd.DataFrame({"age": [25.0], "income": [np.nan], "segment": ["a"]})
    # A null in income, which had none in fit, is read as the mean (0 after scaling).
    np.testing.assert_allclose(preprocessor.transform(later)["numeric"][0, 1], 0.0)


def test_columns_without_values_logged_once_at_info(caplog):
    frame = small_frame().assign(empty_a=np.nan, empty_b=np.nan)
    with caplog.at_level("INFO", logger="nextbest.multilabel.preprocessing"):
        preprocessor = TablePreprocessor().fit(frame)
    messages = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert messages == ["2 numeric column(s) have no values in fit and will always read as 0: empty_a, empty_b"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # Read as 0, with a missing-value indicator of 1 for every row.
    numeric = preprocessor.transform(frame)["numeric"]
    assert numeric.shape == (4, 2 + 2 + 3)
    np.testing.assert_array_equal(numeric[:, 2:4], 0)


def test_vocabulary_buckets():
    frame = pd.DataFrame({"colour": ["red"] * 3 + ["blue"] * 2 + ["green"] + [None]})
    preprocessor = TablePreprocessor(min_frequency=2).fit(frame)
    assert preprocessor.categorical_columns[0]["vocabulary"] == ["blue", "red"]
    new = pd.DataFrame({"colour": ["red", "blue", "green", "purple", None]})
    indices = preprocessor.transform(new)["cat_0"]
    # blue and red get 2 and 3; green (rare) and purple (unseen) share the unknown bucket.
    np.testing.assert_array_equal(indices, [3, 2, UNKNOWN_INDEX, UNKNOWN_INDEX, NULL_INDEX])
    assert indices.dtype == np.int32
    assert preprocessor.vocabulary_sizes() == [4]


def test_kinds_inferred_from_pandas_types():
    frame = pd.DataFrame(
        {
            "number": [1.5, 2.5, 3.5],
            "integer": pd.array([1, None, 3], dtype="Int64"),
            "text": pd.array(["x", "y", None], dtype="string"),
            "category": pd.Categorical(["u", "v", "u"]),
            "flag": [True, False, True],
            "object_text": pd.Series(["p", None, "q"], dtype=object),
            "object_numbers": pd.Series([1, 2.5, None], dtype=object),
        }
    )
    kinds = {c["name"]: c["kind"] for c in TablePreprocessor().fit(frame).columns}
    assert kinds == {
        "number": "numeric",
        "integer": "numeric",
        "text": "categorical",
        "category": "categorical",
        "flag": "categorical",
        "object_text": "categorical",
        "object_numbers": "numeric",
    }


def test_integer_categories_with_nulls():
    frame = pd.DataFrame({"province": pd.Categorical([28, 8, None, 28])})
    preprocessor = TablePreprocessor(min_frequency=1).fit(frame)
    assert preprocessor.categorical_columns[0]["vocabulary"] == ["28", "8"]
    np.testing.assert_array_equal(preprocessor.transform(frame)["cat_0"], [2, 3, NULL_INDEX, 2])


def test_arrow_and_pandas_give_same_inputs():
    frame = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "c": ["a", "b", None, "a"], "flag": [True, False, True, True]})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dictionary_table = table.set_column(1, "c", table.column("c").dictionary_encode())
    from_pandas = TablePreprocessor(min_frequency=1).fit(frame)
    from_arrow = TablePreprocessor(min_frequency=1).fit(dictionary_table)
    assert from_pandas.to_dict() == from_arrow.to_dict()
    for name, values in from_pandas.transform(frame).items():
        np.testing.assert_array_equal(values, from_arrow.transform(table)[name])


def test_numpy_object_array_columns():
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"]], dtype=object)
    preprocessor = TablePreprocessor(min_frequency=1).fit(X)
    assert [c["kind"] for c in preprocessor.columns] == ["numeric", "categorical"]
    assert preprocessor.feature_names == ["x0", "x1"]
    assert not preprocessor.has_feature_names


def test_declared_categorical_columns():
    frame = pd.DataFrame({"province": [28, 8, 28, 46], "amount": [1.0, 2.0, 3.0, 4.0]})
    preprocessor = TablePreprocessor(categorical_features=["province"], min_frequency=1).fit(frame)
    assert preprocessor.categorical_columns[0]["vocabulary"] == ["28", "46", "8"]
    by_position = TablePreprocessor(categorical_features=[0], min_frequency=1).fit(frame)
    assert by_position.to_dict()["columns"] == preprocessor.to_dict()["columns"]


def test_undeclared_string_column_rejected():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    with pytest.raises(InvalidInputError, match="Column 'b' contains strings.*not listed in categorical_features"):
        TablePreprocessor(categorical_features=["a"]).fit(frame)


def test_unknown_declared_column_rejected():
    with pytest.raises(InvalidInputError, match="categorical_features names column 'zz'"):
        TablePreprocessor(categorical_features=["zz"]).fit(small_frame())


def test_infinite_value_rejected_with_row():
    frame = pd.DataFrame({"a": [1.0, np.inf]})
    with pytest.raises(InvalidInputError, match=r"Column 'a' contains an infinite value at row 1"):
        TablePreprocessor().fit(frame)


def test_date_column_rejected_with_fix():
    frame = pd.DataFrame({"when": pd.to_datetime(["2016-01-28", "2016-02-28"])})
    with pytest.raises(InvalidInputError, match="Column 'when' has type datetime64.*days since a reference date"):
        TablePreprocessor().fit(frame)
    table = pa.table({"when": pa.array([datetime.date(2016, 1, 28)])})
    with pytest.raises(InvalidInputError, match="Column 'when' has type date32"):
        TablePreprocessor().fit(table)


def test_mixed_object_column_rejected():
    frame = pd.DataFrame({"mixed": pd.Series([1, "a", {"k": 1}], dtype=object)})
    with pytest.raises(InvalidInputError, match="Column 'mixed' contains Python objects of mixed"):
        TablePreprocessor().fit(frame)


def test_numeric_column_with_text_later_rejected():
    preprocessor = TablePreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(InvalidInputError, match=r"Column 'a' was numeric .* \(value: 'oops'\)"):
        preprocessor.transform(pd.DataFrame({"a": pd.Series([1.0, "oops"], dtype=object)}))


def test_column_drift_listed():
    preprocessor = TablePreprocessor().fit(small_frame())
    drifted = small_frame()[["income", "age"]].assign(extra=1)
    with pytest.raises(ColumnMismatchError) as caught:
        preprocessor.transform(drifted)
    message = str(caught.value)
    assert "1 missing: 'segment'" in message
    assert "1 extra: 'extra'" in message
    assert "2 out of order: 'age', 'income'" in message


def test_drift_message_lists_a_few_names():
    expected = [f"c{i}" for i in range(10)]
    message = describe_column_drift(expected, expected[:2])
    assert "8 missing: 'c2', 'c3', 'c4', 'c5', 'c6' and 3 more" in message


def test_unnamed_input_matched_by_position():
    preprocessor = TablePreprocessor().fit(small_frame()[["age", "income"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        inputs = preprocessor.transform(np.array([[30.0, 2.0]]))
    assert inputs["numeric"].shape == (1, 3)
    with pytest.raises(ColumnMismatchError, match="X has 3 features, but MultiLabelNet is expecting 2"):
        preprocessor.transform(np.zeros((1, 3)))


def test_state_round_trips_through_json():
    preprocessor = TablePreprocessor(min_frequency=1).fit(small_frame())
    rebuilt = TablePreprocessor.from_dict(json.loads(json.dumps(preprocessor.to_dict())))
    for name, values in preprocessor.transform(small_frame()).items():
        np.testing.assert_array_equal(values, rebuilt.transform(small_frame())[name])


def test_fit_leaves_input_unchanged():
    frame = small_frame()
    before = frame.copy()
    TablePreprocessor().fit(frame).transform(frame)
    pd.testing.assert_frame_equal(frame, before)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=2, max_size=40),
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=40, max_size=40),
    st.integers(1, 39),
)
def test_partial_fit_in_chunks_equals_fit(numbers, letters, cut):
    frame = pd.DataFrame({"n": pd.array(numbers, dtype="Float64"), "c": letters[: len(numbers)]})
    cut = min(cut, len(frame) - 1)
    whole = TablePreprocessor(min_frequency=2).fit(frame).to_dict()
    chunked = TablePreprocessor(min_frequency=2).partial_fit(frame.iloc[:cut]).partial_fit(frame.iloc[cut:]).finish()
    chunked = chunked.to_dict()
    assert chunked["columns"][1] == whole["columns"][1]
    numeric_whole, numeric_chunked = whole["columns"][0], chunked["columns"][0]
    assert numeric_chunked["missing_indicator"] == numeric_whole["missing_indicator"]
    assert numeric_chunked["mean"] == pytest.approx(numeric_whole["mean"], rel=1e-9, abs=1e-6)
    assert numeric_chunked["scale"] == pytest.approx(numeric_whole["scale"], rel=1e-6, abs=1e-6)


def test_transform_is_vectorised_on_large_input():
    rng = np.random.default_rng(0)
    n = 200_000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(20)})
    frame["c"] = rng.choice(["a", "b", "c", "d"], size=n)
    preprocessor = TablePreprocessor().fit(frame)
    import time

    start = time.perf_counter()
    inputs = preprocessor.transform(frame)
    elapsed = time.perf_counter() - start
    assert inputs["numeric"].shape == (n, 20)
    # NOTE: a generous bound for a shared 2-core machine; a per-row Python loop takes tens of seconds.
    assert elapsed < 5.0
