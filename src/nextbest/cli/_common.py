"""Helpers shared by the command modules: consoles, progress bars and output settings."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Results go to stdout; diagnostics, logs and progress bars go to stderr.
stdout = Console()
stderr = Console(stderr=True)

_quiet = False


def configure_output(verbose: bool, quiet: bool) -> None:
    """Set the log level and whether progress bars are shown."""
    global _quiet
    _quiet = quiet
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    elif quiet:
        level = logging.WARNING
    handler = RichHandler(console=stderr, show_path=False, show_time=False, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    logging.getLogger("nextbest").setLevel(level)
    # JAX logs at INFO that it found no TPU or GPU on every start; that is noise on a CPU. Its
    # DEBUG level logs every compilation's cache key, which would bury nextbest's own messages.
    logging.getLogger("jax").setLevel(logging.INFO if verbose else logging.WARNING)


def enable_compilation_cache() -> None:
    """Let JAX keep compiled networks on disk, so that later commands skip recompiling them.

    The folder is ``$NEXTBEST_CACHE_DIR/jax``, by default ``~/.cache/nextbest/jax`` (or under
    ``$XDG_CACHE_HOME``). ``NEXTBEST_CACHE_DIR=off`` turns the cache off. A user's own
    ``JAX_COMPILATION_CACHE_DIR`` wins. JAX reads these variables when it is first imported,
    so nothing is imported here.
    """
    setting = os.environ.get("NEXTBEST_CACHE_DIR", "")
    if setting.lower() in ("off", "0", "none"):
        return
    if setting:
        folder = Path(setting).expanduser()
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nextbest"
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(folder / "jax"))
    # The default (1 s) would skip most of the small network's compilations on a fast machine.
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")


def is_quiet() -> bool:
    """Return whether the user asked for no progress output."""
    return _quiet


def make_progress() -> Progress:
    """Create a Rich progress display on stderr, hidden under `--quiet`.

    Library functions take this object as their `progress` argument and add their own tasks.
    """
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=_quiet,
        transient=False,
    )
