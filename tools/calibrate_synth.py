"""Derive the synthetic bank's calibration file from real Santander files and published rates.

Usage::

    python tools/calibrate_synth.py --data ../shared/data/santander \
        --out src/nextbest/banking/synth_calibration.json

The script runs in two stages. The first reads the real files and stores aggregate statistics
only: distributions, rates and fitted coefficients, never a customer's row. Attributes and
holdings come from the random 10% snapshot of 2016-03 and the first rows of 2015-01, and the
month-by-month row shape from random rows of every month. The conditional structure of additions
(which products follow which, re-adding after a drop, attributes) comes from the rebuilt panel
and the 2015-06 adders file. The second stage runs the generator on a small bank and tunes its
intercepts until the generated rates match the targets: the published monthly shares of
customers who add, the published product mix of additions and the published 1/2/3-product
shares.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from nextbest.banking import synth_model
from nextbest.banking.synth_model import AGE_BANDS, PRODUCT_COLUMNS, SEGMENTS

log = logging.getLogger("calibrate_synth")

PANEL = "panel_2015-12_to_2016-05_may_adders.csv.gz"
FIRST_ROWS = "dalvimanasi_train_ver2_first9999rows_2015-01.csv.gz"
SNAPSHOT = "jamesoliver_2016-03_10pct_customers_snapshot.csv.gz"
RANDOM_ROWS = "bingshang_train_ver2_random50k_products_only.csv.gz"
JUNE_ADDERS = "liyan_2015-06_adders_lags_2015-01_to_2015-05_labelencoded.csv.gz"

# Whole-file figures of train_ver2.csv: total rows, rows of 2016-05, and rows with most
# attributes missing or with empty payroll flags.
TRAIN_ROWS = 13_647_309
ROWS_2016_05 = 931_453
TEST_ROWS = 929_615
ROWS_MOSTLY_BLANK = 27_734
ROWS_PAYROLL_NULL = 16_063

# Published figures for the full training data: share of the month's customers who add at
# least one product, mix of all additions, and number of products added per adding customer.
PUBLISHED_ADDER_SHARE = {
    "2015-10": 0.054, "2015-11": 0.040, "2015-12": 0.041, "2016-01": 0.033,
    "2016-02": 0.042, "2016-03": 0.033, "2016-04": 0.031, "2016-05": 0.0319,
}
PUBLISHED_MIX = {
    "recibo": 0.272, "nom_pens": 0.151, "nomina": 0.130, "cco_fin": 0.124, "tjcr_fin": 0.123,
    "cno_fin": 0.066, "ecue_fin": 0.045, "dela_fin": 0.024, "reca_fin": 0.017, "ctma_fin": 0.012,
}
PUBLISHED_PRODUCTS_PER_ADDER = [0.798, 0.153, 0.0435]

# Minimum number of snapshot customers behind each stored category or holdings pattern, so that
# the file contains aggregates only.
MIN_COUNT = 10
MONTHS = [f"{y}-{m:02d}" for y, m in [(2015, i) for i in range(1, 13)] + [(2016, i) for i in range(1, 6)]]


def read_raw(path: Path, **kwargs) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)


def short_name(column: str) -> str:
    return column.removeprefix("ind_").removesuffix("_ult1")


def age_band(age: pd.Series) -> np.ndarray:
    values = pd.to_numeric(age, errors="coerce").fillna(40).to_numpy()
    return np.searchsorted(np.asarray(AGE_BANDS), values, side="right") - 1


def segment_index(segment: pd.Series) -> np.ndarray:
    return segment.map({name: i for i, name in enumerate(SEGMENTS)}).fillna(len(SEGMENTS) - 1).astype(int).to_numpy()


def distribution(values: pd.Series, min_count: int = MIN_COUNT) -> dict[str, float]:
    counts = values.value_counts()
    counts = counts[counts >= min_count]
    return {str(k): round(float(v / counts.sum()), 6) for k, v in counts.items()}


def quantiles(values: pd.Series) -> list[float]:
    # From the 0.5% to the 99.5% quantile, so that no single customer's extreme value is stored.
    return [round(float(q), 4) for q in np.quantile(values.to_numpy(dtype=float), np.linspace(0.005, 0.995, 100))]


# --- stage 1: statistics of the real files ---------------------------------------------------


def population_shape(random_rows: pd.DataFrame) -> dict:
    """Row count of each month per customer of 2016-05, from random rows of the real file.

    The counts of the random rows are smoothed (flat before 2015-07, an isotonic fit after) and
    set to 1 in 2016-05. The other months are scaled together so that all months add up to the
    real file's rows per 2016-05 customer (13,647,309 / 931,453).
    """
    counts = random_rows["fecha_dato"].str[:7].value_counts().reindex(MONTHS).to_numpy(dtype=float)
    first_half = np.full(6, counts[:6].mean())
    second = IsotonicRegression().fit_transform(np.arange(11), counts[6:])
    smoothed = np.concatenate([first_half, second])
    smoothed /= smoothed[-1]
    smoothed[:-1] *= (TRAIN_ROWS / ROWS_2016_05 - 1.0) / smoothed[:-1].sum()
    return {
        "rows_per_last_month_customer": {m: round(float(v), 5) for m, v in zip(MONTHS, smoothed)},
        "test_rows_per_last_month_customer": round(TEST_ROWS / ROWS_2016_05, 5),
    }


def attribute_tables(frame: pd.DataFrame) -> dict:
    """Distributions of every attribute, conditional on the segment where it matters."""
    seg = segment_index(frame["segmento"])
    band = age_band(frame["age"])
    active = frame["ind_actividad_cliente"].eq("1").to_numpy()
    renta = pd.to_numeric(frame["renta"], errors="coerce")
    age = pd.to_numeric(frame["age"], errors="coerce")
    seniority = pd.to_numeric(frame["antiguedad"], errors="coerce").clip(lower=0)
    tables: dict = {"segment": [float(np.mean(seg == i)) for i in range(len(SEGMENTS))], "by_segment": []}
    for i in range(len(SEGMENTS)):
        rows = seg == i
        part = frame[rows]
        band_counts = np.bincount(band[rows], minlength=len(AGE_BANDS) - 1)
        active_by_band = [
            float(active[rows & (band == b)].mean()) if (rows & (band == b)).sum() >= MIN_COUNT else float(active[rows].mean())
            for b in range(len(AGE_BANDS) - 1)
        ]
        tables["by_segment"].append({
            "age": distribution(age[rows].astype("Int64").astype(str), 3),
            "age_band": (band_counts / band_counts.sum()).round(6).tolist(),
            "active_by_age_band": [round(v, 6) for v in active_by_band],
            "sex_v": round(float(part["sexo"].eq("V").mean()), 6),
            "channel": distribution(part["canal_entrada"]),
            "renta_missing": round(float(renta[rows].isna().mean()), 6),
            "log_renta_quantiles": quantiles(np.log(renta[rows].dropna())) if renta[rows].notna().sum() > 100 else None,
            "seniority_quantiles": quantiles(seniority[rows].dropna()),
        })
    tables["province"] = distribution(frame["cod_prov"] + "|" + frame["nomprov"], 1)
    tables["employee"] = distribution(frame["ind_empleado"], 1)
    tables["country"] = distribution(frame["pais_residencia"])
    tables["foreigner"] = round(float(frame["indext"].eq("S").mean()), 6)
    tables["deceased"] = round(float(frame["indfall"].eq("S").mean()), 6)
    tables["spouse_of_employee"] = distribution(frame["conyuemp"], 1)
    return tables


def customer_groups(snapshot: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the snapshot into new customers (seniority of 6 months or less) and the others."""
    seniority = pd.to_numeric(snapshot["antiguedad"], errors="coerce")
    return {"new": snapshot[seniority <= 6], "established": snapshot[seniority > 6]}


