"""Entry point of the `nextbest` command line."""

from __future__ import annotations

import logging
import signal
import sys

import typer
from rich.markup import escape

from nextbest import __version__
from nextbest.cli import _common
from nextbest.cli._os_errors import describe_os_error
from nextbest.errors import NextbestError

logger = logging.getLogger(__name__)

# Exit status of a process stopped by SIGTERM, as shells report it (128 + 15).
SIGTERM_EXIT_STATUS = 128 + signal.SIGTERM

app = typer.Typer(
    name="nextbest",
    help="Multi-label deep learning for tables, and next-best-product recommendations for banks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        _common.stdout.print(f"nextbest {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log only warnings and errors; hide progress bars."),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    if verbose and quiet:
        raise typer.BadParameter("--verbose and --quiet cannot be used together.")
    _common.configure_output(verbose=verbose, quiet=quiet)
    _common.enable_compilation_cache()


def _register_commands() -> None:
    # Each module adds its commands to the app; imported here so that `--help` lists them all.
    from nextbest.cli import features, generic, ingest, run, synth

    for module in (ingest, features, generic, run, synth):
        module.register(app)


_register_commands()


def exit_on_sigterm(signal_number, frame) -> None:
    """Raise SystemExit on SIGTERM, so that the commands' cleanup runs as it does for Ctrl-C.

    Without this handler, SIGTERM (sent by `timeout`, `kill` and job schedulers) ends Python
    at once, and a run's ``runs/.<run id>.partial`` folder stays behind.
    """
    raise SystemExit(SIGTERM_EXIT_STATUS)


def main() -> None:
    """Run the command line, printing user errors without a traceback.

    Typer prints usage errors (unknown options, values out of range) itself and exits with
    status 2; errors in the user's files or settings, and files or folders that cannot be
    read or written, exit with status 1. SIGTERM exits with status 143 after the cleanup.
    """
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        app()
    except NextbestError as error:
        # The message may quote the user's values, which Rich must not read as markup.
        _print_error(str(error))
        sys.exit(1)
    except OSError as error:
        logger.debug("the command failed on a file-system error", exc_info=True)
        _print_error(describe_os_error(error))
        sys.exit(1)


def _print_error(message: str) -> None:
    _common.stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
