"""SQL of the ingest's one pass: read a file with every column as text and clean each value.

`staging_query` builds the SELECT that `nextbest.banking.staging` streams. Its columns are the
snapshot columns, the quirk codes of `nextbest.banking.cleaning` packed into a few BIGINT
columns, and, for a row that cannot be used, the reason and the offending value.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

from nextbest.banking import cleaning
from nextbest.banking.cleaning import ColumnRule, quote_identifier, quote_literal
from nextbest.banking.schema import CUSTOMER_ID_COLUMN, MONTH_COLUMN, SnapshotSchema
from nextbest.banking.sources import SourceLayout
from nextbest.errors import InputFileError

PACKED_PREFIX = "__quirks_"
BAD_REASON = "__bad_reason"
BAD_VALUE = "__bad_value"
# Quirk codes fit in 4 bits; 15 of them are packed into each BIGINT output column, because
# counting distinct rows of a few BIGINTs is much cheaper than of one TINYINT column per input column.
CODES_PER_PACK = 15
CODE_BITS = 4
_DATE_SAMPLE_ROWS = 20_000


def _packed_quirk_columns(quirks: list[str]) -> list[str]:
    """Return SELECT items that pack the TINYINT quirk codes into BIGINT columns."""
    packs = []
    for start in range(0, len(quirks), CODES_PER_PACK):
        terms = [
            f"(CAST({quirk} AS BIGINT) << {CODE_BITS * offset})"
            for offset, quirk in enumerate(quirks[start : start + CODES_PER_PACK])
        ]
        packs.append(f"{' + '.join(terms)} AS {PACKED_PREFIX}{start // CODES_PER_PACK}")
    return packs


def raw_relation(source: SourceLayout, readable_path: Path, *, rejects_table: str | None) -> str:
    """Return SQL for the file's rows with every column as text (VARCHAR).

    With `rejects_table`, lines that do not split into the header's fields are stored there.
    Without it they are skipped, which suits a sample of the first rows.
    """
    path = quote_literal(str(readable_path))
    if source.format == "parquet":
        columns = ", ".join(f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}" for c in source.columns)
        return f"(SELECT {columns} FROM read_parquet({path}))"
    types = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in source.columns)
    options = [
        f"columns = {{{types}}}",
        "header = true",
        "auto_detect = false",
        "delim = ','",
        "quote = '\"'",
        "escape = '\"'",
        f"compression = {quote_literal('gzip' if source.format == 'csv.gz' else 'none')}",
    ]
    if rejects_table:
        options += ["store_rejects = true", f"rejects_table = '{rejects_table}'", f"rejects_scan = '{rejects_table}_scan'"]
    else:
        options.append("ignore_errors = true")
    return f"read_csv({path}, {', '.join(options)})"


def detect_date_formats(
    connection: duckdb.DuckDBPyConnection, source: SourceLayout, sample_relation: str, schema: SnapshotSchema
) -> dict[str, str]:
    """Choose the date format of each date column from the file's first rows.

    ISO dates (YYYY-MM-DD) are chosen when they read most of the sampled values. Otherwise the
    format of `cleaning.DATE_FORMATS` that reads the most values is chosen, provided it reads
    most of them and no other format reads as many.

    Raises
    ------
    InputFileError
        When no format reads most sampled values, or several read equally many (for example
        01/02/2015 is either DD/MM/YYYY or MM/DD/YYYY).
    """
    date_columns = [a.name for a in schema.attributes if a.type == "date"]
    if source.has_month:
        date_columns.insert(0, schema.month)
    date_columns = [c for c in date_columns if c in source.columns]
    if not date_columns:
        return {}

    missing = ", ".join(quote_literal(s) for s in schema.missing)
    formats = {}
    for column in date_columns:
        text = f"trim({quote_identifier(column)})"
        checks = ", ".join(
            f"count(*) FILTER (WHERE TRY_STRPTIME({text}, {quote_literal(fmt)}) IS NULL)" for fmt in cleaning.DATE_FORMATS
        )
        sample = f"SELECT * FROM {sample_relation} LIMIT {_DATE_SAMPLE_ROWS}"
        query = (
            f"SELECT {checks}, count(*), any_value({text}) FROM ({sample}) "
            f"WHERE {text} <> '' AND {text} NOT IN ({missing})"
        )
        with duckdb_errors(source.path):
            *failures, sampled, example = connection.execute(query).fetchall()[0]
        formats[column] = _choose_date_format(source.path, column, failures, sampled, example)
    return formats


def _choose_date_format(path: Path, column: str, failures: list[int], sampled: int, example: str | None) -> str:
    """Pick the format that reads most sampled values; the values it cannot read count as invalid."""
    if example is None or failures[0] * 2 < sampled:
        return cleaning.ISO_DATE
    best = min(failures)
    if best * 2 >= sampled:
        raise InputFileError(
            path,
            f"dates in a format nextbest cannot read (no format reads most of the first {_DATE_SAMPLE_ROWS:,} "
            f"rows; tried {', '.join(cleaning.DATE_FORMATS)})",
            column=column,
            value=example,
            fix="Write the dates as YYYY-MM-DD",
        )
    fitting = [fmt for fmt, failed in zip(cleaning.DATE_FORMATS, failures) if failed == best]
    if len(fitting) > 1:
        raise InputFileError(
            path,
            f"the dates are ambiguous: they fit each of the formats {' and '.join(fitting)}",
            column=column,
            value=example,
            fix="Write the dates as YYYY-MM-DD",
        )
    return fitting[0]


def staging_query(
    source: SourceLayout,
    relation: str,
    schema: SnapshotSchema,
    *,
    date_formats: dict[str, str],
    month: str | None,
) -> tuple[str, list[str]]:
    """Return the SELECT that cleans the file's rows, and the input columns its quirk codes describe.

    The SELECT returns the snapshot columns, the packed quirk codes and the bad-row reason and
    value, rows in file order.

    The query has layers so that each value is trimmed and parsed once: trimmed text, numbers,
    parsed values, quirk codes, then cleaned values.
    """
    rules = _column_rules(source, schema, date_formats)
    names = list(rules)
    raw = {name: quote_identifier(name) for name in names}
    # Flags are trimmed only on their slow path (see cleaning.parsed_sql), so their text stays an
    # expression instead of a column of the first layer.
    lazy = {name for name in names if rules[name].type == "flag"}
    text = {name: cleaning.trimmed_sql(raw[name]) if name in lazy else f"__text_{i}" for i, name in enumerate(names)}
    eager_text = [text[name] for name in names if name not in lazy]
    number = {name: f"__number_{i}" for i, name in enumerate(names) if cleaning.needs_number(rules[name])}
    parsed = {name: f"__parsed_{i}" for i, name in enumerate(names)}
    quirk = {name: f"__quirk_{i}" for i, name in enumerate(names)}

    trimmed = [f"{cleaning.trimmed_sql(raw[n])} AS {text[n]}" for n in names if n not in lazy]
    numbers = [f"{cleaning.number_sql(text[n])} AS {number[n]}" for n in number]
    parsing = [f"{cleaning.parsed_sql(rules[n], text[n], number.get(n), raw[n])} AS {parsed[n]}" for n in names]
    quirks = [f"{cleaning.quirk_sql(rules[n], raw[n], text[n], parsed[n])} AS {quirk[n]}" for n in names]
    outputs = _output_columns(source, schema, rules, text, parsed, quirk, month)

    query = f"SELECT {', '.join([*raw.values(), *trimmed])} FROM {relation}"
    query = f"SELECT {', '.join([*raw.values(), *eager_text, *numbers])} FROM ({query})"
    query = f"SELECT {', '.join([*raw.values(), *eager_text, *parsing])} FROM ({query})"
    query = f"SELECT {', '.join([*eager_text, *parsed.values(), *quirks])} FROM ({query})"
    return f"SELECT {', '.join(outputs)} FROM ({query})", names


def _column_rules(source: SourceLayout, schema: SnapshotSchema, date_formats: dict[str, str]) -> dict[str, ColumnRule]:
    """Return the cleaning rule of each schema column present in the file, in schema order."""
    missing = tuple(schema.missing)
    rules = {}
    if source.has_month:
        rules[schema.month] = ColumnRule("date", missing, date_format=date_formats.get(schema.month, cleaning.ISO_DATE))
    rules[schema.customer_id] = ColumnRule("integer", missing)
    for attribute in schema.attributes:
        if attribute.name in source.columns:
            fmt = date_formats.get(attribute.name, cleaning.ISO_DATE)
            rules[attribute.name] = ColumnRule.for_attribute(attribute, missing, fmt)
    if source.layout == "train":
        for product in schema.products:
            rules[product.column] = ColumnRule("flag", missing)
    return rules


_SQL_TYPES = {"integer": "BIGINT", "float": "DOUBLE", "category": "VARCHAR", "date": "DATE", "flag": "TINYINT"}


def _output_columns(source, schema, rules, text, parsed, quirk, month) -> list[str]:
    """Return the SELECT list of the staged file: snapshot columns, quirk codes, bad-row reason and value."""
    def value(name: str, sql_type: str) -> str:
        if name not in rules:
            return f"CAST(NULL AS {sql_type})"
        return cleaning.value_sql(rules[name], text[name], parsed[name], quirk[name])

    id_kind = f"({quirk[schema.customer_id]} & {cleaning.KIND_MASK})"
    columns = [f"{value(schema.customer_id, 'BIGINT')} AS {quote_identifier(CUSTOMER_ID_COLUMN)}"]
    reasons = [
        f"WHEN {id_kind} IN ({cleaning.EMPTY}, {cleaning.MISSING_SPELLING}) THEN 'missing customer id'",
        f"WHEN {id_kind} <> 0 THEN 'invalid customer id'",
    ]
    bad_values = [f"WHEN {id_kind} <> 0 THEN {text[schema.customer_id]}"]
    if source.has_month:
        month_kind = f"({quirk[schema.month]} & {cleaning.KIND_MASK})"
        month_value = value(schema.month, "DATE")
        columns.append(f"CAST(date_trunc('month', {month_value}) AS DATE) AS {quote_identifier(MONTH_COLUMN)}")
        # The value (its first 40 characters) is part of the reason, so that error messages
        # that quote only the reason still show what the month cell contained.
        expected = quote_literal(f"' (expected {rules[schema.month].date_format})")
        reasons += [
            f"WHEN {month_kind} IN ({cleaning.EMPTY}, {cleaning.MISSING_SPELLING}) THEN 'missing month'",
            f"WHEN {month_kind} <> 0 THEN 'invalid month ''' || left({text[schema.month]}, 40) || {expected}",
        ]
        bad_values.append(f"WHEN {month_kind} <> 0 THEN {text[schema.month]}")
    else:
        columns.append(f"DATE {quote_literal(month + '-01')} AS {quote_identifier(MONTH_COLUMN)}")

    for attribute in schema.attributes:
        columns.append(f"{value(attribute.name, _SQL_TYPES[attribute.type])} AS {quote_identifier(attribute.name)}")
    for product in schema.products:
        columns.append(f"{value(product.column, 'TINYINT')} AS {quote_identifier(product.name)}")
    columns += _packed_quirk_columns(list(quirk.values()))
    columns.append(f"CASE {' '.join(reasons)} END AS {BAD_REASON}")
    columns.append(f"CASE {' '.join(bad_values)} END AS {BAD_VALUE}")
    return columns


@contextmanager
def duckdb_errors(path: Path):
    """Turn DuckDB's errors about an input file into InputFileError."""
    try:
        yield
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException) as error:
        message = str(error).split("\n")[0]
        raise InputFileError(path, f"the file could not be read: {message}", fix="Check that it is a complete CSV, CSV.gz, CSV.zip or Parquet file") from None
