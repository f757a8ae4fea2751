"""Format months of synthetic customers as CSV text in the exact Santander file layouts.

Everything is built with pyarrow compute kernels and numpy over whole columns. Attributes that
never change are turned into strings once per customer (`StaticText`) and picked per month with
`take`. The month's lines are joined in C++, and the values buffer of the resulting string array
is the file's bytes.

The real training file writes months before 2015-07 with padded numbers (`age` as ' 35',
`antiguedad` as '     35', small integers and the two payroll flags as ' 1', missing numbers as
' NA' or '     NA') and later months without padding. `nomprov` is always quoted, `indrel_1mes`
mixes '1' and '1.0', and rows that lack most attributes follow the pattern `,,,, NA,,NA,     NA,...`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.banking.synth_model import N_PRODUCTS, NOM_PENS, NOMINA, PRODUCT_COLUMNS, SEGMENTS

ATTRIBUTE_COLUMNS = [
    "fecha_dato", "ncodpers", "ind_empleado", "pais_residencia", "sexo", "age", "fecha_alta",
    "ind_nuevo", "antiguedad", "indrel", "ult_fec_cli_1t", "indrel_1mes", "tiprel_1mes", "indresi",
    "indext", "conyuemp", "canal_entrada", "indfall", "tipodom", "cod_prov", "nomprov",
    "ind_actividad_cliente", "renta", "segmento",
]
TRAIN_COLUMNS = ATTRIBUTE_COLUMNS + PRODUCT_COLUMNS
# Widths of the padded numeric columns in months before 2015-07.
PADDED_WIDTHS = {"age": 3, "ind_nuevo": 2, "antiguedad": 7, "indrel": 2, "tipodom": 2, "cod_prov": 2,
                 "ind_actividad_cliente": 2, "payroll": 2}
# NOTE: the width of the padded `renta` of the test layout is an estimate.
TEST_RENTA_WIDTH = 12
SENIORITY_SENTINEL = -999999
MAX_AGE = 200
MAX_SENIORITY = 400


def header_line(layout: str) -> bytes:
    """Return the quoted header line of the training or test layout."""
    columns = TRAIN_COLUMNS if layout == "train" else ATTRIBUTE_COLUMNS
    return (",".join(f'"{c}"' for c in columns) + "\n").encode()


def _na(width: int | None) -> str:
    return "NA".rjust(width) if width else "NA"


def _number_table(count: int, width: int | None) -> pa.Array:
    """Return the numbers 0 .. count-1 as strings, right-aligned to `width` when given."""
    text = pc.cast(pa.array(np.arange(count)), pa.string())
    return pc.utf8_lpad(text, width=width, padding=" ") if width else text


def _pick(names: list[str], codes: np.ndarray) -> pa.Array:
    return pa.array(names, type=pa.string()).take(pa.array(codes))


def _flag(values: np.ndarray, yes: str, no: str) -> pa.Array:
    return pc.if_else(pa.array(values), pa.scalar(yes), pa.scalar(no))


def _dates(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values.astype("datetime64[D]")), pa.string())


def _renta_train(renta: np.ndarray) -> pa.Array:
    text = pc.cast(pa.array(renta, from_pandas=True), pa.string())
    return pc.fill_null(text, "")


def _renta_test(renta: np.ndarray) -> pa.Array:
    cents = np.round(np.nan_to_num(renta) * 100).astype(np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), width=2, padding="0")
    text = pc.binary_join_element_wise(whole, fraction, ".")
    text = pc.if_else(pa.array(np.isnan(renta)), pa.scalar("NA"), text)
    return pc.utf8_lpad(text, width=TEST_RENTA_WIDTH, padding=" ")


@dataclass
class StaticText:
    """Text of the attributes that never change, one entry per customer."""

    customer_id: pa.Array
    employee: pa.Array
    country: pa.Array
    sex: pa.Array
    join_date: pa.Array
    residence: pa.Array
    foreigner: pa.Array
    spouse: pa.Array
    channel: pa.Array
    deceased: pa.Array
    cod_prov: pa.Array
    cod_prov_padded: pa.Array
    nomprov: pa.Array
    renta_train: pa.Array
    renta_test: pa.Array
    segment: pa.Array

    @classmethod
    def build(cls, population, join_date: np.ndarray) -> StaticText:
        """Format the fixed attributes of every customer of `population`."""
        country = _pick(population.country_names, population.country)
        province = pc.split_pattern(_pick(population.province_names, population.province), "|", max_splits=1)
        code = pc.list_element(province, 0)
        code = pc.if_else(pc.equal(code, ""), pa.scalar("NA"), code)
        name = pc.list_element(province, 1)
        return cls(
            customer_id=pc.cast(pa.array(population.customer_id), pa.string()),
            employee=_pick(population.employee_names, population.employee),
            country=country,
            sex=_flag(population.sex_v, "V", "H"),
            join_date=_dates(join_date),
            residence=pc.if_else(pc.equal(country, "ES"), pa.scalar("S"), pa.scalar("N")),
            foreigner=_flag(population.foreigner, "S", "N"),
            spouse=_pick(population.spouse_names, population.spouse),
            channel=_pick(population.channel_names, population.channel),
            deceased=_flag(population.deceased, "S", "N"),
            cod_prov=code,
            cod_prov_padded=pc.utf8_lpad(code, width=PADDED_WIDTHS["cod_prov"], padding=" "),
            nomprov=pc.binary_join_element_wise(pa.scalar('"'), name, pa.scalar('"'), ""),
            renta_train=_renta_train(population.renta),
            renta_test=_renta_test(population.renta),
            segment=_pick(SEGMENTS, population.segment),
        )


class NumberText:
    """Lookup tables of small numbers as text, padded and plain."""

    def __init__(self) -> None:
        self.tables = {}
        for padded in (False, True):
            width = PADDED_WIDTHS if padded else {}
            self.tables[padded] = {
                "age": _number_table(MAX_AGE, width.get("age")),
                "antiguedad": _number_table(MAX_SENIORITY, width.get("antiguedad")),
                "flag": _number_table(2, width.get("ind_nuevo")),
                "indrel": pa.array(["1".rjust(width.get("indrel", 1)), "99"]),
                "tipodom": "1".rjust(width.get("tipodom", 1)),
            }


@dataclass
class MonthRows:
    """Values of one month's rows that change from month to month (one entry per row)."""

    month: str
    rows: np.ndarray  # customer indices into the population and `StaticText`
    age: np.ndarray
    is_new: np.ndarray
    seniority: np.ndarray  # months, or SENIORITY_SENTINEL
    relation_99: np.ndarray
    last_primary_date: np.ndarray  # datetime64[D]
    relation_month: pa.Array
    relation_type: pa.Array
    active: np.ndarray
    owned: np.ndarray | None
    payroll_null: np.ndarray
    mostly_blank: np.ndarray


