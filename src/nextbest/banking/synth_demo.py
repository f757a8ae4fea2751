"""The one-command demo: a small synthetic bank, the main job on it, and where the outputs are."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from nextbest.banking.synth import generate_bank
from nextbest.errors import NextbestError

log = logging.getLogger(__name__)

TRAIN_FILE = "synthetic_train.csv.gz"
TEST_FILE = "synthetic_test.csv.gz"


@dataclass
class DemoResult:
    """The demo's bank files, the run it made and how long everything took."""

    train_path: Path
    test_path: Path
    run: object  # nextbest.banking.pipeline.RunResult
    seconds: float


def run_demo(workspace: str | Path, *, customers: int, seed: int, progress: Progress | None = None) -> DemoResult:
    """Generate a synthetic bank under `workspace`/data and run the main job on it.

    Parameters
    ----------
    workspace : path
        Folder for the bank's files (``data/``) and the nextbest workspace of the run
        (``workspace/``, whose ``runs/`` folder receives the outputs).
    customers : int
        Customers in the last training month of the bank.
    seed : int
        Seed of the bank and of the run.
    progress : rich.progress.Progress, optional

    Returns
    -------
    DemoResult
    """
    from nextbest.banking.pipeline import run

    started = time.perf_counter()
    root = Path(workspace)
    if root.exists() and not root.is_dir():
        raise NextbestError(f"cannot use {root} as the demo's workspace: it is a file; give a folder name")
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    train, test = data / TRAIN_FILE, data / TEST_FILE
    generate_bank(customers, out_train=train, out_test=test, seed=seed, progress=progress)
    log.info("generated the synthetic bank in %.0f s", time.perf_counter() - started)
    # The model evaluated is also the one that recommends: retraining on the validation month
    # would double the training time of a demo that should take a few minutes.
    result = run(
        [train], workspace=root / "workspace", test=test, random_state=seed, retrain=False,
        command=["nextbest", "demo"], progress=progress,
    )
    return DemoResult(train, test, result, time.perf_counter() - started)
