"""Commands of the `generic` group."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    # TODO: the commands of this group are being written; this stays empty until they land.