def attribute_columns(rows: MonthRows, static: StaticText, numbers: NumberText, padded: bool, layout: str) -> list[pa.Array]:
    """Return the 24 attribute columns of the month as string arrays, quirks included."""
    table = numbers.tables[padded]
    index = pa.array(rows.rows)
    n = len(rows.rows)
    seniority = table["antiguedad"].take(pa.array(np.clip(rows.seniority, 0, MAX_SENIORITY - 1)))
    sentinel = rows.seniority == SENIORITY_SENTINEL
    if sentinel.any():
        seniority = pc.if_else(pa.array(sentinel), pa.scalar(str(SENIORITY_SENTINEL)), seniority)
    columns = [
        pa.array(np.full(n, f"{rows.month}-28")),
        static.customer_id.take(index),
        static.employee.take(index),
        static.country.take(index),
        static.sex.take(index),
        table["age"].take(pa.array(np.clip(rows.age, 0, MAX_AGE - 1))),
        static.join_date.take(index),
        table["flag"].take(pa.array(rows.is_new.astype(np.int64))),
        seniority,
        table["indrel"].take(pa.array(rows.relation_99.astype(np.int64))),
        pc.if_else(pa.array(rows.relation_99), _dates(rows.last_primary_date), pa.scalar("")),
        rows.relation_month,
        rows.relation_type,
        static.residence.take(index),
        static.foreigner.take(index),
        static.spouse.take(index),
        static.channel.take(index),
        static.deceased.take(index),
        pa.array(np.full(n, table["tipodom"])),
        (static.cod_prov_padded if padded else static.cod_prov).take(index),
        static.nomprov.take(index),
        table["flag"].take(pa.array(rows.active.astype(np.int64))),
        (static.renta_test if layout == "test" else static.renta_train).take(index),
        static.segment.take(index),
    ]
    return _blank_rows(columns, rows.mostly_blank, PADDED_WIDTHS if padded else {})


