"""A CSV column of numbers with a few stray text cells is an error, not a useless category."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.errors import InputFileError
from nextbest.multilabel.readers import read_table


def write_rows(path, x1_values, header="x1,x2,a"):
    lines = [header] + [f"{value},{'u' if i % 2 else 'v'},{i % 2}" for i, value in enumerate(x1_values)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_stray_text_names_the_cell(tmp_path):
    values = [f"{i / 7:.3f}" for i in range(200)]
    values[90] = "abc"
    path = write_rows(tmp_path / "ml_text.csv", values)

    with pytest.raises(InputFileError) as raised:
        read_table(path, labels=["a"])

    error = raised.value
    assert (error.line, error.column, error.value) == (92, "x1", "abc")
    assert "199 of the column's 200 non-empty cells" in str(error)
    assert "Correct the value, or leave the cell empty" in str(error)
    assert str(path) in str(error)


def test_empty_cells_are_not_stray_text(tmp_path):
    values = [str(i) for i in range(40)]
    values[3] = ""
    values[4] = "   "
    table = read_table(write_rows(tmp_path / "t.csv", values), labels=["a"])
    assert table.features["x1"].isna().sum() + (table.features["x1"].astype(str).str.strip() == "").sum() == 2
    # Blank cells leave the column as text; the numbers still parse.
    assert table.features["x1"].map(lambda value: str(value).strip()).tolist()[:3] == ["0", "1", "2"]


def test_text_column_stays_categorical(tmp_path):
    # Half numbers, half text: a real categorical column such as a postcode with letters.
    values = ["28" if i % 2 else "K" + str(i) for i in range(40)]
    table = read_table(write_rows(tmp_path / "t.csv", values), labels=["a"])
    assert not pd.api.types.is_numeric_dtype(table.features["x1"])
    assert table.features["x2"].tolist()[:2] == ["v", "u"]


@settings(max_examples=25, deadline=None)
@given(
    numbers=st.lists(st.integers(-1000, 1000).map(str) | st.floats(-1e6, 1e6, allow_nan=False).map(repr), min_size=20, max_size=60),
    stray=st.text(alphabet="abcxyz", min_size=1, max_size=5),
    position=st.integers(0, 59),
)
def test_any_single_stray_word_among_numbers_is_reported(tmp_path_factory, numbers, stray, position):
    position %= len(numbers)
    numbers[position] = stray
    path = write_rows(tmp_path_factory.mktemp("h") / "t.csv", numbers)
    with pytest.raises(InputFileError) as raised:
        read_table(path, labels=["a"])
    assert (raised.value.line, raised.value.column, raised.value.value) == (position + 2, "x1", stray)
