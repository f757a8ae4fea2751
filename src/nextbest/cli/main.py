"""Entry point of the `nextbest` command line."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from nextbest import __version__
from nextbest.cli import _common
from nextbest.errors import NextbestError

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


def main() -> None:
    """Run the command line, printing user errors without a traceback.

    Typer prints usage errors (unknown options, values out of range) itself and exits with
    status 2; errors in the user's files or settings exit with status 1.
    """
    try:
        app()
    except NextbestError as error:
        # The message may quote the user's values, which Rich must not read as markup.
        _common.stderr.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(1)