def attribute_groups(snapshot: pd.DataFrame) -> dict:
    """Attribute tables of new and established customers; thin segments of new ones borrow."""
    attributes = {key: attribute_tables(frame) for key, frame in customer_groups(snapshot).items()}
    for s, table in enumerate(attributes["new"]["by_segment"]):
        if table["log_renta_quantiles"] is None or len(table["age"]) < 5:
            attributes["new"]["by_segment"][s] = attributes["established"]["by_segment"][s]
    return attributes


def holdings_patterns(frame: pd.DataFrame) -> list:
    """Holdings per segment and activity: frequent bit patterns and a rest of independent products.

    Patterns held by fewer than `MIN_COUNT` customers are not stored. Their customers form the
    rest, stored as its weight and the share of each product within it, so that rare
    many-product holdings keep their weight in the ownership shares.
    """
    bits = frame[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0).astype(np.int64).to_numpy()
    pattern = bits @ (1 << np.arange(len(PRODUCT_COLUMNS), dtype=np.int64))
    seg = segment_index(frame["segmento"])
    active = frame["ind_actividad_cliente"].eq("1").to_numpy().astype(int)
    tables = []
    for i in range(len(SEGMENTS)):
        row = []
        for a in (0, 1):
            cell = (seg == i) & (active == a)
            counts = pd.Series(pattern[cell]).value_counts()
            kept = counts[counts >= MIN_COUNT]
            rest = cell & ~np.isin(pattern, kept.index.to_numpy())
            total = max(int(cell.sum()), 1)
            if rest.sum() >= MIN_COUNT:
                rest_weight, rest_shares = rest.sum() / total, bits[rest].mean(axis=0)
            else:
                rest_weight, rest_shares = 0.0, np.zeros(len(PRODUCT_COLUMNS))
            if kept.empty and rest_weight == 0:
                kept = pd.Series({1 << PRODUCT_COLUMNS.index("ind_cco_fin_ult1"): 1})
            row.append({
                "patterns": [int(k) for k in kept.index],
                "weights": (kept / total).round(6).tolist(),
                "rest_weight": round(float(rest_weight), 6),
                "rest_shares": np.round(rest_shares, 5).tolist(),
            })
        tables.append(row)
    return tables


