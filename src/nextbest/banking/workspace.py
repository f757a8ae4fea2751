"""The workspace: a directory holding everything nextbest derives from a bank's files.

Layout::

    DIR/workspace.json              format version, nextbest version, schema, files and months
    DIR/ingest-report.json          the last ingest's report
    DIR/snapshots/YYYY-MM.parquet   one snapshot table per month

Every file is written aside and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nextbest import __version__
from nextbest.banking.schema import LAYOUTS, SnapshotSchema
from nextbest.errors import NextbestError
from nextbest._files import replaced_on_success

logger = logging.getLogger(__name__)

# Version of the layout of workspace.json and the snapshot files. Raise it when a change makes
# older workspaces unreadable; a workspace of another version is rejected with a clear error.
FORMAT_VERSION = 1

WORKSPACE_FILE = "workspace.json"
REPORT_FILE = "ingest-report.json"
SNAPSHOTS_DIR = "snapshots"

_MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_HASH_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """Identity of an input file when it was ingested.

    Attributes
    ----------
    path : str
        Absolute path.
    size : int
        Size in bytes.
    mtime_ns : int
        Modification time in nanoseconds since the epoch.
    sha256 : str
        SHA-256 of the file's bytes, in hex.
    """

    path: str
    size: int
    mtime_ns: int
    sha256: str


def hash_file(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes in hex, reading it in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(path: str | Path, sha256: str | None = None) -> SourceFile:
    """Return the size, modification time and SHA-256 of a file (hashing it unless `sha256` is given)."""
    path = Path(path).resolve()
    status = path.stat()
    return SourceFile(
        path=str(path),
        size=status.st_size,
        mtime_ns=status.st_mtime_ns,
        sha256=sha256 if sha256 is not None else hash_file(path),
    )


def check_month(month: str) -> str:
    """Return `month` when it is written YYYY-MM; raise NextbestError otherwise."""
    if not isinstance(month, str) or not _MONTH_PATTERN.match(month):
        raise NextbestError(f"invalid month {month!r}; write months as YYYY-MM, for example 2016-05")
    return month


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside `path`, then rename it into place."""
    with replaced_on_success(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


class Workspace:
    """An existing workspace directory.

    Parameters
    ----------
    path : str or Path
        The workspace directory.

    Raises
    ------
    NextbestError
        When `path` contains no workspace, or one of another format version.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        state_file = self.path / WORKSPACE_FILE
        if not state_file.is_file():
            raise NextbestError(
                f"{self.path} is not a nextbest workspace ({WORKSPACE_FILE} not found); "
                f"create one with `nextbest ingest FILE... --workspace {self.path}`"
            )
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise NextbestError(
                f"{state_file} is not valid JSON ({error}); ingest into a new workspace directory"
            ) from None
        _check_format_version(state_file, state)
        self._state = state
        self.schema = SnapshotSchema.from_dict(state["schema"])

    @classmethod
    def create(cls, path: str | Path, schema: SnapshotSchema) -> Workspace:
        """Create a workspace, or open the one at `path` when it has the same schema.

        Raises
        ------
        NextbestError
            When `path` is a workspace of another schema or format version, or a non-empty
            directory that is not a workspace.
        """
        path = Path(path)
        existing = cls.open_existing(path)
        if existing is not None:
            existing.check_schema(schema)
            return existing
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise NextbestError(
                f"{path} exists and is not a nextbest workspace; choose a new or empty directory for --workspace"
            )

        (path / SNAPSHOTS_DIR).mkdir(parents=True, exist_ok=True)
        state = {
            "format_version": FORMAT_VERSION,
            "nextbest_version": __version__,
            "schema": schema.to_dict(),
            "files": {},
            "months": {},
        }
        write_json_atomic(path / WORKSPACE_FILE, state)
        logger.info("created workspace %s with schema %r", path, schema.name)
        return cls(path)

    @classmethod
    def open_existing(cls, path: str | Path) -> Workspace | None:
        """Open the workspace at `path`, or return None when `path` contains none."""
        path = Path(path)
        if not (path / WORKSPACE_FILE).is_file():
            return None
        return cls(path)

    def check_schema(self, schema: SnapshotSchema) -> None:
        """Raise NextbestError unless `schema` equals the schema this workspace was created with."""
        stored, given = self.schema.to_dict(), schema.to_dict()
        if stored == given:
            return
        differences = [key for key in stored if stored[key] != given.get(key)]
        raise NextbestError(
            f"workspace {self.path} was created with schema {self.schema.name!r}, which differs from the "
            f"schema {schema.name!r} given now in: {', '.join(differences)}; use a new --workspace directory "
            "for files of another schema, or pass the workspace's own schema"
        )

    # Months.

    def months(self) -> list[str]:
        """Return the months held, as sorted "YYYY-MM" strings."""
        return sorted(self._state["months"])

    def labelled_months(self) -> list[str]:
        """Return the months read from training-layout files (products known), sorted."""
        return [m for m in self.months() if self._state["months"][m]["layout"] == "train"]

    def months_to_predict(self) -> list[str]:
        """Return the months read from test-layout files (products null), sorted."""
        return [m for m in self.months() if self._state["months"][m]["layout"] == "test"]

    def carried_forward_months(self) -> list[str]:
        """Return the months to predict that were derived from a snapshot of this workspace.

        `nextbest.banking.run_steps.carry_forward` records the last labelled month's snapshot
        file as the source of such a month. Runs derive it again, so that it follows a later
        change of that snapshot.
        """
        snapshots = (self.path / SNAPSHOTS_DIR).resolve()
        return [m for m in self.months_to_predict() if Path(self._state["months"][m]["source"]).parent == snapshots]

    def month_info(self, month: str) -> dict[str, Any]:
        """Return the record of a month: layout, source file, rows and when it was written."""
        check_month(month)
        if month not in self._state["months"]:
            raise NextbestError(f"month {month} is not in workspace {self.path}; it contains {', '.join(self.months()) or 'no months'}")
        return dict(self._state["months"][month])

    def snapshot_path(self, month: str) -> Path:
        """Return the path of a month's snapshot file (which may not exist yet)."""
        return self.path / SNAPSHOTS_DIR / f"{check_month(month)}.parquet"

    def write_month(
        self,
        month: str,
        table: pa.Table | str | Path,
        *,
        layout: str,
        source: str | Path | SourceFile,
    ) -> bool:
        """Store one month's snapshot table, replacing the month when it is already held.

        Parameters
        ----------
        month : str
            "YYYY-MM".
        table : pyarrow.Table or path
            The snapshot table with exactly `schema.snapshot_columns()`, or a Parquet file of it
            on the workspace's file system, which is moved into place.
        layout : {"train", "test"}
            The layout of the input file: "test" marks the month as a month to predict.
        source : path or SourceFile
            The input file the month was read from; a path is hashed here.

        Returns
        -------
        bool
            True when the month replaced one already held.
        """
        check_month(month)
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
        if not isinstance(source, SourceFile):
            source = describe_file(source)

        rows = self._place_snapshot(month, table)
        replaced = month in self._state["months"]
        self._forget_month(month)
        self._state["months"][month] = {
            "layout": layout,
            "source": source.path,
            "rows": rows,
            "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        self._record_source(source, month)
        self._save()
        logger.debug("%s month %s (%d rows) from %s", "replaced" if replaced else "added", month, rows, source.path)
        return replaced

    # Files.

    def files(self) -> dict[str, dict[str, Any]]:
        """Return the ingested files by absolute path: size, mtime_ns, sha256 and months."""
        return json.loads(json.dumps(self._state["files"]))

    def file_unchanged(self, path: str | Path) -> bool:
        """Return whether `path` has the same size, modification time and SHA-256 as when ingested.

        A file never ingested into this workspace, or no longer present, counts as changed.
        """
        resolved = Path(path).resolve()
        record = self._state["files"].get(str(resolved))
        if record is None or not resolved.is_file():
            return False
        status = resolved.stat()
        if status.st_size != record["size"] or status.st_mtime_ns != record["mtime_ns"]:
            return False
        return hash_file(resolved) == record["sha256"]

    def write_report(self, report: dict[str, Any]) -> Path:
        """Write the ingest report to DIR/ingest-report.json, replacing the previous one."""
        target = self.path / REPORT_FILE
        write_json_atomic(target, report)
        return target

    # Internals.

    def _place_snapshot(self, month: str, table: pa.Table | str | Path) -> int:
        """Move or write the snapshot into place after checking its columns; return its rows."""
        target = self.snapshot_path(month)
        target.parent.mkdir(parents=True, exist_ok=True)
        expected = self.schema.snapshot_columns()
        if isinstance(table, pa.Table):
            self._check_columns(month, table.column_names, expected)
            with replaced_on_success(target) as temporary:
                pq.write_table(table, temporary)
            return table.num_rows
        metadata = pq.read_metadata(table)
        self._check_columns(month, metadata.schema.to_arrow_schema().names, expected)
        os.replace(table, target)
        return metadata.num_rows

    @staticmethod
    def _check_columns(month: str, columns: list[str], expected: list[str]) -> None:
        if columns != expected:
            raise ValueError(
                f"snapshot table for {month} has columns {columns}, expected {expected} in that order"
            )

    def _forget_month(self, month: str) -> None:
        """Remove `month` from the file records, dropping records left with no month."""
        for path in list(self._state["files"]):
            record = self._state["files"][path]
            if month in record["months"]:
                record["months"].remove(month)
                if not record["months"]:
                    del self._state["files"][path]

    def _record_source(self, source: SourceFile, month: str) -> None:
        record = self._state["files"].get(source.path)
        same_file = record is not None and record["sha256"] == source.sha256 and record["size"] == source.size
        # A changed file starts a new record. Months read from its old version keep their own
        # month records, but the file record no longer lists them.
        months = record["months"] if same_file else []
        entry = asdict(source)
        del entry["path"]
        entry["months"] = sorted({*months, month})
        self._state["files"][source.path] = entry

    def _save(self) -> None:
        self._state["nextbest_version"] = __version__
        write_json_atomic(self.path / WORKSPACE_FILE, self._state)


def _check_format_version(state_file: Path, state: dict[str, Any]) -> None:
    version = state.get("format_version")
    if version != FORMAT_VERSION:
        raise NextbestError(
            f"{state_file} has workspace format version {version!r}, written by nextbest "
            f"{state.get('nextbest_version', 'unknown')}; this nextbest ({__version__}) reads format "
            f"version {FORMAT_VERSION} only. Ingest the files again into a new --workspace directory"
        )
    for key in ("schema", "files", "months"):
        if key not in state:
            raise NextbestError(f"{state_file} lacks the key {key!r}; ingest the files again into a new --workspace directory")
