"""Tests of the synthetic bank generator: file layouts, quirks, streaming and errors."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from nextbest.banking import synth
from nextbest.banking.schema import SnapshotSchema
from nextbest.banking.synth import generate_bank, next_month, parse_months, simulate
from nextbest.banking.synth_model import NOM_PENS, NOMINA
from nextbest.errors import NextbestError

CUSTOMERS = 1500


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bank")
    train, test = folder / "train.csv", folder / "test.csv"
    summary = generate_bank(CUSTOMERS, out_train=train, out_test=test, seed=3)
    return summary, train.read_bytes(), test.read_bytes()


def _frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def test_header_is_quoted_training_layout(small_bank):
    _, train, test = small_bank
    schema = SnapshotSchema.santander()
    expected_train = ",".join(f'"{c}"' for c in schema.file_columns("train"))
    expected_test = ",".join(f'"{c}"' for c in schema.file_columns("test"))
    assert train.split(b"\n", 1)[0].decode() == expected_train
    assert test.split(b"\n", 1)[0].decode() == expected_test


def test_header_matches_real_file(small_bank, santander_first_rows):
    with gzip.open(santander_first_rows, "rb") as real:
        real_header = real.readline().rstrip(b"\r\n")
    assert small_bank[1].split(b"\n", 1)[0] == real_header


def test_every_row_has_all_columns(small_bank):
    summary, train, test = small_bank
    frame, test_frame = _frame(train), _frame(test)
    assert frame.shape == (summary.train_rows, 48)
    assert test_frame.shape == (summary.test_rows, 24)
    assert frame.groupby("fecha_dato").size().to_dict() == {f"{m}-28": n for m, n in summary.rows_per_month.items()}
    assert set(test_frame["fecha_dato"]) == {"2016-06-28"}


def test_customer_appears_once_per_month(small_bank):
    frame = _frame(small_bank[1])
    assert not frame.duplicated(["fecha_dato", "ncodpers"]).any()
    ids = frame.loc[frame["fecha_dato"] == "2016-05-28", "ncodpers"].astype(int)
    assert ids.is_monotonic_increasing


def test_padding_before_july_2015_only(small_bank):
    frame = _frame(small_bank[1])
    early = frame[frame["fecha_dato"] == "2015-03-28"]
    late = frame[frame["fecha_dato"] == "2015-08-28"]
    assert early["age"].str.len().eq(3).all()
    assert early["antiguedad"].str.len().eq(7).all()
    assert early["ind_nomina_ult1"].isin([" 0", " 1", "NA"]).all()
    assert not late["age"].str.startswith(" ").any()
    assert late["ind_nomina_ult1"].isin(["0", "1", "NA"]).all()


def test_province_name_always_quoted(small_bank):
    lines = small_bank[1].decode().splitlines()[1:300]
    names = _frame(small_bank[1])["nomprov"].iloc[:299]
    assert all(f',"{name}",' in line for line, name in zip(lines, names))


def test_test_layout_pads_income(small_bank):
    frame = _frame(small_bank[2])
    assert frame["renta"].str.len().eq(12).all()
    missing = frame["renta"].str.strip() == "NA"
    assert missing.any()
    assert frame.loc[~missing, "renta"].str.strip().str.match(r"^\d+\.\d\d$").all()


def test_products_are_zero_or_one(small_bank):
    frame = _frame(small_bank[1])
    products = frame.columns[24:]
    values = frame[products].apply(lambda c: c.str.strip())
    assert values.isin(["0", "1", "NA"]).all().all()
    not_payroll = [c for c in products if c not in ("ind_nomina_ult1", "ind_nom_pens_ult1")]
    assert values[not_payroll].isin(["0", "1"]).all().all()


def test_first_half_flat_then_jump(small_bank):
    counts = list(small_bank[0].rows_per_month.values())
    assert max(counts[:6]) / min(counts[:6]) < 1.05
    assert counts[6] / counts[5] > 1.2


def test_customers_join_after_first_month(small_bank):
    frame = _frame(small_bank[1])
    first_seen = frame.groupby("ncodpers")["fecha_dato"].min()
    assert (first_seen > "2015-07-28").sum() > 0
    assert (first_seen == "2015-07-28").sum() > 0.2 * (first_seen == "2015-01-28").sum()


def test_same_seed_same_bytes(tmp_path):
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate_bank(200, out_train=first, months="2016-01..2016-03", seed=5)
    generate_bank(200, out_train=second, months="2016-01..2016-03", seed=5)
    generate_bank(200, out_train=other, months="2016-01..2016-03", seed=6)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_gzip_when_name_ends_in_gz(tmp_path):
    plain, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    generate_bank(200, out_train=plain, months="2016-01..2016-02", seed=1)
    generate_bank(200, out_train=packed, months="2016-01..2016-02", seed=1)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


def test_failure_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "train.csv"

    def fail(*args, **kwargs):
        raise RuntimeError("formatting failed")

    monkeypatch.setattr(synth, "format_rows", fail)
    with pytest.raises(RuntimeError):
        generate_bank(200, out_train=target, months="2016-01..2016-02", seed=1)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(NextbestError, match="does not exist"):
        generate_bank(200, out_train=tmp_path / "nowhere" / "t.csv", seed=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2015-01", "expected YYYY-MM..YYYY-MM"),
        ("2015-13..2016-01", "expected YYYY-MM..YYYY-MM"),
        ("2014-06..2015-03", "calibrated for 2015-01 to 2016-05"),
        ("2016-03..2016-01", "calibrated for 2015-01 to 2016-05"),
    ],
)
def test_invalid_month_range(text, message):
    with pytest.raises(NextbestError, match=message):
        parse_months(text)


def test_month_range_expands():
    assert parse_months("2015-11..2016-02") == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert next_month("2015-12") == "2016-01"


def test_too_few_customers_rejected(tmp_path):
    with pytest.raises(NextbestError, match="at least 10"):
        generate_bank(3, out_train=tmp_path / "t.csv")


def test_additions_follow_holdings():
    previous = None
    for _, state, sim in simulate(800, parse_months("2016-01..2016-05"), seed=2):
        owned = sim.owned.copy()
        if sim.added is not None:
            assert (sim.added[~sim.eligible] == 0).all()
            assert (owned[sim.added == 1] == 1).all()
            assert (previous[sim.added == 1] == 0).all()
        previous = owned


def test_payroll_added_with_pension():
    couples = alone = 0
    for _, _, sim in simulate(4000, parse_months("2015-10..2016-05"), seed=4):
        if sim.added is None:
            continue
        nomina = sim.added[:, NOMINA] == 1
        couples += int((nomina & (sim.added[:, NOM_PENS] == 1)).sum())
        alone += int((nomina & (sim.added[:, NOM_PENS] == 0)).sum())
    assert couples > 0
    assert alone <= 0.1 * couples


def test_mostly_blank_rows_only_before_july(small_bank):
    frame = _frame(small_bank[1])
    blank = frame["sexo"].eq("") & frame["age"].str.strip().eq("NA")
    months = set(frame.loc[blank, "fecha_dato"])
    assert months
    assert all(m < "2015-07-28" for m in months)
    assert (frame.loc[blank, "nomprov"] == "").all()


def test_age_grows_by_one_per_year(small_bank):
    frame = _frame(small_bank[1])
    ages = frame[frame["age"].str.strip() != "NA"].assign(age=lambda f: f["age"].astype(int))
    pivot = ages.pivot_table(index="ncodpers", columns="fecha_dato", values="age")
    change = (pivot["2016-01-28"] - pivot["2015-01-28"]).dropna()
    assert set(np.unique(change)) == {1}
