"""`workprint record`: run the recorder in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from workprint.cli.app import HomeOption, app, resolve_home

err = Console(stderr=True)


@app.command()
def record(
    home: HomeOption = None,
    display: Annotated[
        str | None,
        typer.Option(help="X display to record (default: $DISPLAY).", show_default=False),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(min=0.1, help="Stop after this many seconds (default: run until stopped)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Level of the agent log file.")] = "INFO",
) -> None:
    """Record keyboard, mouse and window context within the consented scopes.

    Runs until Ctrl-C or SIGTERM. Control it from another terminal with `workprint pause`,
    `workprint resume` and `workprint status`."""
    from workprint.agent.logging_setup import configure_agent_logging
    from workprint.agent.recorder import Recorder

    paths = resolve_home(home)
    configure_agent_logging(paths.log_file, log_level)
    recorder = Recorder(paths, display)
    recorder.open()
    scopes = sorted(recorder.consent.effective_scopes())
    if not scopes:
        err.print(
            "[yellow]No consent on record: nothing will be captured. "
            "Grant scopes with `workprint consent grant …`.[/yellow]"
        )
    err.print(
        f"recording on display {recorder.display} — scopes: {', '.join(scopes) or 'none'} "
        f"— session {recorder.session[:12]} — Ctrl-C to stop"
    )
    summary = recorder.run(duration=duration)
    err.print(
        f"stopped: {summary.raw_events} raw input events, {summary.captured} captured after "
        f"coalescing, {summary.spooled} written to the encrypted spool {paths.spool_file}"
    )