def _blank_values(width: dict[str, int]) -> list[str | None]:
    """Return the values of a row that lacks most attributes, by column. None keeps the column's value."""
    na = {c: _na(width.get(c)) for c in ("age", "antiguedad", "ind_nuevo", "indrel", "tipodom", "cod_prov", "ind_actividad_cliente")}
    return [
        None, None, "", "", "", na["age"], "", na["ind_nuevo"], na["antiguedad"], na["indrel"], "", "", "",
        "", "", "", "", "", na["tipodom"], na["cod_prov"], '""', na["ind_actividad_cliente"], "", "",
    ]


def _blank_rows(columns: list[pa.Array], mostly_blank: np.ndarray, width: dict[str, int]) -> list[pa.Array]:
    if not mostly_blank.any():
        return columns
    mask = pa.array(mostly_blank)
    values = _blank_values(width)
    return [column if value is None else pc.if_else(mask, pa.scalar(value), column) for column, value in zip(columns, values)]


def product_block(owned: np.ndarray, payroll_null: np.ndarray, padded: bool) -> pa.Array:
    """Return the 24 product flags of each row as one comma-separated string.

    Both payroll flags are 'NA' in `payroll_null` rows. In padded months they are two
    characters wide (' 0', ' 1', 'NA').
    """
    n = len(owned)
    cells = [np.full((n, 1), ord(","), dtype=np.uint8)]
    for p in range(N_PRODUCTS):
        digit = (owned[:, p:p + 1] + ord("0")).astype(np.uint8)
        if p in (NOMINA, NOM_PENS) and padded:
            first = np.full((n, 1), ord(" "), dtype=np.uint8)
            first[payroll_null] = ord("N")
            digit[payroll_null] = ord("A")
            cells += [first, digit]
        else:
            cells.append(digit)
        if p < N_PRODUCTS - 1:
            cells.append(np.full((n, 1), ord(","), dtype=np.uint8))
    matrix = np.ascontiguousarray(np.hstack(cells))
    width = matrix.shape[1]
    block = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32)), pa.py_buffer(matrix)]
    )
    if not padded and payroll_null.any():
        block = _plain_payroll_na(block, payroll_null, owned)
    return block


def _plain_payroll_na(block: pa.Array, payroll_null: np.ndarray, owned: np.ndarray) -> pa.Array:
    # Without padding 'NA' is wider than a digit, so those few rows are rebuilt one by one.
    rows = np.flatnonzero(payroll_null)
    fixed = []
    for row in rows:
        values = [str(v) for v in owned[row]]
        values[NOMINA] = values[NOM_PENS] = "NA"
        fixed.append("," + ",".join(values))
    return pc.replace_with_mask(block, pa.array(payroll_null), pa.array(fixed, type=pa.string()))


def join_lines(columns: list[pa.Array], tail: pa.Array | None = None) -> pa.Buffer:
    """Join string columns into CSV lines and return the bytes of all lines, newline-terminated.

    `tail`, such as a product block that starts with its own comma, is appended as it is.
    """
    lines = pc.binary_join_element_wise(*columns, ",")
    if tail is not None:
        lines = pc.binary_join_element_wise(lines, tail, "")
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