def quirk_rates(snapshot: pd.DataFrame, first_rows: pd.DataFrame, panel: pd.DataFrame) -> dict:
    """Rates of the messy values: spellings, empty categories, blank rows, skipped months."""
    new = pd.to_numeric(snapshot["antiguedad"], errors="coerce") <= 1
    spellings = distribution(snapshot.loc[snapshot["indrel_1mes"] != "", "indrel_1mes"], 1)
    months = sorted(panel["fecha_dato"].unique())
    present = pd.crosstab(panel["ncodpers"], panel["fecha_dato"]).reindex(columns=months).fillna(0).to_numpy()
    inner = gaps = 0
    for j in range(1, len(months) - 1):
        around = (present[:, :j].max(1) > 0) & (present[:, j + 1:].max(1) > 0)
        inner += around.sum()
        gaps += (around & (present[:, j] == 0)).sum()
    return {
        "relation_month_spelling": spellings,
        "relation_99": round(float(snapshot["indrel"].eq("99").mean()), 6),
        "relation_month_empty_among_new": round(float((snapshot.loc[new, "indrel_1mes"] == "").mean()), 6),
        "channel_empty": round(float(snapshot["canal_entrada"].eq("").mean()), 6),
        "segment_empty": round(float(snapshot["segmento"].eq("").mean()), 6),
        "relation_type_rare": distribution(snapshot.loc[snapshot["tiprel_1mes"].isin(["P", "R"]), "tiprel_1mes"], 1),
        "relation_type_rare_share": round(float(snapshot["tiprel_1mes"].isin(["P", "R"]).mean()), 6),
        "relation_type_mismatch": round(float(
            ((snapshot["tiprel_1mes"] == "A") != (snapshot["ind_actividad_cliente"] == "1"))[snapshot["tiprel_1mes"].isin(["A", "I"])].mean()
        ), 6),
        "mostly_blank_first_rows": round(float(first_rows["sexo"].eq("").mean()), 6),
        "payroll_null_first_rows": round(float(first_rows["ind_nomina_ult1"].eq("NA").mean()), 6),
        "payroll_null_rows": round(ROWS_PAYROLL_NULL / TRAIN_ROWS, 7),
        "mostly_blank_rows": ROWS_MOSTLY_BLANK,
        "skip_month": round(float(gaps / inner), 6),
        # NOTE: -999999 is absent from the 2016-03 snapshot and the 2015-01 first rows, so this
        # rate is an estimate of a rare value, not a measured one.
        "seniority_sentinel": 7e-5,
    }


