"""Property tests of each value cleaner: the SQL that trims, recognises missing values and casts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nextbest.banking import cleaning
from nextbest.banking.cleaning import ColumnRule

CONNECTION = duckdb.connect()
padding = st.text(alphabet=" ", max_size=6)
# Each example cleans a list of values in one query, so few examples cover many values.
settings.register_profile("cleaning", max_examples=15, deadline=None)
settings.load_profile("cleaning")


def clean(rule: ColumnRule, values: list[str | None]) -> list[tuple[object, int]]:
    """Run a rule's SQL over raw values; return (cleaned value, quirk code) per value."""
    text = cleaning.trimmed_sql("raw")
    number = cleaning.number_sql(text) if cleaning.needs_number(rule) else None
    parsed = cleaning.parsed_sql(rule, text, number)
    quirk = cleaning.quirk_sql(rule, "raw", text, parsed)
    value = cleaning.value_sql(rule, text, parsed, quirk)
    query = f"SELECT {value}, {quirk} FROM (SELECT unnest(?::VARCHAR[]) AS raw)"
    return CONNECTION.execute(query, [values]).fetchall()


def kind(code: int) -> str:
    return cleaning.QUIRK_KINDS[code & cleaning.KIND_MASK]


def trimmed(code: int) -> bool:
    return bool(code & cleaning.TRIMMED_BIT)


@given(st.lists(st.tuples(st.integers(-(2**62), 2**62), padding, padding), min_size=1, max_size=40))
@example([(2**53 - 1, "", ""), (2**53, "", ""), (2**53 + 1, " ", ""), (-(2**53) - 1, "", " ")])
def test_integer_padded(cases):
    rows = clean(ColumnRule("integer"), [f"{left}{number}{right}" for number, left, right in cases])
    for (number, left, right), (value, code) in zip(cases, rows, strict=True):
        assert value == number
        assert kind(code) == "clean"
        assert trimmed(code) == bool(left or right)


@given(st.lists(st.tuples(st.integers(-1000, 1000), padding), min_size=1, max_size=40))
def test_integer_written_as_float(cases):
    rows = clean(ColumnRule("integer"), [f"{left}{number}.0" for number, left in cases])
    for (number, _), (value, code) in zip(cases, rows, strict=True):
        assert value == number
        assert kind(code) == "clean"


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=40))
def test_integer_with_fraction_is_invalid(numbers):
    for value, code in clean(ColumnRule("integer"), [f"{number}.5" for number in numbers]):
        assert value is None
        assert kind(code) == "invalid"


@given(st.lists(st.tuples(st.text(alphabet="abcxyz-/", min_size=1, max_size=5), padding), min_size=1, max_size=40))
def test_integer_letters_are_invalid(cases):
    for value, code in clean(ColumnRule("integer"), [left + word for word, left in cases]):
        assert value is None
        assert kind(code) == "invalid"


@given(st.sampled_from(["integer", "float", "category", "date", "flag"]), st.lists(st.tuples(padding, padding), min_size=1, max_size=20))
def test_na_in_any_padding_is_null(column_type, cases):
    rows = clean(ColumnRule(column_type), [f"{left}NA{right}" for left, right in cases])
    for (left, right), (value, code) in zip(cases, rows, strict=True):
        assert value is None
        assert kind(code) == "missing_spelling"
        assert trimmed(code) == bool(left or right)


@given(st.sampled_from(["integer", "float", "category", "date", "flag"]), padding)
def test_empty_and_blank_are_null(column_type, blank):
    rows = clean(ColumnRule(column_type), [blank, None])
    assert rows[0][0] is None
    assert rows[1][0] is None
    assert kind(rows[0][1]) == "empty"
    assert kind(rows[1][1]) == "empty"


@given(st.lists(st.tuples(padding, padding), min_size=1, max_size=20))
def test_sentinel_is_null(cases):
    rule = ColumnRule("integer", sentinels=(-999999,))
    for value, code in clean(rule, [f"{left}-999999{right}" for left, right in cases]):
        assert value is None
        assert kind(code) == "sentinel"


@given(st.lists(st.integers(-999998, 10**6), min_size=1, max_size=40))
def test_non_sentinel_integer_kept(numbers):
    rows = clean(ColumnRule("integer", sentinels=(-999999,)), [str(number) for number in numbers])
    for number, (value, code) in zip(numbers, rows, strict=True):
        assert value == number
        assert kind(code) == "clean"


@given(st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False, width=64), padding), min_size=1, max_size=40))
def test_float_round_trip(cases):
    rows = clean(ColumnRule("float"), [f"{left}{number!r}" for number, left in cases])
    for (number, _), (value, code) in zip(cases, rows, strict=True):
        assert value == number
        assert kind(code) == "clean"


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1,5", "12a"])
def test_float_non_finite_or_malformed_is_invalid(text):
    [(value, code)] = clean(ColumnRule("float"), [text])
    assert value is None
    assert kind(code) == "invalid"


MERGE = {"1.0": "1", "2.0": "2", "3.0": "3", "4.0": "4"}


@given(st.sampled_from(sorted(MERGE)), padding)
def test_category_spellings_merged(spelling, left):
    [(value, code)] = clean(ColumnRule("category", merge=MERGE), [left + spelling])
    assert value == MERGE[spelling]
    assert kind(code) == "merged"


category_text = st.text(alphabet="ABCPSN0123456789 -", min_size=1, max_size=12).filter(
    lambda s: s.strip(" ") not in ("", "NA", *MERGE)
)


@given(st.lists(category_text, min_size=1, max_size=40))
def test_category_kept_trimmed(texts):
    rows = clean(ColumnRule("category", merge=MERGE), texts)
    for text, (value, code) in zip(texts, rows, strict=True):
        assert value == text.strip(" ")
        assert kind(code) == "clean"
        assert trimmed(code) == (text != text.strip(" "))


@given(st.sampled_from(["0", "1", " 0", "1 ", "1.0", "0.0", " 1.0"]))
def test_flag_zero_one_spellings(text):
    [(value, code)] = clean(ColumnRule("flag"), [text])
    assert value == int(float(text))
    assert kind(code) == "clean"


@given(st.lists(st.integers(2, 100) | st.integers(-100, -1), min_size=1, max_size=40))
def test_flag_other_numbers_invalid(numbers):
    for value, code in clean(ColumnRule("flag"), [str(number) for number in numbers]):
        assert value is None
        assert kind(code) == "invalid"


@given(st.lists(st.tuples(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), padding), min_size=1, max_size=40))
def test_iso_date(cases):
    rows = clean(ColumnRule("date"), [left + day.isoformat() for day, left in cases])
    for (day, _), (value, code) in zip(cases, rows, strict=True):
        assert value == day
        assert kind(code) == "clean"


@given(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=40))
def test_day_first_date_format(days):
    rows = clean(ColumnRule("date", date_format="%d/%m/%Y"), [day.strftime("%d/%m/%Y") for day in days])
    for day, (value, code) in zip(days, rows, strict=True):
        assert value == day
        assert kind(code) == "clean"


@pytest.mark.parametrize("text", ["2015-13-01", "28/01/2015", "yesterday"])
def test_date_in_other_format_is_invalid(text):
    [(value, code)] = clean(ColumnRule("date"), [text])
    assert value is None
    assert kind(code) == "invalid"


def test_sql_literals_are_escaped():
    assert cleaning.quote_literal("O'Neil") == "'O''Neil'"
    assert cleaning.quote_identifier('a"b') == '"a""b"'
    assert cleaning.quote_literal(-999999) == "-999999"
