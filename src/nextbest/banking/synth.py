"""A synthetic bank: monthly snapshot files in the Santander layouts, calibrated on real data.

`generate_bank` writes a training file (one row per customer per month, 48 columns) and a test
file (the month after, 24 columns, no products). It streams month by month, so memory grows with
the number of customers, not with the number of rows. The calibration that ships with
the package (`synth_calibration.json`, made by `tools/calibrate_synth.py`) sets the attribute
distributions, the holdings, the month-by-month row counts, the rates and mix of additions and
the rates of messy values; `synth_model` describes how holdings change.

Example
-------
>>> from nextbest.banking.synth import generate_bank
>>> summary = generate_bank(2000, out_train="train.csv", out_test="test.csv", seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
from rich.progress import Progress

from nextbest.banking.synth_format import (
    SENIORITY_SENTINEL,
    MonthRows,
    NumberText,
    StaticText,
    attribute_columns,
    header_line,
    join_lines,
    product_block,
)
from nextbest.banking.synth_model import (
    N_PRODUCTS,
    AdditionModel,
    CustomerState,
    load_calibration,
    step_month,
)
from nextbest.banking.synth_population import JUMP_MONTH, Population, build_population
from nextbest.errors import NextbestError
from nextbest._files import apply_default_permissions

log = logging.getLogger(__name__)

FIRST_MONTH = "2015-01"
LAST_MONTH = "2016-05"
DEFAULT_MONTHS = f"{FIRST_MONTH}..{LAST_MONTH}"
# Rows formatted at once; bounds the memory of the text of one chunk to a few hundred MB.
CHUNK_ROWS = 200_000
GZIP_LEVEL = 1
NEW_CUSTOMER_MONTHS = 6


@dataclass
class SynthSummary:
    """Summary of the files `generate_bank` wrote: rows per month, distinct customers and paths."""

    train_path: Path
    test_path: Path | None
    rows_per_month: dict[str, int] = field(default_factory=dict)
    test_rows: int = 0
    customers: int = 0

    @property
    def train_rows(self) -> int:
        return sum(self.rows_per_month.values())


@dataclass
class SimulatedMonth:
    """One generated month: the customers present, their holdings and their additions."""

    month: str
    index: int
    present: np.ndarray  # indices of present customers
    owned: np.ndarray  # (n_customers, n_products) holdings after the month's changes
    added: np.ndarray | None  # (n_customers, n_products), None in the first month
    eligible: np.ndarray  # bool (n_customers,): present in this month and the one before


def parse_months(text: str) -> list[str]:
    """Expand "YYYY-MM..YYYY-MM" into the list of months, checked against the calibrated range."""
    parts = text.split("..")
    if len(parts) != 2 or not all(_is_month(p) for p in parts):
        raise NextbestError(f"invalid month range {text!r}: expected YYYY-MM..YYYY-MM, for example {DEFAULT_MONTHS}")
    start, end = parts
    if not FIRST_MONTH <= start <= end <= LAST_MONTH:
        raise NextbestError(
            f"invalid month range {text!r}: the synthetic bank is calibrated for {FIRST_MONTH} to {LAST_MONTH}; "
            "choose a range inside it with the first month not after the last"
        )
    months = [start]
    while months[-1] != end:
        months.append(next_month(months[-1]))
    return months


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12


def simulate(
    customers: int,
    months: list[str],
    seed: int,
    calibration: dict[str, Any] | None = None,
) -> Iterator[tuple[Population, CustomerState, SimulatedMonth]]:
    """Generate the bank month by month, without writing files.

    Parameters
    ----------
    customers : int
        Expected customers of the last month of `months`.
    months : list of str
        Training months, "YYYY-MM"; the test month (the one after) is generated last.
    seed : int
    calibration : dict, optional
        A loaded calibration; the packaged one by default.

    Yields
    ------
    population, state, month : Population, CustomerState, SimulatedMonth
        The same population and state objects each time; the state contains the month's holdings.
    """
    calibration = calibration or load_calibration()
    model = AdditionModel.from_dict(calibration["model"])
    rng = np.random.default_rng(seed)
    all_months = months + [next_month(months[-1])]
    population = build_population(all_months, customers, calibration, rng)
    population.propensity = rng.normal(0.0, model.propensity_sd, size=len(population))
    state = CustomerState(
        owned=population.holdings,
        last_drop=np.full((len(population), N_PRODUCTS), -100, dtype=np.int16),
        active=population.active.copy(),
        age_band=population.age_band(population.age),
        segment=population.segment,
        propensity=population.propensity,
    )
    skip = calibration["quirks"]["skip_month"]
    previous = np.zeros(len(population), dtype=bool)
    # Rows of a month are written in customer id order, as in the real file.
    by_id = np.argsort(population.customer_id, kind="stable")
    for index, month in enumerate(all_months):
        alive = (population.first <= index) & (population.last >= index)
        present = alive & ~((population.first < index) & (rng.random(len(population)) < skip))
        eligible = present & previous
        state.age_band = population.age_band(age_in_month(population, index, month))
        added = None
        if index > 0 and index < len(months):
            added = step_month(state, model, month, index, eligible, rng)
        yield population, state, SimulatedMonth(month, index, by_id[present[by_id]], state.owned, added, eligible)
        previous = present


def age_in_month(population: Population, index: int, month: str) -> np.ndarray:
    """Return the ages in `month`. Each customer turns a year older in their birth month."""
    first_calendar = (int(month[5:7]) - 1 - (index - population.first)) % 12 + 1
    since_birthday = (first_calendar - population.birth_month) % 12
    return population.age + (since_birthday + index - population.first) // 12


def join_dates(population: Population, months: list[str]) -> np.ndarray:
    """Return the join date (`fecha_alta`) of every customer: first month minus seniority, plus a day."""
    first_month = np.datetime64(months[0], "M") + population.first
    return (first_month - population.seniority_at_first).astype("datetime64[D]") + (population.join_day - 1)


def month_rows(
    population: Population,
    state: CustomerState,
    sim: SimulatedMonth,
    rows: np.ndarray,
    quirks: dict[str, Any],
    rng: np.random.Generator,
) -> MonthRows:
    """Collect the values of customers `rows` in month `sim`, drawing the per-row quirks."""
    n = len(rows)
    seniority = population.seniority_at_first[rows] + (sim.index - population.first[rows])
    is_new = population.is_new[rows] & (seniority <= NEW_CUSTOMER_MONTHS)
    no_relation = is_new & (seniority <= 1) & (rng.random(n) < quirks["relation_month_empty_among_new"])
    seniority = np.where(rng.random(n) < quirks["seniority_sentinel"], SENIORITY_SENTINEL, seniority)

    spellings = list(quirks["relation_month_spelling"]) + [""]
    codes = _draw_codes(rng, quirks["relation_month_spelling"], n)
    codes[no_relation] = len(spellings) - 1
    relation_month = pa.array(spellings).take(pa.array(codes))

    active = state.active[rows]
    types = ["A", "I"] + list(quirks["relation_type_rare"]) + [""]
    type_codes = np.where(active ^ (rng.random(n) < quirks["relation_type_mismatch"]), 0, 1)
    rare = rng.random(n) < quirks["relation_type_rare_share"]
    type_codes[rare] = 2 + _draw_codes(rng, quirks["relation_type_rare"], int(rare.sum()))
    type_codes[no_relation] = len(types) - 1

    return MonthRows(
        month=sim.month,
        rows=rows,
        age=age_in_month(population, sim.index, sim.month)[rows],
        is_new=is_new,
        seniority=seniority,
        relation_99=rng.random(n) < quirks["relation_99"],
        last_primary_date=np.datetime64(sim.month, "D") + rng.integers(0, 28, size=n),
        relation_month=relation_month,
        relation_type=pa.array(types).take(pa.array(type_codes)),
        active=active,
        owned=state.owned[rows],
        payroll_null=rng.random(n) < quirks["payroll_null_rows"],
        mostly_blank=population.mostly_blank[rows] & (sim.month < JUMP_MONTH),
    )


def _draw_codes(rng: np.random.Generator, table: dict[str, float], size: int) -> np.ndarray:
    weights = np.asarray(list(table.values()), dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def format_rows(rows: MonthRows, static: StaticText, numbers: NumberText, layout: str) -> pa.Buffer:
    """Format `rows` as CSV lines of the training or test layout."""
    padded = layout == "train" and rows.month < JUMP_MONTH
    columns = attribute_columns(rows, static, numbers, padded, layout)
    tail = product_block(rows.owned, rows.payroll_null, padded) if layout == "train" else None
    return join_lines(columns, tail)


class _AtomicWriter:
    """Output file written aside and renamed into place on success, gzip when the name ends in .gz."""

    def __init__(self, path: Path):
        self.path = path
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        self._temp = Path(name)
        self._raw = os.fdopen(handle, "wb")
        self.stream: IO[bytes] = (
            gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
            if path.name.endswith(".gz")
            else self._raw
        )

    def commit(self) -> None:
        if self.stream is not self._raw:
            self.stream.close()
        self._raw.close()
        apply_default_permissions(self._temp)
        os.replace(self._temp, self.path)

    def discard(self) -> None:
        self._raw.close()
        self._temp.unlink(missing_ok=True)


def _open_output(path: str | os.PathLike) -> _AtomicWriter:
    target = Path(path)
    if not target.parent.is_dir():
        raise NextbestError(f"cannot write {target}: the folder {target.parent} does not exist; create it first")
    if target.is_dir():
        raise NextbestError(f"cannot write {target}: it is a folder; give a file name such as {target / 'train.csv.gz'}")
    return _AtomicWriter(target)


def generate_bank(
    customers: int,
    *,
    out_train: str | os.PathLike,
    out_test: str | os.PathLike | None = None,
    months: str = DEFAULT_MONTHS,
    seed: int = 0,
    progress: Progress | None = None,
) -> SynthSummary:
    """Write a synthetic bank's training file and, optionally, its test file.

    Parameters
    ----------
    customers : int
        Customers in the last training month (931,453 in the real data's 2016-05). The total
        number of training rows is about 14.65 times this for the default months.
    out_train : path
        Training-layout file; gzip-compressed when the name ends in ".gz".
    out_test : path, optional
        Test-layout file for the month after the last training month.
    months : str, default "2015-01..2016-05"
        Training months, "YYYY-MM..YYYY-MM", inside the calibrated range.
    seed : int, default 0
        The same seed and arguments give the same files.
    progress : rich.progress.Progress, optional
        Receives one task that advances by month.

    Returns
    -------
    SynthSummary
    """
    if customers < 10:
        raise NextbestError(f"invalid number of customers {customers}: give at least 10")
    month_list = parse_months(months)
    quirks = load_calibration()["quirks"]
    format_rng = np.random.default_rng([seed, 1])
    numbers = NumberText()
    static = None
    writers = {"train": _open_output(out_train)}
    if out_test is not None:
        writers["test"] = _open_output(out_test)
    summary = SynthSummary(Path(out_train), Path(out_test) if out_test is not None else None)
    task = progress.add_task("Generating the synthetic bank", total=len(month_list) + 1) if progress else None
    try:
        for writer_layout, writer in writers.items():
            writer.stream.write(header_line(writer_layout))
        for population, state, sim in simulate(customers, month_list, seed):
            layout = "train" if sim.index < len(month_list) else "test"
            if static is None:
                static = StaticText.build(population, join_dates(population, month_list))
            if layout in writers:
                _write_month(writers[layout], (population, state, sim, static, numbers), layout, quirks, format_rng)
            if layout == "train":
                summary.rows_per_month[sim.month] = len(sim.present)
            else:
                summary.test_rows = len(sim.present)
            summary.customers = len(population)
            log.debug("generated %s: %d rows", sim.month, len(sim.present))
            if progress is not None:
                progress.advance(task)
        for writer in writers.values():
            writer.commit()
    except BaseException:
        for writer in writers.values():
            writer.discard()
        raise
    log.info("wrote %d training rows to %s", summary.train_rows, out_train)
    return summary


def _write_month(writer, context, layout, quirks, rng) -> None:
    population, state, sim, static, numbers = context
    for start in range(0, len(sim.present), CHUNK_ROWS):
        rows = sim.present[start:start + CHUNK_ROWS]
        values = month_rows(population, state, sim, rows, quirks, rng)
        writer.stream.write(format_rows(values, static, numbers, layout))
