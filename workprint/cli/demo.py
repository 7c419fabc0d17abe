"""`workprint demo`: the main job end to end on a private virtual display."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from workprint.cli.app import app

out = Console()


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the recording and its dataset are written.")
    ] = Path("demo-output"),
) -> None:
    """Record a scripted session on a private virtual display and build its datasets.

    Opens a Tk editor and an xterm on Xvfb, grants every scope in a fresh home, types, clicks,
    drags and scrolls with xdotool, then exports the events and the typed text, and builds the
    actions (also as pyautogui code) and writing-process datasets, each with its card."""
    from workprint.testbed.demo import run_demo

    with out.status("recording a scripted session on a private virtual display…"):
        result = run_demo(out_dir.absolute())
    summary = result.summary
    table = Table(title="workprint demo", show_header=False)
    table.add_row("raw X input events", str(summary.raw_events))
    table.add_row("events after coalescing", str(summary.captured))
    table.add_row("events in the encrypted spool", str(summary.spooled))
    for name, count in sorted(result.event_counts.items()):
        table.add_row(f"  {name}", str(count))
    for window, text in result.typed_text.items():
        table.add_row(f"typed into {window}", repr(text))
    out.print(table)
    out.print(f"spool (encrypted):   {result.home.spool_file}")
    out.print(f"events (JSON Lines): {result.events_file}")
    out.print(f"typed text:          {result.typed_text_file}")
    out.print(f"statistics:          {result.stats_file}")
    sets = result.datasets
    out.print(f"actions dataset:     {sets.actions} ({sets.action_rows} actions; card README.md)")
    out.print(f"  as pyautogui:      {sets.pyautogui}")
    out.print(f"writing dataset:     {sets.writing} ({sets.writing_rows} documents)")
