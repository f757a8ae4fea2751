"""SQL that cleans the raw text values of a snapshot file, one column at a time.

Each column is read as text. Cleaning trims spaces, turns every spelling of a missing value into
null and casts the rest to the column's type. Beside each cleaned value it computes a quirk
code (TINYINT) that records what was repaired, so that the ingest report can count every repair
per column without a second pass over the file:

* the low three bits are the kind, indexing `QUIRK_KINDS`. 0 is a clean value, 1 empty, 2 a
  missing-value spelling such as NA, 3 a sentinel such as -999999, 4 a spelling merged into
  another, and 5 a value that cannot be read as the column's type.
* bit 3 (value 8) is set when the value had leading or trailing spaces.

The expressions use only standard SQL functions plus DuckDB's TRY_CAST and TRY_STRPTIME.
"""

from __future__ import annotations

from dataclasses import dataclass

from nextbest.banking.schema import Attribute

QUIRK_KINDS = ("clean", "empty", "missing_spelling", "sentinel", "merged", "invalid")
EMPTY, MISSING_SPELLING, SENTINEL, MERGED, INVALID = 1, 2, 3, 4, 5
TRIMMED_BIT = 8
KIND_MASK = 7

ISO_DATE = "%Y-%m-%d"

# Date formats tried, in order, when a date column does not hold ISO dates. The time-of-day forms
# are what pandas and spreadsheets write for dates stored as timestamps.
DATE_FORMATS = (
    ISO_DATE,
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%Y%m%d",
)


def quote_identifier(name: str) -> str:
    """Return `name` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: object) -> str:
    """Return a string or number as an SQL literal."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a valid literal here")
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnRule:
    """Cleaning rule of one column.

    Attributes
    ----------
    type : {"integer", "float", "category", "date", "flag"}
        Target type; "flag" is a product's 0/1 value, stored as TINYINT.
    missing_spellings : tuple of str
        Values (after trimming) that mean missing in every column.
    sentinels : tuple
        Values of this column that mean missing, compared after the cast.
    merge : dict of str to str
        Spellings merged into another spelling (category only), compared after trimming.
    date_format : str
        strptime format of a date column.
    """

    type: str
    missing_spellings: tuple[str, ...] = ("NA",)
    sentinels: tuple = ()
    merge: dict[str, str] | None = None
    date_format: str = ISO_DATE

    @classmethod
    def for_attribute(cls, attribute: Attribute, missing_spellings: tuple[str, ...], date_format: str = ISO_DATE) -> ColumnRule:
        """Return the rule of a schema attribute."""
        return cls(
            type=attribute.type,
            missing_spellings=missing_spellings,
            sentinels=attribute.missing,
            merge=attribute.merge or None,
            date_format=date_format,
        )


def trimmed_sql(raw: str) -> str:
    """Return SQL for the raw text with leading and trailing spaces removed."""
    return f"trim({raw})"


def needs_number(rule: ColumnRule) -> bool:
    """Return whether the rule parses its text through a DOUBLE (see `number_sql`)."""
    return rule.type in ("integer", "float")


def number_sql(text: str) -> str:
    """Return SQL that reads trimmed text as a DOUBLE, null when it is not a number."""
    return f"TRY_CAST({text} AS DOUBLE)"


# Integers below 2**53 are exact as DOUBLE; others are cast from the text instead. The limit
# itself is excluded, because 2**53 + 1 rounds to 2**53 when read as a DOUBLE.
_EXACT_DOUBLE_LIMIT = 2**53


def parsed_sql(rule: ColumnRule, text: str, number: str | None, raw: str | None = None) -> str:
    """Return SQL that casts trimmed text to the rule's type, or null when it cannot be cast.

    Parameters
    ----------
    text : str
        SQL for the trimmed text.
    number : str or None
        SQL for `number_sql(text)`, computed once beforehand; needed when `needs_number(rule)`.
    raw : str, optional
        SQL for the untrimmed text, used by the fast path of flags.

    Integers accept whole numbers only ("35", "35.0", " 35" but not "35.5", which DuckDB's own
    cast to BIGINT would round to 36). Floats must be finite. Flags accept 0 and 1 in any
    numeric spelling, with a fast path for the plain "0" and "1".
    """
    if rule.type == "integer":
        whole = f"{number} = trunc({number})"
        return (
            f"CASE WHEN {whole} AND abs({number}) < {_EXACT_DOUBLE_LIMIT} THEN CAST({number} AS BIGINT) "
            f"WHEN {whole} THEN TRY_CAST({text} AS BIGINT) END"
        )
    if rule.type == "float":
        return f"CASE WHEN isfinite({number}) THEN {number} END"
    if rule.type == "flag":
        # `text` may be an unevaluated trim(raw): the fast path compares the raw text first, so
        # trimming and casting run only for the rare other spellings.
        slow = number_sql(text)
        raw = raw or text
        return f"CASE {raw} WHEN '0' THEN 0 WHEN '1' THEN 1 ELSE CASE WHEN {slow} IN (0, 1) THEN CAST({slow} AS TINYINT) END END"
    if rule.type == "date":
        return f"CAST(TRY_STRPTIME({text}, {quote_literal(rule.date_format)}) AS DATE)"
    if rule.type == "category":
        return text
    raise ValueError(f"unknown column type {rule.type!r}")


def quirk_sql(rule: ColumnRule, raw: str, text: str, parsed: str) -> str:
    """Return SQL for the quirk code of a value (see the module docstring).

    Parameters
    ----------
    raw, text, parsed : str
        SQL for the raw text, the trimmed text and the parsed value of the same column.
    """
    kind = [f"WHEN {text} IS NULL OR {text} = '' THEN {EMPTY}"]
    if rule.missing_spellings:
        spellings = ", ".join(quote_literal(s) for s in rule.missing_spellings)
        kind.append(f"WHEN {text} IN ({spellings}) THEN {MISSING_SPELLING}")
    if rule.type == "category":
        if rule.sentinels:
            kind.append(f"WHEN {text} IN ({_literals(str(s) for s in rule.sentinels)}) THEN {SENTINEL}")
        if rule.merge:
            kind.append(f"WHEN {text} IN ({_literals(rule.merge)}) THEN {MERGED}")
    else:
        kind.append(f"WHEN {parsed} IS NULL THEN {INVALID}")
        if rule.sentinels:
            kind.append(f"WHEN {parsed} IN ({_literals(rule.sentinels)}) THEN {SENTINEL}")
    trimmed = f"CASE WHEN {raw} <> {text} THEN {TRIMMED_BIT} ELSE 0 END"
    code = f"(CASE {' '.join(kind)} ELSE 0 END) + {trimmed}"
    if rule.type == "flag":
        code = f"CASE WHEN {raw} IN ('0', '1') THEN 0 ELSE {code} END"
    return f"CAST({code} AS TINYINT)"


def value_sql(rule: ColumnRule, text: str, parsed: str, quirk: str) -> str:
    """Return SQL for the cleaned value: null unless the quirk kind is clean or merged."""
    usable = f"({quirk} & {KIND_MASK}) IN (0, {MERGED})"
    if rule.type == "category" and rule.merge:
        cases = " ".join(f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in rule.merge.items())
        value = f"CASE {text} {cases} ELSE {text} END"
    elif rule.type == "flag":
        value = f"CAST({parsed} AS TINYINT)"
    else:
        value = parsed
    return f"CASE WHEN {usable} THEN {value} END"


def _literals(values) -> str:
    return ", ".join(quote_literal(v) for v in values)