def panel_histories(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Holdings of each panel customer by month, whether present, and their attributes."""
    months = sorted(panel["fecha_dato"].unique())
    customers = np.sort(panel["ncodpers"].astype(np.int64).unique())
    row = np.searchsorted(customers, panel["ncodpers"].astype(np.int64).to_numpy())
    col = np.searchsorted(np.asarray(months), panel["fecha_dato"].to_numpy())
    holdings = np.zeros((len(customers), len(months), len(PRODUCT_COLUMNS)), dtype=np.int8)
    present = np.zeros((len(customers), len(months)), dtype=bool)
    flags = panel[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0).astype(np.int8).to_numpy()
    holdings[row, col] = flags
    present[row, col] = True
    last = panel.drop_duplicates("ncodpers", keep="last").set_index(panel.drop_duplicates("ncodpers", keep="last")["ncodpers"].astype(np.int64)).loc[customers]
    attributes = {
        "band": age_band(last["age"]),
        "active": last["ind_actividad_cliente"].eq("1").to_numpy(),
        "segment": segment_index(last["segmento"]),
    }
    return holdings, present, attributes


def _design(owned, readd, band, active, segment) -> np.ndarray:
    return np.hstack([
        owned, readd, np.eye(len(AGE_BANDS) - 1)[band], active[:, None].astype(float), np.eye(len(SEGMENTS))[segment],
    ]).astype(float)


def fit_choice_model(holdings, present, attributes) -> dict[str, np.ndarray]:
    """Multinomial logit of which product is added, fitted on every addition in the panel."""
    features, labels = [], []
    for m in range(1, holdings.shape[1]):
        eligible = present[:, m] & present[:, m - 1]
        added = (holdings[:, m] == 1) & (holdings[:, m - 1] == 0) & eligible[:, None]
        earlier = holdings[:, max(0, m - 1 - synth_model.READD_WINDOW):m - 1].max(axis=1) if m >= 2 else np.zeros_like(holdings[:, 0])
        readd = (earlier == 1) & (holdings[:, m - 1] == 0)
        who, what = np.nonzero(added)
        features.append(_design(holdings[who, m - 1], readd[who], attributes["band"][who], attributes["active"][who], attributes["segment"][who]))
        labels.append(what)
    x, y = np.vstack(features), np.concatenate(labels)
    fit = LogisticRegression(C=0.5, max_iter=2000).fit(x, y)
    n, nb, ns = len(PRODUCT_COLUMNS), len(AGE_BANDS) - 1, len(SEGMENTS)
    coef = np.zeros((n, x.shape[1]))
    intercept = np.full(n, -12.0)
    coef[fit.classes_] = fit.coef_
    intercept[fit.classes_] = fit.intercept_
    log.info("choice model: %d additions, %d products seen", len(y), len(fit.classes_))
    return {
        "intercept": intercept, "owned": coef[:, :n], "readd": coef[:, n:2 * n],
        "band": coef[:, 2 * n:2 * n + nb], "active": coef[:, 2 * n + nb], "segment": coef[:, 2 * n + nb + 1:2 * n + nb + 1 + ns],
    }


def fit_adder_model(june: pd.DataFrame, snapshot: pd.DataFrame) -> dict[str, np.ndarray]:
    """Logistic model of who adds: 2015-06 adders against the 2016-03 population (case-control)."""
    adders = june.drop_duplicates("ncodpers")
    owned_adders = adders[[c + "_lag1" for c in PRODUCT_COLUMNS]].fillna(0).to_numpy()
    # The label encoding sorts the segment names, so codes 0, 1, 2 are TOP, PARTICULARES, UNIVERSITARIO.
    seg_adders = adders["segmento"].clip(0, 3).astype(int).to_numpy()
    band_adders = age_band(adders["age"].astype(str))
    owned_all = snapshot[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
    x = np.vstack([
        _design(owned_adders, np.zeros_like(owned_adders), band_adders, adders["ind_actividad_cliente"].eq(1).to_numpy(), seg_adders),
        _design(owned_all, np.zeros_like(owned_all), age_band(snapshot["age"]), snapshot["ind_actividad_cliente"].eq("1").to_numpy(), segment_index(snapshot["segmento"])),
    ])
    y = np.r_[np.ones(len(adders)), np.zeros(len(snapshot))]
    fit = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    n, nb = len(PRODUCT_COLUMNS), len(AGE_BANDS) - 1
    coef = fit.coef_[0]
    return {"owned": coef[:n], "band": coef[2 * n:2 * n + nb], "active": float(coef[2 * n + nb]), "segment": coef[2 * n + nb + 1:]}


def panel_adding_statistics(holdings, present) -> dict[str, float]:
    """Within-panel facts: the log odds ratio of adding after a recent drop, and repeat adding."""
    adds, drops = [], []
    for m in range(2, holdings.shape[1] - 1):
        eligible = present[:, m] & present[:, m - 1] & present[:, m - 2]
        added = ((holdings[:, m] == 1) & (holdings[:, m - 1] == 0)).any(axis=1)
        dropped = ((holdings[:, m - 2] == 1) & (holdings[:, m - 1] == 0)).any(axis=1)
        adds.append(added[eligible])
        drops.append(dropped[eligible])
    added, dropped = np.concatenate(adds), np.concatenate(drops)
    p1, p0 = added[dropped].mean(), added[~dropped].mean()
    april = holdings.shape[1] - 2
    eligible = present[:, april] & present[:, april - 1]
    added_april = ((holdings[:, april] == 1) & (holdings[:, april - 1] == 0)).any(axis=1)
    return {
        "recent_drop_log_odds": float(np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))),
        "may_adders_adding_in_april": float(added_april[eligible].mean()),
    }


# --- targets and the first model ----------------------------------------------------------


def adder_share_targets(shape: dict[str, float], june_adders: int) -> dict[str, dict]:
    """Target share of eligible customers who add, by month, each with where it comes from."""
    june_rows = shape["2015-06"] * ROWS_2016_05
    june = june_adders / june_rows
    published = PUBLISHED_ADDER_SHARE
    quiet = float(np.mean([published[m] for m in ("2016-01", "2016-02", "2016-03", "2016-04", "2016-05")]))
    targets = {}
    for month in MONTHS[1:]:
        if month in published:
            targets[month] = {"share": published[month], "source": "published"}
        elif month == "2015-06":
            targets[month] = {"share": round(june, 5), "source": "2015-06 adders file over the month's estimated rows"}
        elif month < "2015-06":
            targets[month] = {"share": round(quiet, 5), "source": "estimate: mean of the published 2016-01..2016-05 shares"}
        else:
            weight = (int(month[5:7]) - 6) / 4
            targets[month] = {"share": round(june + weight * (published["2015-10"] - june), 5),
                              "source": "estimate: between the 2015-06 and 2015-10 shares"}
    return targets


def mix_targets(choice: dict, june: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Target share of each product among all additions, and the June offsets of the logits."""
    names = [short_name(c) for c in PRODUCT_COLUMNS]
    target = np.zeros(len(names))
    for name, share in PUBLISHED_MIX.items():
        target[names.index(name)] = share
    rest = [i for i, name in enumerate(names) if name not in PUBLISHED_MIX and name not in ("ahor_fin", "aval_fin")]
    weights = np.exp(choice["intercept"][rest])
    # The published mix puts every other product under 1% each.
    target[rest] = np.minimum(weights / weights.sum() * (1 - target.sum()), 0.0099)
    target[names.index("ahor_fin")] = target[names.index("aval_fin")] = 2e-5
    june_mix = june["added_product"].map(short_name).value_counts(normalize=True).reindex(names).fillna(0).to_numpy()
    offsets = np.where((june_mix > 0) & (target > 0), np.log(np.maximum(june_mix, 1e-9) / np.maximum(target, 1e-9)), 0.0)
    return target / target.sum(), np.clip(offsets, -2.0, 2.0)


def drop_hazards(targets: dict, mix_target: np.ndarray, snapshot: pd.DataFrame) -> np.ndarray:
    """Monthly drop hazard of each product that balances its target additions.

    Drops balance additions, so that ownership shares stay near the 2016-03 snapshot's:
    adders per month x products per adder x mix / owners. Payroll pension (nom_pens) is also
    dropped with payroll (nomina), so its own hazard is lowered by that much.
    """
    mean_share = float(np.mean([t["share"] for t in targets.values()]))
    products_per_adder = float(np.dot(np.arange(1, 4), PUBLISHED_PRODUCTS_PER_ADDER) / np.sum(PUBLISHED_PRODUCTS_PER_ADDER))
    owned = snapshot[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0)
    hazard = np.clip(mean_share * products_per_adder * mix_target / np.maximum(owned.mean().to_numpy(), 1e-4), 1e-4, 0.3)
    nomina, pension = synth_model.NOMINA, synth_model.NOM_PENS
    both = (owned.iloc[:, nomina] * owned.iloc[:, pension]).sum() / max(owned.iloc[:, pension].sum(), 1)
    hazard[pension] = max(1e-4, hazard[pension] - hazard[nomina] * both)
    return hazard


# NOTE: published analyses report a December spike in cco_fin without its size, so this factor is an estimate.
DECEMBER_CCO_FIN_FACTOR = 2.0


def december_offsets() -> np.ndarray:
    offsets = np.zeros(len(PRODUCT_COLUMNS))
    offsets[PRODUCT_COLUMNS.index("ind_cco_fin_ult1")] = np.log(DECEMBER_CCO_FIN_FACTOR)
    return offsets


def initial_model(choice, adder, panel_stats, targets, mix_target, june_offsets, snapshot) -> synth_model.AdditionModel:
    december = december_offsets()
    published_k = np.array(PUBLISHED_PRODUCTS_PER_ADDER + [0.0042, 0.0003])
    return synth_model.AdditionModel(
        adder_owned=adder["owned"], adder_band=adder["band"], adder_active=adder["active"],
        adder_segment=adder["segment"], adder_recent_drop=panel_stats["recent_drop_log_odds"],
        # NOTE: the panel's attributes never change, so the effect of turning active is an estimate.
        adder_newly_active=1.5, propensity_sd=1.0,
        choice_intercept={"base": choice["intercept"], "june": choice["intercept"] + june_offsets, "december": choice["intercept"] + december},
        choice_owned=choice["owned"], choice_readd=choice["readd"], choice_band=choice["band"],
        choice_active=choice["active"], choice_segment=choice["segment"],
        products_added=published_k / published_k.sum(),
        nomina_alone=0.0023,
        drop_hazard=drop_hazards(targets, mix_target, snapshot),
        # NOTE: the real files show no activity transitions, because the panel repeats one month's
        # attributes. These monthly switch rates are estimates that keep the active share steady.
        activate=0.004, deactivate=0.006,
        month_intercept={m: float(np.log(t["share"] / (1 - t["share"]))) - 1.0 for m, t in targets.items()},
    )


# --- stage 2: tune the generator against the targets --------------------------------------


def measure(calibration: dict, customers: int, seed: int) -> dict:
    """Run the generator and measure the statistics that the tuning matches."""
    from nextbest.banking.synth import simulate

    n = len(PRODUCT_COLUMNS)
    share, mix, counts = {}, np.zeros(n), np.zeros(synth_model.MAX_PRODUCTS_ADDED + 3)
    added_by_month = {}
    for population, state, sim in simulate(customers, MONTHS, seed, calibration):
        if sim.added is None or sim.month not in MONTHS:
            continue
        per_customer = sim.added[sim.eligible].sum(axis=1)
        share[sim.month] = float((per_customer > 0).mean())
        counts += np.bincount(per_customer, minlength=len(counts))[: len(counts)]
        mix += sim.added.sum(axis=0)
        if sim.month == "2015-06":
            june_mix = sim.added.sum(axis=0) / max(sim.added.sum(), 1)
        added_by_month[sim.month] = (sim.added.any(axis=1), sim.eligible.copy())
    may_adders = added_by_month["2016-05"][0] & added_by_month["2016-05"][1]
    april_added, april_eligible = added_by_month["2016-04"]
    repeat = float(april_added[may_adders & april_eligible].mean())
    k = counts[1:] / counts[1:].sum()
    return {"share": share, "mix": mix / mix.sum(), "june_mix": june_mix, "k": k, "repeat": repeat}


# Final tuning rounds that leave the repeat-adding effects alone, so that the intercepts settle.
SETTLING_ROUNDS = 4


def tune(calibration: dict, targets: dict, mix_target: np.ndarray, june_offsets: np.ndarray, repeat_target: float,
         customers: int, rounds: int) -> dict:
    """Adjust intercepts, products per adder and repeat adding until the generated rates meet the targets."""
    june_target = np.asarray(list(calibration["targets"]["june_mix"].values()))
    model = calibration["model"]
    december_offsets = np.asarray(model["choice_intercept"]["december"]) - np.asarray(model["choice_intercept"]["base"])
    k_target = np.array(PUBLISHED_PRODUCTS_PER_ADDER + [0.0042, 0.0003])
    for round_ in range(rounds):
        got = measure(calibration, customers, seed=round_)
        for month, target in targets.items():
            shift = np.log(target["share"] / (1 - target["share"])) - np.log(max(got["share"][month], 1e-5) / (1 - got["share"][month]))
            model["month_intercept"][month] += float(shift)
        base = np.asarray(model["choice_intercept"]["base"])
        seen = (got["mix"] > 0) & (mix_target > 0)
        base[seen] += 0.8 * np.log(mix_target[seen] / got["mix"][seen])
        # June offsets move the June mix towards that of the real 2015-06 additions.
        common = (got["june_mix"] > 0.003) & (june_target > 0.003)
        june_offsets = june_offsets.copy()
        june_offsets[common] += 0.8 * np.log(june_target[common] / got["june_mix"][common]) - 0.8 * np.log(mix_target[common] / got["mix"][common])
        model["choice_intercept"] = {"base": base.tolist(), "june": (base + june_offsets).tolist(), "december": (base + december_offsets).tolist()}
        products = np.asarray(model["products_added"]) * np.clip(k_target[: len(got["k"])] / np.maximum(got["k"][:synth_model.MAX_PRODUCTS_ADDED], 1e-6), 0.5, 2.0)
        model["products_added"] = (products / products.sum()).tolist()
        # Repeat adding comes from the latent propensity, from activity and from re-adding after
        # a drop. The propensity is reduced first, then the other two effects. The activity
        # effect of the case-control fit overstates the cause, because adding a product also
        # makes a customer active.
        ratio = repeat_target / max(got["repeat"], 1e-3)
        if round_ >= rounds - SETTLING_ROUNDS:
            pass
        elif model["propensity_sd"] > 0.05 or ratio > 1:
            model["propensity_sd"] = float(np.clip(model["propensity_sd"] * ratio, 0.05, 4.0))
        else:
            model["adder_recent_drop"] = float(np.clip(model["adder_recent_drop"] * ratio ** 0.5, 0.0, 4.0))
            model["adder_active"] = float(np.clip(model["adder_active"] * ratio ** 0.5, 0.0, 4.0))
        worst = max(abs(got["share"][m] - t["share"]) / t["share"] for m, t in targets.items())
        log.info("round %d: worst month share error %.1f%%, repeat %.3f (target %.3f), one-product share %.3f",
                 round_, 100 * worst, got["repeat"], repeat_target, got["k"][0])
    return calibration


def real_statistics(data: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """Stage 1: the calibration before tuning, the target mix and the June offsets."""
    snapshot = read_raw(data / SNAPSHOT)
    first_rows = read_raw(data / FIRST_ROWS)
    panel = read_raw(data / PANEL)
    random_rows = read_raw(data / RANDOM_ROWS, usecols=["fecha_dato"])
    june = pd.read_csv(data / JUNE_ADDERS)

    population = population_shape(random_rows)
    groups = customer_groups(snapshot)
    attributes = attribute_groups(snapshot)
    quirks = quirk_rates(snapshot, first_rows, panel)
    first_half = sum(population["rows_per_last_month_customer"][m] for m in MONTHS[:6]) * ROWS_2016_05
    quirks["mostly_blank_share_first_half"] = round(ROWS_MOSTLY_BLANK / first_half, 6)

    holdings, present, panel_attributes = panel_histories(panel)
    choice = fit_choice_model(holdings, present, panel_attributes)
    adder = fit_adder_model(june, snapshot)
    panel_stats = panel_adding_statistics(holdings, present)
    targets = adder_share_targets(population["rows_per_last_month_customer"], june["ncodpers"].nunique())
    mix_target, june_offsets = mix_targets(choice, june)
    model = initial_model(choice, adder, panel_stats, targets, mix_target, june_offsets, snapshot)

    calibration = {
        "population": population,
        "attributes": attributes,
        "holdings": {key: holdings_patterns(frame) for key, frame in groups.items()},
        "quirks": quirks,
        "model": model.to_dict(),
        "targets": {
            "adder_share": targets,
            "mix": dict(zip([short_name(c) for c in PRODUCT_COLUMNS], np.round(mix_target, 6).tolist())),
            "products_per_adder": PUBLISHED_PRODUCTS_PER_ADDER,
            "may_adders_adding_in_april": round(panel_stats["may_adders_adding_in_april"], 5),
            "owned_share_2016_03": dict(zip([short_name(c) for c in PRODUCT_COLUMNS],
                                            snapshot[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0).mean().round(5).tolist())),
        },
    }
    return calibration, mix_target, june_offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the real Santander files")
    parser.add_argument("--out", type=Path, required=True, help="calibration file to write (JSON)")
    parser.add_argument("--customers", type=int, default=40_000, help="bank size of each tuning run")
    parser.add_argument("--rounds", type=int, default=16, help="tuning rounds")
    parser.add_argument("--reuse-statistics", type=Path, help="file that keeps the real-data statistics between runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.reuse_statistics and args.reuse_statistics.exists():
        calibration, extra = json.loads(args.reuse_statistics.read_text(encoding="utf-8"))
        june_offsets = np.asarray(extra["june_offsets"])
        mix_target = np.asarray(extra["mix_target"])
    else:
        calibration, mix_target, june_offsets = real_statistics(args.data)
        if args.reuse_statistics:
            extra = {"june_offsets": june_offsets.tolist(), "mix_target": mix_target.tolist()}
            args.reuse_statistics.write_text(json.dumps([calibration, extra]), encoding="utf-8")
    # The cheap statistics are always computed again; only the fitted models come from the cache.
    calibration["population"] = population_shape(read_raw(args.data / RANDOM_ROWS, usecols=["fecha_dato"]))
    snapshot = read_raw(args.data / SNAPSHOT)
    calibration["attributes"] = attribute_groups(snapshot)
    calibration["holdings"] = {key: holdings_patterns(frame) for key, frame in customer_groups(snapshot).items()}
    base = np.asarray(calibration["model"]["choice_intercept"]["base"])
    calibration["model"]["choice_intercept"]["december"] = (base + december_offsets()).tolist()
    calibration["model"]["drop_hazard"] = drop_hazards(calibration["targets"]["adder_share"], mix_target, snapshot).tolist()
    june = pd.read_csv(args.data / JUNE_ADDERS, usecols=["ncodpers", "added_product"])
    calibration["targets"]["adder_share"] = adder_share_targets(
        calibration["population"]["rows_per_last_month_customer"], june["ncodpers"].nunique()
    )
    names = [short_name(c) for c in PRODUCT_COLUMNS]
    june_mix = june["added_product"].map(short_name).value_counts(normalize=True).reindex(names).fillna(0)
    calibration["targets"]["june_mix"] = june_mix.round(6).to_dict()
    targets = calibration["targets"]["adder_share"]
    repeat = calibration["targets"]["may_adders_adding_in_april"]
    calibration = tune(calibration, targets, mix_target, june_offsets, repeat, args.customers, args.rounds)
    calibration["model"] = synth_model.AdditionModel.from_dict(calibration["model"]).to_dict()
    temporary = args.out.with_suffix(".json.part")
    temporary.write_text(json.dumps(calibration, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(args.out)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
