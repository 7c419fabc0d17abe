"""`workprint events export|import`: the spool's events as JSON Lines (docs/events.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Final

import typer

from workprint.cli.app import HomeOption, app, resolve_home
from workprint.crypto import load_or_create_device_key
from workprint.errors import WorkprintError
from workprint.events import BadLine, Event, encode_jsonl, iter_jsonl
from workprint.spool import MAX_SEQ, Spool, load_or_create_device_id

IMPORT_BATCH: Final = 5000
EXPORT_CHUNK: Final = 1000

events_app = typer.Typer(
    help="Export and import events as JSON Lines (the interchange form, docs/events.md).",
    no_args_is_help=True,
)
app.add_typer(events_app, name="events")


def _open_spool(home: Path | None, spool: Path | None, *, create: bool) -> Spool:
    """The installation's spool (or ``spool``), unlocked with its device key and id."""
    where = resolve_home(home)
    path = spool if spool is not None else where.spool_file
    if not create:
        for needed, what in ((path, "spool"), (where.device_id_file, "device id")):
            if not needed.exists():
                raise WorkprintError(f"no {what} at {needed}")
    key = load_or_create_device_key(where.device_key_file, create=create)
    device_id = load_or_create_device_id(where.device_id_file)
    return Spool.open(path, key, device_id=device_id, create=create)


@contextmanager
def _output(target: str) -> Iterator[BinaryIO]:
    """stdout for "-", else a new owner-only file: exported events are plaintext."""
    if target == "-":
        yield sys.stdout.buffer
        return
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise WorkprintError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        yield fh


@events_app.command("export")
def export_events(
    home: HomeOption = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="Write to this file (0600); '-' is stdout.")
    ] = "-",
    spool: Annotated[
        Path | None,
        typer.Option("--spool", help="Read this spool file instead of the installation's."),
    ] = None,
) -> None:
    """Write every event in the spool as JSON Lines, in seq order."""
    explicit = spool is not None
    where = resolve_home(home)
    if not explicit and not where.spool_file.exists():
        typer.echo(f"no spool at {where.spool_file} yet: nothing to export", err=True)
        return
    with _open_spool(home, spool, create=False) as source:
        quarantined_before = source.stats().quarantined
        try:
            with _output(output) as sink:
                chunk: list[Event] = []
                for event in source.iter_events():
                    chunk.append(event)
                    if len(chunk) >= EXPORT_CHUNK:
                        sink.write(encode_jsonl(chunk))
                        chunk.clear()
                sink.write(encode_jsonl(chunk))
                sink.flush()
        except BrokenPipeError:
            _silence_stdout()
            return
        newly_quarantined = source.stats().quarantined - quarantined_before
    if newly_quarantined:
        raise WorkprintError(
            f"{newly_quarantined} spool batches did not decrypt and were quarantined; "
            "their events are not in the export"
        )


@events_app.command("import")
def import_events(
    source: Annotated[str, typer.Argument(help="A JSON Lines file, or '-' for stdin.")],
    home: HomeOption = None,
) -> None:
    """Append events from JSON Lines to the spool, keeping their seq numbers.

    Each bad line is reported as "line N: reason" and skipped; the rest is imported.
    Exit 1 if any line was rejected."""
    imported = rejected = 0
    with _input(source) as lines, _open_spool(home, None, create=True) as spool:
        batch: list[Event] = []
        for number, item in _numbered_events(_read_lines(lines, source)):
            if isinstance(item, str):
                rejected += 1
                typer.echo(f"line {number}: {item}", err=True)
                continue
            batch.append(item)
            if len(batch) >= IMPORT_BATCH:
                spool.append(batch, assign_seq=False)
                imported += len(batch)
                batch = []
        spool.append(batch, assign_seq=False)
        imported += len(batch)
    typer.echo(f"imported {imported} events, rejected {rejected} lines")
    if rejected:
        raise typer.Exit(1)


def _numbered_events(lines: Iterable[bytes]) -> Iterator[tuple[int, Event | str]]:
    """Each non-blank line's number and its event, or the reason it cannot be imported."""
    for number, raw in enumerate(lines, start=1):
        for item in iter_jsonl((raw,)):
            if isinstance(item, BadLine):
                yield number, item.reason
            elif item.seq > MAX_SEQ:
                yield number, f"seq {item.seq} is larger than the spool allows ({MAX_SEQ})"
            else:
                yield number, item


@contextmanager
def _input(source: str) -> Iterator[BinaryIO]:
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        fh = open(source, "rb")  # noqa: SIM115 - closed below, errors become one line
    except OSError as exc:
        raise WorkprintError(f"cannot read {source}: {exc.strerror}") from None
    with fh:
        yield fh


def _read_lines(stream: BinaryIO, name: str) -> Iterator[bytes]:
    """Lines of ``stream``; a read error midway (a directory, an I/O error) is one line too."""
    try:
        yield from stream
    except OSError as exc:
        raise WorkprintError(f"cannot read {name}: {exc.strerror}") from None


def _silence_stdout() -> None:
    """The reader went away (``| head``): stop quietly, without Python's flush warning."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
