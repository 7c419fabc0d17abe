"""The root Typer app and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workprint.home import Home

app = typer.Typer(
    name="workprint",
    help="Consent-first recording of how people work, turned into privacy-safe datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="WORKPRINT_HOME",
        help="Keep config, data and the control socket under this directory "
        "(default: the XDG directories).",
        show_default=False,
    ),
]


def resolve_home(home: Path | None) -> Home:
    """The installation's directories, created 0700."""
    return Home.resolve(home).ensure()


@app.command()
def version() -> None:
    """Print workprint's version and the event schema version."""
    from workprint import __version__
    from workprint.events import SCHEMA_VERSION

    typer.echo(f"workprint {__version__} (event schema v{SCHEMA_VERSION})")
