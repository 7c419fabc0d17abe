"""`workprint pause|resume|status`: talk to the running recorder over its control socket."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from workprint.agent.control_client import send_command
from workprint.cli.app import HomeOption, app, resolve_home
from workprint.errors import WorkprintError

out = Console()


def _ask(home: HomeOption, cmd: str) -> dict[str, Any]:
    reply = send_command(resolve_home(home), cmd)
    if reply is None:
        raise WorkprintError("no recorder is running (start one with `workprint record`)")
    if not reply.get("ok"):
        raise WorkprintError(f"the recorder refused {cmd!r}: {reply.get('error', 'no reason')}")
    return reply


@app.command()
def pause(home: HomeOption = None) -> None:
    """Pause recording at once: nothing is captured until `workprint resume`."""
    reply = _ask(home, "pause")
    out.print("paused" if reply.get("changed") else "already paused")


@app.command()
def resume(home: HomeOption = None) -> None:
    """Resume recording after a pause."""
    reply = _ask(home, "resume")
    out.print("recording" if reply.get("changed") else "was not paused")


@app.command()
def status(
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show whether the recorder runs, is paused or excluded, and what it has written."""
    reply = send_command(resolve_home(home), "status")
    if reply is None:
        if as_json:
            typer.echo(json.dumps({"ok": True, "state": "not-running"}))
        else:
            out.print("not running")
        return
    if as_json:
        typer.echo(json.dumps(reply))
        return
    table = Table(show_header=False, box=None)
    for name in (
        "state",
        "pid",
        "session",
        "display",
        "scopes",
        "raw_events",
        "captured",
        "spooled",
        "dropped_by_policy",
        "spool",
    ):
        value = reply.get(name)
        table.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    out.print(table)
