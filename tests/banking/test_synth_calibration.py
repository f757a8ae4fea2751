"""Calibration check of the synthetic bank: its statistics beside the real files and published rates.

One bank of 40,000 customers (in 2016-05) is simulated once for the whole module. Tolerances
allow for the sampling noise of a bank this size: about 1,300 customers add in a month.

Published figures for the full Santander training data: the share of customers adding at least
one product per month runs from 5.4% (2015-10) to 3.19% (2016-05). Of all additions recibo 27.2%, nom_pens
15.1%, nomina 13.0%, cco_fin 12.4%, tjcr_fin 12.3%, cno_fin 6.6%, ecue_fin 4.5%, dela_fin 2.4%,
reca_fin 1.7%, ctma_fin 1.2%; 79.8% of adding customers add one product, 15.3% two, 4.35% three.
Real-data figures for the rebuilt panel of 2016-05 adders: MAP@7 0.655 for popularity and 0.850
for LightGBM, one classifier per product on the holdings of three months and nine attributes.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from conftest import SANTANDER, shared_file
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from nextbest.banking.synth import generate_bank, parse_months, simulate
from nextbest.banking.synth_model import AGE_BANDS, NOM_PENS, NOMINA, PRODUCT_COLUMNS, PRODUCTS, SEGMENTS
from nextbest.multilabel.metrics import map_at_k

CUSTOMERS = 40_000
PUBLISHED_SHARE = {
    "2015-10": 0.054, "2015-11": 0.040, "2015-12": 0.041, "2016-01": 0.033,
    "2016-02": 0.042, "2016-03": 0.033, "2016-04": 0.031, "2016-05": 0.0319,
}
PUBLISHED_MIX = {
    "recibo": 0.272, "nom_pens": 0.151, "nomina": 0.130, "cco_fin": 0.124, "tjcr_fin": 0.123,
    "cno_fin": 0.066, "ecue_fin": 0.045, "dela_fin": 0.024, "reca_fin": 0.017, "ctma_fin": 0.012,
}
PUBLISHED_PRODUCTS_PER_ADDER = [0.798, 0.153, 0.0435]


class Bank:
    """Holdings, additions and attributes of one simulated bank, by month."""

    def __init__(self):
        months = parse_months("2015-01..2016-05")
        self.rows = {}
        self.share = {}
        self.added = {}
        self.owned = {}
        self.eligible = {}
        for population, state, sim in simulate(CUSTOMERS, months, seed=11):
            self.rows[sim.month] = len(sim.present)
            self.owned[sim.month] = state.owned.copy()
            if sim.added is not None:
                self.added[sim.month] = sim.added
                self.eligible[sim.month] = sim.eligible
                self.share[sim.month] = float(sim.added[sim.eligible].any(axis=1).mean())
            if sim.month == "2016-03":
                self.present_march = sim.present
                self.active_march = state.active.copy()
        self.population = population
        self.state = state

    def mix(self, months=None) -> dict[str, float]:
        totals = sum(self.added[m].sum(axis=0) for m in (months or self.added))
        return dict(zip(PRODUCTS, totals / totals.sum()))


@pytest.fixture(scope="module")
def bank() -> Bank:
    return Bank()


@functools.lru_cache(maxsize=1)
def _read_snapshot(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def snapshot(santander_snapshot_2016_03) -> pd.DataFrame:
    return _read_snapshot(santander_snapshot_2016_03)


# --- published rates -----------------------------------------------------------------------


def test_monthly_adder_share_matches_published(bank):
    # Within 25% of each published monthly share.
    for month, published in PUBLISHED_SHARE.items():
        assert bank.share[month] == pytest.approx(published, rel=0.25), month


def test_product_mix_matches_published(bank):
    mix = bank.mix()
    for product, published in PUBLISHED_MIX.items():
        assert mix[product] == pytest.approx(published, abs=0.03), product
    for product in set(PRODUCTS) - set(PUBLISHED_MIX):
        assert mix[product] < 0.015, product
    assert mix["ahor_fin"] + mix["aval_fin"] < 0.001


def test_products_per_adder_match_published(bank):
    counts = np.concatenate([bank.added[m][bank.eligible[m]].sum(axis=1) for m in bank.added])
    counts = counts[counts > 0]
    for k, published in enumerate(PUBLISHED_PRODUCTS_PER_ADDER, start=1):
        assert np.mean(counts == k) == pytest.approx(published, abs=0.03), k


def test_payroll_rarely_added_without_pension(bank):
    nomina = np.concatenate([bank.added[m][:, NOMINA] for m in bank.added]) == 1
    pension = np.concatenate([bank.added[m][:, NOM_PENS] for m in bank.added]) == 1
    assert nomina.sum() > 100
    assert (nomina & pension).sum() / nomina.sum() > 0.95


def test_june_and_december_spikes(bank):
    overall = bank.mix()
    june = bank.mix(["2015-06"])
    december = bank.mix(["2015-12"])
    assert june["reca_fin"] > 2 * overall["reca_fin"]
    assert june["cco_fin"] > 1.3 * overall["cco_fin"]
    assert december["cco_fin"] > 1.1 * overall["cco_fin"]


def test_june_mix_matches_real_june_adders(bank):
    real = pd.read_csv(shared_file(SANTANDER, "liyan_2015-06_adders_lags_2015-01_to_2015-05_labelencoded.csv.gz"), usecols=["added_product"])
    real_mix = real["added_product"].str.removeprefix("ind_").str.removesuffix("_ult1").value_counts(normalize=True)
    june = bank.mix(["2015-06"])
    for product in ("cco_fin", "recibo", "nom_pens", "nomina", "tjcr_fin", "reca_fin"):
        assert june[product] == pytest.approx(real_mix[product], abs=0.05), product


def test_rows_flat_then_jump_in_july(bank):
    first_half = [bank.rows[m] for m in parse_months("2015-01..2015-06")]
    assert max(first_half) / min(first_half) < 1.03
    assert bank.rows["2015-07"] / bank.rows["2015-06"] > 1.25
    assert bank.rows["2016-05"] == pytest.approx(CUSTOMERS, rel=0.02)
    # The real file: 13,647,309 rows, 931,453 of them in 2016-05.
    training_rows = sum(n for month, n in bank.rows.items() if month != "2016-06")
    assert training_rows / bank.rows["2016-05"] == pytest.approx(13_647_309 / 931_453, rel=0.02)


# --- real files ----------------------------------------------------------------------------


def test_holdings_match_march_snapshot(bank, snapshot):
    real = snapshot[PRODUCT_COLUMNS].apply(pd.to_numeric, errors="coerce").fillna(0).mean()
    generated = bank.owned["2016-03"][bank.present_march].mean(axis=0)
    for column, product, value in zip(PRODUCT_COLUMNS, PRODUCTS, generated):
        # Within 30% of the real share, or 0.005 for rare products.
        assert value == pytest.approx(real[column], rel=0.3, abs=0.005), product


def test_attributes_match_march_snapshot(bank, snapshot):
    rows = bank.present_march
    population = bank.population
    segment = np.bincount(population.segment[rows], minlength=len(SEGMENTS)) / len(rows)
    for i, name in enumerate(SEGMENTS):
        assert segment[i] == pytest.approx((snapshot["segmento"] == name).mean(), abs=0.03), name
    assert np.isnan(population.renta[rows]).mean() == pytest.approx((snapshot["renta"] == "").mean(), abs=0.04)
    real_age = pd.to_numeric(snapshot["age"], errors="coerce")
    assert np.median(population.age[rows]) == pytest.approx(real_age.median(), abs=3)
    assert bank.active_march[rows].mean() == pytest.approx((snapshot["ind_actividad_cliente"] == "1").mean(), abs=0.05)


def test_first_month_quirks_match_first_rows(tmp_path, santander_first_rows):
    real = pd.read_csv(santander_first_rows, dtype=str, keep_default_na=False)
    target = tmp_path / "january.csv"
    generate_bank(6000, out_train=target, months="2015-01..2015-01", seed=2)
    generated = pd.read_csv(target, dtype=str, keep_default_na=False)
    for frame in (real, generated):
        assert frame["age"].str.len().eq(3).all()
        assert frame["antiguedad"].str.len().eq(7).all()
    blank = (generated["sexo"] == "").mean()
    assert blank == pytest.approx((real["sexo"] == "").mean(), abs=0.005)
    spelled = (generated["indrel_1mes"] == "1.0").mean()
    assert spelled == pytest.approx((real["indrel_1mes"] == "1.0").mean(), abs=0.12)
    assert (generated["ind_nomina_ult1"] == "NA").mean() < 0.005
    assert (generated["renta"] == "").mean() == pytest.approx((real["renta"] == "").mean(), abs=0.06)


# --- learnable structure -------------------------------------------------------------------


def _features(bank: Bank, month: str, rows: np.ndarray) -> np.ndarray:
    """Holdings of the three months before `month`, age band, activity and segment, one-hot."""
    months = list(bank.owned)
    i = months.index(month)
    lags = [bank.owned[months[i - lag]][rows] for lag in (1, 2, 3)]
    population = bank.population
    band = np.searchsorted(np.asarray(AGE_BANDS), population.age[rows], side="right") - 1
    attributes = [np.eye(len(AGE_BANDS) - 1)[band], bank.state.active[rows, None], np.eye(len(SEGMENTS))[population.segment[rows]]]
    return np.hstack(lags + attributes).astype(float)


def test_model_beats_popularity_like_real_panel(bank):
    train_x, train_y = [], []
    for month in ("2016-01", "2016-02", "2016-03", "2016-04"):
        rows = np.flatnonzero(bank.eligible[month] & bank.added[month].any(axis=1))
        who, what = np.nonzero(bank.added[month][rows])
        train_x.append(_features(bank, month, rows)[who])
        train_y.append(what)
    x, y = np.vstack(train_x), np.concatenate(train_y)
    # One BLAS thread: on a busy machine more threads make this fit many times slower.
    with threadpool_limits(1):
        model = LogisticRegression(max_iter=1000).fit(x, y)

    rows = np.flatnonzero(bank.eligible["2016-05"] & bank.added["2016-05"].any(axis=1))
    truth = bank.added["2016-05"][rows]
    owned = bank.owned["2016-04"][rows]
    scores = np.zeros(truth.shape)
    scores[:, model.classes_] = model.predict_proba(_features(bank, "2016-05", rows))
    popularity = np.tile(np.bincount(y, minlength=len(PRODUCTS)).astype(float), (len(rows), 1))

    popularity_map = map_at_k(truth, popularity, 7, exclude=owned)
    model_map = map_at_k(truth, scores, 7, exclude=owned)
    # Among adders of the real panel, popularity scores 0.655 and LightGBM 0.850.
    assert popularity_map == pytest.approx(0.655, abs=0.1)
    assert model_map - popularity_map > 0.1


def test_repeat_adding_near_real_panel(bank):
    may_adders = bank.eligible["2016-05"] & bank.added["2016-05"].any(axis=1)
    eligible = may_adders & bank.eligible["2016-04"]
    repeat = bank.added["2016-04"][eligible].any(axis=1).mean()
    # In the real panel 11.7% of the 2016-05 adders also added in 2016-04, against about 3% of all customers.
    assert repeat == pytest.approx(0.117, abs=0.1)
    assert repeat > 2 * bank.share["2016-04"]
