"""Helpers for files that are written aside and renamed into place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def apply_default_permissions(path: Path, *, directory: bool = False) -> None:
    """Give a file or folder made by `tempfile` the permissions the user's umask sets.

    `tempfile.mkstemp` and `mkdtemp` create entries readable by their owner only (0600, 0700),
    which would leave outputs unreadable to other users once renamed into place.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


@contextmanager
def replaced_on_success(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` when the block succeeds.

    The temporary file is removed when the block raises, so a failed write leaves `path` as it
    was and nothing beside it.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
