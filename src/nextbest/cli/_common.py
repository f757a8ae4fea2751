"""Helpers shared by the command modules: consoles, progress bars and output settings."""

from __future__ import annotations

import logging

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
    # JAX logs at INFO that it found no TPU or GPU on every start; that is noise on a CPU.
    logging.getLogger("jax").setLevel(logging.DEBUG if verbose else logging.WARNING)


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
