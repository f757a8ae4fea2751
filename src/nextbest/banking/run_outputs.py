"""The run directory of `nextbest run`: its id, atomic completion, `latest` pointer and JSON files.

A run writes everything into ``DIR/runs/.<run id>.partial/`` and renames that directory to
``DIR/runs/<run id>/`` only when every output is complete, so a failed or interrupted run leaves
no directory that looks finished. ``DIR/runs/latest`` then points to the new run: a symbolic
link where the file system allows one, otherwise a text file holding the run id.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import math
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from nextbest.errors import NextbestError

logger = logging.getLogger(__name__)

LATEST = "latest"

# Libraries whose versions decide the numbers of a run; run.json records each.
_LIBRARIES = ("nextbest", "numpy", "pandas", "pyarrow", "duckdb", "keras", "jax", "lightgbm", "scikit-learn", "matplotlib")


class RunDirectory:
    """The directory of one run, written aside and moved into place by :meth:`finish`.

    Parameters
    ----------
    runs_root : Path
        ``DIR/runs``; created when missing.
    run_id : str, optional
        Defaults to the current UTC time, ``YYYYMMDDTHHMMSSZ``, with ``-2``, ``-3``, ... added
        when a run of that second exists.
    """

    def __init__(self, runs_root: str | Path, run_id: str | None = None):
        self.root = Path(runs_root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id or _free_run_id(self.root)
        self.final_path = self.root / self.run_id
        if self.final_path.exists():
            raise NextbestError(f"run directory {self.final_path} exists; choose another run id.")
        self.path = self.root / f".{self.run_id}.partial"
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir()

    def file(self, name: str) -> Path:
        """Return the path of an output inside the (still partial) run directory."""
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        """Write `data` as indented JSON, with NaN and infinities written as null."""
        target = self.file(name)
        target.write_text(json.dumps(json_ready(data), indent=2) + "\n", encoding="utf-8")
        return target

    def finish(self) -> Path:
        """Move the directory to ``runs/<run id>`` and point ``runs/latest`` to it."""
        os.replace(self.path, self.final_path)
        point_latest(self.root, self.run_id)
        logger.info("run %s written to %s", self.run_id, self.final_path)
        return self.final_path

    def discard(self) -> None:
        """Delete the partial directory after a failure."""
        shutil.rmtree(self.path, ignore_errors=True)


def _free_run_id(root: Path) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate, number = stamp, 1
    while (root / candidate).exists() or (root / f".{candidate}.partial").exists():
        number += 1
        candidate = f"{stamp}-{number}"
    return candidate


def point_latest(runs_root: Path, run_id: str) -> None:
    """Make ``runs/latest`` name `run_id`: a relative symbolic link, or a text file where links fail."""
    latest = runs_root / LATEST
    temporary = runs_root / f".{LATEST}.tmp-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    try:
        temporary.symlink_to(run_id, target_is_directory=True)
    except OSError as error:
        logger.warning("cannot create a symbolic link in %s (%s); writing %s as a text file", runs_root, error, latest)
        temporary.write_text(run_id + "\n", encoding="utf-8")
    if latest.is_dir() and not latest.is_symlink():
        raise NextbestError(f"{latest} is a directory; remove or rename it so that it can point to the newest run.")
    os.replace(temporary, latest)


def resolve_run(runs_root: str | Path, run: str = LATEST) -> Path:
    """Return the directory of run `run` (an id, or ``latest``), following a text-file pointer."""
    root = Path(runs_root)
    path = root / run
    if path.is_file() and not path.is_symlink():
        path = root / path.read_text(encoding="utf-8").strip()
    if not path.is_dir():
        raise NextbestError(f"run {run!r} not found in {root}; runs there: {sorted(p.name for p in root.glob('[!.]*'))}.")
    return path.resolve()


def library_versions() -> dict[str, str | None]:
    """Return the installed version of each library that affects a run's numbers, and Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def json_ready(value: Any) -> Any:
    """Return `value` with NumPy scalars made plain and NaN or infinite floats made None."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
