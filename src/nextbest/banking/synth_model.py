"""The synthetic bank's model: its calibration and how holdings change from month to month.

Each month every customer present in the month and the month before may add products and drop
products. Whether a customer adds anything is a logistic model of the holdings, age band,
activity, segment, a drop in the last three months and a switch to active. A latent propensity
that lasts the customer's life adds to it, so adders tend to add again. Which products are added
is a multinomial logit over the products not held, fitted to real additions. It depends on the
products held, the products dropped in the last three months (re-adding), age band, activity and
segment, with extra weight for June and December products. Products held are dropped at a
per-product monthly hazard that keeps ownership shares stable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

PRODUCT_COLUMNS = [
    "ind_ahor_fin_ult1", "ind_aval_fin_ult1", "ind_cco_fin_ult1", "ind_cder_fin_ult1",
    "ind_cno_fin_ult1", "ind_ctju_fin_ult1", "ind_ctma_fin_ult1", "ind_ctop_fin_ult1",
    "ind_ctpp_fin_ult1", "ind_deco_fin_ult1", "ind_deme_fin_ult1", "ind_dela_fin_ult1",
    "ind_ecue_fin_ult1", "ind_fond_fin_ult1", "ind_hip_fin_ult1", "ind_plan_fin_ult1",
    "ind_pres_fin_ult1", "ind_reca_fin_ult1", "ind_tjcr_fin_ult1", "ind_valo_fin_ult1",
    "ind_viv_fin_ult1", "ind_nomina_ult1", "ind_nom_pens_ult1", "ind_recibo_ult1",
]
PRODUCTS = [c.removeprefix("ind_").removesuffix("_ult1") for c in PRODUCT_COLUMNS]
N_PRODUCTS = len(PRODUCTS)
NOMINA = PRODUCTS.index("nomina")
NOM_PENS = PRODUCTS.index("nom_pens")

# The last entry stands for an empty segment.
SEGMENTS = ["01 - TOP", "02 - PARTICULARES", "03 - UNIVERSITARIO", ""]
# Lower edges of the age bands in years. A customer falls in the last band whose edge is <= age.
AGE_BANDS = [0, 24, 30, 40, 50, 60, 200]
N_BANDS = len(AGE_BANDS) - 1
# Months (1-12) whose additions follow a seasonal product mix.
SEASONAL_MONTHS = {6: "june", 12: "december"}
# A drop in this many months before counts as recent for re-adding.
READD_WINDOW = 3
MAX_PRODUCTS_ADDED = 5

CALIBRATION_FILE = "synth_calibration.json"


def load_calibration() -> dict[str, Any]:
    """Read the calibration file that ships with the package."""
    text = resources.files("nextbest.banking").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@dataclass
class AdditionModel:
    """Coefficients of the monthly addition and drop model, as arrays.

    `adder_*` arrays belong to the logistic model of whether a customer adds anything.
    `choice_*` arrays, of shape (n_products, ...), belong to the multinomial logit of which
    products are added.
    """

    adder_owned: np.ndarray  # (n_products,)
    adder_band: np.ndarray  # (n_bands,)
    adder_active: float
    adder_segment: np.ndarray  # (n_segments,)
    adder_recent_drop: float
    adder_newly_active: float
    propensity_sd: float
    choice_intercept: dict[str, np.ndarray]  # "base", "june", "december" -> (n_products,)
    choice_owned: np.ndarray  # (n_products, n_products): row = product added, column = held
    choice_readd: np.ndarray  # (n_products, n_products)
    choice_band: np.ndarray  # (n_products, n_bands)
    choice_active: np.ndarray  # (n_products,)
    choice_segment: np.ndarray  # (n_products, n_segments)
    products_added: np.ndarray  # (MAX_PRODUCTS_ADDED,): probability of adding k = 1, 2, ...
    nomina_alone: float
    drop_hazard: np.ndarray  # (n_products,)
    activate: float
    deactivate: float
    month_intercept: dict[str, float]  # "YYYY-MM" -> adder intercept

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdditionModel:
        arrays = {}
        for name, value in data.items():
            if name == "choice_intercept":
                arrays[name] = {k: np.asarray(v, dtype=float) for k, v in value.items()}
            elif isinstance(value, list):
                arrays[name] = np.asarray(value, dtype=float)
            else:
                arrays[name] = value
        # Stored probabilities are rounded, so they are normalised again here.
        arrays["products_added"] = arrays["products_added"] / arrays["products_added"].sum()
        return cls(**arrays)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                out[name] = np.round(value, 5).tolist()
            elif name == "choice_intercept":
                out[name] = {k: np.round(v, 5).tolist() for k, v in value.items()}
            elif isinstance(value, float):
                out[name] = round(value, 6)
            else:
                out[name] = value
        return out


@dataclass
class CustomerState:
    """State that the monthly step reads and changes, one row per customer."""

    owned: np.ndarray  # (n, n_products) int8
    last_drop: np.ndarray  # (n, n_products) int16: month index of the last drop, -100 if none
    active: np.ndarray  # (n,) bool
    age_band: np.ndarray  # (n,) int
    segment: np.ndarray  # (n,) int
    propensity: np.ndarray  # (n,) float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def choice_kind(month: str) -> str:
    return SEASONAL_MONTHS.get(int(month[5:7]), "base")


def step_month(
    state: CustomerState,
    model: AdditionModel,
    month: str,
    month_index: int,
    eligible: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Advance the holdings of `eligible` customers by one month, in place.

    Parameters
    ----------
    state : CustomerState
        Holdings and attributes of every customer; `owned`, `last_drop` and `active` change.
    model : AdditionModel
    month : str
        The month being generated, "YYYY-MM".
    month_index : int
        Position of `month` in the generated range; `last_drop` stores these indices.
    eligible : array of bool, shape (n,)
        Customers present in this month and the month before; only they add or drop.
    rng : numpy.random.Generator

    Returns
    -------
    added : array of int8, shape (n, n_products)
        1 where a product was added this month.
    """
    newly_active = _switch_activity(state, model, eligible, rng)
    adders = _draw_adders(state, model, month, month_index, eligible, newly_active, rng)
    added = np.zeros_like(state.owned)
    added[adders] = _choose_products(state, model, month, month_index, adders, rng)
    _drop_products(state, model, month_index, eligible, added, rng)
    state.owned |= added
    return added


