"""Shared fixtures: paths to the real data under ../shared/data, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SANTANDER = SHARED_DATA / "santander"
MULTILABEL = SHARED_DATA / "multilabel"


def shared_file(folder: Path, name: str) -> Path:
    """Return a real data file, skipping the test when the shared data folder lacks it."""
    path = folder / name
    if not path.exists():
        pytest.skip(f"real data file {path} is absent; it comes with the project's shared/ folder")
    return path


@pytest.fixture
def santander_panel() -> Path:
    return shared_file(SANTANDER, "panel_2015-12_to_2016-05_may_adders.csv.gz")


@pytest.fixture
def santander_first_rows() -> Path:
    return shared_file(SANTANDER, "dalvimanasi_train_ver2_first9999rows_2015-01.csv.gz")


@pytest.fixture
def santander_snapshot_2016_03() -> Path:
    return shared_file(SANTANDER, "jamesoliver_2016-03_10pct_customers_snapshot.csv.gz")


@pytest.fixture
def multilabel_dir() -> Path:
    if not MULTILABEL.exists():
        pytest.skip(f"real data folder {MULTILABEL} is absent; it comes with the project's shared/ folder")
    return MULTILABEL
