"""Customers of the synthetic bank: who is present in which month, and their fixed attributes.

The row count of each month follows the real file's shape (flat 2015-01 to 2015-06, a jump in
2015-07, then slow growth), scaled so that the last generated month has the requested number of
customers. Customers leave at a small monthly hazard, skip single months at the real rate, and
new customers join every month. The 2015-07 jump is mostly customers with long seniority, as in
the real file, where few of the customers who appear then have a recent join date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nextbest.banking.synth_model import AGE_BANDS, N_PRODUCTS, SEGMENTS

# NOTE: the real file gives no direct measure of customers leaving; this hazard is an estimate.
LEAVE_HAZARD = 0.002
FIRST_ID = 15889
JUMP_MONTH = "2015-07"


@dataclass
class Population:
    """Fixed attributes and presence of every customer (one entry per customer).

    Months are indices into the generated month list; `first` is the month a customer first
    appears, `last` the last month they may appear in.
    """

    customer_id: np.ndarray
    first: np.ndarray
    last: np.ndarray
    is_new: np.ndarray
    segment: np.ndarray
    age: np.ndarray
    birth_month: np.ndarray
    active: np.ndarray
    sex_v: np.ndarray
    channel: np.ndarray
    channel_names: list[str]
    province: np.ndarray
    province_names: list[str]
    employee: np.ndarray
    employee_names: list[str]
    country: np.ndarray
    country_names: list[str]
    foreigner: np.ndarray
    deceased: np.ndarray
    spouse: np.ndarray
    spouse_names: list[str]
    renta: np.ndarray
    seniority_at_first: np.ndarray
    join_day: np.ndarray
    mostly_blank: np.ndarray
    propensity: np.ndarray
    holdings: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_id)

    def age_band(self, age: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(AGE_BANDS), age, side="right") - 1


def monthly_targets(months: list[str], customers: int, calibration: dict[str, Any]) -> np.ndarray:
    """Return the expected rows of each month: the calibrated shape, `customers` in the last training month."""
    shape = calibration["population"]["rows_per_last_month_customer"]
    values = np.array([shape[m] for m in months[:-1]], dtype=float)
    test_ratio = calibration["population"]["test_rows_per_last_month_customer"]
    values = np.append(values, values[-1] * test_ratio)
    return values / values[-2] * customers


def plan_arrivals(targets: np.ndarray, skip: float) -> np.ndarray:
    """Return how many customers first appear in each month, so that expected counts meet `targets`."""
    alive_needed = targets / (1.0 - skip)
    arrivals = np.empty(len(targets))
    arrivals[0] = alive_needed[0]
    for i in range(1, len(targets)):
        arrivals[i] = max(0.0, alive_needed[i] - alive_needed[i - 1] * (1.0 - LEAVE_HAZARD))
    return np.round(arrivals).astype(np.int64)


def _categorical(rng, table: dict[str, float], size: int) -> tuple[np.ndarray, list[str]]:
    names = list(table)
    weights = np.asarray([table[n] for n in names], dtype=float)
    return rng.choice(len(names), size=size, p=weights / weights.sum()), names


def _from_quantiles(rng, quantiles: list[float], size: int) -> np.ndarray:
    grid = np.linspace(0.0, 1.0, len(quantiles))
    return np.interp(rng.random(size), grid, np.asarray(quantiles))


def _draw_ages(rng, segment_tables: list[dict], segment: np.ndarray) -> np.ndarray:
    age = np.empty(len(segment), dtype=np.int64)
    for s, table in enumerate(segment_tables):
        rows = np.flatnonzero(segment == s)
        ages, names = _categorical(rng, table["age"], len(rows))
        age[rows] = np.asarray([int(n) for n in names])[ages]
    return age


def _draw_group(rng, group: dict[str, Any], patterns: list, size: int, channel_names: list[str]) -> dict[str, Any]:
    """Draw the attributes and initial holdings of `size` customers of one group."""
    segment = rng.choice(len(SEGMENTS), size=size, p=np.asarray(group["segment"]) / np.sum(group["segment"]))
    age = _draw_ages(rng, group["by_segment"], segment)
    band = np.searchsorted(np.asarray(AGE_BANDS), age, side="right") - 1
    out = {
        "segment": segment, "age": age, "active": np.zeros(size, bool), "sex_v": np.zeros(size, bool),
        "channel": np.zeros(size, np.int64), "renta": np.full(size, np.nan), "seniority": np.zeros(size),
        "holdings": np.zeros((size, N_PRODUCTS), np.int8),
    }
    for s, table in enumerate(group["by_segment"]):
        rows = np.flatnonzero(segment == s)
        n = len(rows)
        out["active"][rows] = rng.random(n) < np.asarray(table["active_by_age_band"])[band[rows]]
        out["sex_v"][rows] = rng.random(n) < table["sex_v"]
        picks, names = _categorical(rng, table["channel"], n)
        out["channel"][rows] = np.asarray([channel_names.index(name) for name in names])[picks]
        if table["log_renta_quantiles"] is not None:
            has_renta = rng.random(n) >= table["renta_missing"]
            values = np.exp(_from_quantiles(rng, table["log_renta_quantiles"], n))
            # Cents times 0.01, so that some values print with binary rounding digits, as in the real file.
            out["renta"][rows] = np.where(has_renta, np.round(values * 100) * 0.01, np.nan)
        out["seniority"][rows] = np.floor(_from_quantiles(rng, table["seniority_quantiles"], n))
        for a in (0, 1):
            part = rows[out["active"][rows] == a]
            out["holdings"][part] = _draw_holdings(rng, patterns[s][a], len(part))
    return out


def _draw_holdings(rng, table: dict[str, Any], size: int) -> np.ndarray:
    """Draw holdings from the frequent patterns, or product by product for the rest."""
    patterns = np.asarray(table["patterns"], dtype=np.int64)
    weights = np.append(np.asarray(table["weights"], dtype=float), table.get("rest_weight", 0.0))
    choice = rng.choice(len(weights), size=size, p=weights / weights.sum())
    from_pattern = choice < len(patterns)
    holdings = np.zeros((size, N_PRODUCTS), dtype=np.int8)
    chosen = patterns[choice[from_pattern]]
    holdings[from_pattern] = ((chosen[:, None] >> np.arange(N_PRODUCTS)) & 1).astype(np.int8)
    rest = ~from_pattern
    if rest.any():
        shares = np.asarray(table["rest_shares"], dtype=float)
        holdings[rest] = (rng.random((int(rest.sum()), N_PRODUCTS)) < shares).astype(np.int8)
    return holdings


def build_population(months: list[str], customers: int, calibration: dict[str, Any], rng: np.random.Generator) -> Population:
    """Draw every customer who appears in `months` (the last one is the test month).

    Parameters
    ----------
    months : list of str
        The generated months, "YYYY-MM", the test month last.
    customers : int
        Expected customers of the last training month.
    calibration : dict
        The loaded calibration file.
    rng : numpy.random.Generator
    """
    quirks = calibration["quirks"]
    arrivals = plan_arrivals(monthly_targets(months, customers, calibration), quirks["skip_month"])
    first = np.repeat(np.arange(len(months)), arrivals)
    is_new = _arrivals_are_new(months, arrivals, first)
    n = len(first)
    stay = rng.geometric(LEAVE_HAZARD, size=n)
    last = np.minimum(first + stay - 1, len(months) - 1)

    groups = calibration["attributes"]
    channel_names = sorted({c for g in groups.values() for t in g["by_segment"] for c in t["channel"]})
    columns: dict[str, Any] = {}
    for flag, key in ((True, "new"), (False, "established")):
        rows = np.flatnonzero(is_new == flag)
        drawn = _draw_group(rng, groups[key], calibration["holdings"][key], len(rows), channel_names)
        for name, values in drawn.items():
            if name not in columns:
                columns[name] = np.zeros((n,) + values.shape[1:], dtype=values.dtype)
            columns[name][rows] = values
    columns["seniority"][is_new] = 0

    shared = groups["established"]
    province, province_names = _categorical(rng, shared["province"], n)
    employee, employee_names = _categorical(rng, shared["employee"], n)
    country, country_names = _categorical(rng, shared["country"], n)
    spouse, spouse_names = _categorical(rng, shared["spouse_of_employee"], n)
    blank_months = sum(1 for m in months[:-1] if m < JUMP_MONTH)
    mostly_blank = (first < blank_months) & (rng.random(n) < quirks["mostly_blank_share_first_half"])

    # Older customers get lower ids, as in the real file.
    order = np.lexsort((-columns["seniority"], first))
    customer_id = np.empty(n, dtype=np.int64)
    customer_id[order] = FIRST_ID + np.cumsum(rng.geometric(0.6, size=n)) - 1

    return Population(
        customer_id=customer_id, first=first, last=last, is_new=is_new,
        segment=columns["segment"], age=columns["age"], birth_month=rng.integers(1, 13, size=n),
        active=columns["active"], sex_v=columns["sex_v"],
        channel=columns["channel"], channel_names=channel_names,
        province=province, province_names=province_names,
        employee=employee, employee_names=employee_names,
        country=country, country_names=country_names,
        foreigner=rng.random(n) < shared["foreigner"], deceased=rng.random(n) < shared["deceased"],
        spouse=spouse, spouse_names=spouse_names,
        renta=columns["renta"], seniority_at_first=columns["seniority"].astype(np.int64),
        join_day=rng.integers(1, 29, size=n), mostly_blank=mostly_blank,
        propensity=np.zeros(n), holdings=columns["holdings"],
    )


def _arrivals_are_new(months: list[str], arrivals: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Mark arrivals as new customers: all after the first month, except most of the jump month."""
    is_new = first > 0
    if JUMP_MONTH in months[1:]:
        jump = months.index(JUMP_MONTH)
        later = arrivals[jump + 1:-1]
        new_in_jump = int(np.median(later)) if len(later) else 0
        rows = np.flatnonzero(first == jump)
        is_new[rows[new_in_jump:]] = False
    return is_new
