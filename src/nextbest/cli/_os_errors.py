"""One-line messages for file-system errors (OSError) that reach the command line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

# Reason in words and the fix, per error number. Other numbers use the system's own text.
_REASONS = {
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
    errno.EROFS: ("the file system is read-only", "choose a folder you can write to"),
    errno.ENOENT: ("no such file or folder", "check that the folder exists and can hold files"),
    errno.EISDIR: ("it is a folder", "pass the path of a file"),
    errno.ENOSPC: ("no space left on the device", "free some space or choose a folder on another disk"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space or choose a folder on another disk"),
}


def describe_os_error(error: OSError) -> str:
    """Return ``cannot <verb> <path>: <reason>; <fix>`` for an OSError raised by a command.

    A hidden file or folder whose name starts with a dot is a command's temporary output, so
    the message names its folder, which the user chose, instead.
    """
    if error.filename is None:
        # Libraries such as pyarrow raise OSError without a file name or error number, with the
        # path in their own message, so that message is kept as it is.
        default = (error.strerror or str(error), "check the files and folders of the command")
        reason, fix = _REASONS.get(error.errno, default)
        return f"a file operation failed: {reason}; {fix}"
    reason, fix = _REASONS.get(error.errno, ((error.strerror or str(error)).lower(), "check the path"))
    path = Path(os.fsdecode(error.filename))
    if error.errno == errno.ENOTDIR:
        blocking = _first_file_in(path)
        reason = f"{blocking} is a file, not a folder" if blocking else "a part of the path is not a folder"
        fix = "choose a path whose folders are folders"
    if path.name.startswith(".") and path.name not in (".", ".."):
        return f"cannot write in folder {path.parent}: {reason}; {fix}"
    return f"cannot {_verb(path, error)} {path}: {reason}; {fix}"


def _verb(path: Path, error: OSError) -> str:
    if not path.exists():
        return "create"
    if error.errno in (errno.EACCES, errno.EPERM) and path.is_file() and not os.access(path, os.R_OK):
        return "read"
    return "write"


def _first_file_in(path: Path) -> Path | None:
    """Return the first ancestor of `path` that exists and is not a folder, if any."""
    for ancestor in reversed(path.parents):
        if ancestor.exists() and not ancestor.is_dir():
            return ancestor
    return None
