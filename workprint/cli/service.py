"""`workprint service install|uninstall`: run the recorder as a systemd user service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workprint.agent import service
from workprint.cli.app import app

service_app = typer.Typer(help="Run the recorder as a background (systemd user) service.")
app.add_typer(service_app, name="service")


@service_app.command("install")
def install(
    home: Annotated[
        Path | None,
        typer.Option(help="Home directory the service records into (default: XDG)."),
    ] = None,
    enable: Annotated[
        bool, typer.Option(help="Enable and start it now with systemctl --user.")
    ] = True,
) -> None:
    """Write the systemd user unit (and by default enable and start it)."""
    path, what = service.install(home.absolute() if home else None, enable=enable)
    typer.echo(f"{path}: {what}")


@service_app.command("uninstall")
def uninstall() -> None:
    """Stop, disable and remove the systemd user unit."""
    path = service.uninstall()
    typer.echo(f"removed {path}" if path else "no workprint service installed")