def _switch_activity(state, model, eligible, rng) -> np.ndarray:
    draw = rng.random(len(state.active))
    activate = eligible & ~state.active & (draw < model.activate)
    deactivate = eligible & state.active & (draw < model.deactivate)
    state.active = (state.active | activate) & ~deactivate
    return activate


def _draw_adders(state, model, month, month_index, eligible, newly_active, rng) -> np.ndarray:
    recent_drop = (state.last_drop >= month_index - READD_WINDOW).any(axis=1)
    logit = (
        model.month_intercept[month]
        + state.owned @ model.adder_owned
        + model.adder_band[state.age_band]
        + model.adder_active * state.active
        + model.adder_segment[state.segment]
        + model.adder_recent_drop * recent_drop
        + model.adder_newly_active * newly_active
        + state.propensity
    )
    return np.flatnonzero(eligible & (rng.random(len(logit)) < _sigmoid(logit)))


def choice_logits(state: CustomerState, model: AdditionModel, month: str, month_index: int, rows: np.ndarray) -> np.ndarray:
    """Return the logits of the choice of products for customers `rows`, owned products at -inf."""
    owned = state.owned[rows].astype(np.float32)
    readd = ((state.last_drop[rows] >= month_index - READD_WINDOW) & (owned == 0)).astype(np.float32)
    logits = (
        model.choice_intercept[choice_kind(month)]
        + owned @ model.choice_owned.T
        + readd @ model.choice_readd.T
        + model.choice_band[:, state.age_band[rows]].T
        + np.outer(state.active[rows], model.choice_active)
        + model.choice_segment[:, state.segment[rows]].T
    )
    logits[owned == 1] = -np.inf
    return logits


def _choose_products(state, model, month, month_index, rows, rng) -> np.ndarray:
    logits = choice_logits(state, model, month, month_index, rows)
    # Gumbel-top-k: the k largest perturbed logits are a draw of k products without replacement.
    perturbed = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-perturbed, axis=1)
    available = np.isfinite(logits).sum(axis=1)
    count = rng.choice(np.arange(1, MAX_PRODUCTS_ADDED + 1), size=len(rows), p=model.products_added)
    count = np.minimum(count, available)
    chosen = np.zeros(logits.shape, dtype=np.int8)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(N_PRODUCTS)[None, :], axis=1)
    chosen[rank < count[:, None]] = 1
    # Payroll (nomina) comes with the payroll pension (nom_pens) unless that is already held.
    couple = (chosen[:, NOMINA] == 1) & (state.owned[rows, NOM_PENS] == 0) & (rng.random(len(rows)) >= model.nomina_alone)
    chosen[couple, NOM_PENS] = 1
    return chosen


def _drop_products(state, model, month_index, eligible, added, rng) -> None:
    draw = rng.random(state.owned.shape, dtype=np.float32)
    dropped = (state.owned == 1) & (draw < model.drop_hazard[None, :]) & eligible[:, None] & (added == 0)
    # Payroll and payroll pension end together, so that payroll is rarely added on its own later.
    dropped[:, NOM_PENS] |= dropped[:, NOMINA] & (state.owned[:, NOM_PENS] == 1) & (added[:, NOM_PENS] == 0)
    state.owned[dropped] = 0
    state.last_drop[dropped] = month_index
