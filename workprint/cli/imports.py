"""`workprint import FORMAT PATH… --store DIR --person P --scopes S,…`: recordings made with other
tools (OpenCUA/AgentNet, DuckTrack, Inputlog/ScriptLog IDFX, keystroke-timing CSV) → the raw store.

They go in through ``store.ingest`` like a device's uploads, so the server's validation, de-
duplication and consent check apply to them too. The recordings were made under a consent given
outside workprint: the steward states its scopes, which are recorded as a grant (audited) at the
recording's first timestamp, so events of any other scope are refused at ingest. Each recording
session gets its own import device: sequence numbers restart in every recording, and the store
de-duplicates per device, so re-importing the same recording stores nothing twice.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from workprint.cli.app import app
from workprint.cli.store_options import MasterOption, StoreOption, open_store
from workprint.errors import WorkprintError
from workprint.store.interface import NotFoundError, Person, StoreError

if TYPE_CHECKING:
    from workprint.events import Event
    from workprint.interop import ImportResult
    from workprint.store.embedded import EmbeddedStore

FORMATS: Final = ("agentnet", "ducktrack", "idfx", "keystroke-csv")
# Events that hold no input of their own: a recording with nothing else is not usable.
_NOT_INPUT: Final = frozenset({"SessionStart", "SessionStop", "WindowFocus"})


class ImportFailed(WorkprintError):
    """Nothing usable was found in any of the paths."""


@dataclass
class Tally:
    """What happened to the events of one import, for the summary and the exit code."""

    files: int = 0
    sessions: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected_consent: int = 0
    bad_rows: int = 0
    problems: int = 0


def read_recording(fmt: str, path: Path, csv_user: str | None) -> ImportResult:
    """Run the importer of ``fmt`` on ``path`` (IDFX may be gzip-compressed)."""
    from workprint.interop import (
        IdfxResult,
        ImportIssue,
        import_agentnet,
        import_ducktrack,
        import_idfx,
        import_keystroke_csv,
    )
    from workprint.interop.idfx import parse_idfx

    if fmt == "agentnet":
        return import_agentnet(path)
    if fmt == "ducktrack":
        return import_ducktrack(path)
    if fmt == "idfx":
        if path.suffix != ".gz":
            return import_idfx(path)
        name = path.name.removesuffix(".gz")
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            issue = ImportIssue(path.name, None, f"cannot read as gzip: {exc}")
            return IdfxResult(events=[], issues=[issue], session=Path(name).stem or "idfx")
        return parse_idfx(data, name, Path(name).stem)
    result = import_keystroke_csv(path)
    return _one_csv_user(result, path, csv_user)


def _one_csv_user(result: ImportResult, path: Path, csv_user: str | None) -> ImportResult:
    """A keystroke CSV holds many typists; one person's import takes one of them (sessions are
    named ``<stem>-u<user>-s<session>``)."""
    from workprint.interop import ImportIssue

    prefix = f"{path.stem[:40] or 'csv'}-u"
    users = {e.session[len(prefix) :].rpartition("-s")[0] for e in result.events}
    if csv_user is not None:
        kept = [e for e in result.events if e.session.startswith(f"{prefix}{csv_user}-s")]
        if not kept and result.events:
            problem = f"no rows of user {csv_user!r} (users: {', '.join(sorted(users))})"
            result.issues.append(ImportIssue(path.name, None, problem))
        result.events = kept
    elif len(users) > 1:
        problem = (
            f"holds the keystrokes of {len(users)} users ({', '.join(sorted(users)[:5])}…): "
            "one person's import takes one of them, chosen with --csv-user; nothing imported"
        )
        result.issues.append(ImportIssue(path.name, None, problem))
        result.events = []
    return result


def where(path: Path, file: str) -> str:
    """The file an issue is about, as the person named it: ``FOLDER/events.jsonl`` for a
    recording folder, the path given for a single file."""
    if path.is_dir():
        return str(path / file)
    return str(path) if file in (path.name, path.name.removesuffix(".gz")) else file


def _device(store: EmbeddedStore, person: Person, fmt: str, session: str, actor: str) -> str:
    """The import device of this recording session (created on first import)."""
    # The name is metadata readable without the master key: a digest, never the file name.
    name = f"import {fmt} {hashlib.sha256(session.encode()).hexdigest()[:12]}"
    for device in store.list_devices(person.id):
        if device.name == name and device.revoked_ns is None:
            return device.id
    code = store.create_enrollment_code(person.id, ttl_s=60, actor=actor)
    return store.redeem_enrollment_code(code, name).device_id


def _grant(
    store: EmbeddedStore, person: Person, scopes: tuple[str, ...], t: int, actor: str
) -> None:
    """Record the consent the recording was made under, once, at its first timestamp."""
    from workprint.store.interface import ConsentRecord

    record = ConsentRecord(t=t, action="grant", scopes=scopes, policy_version=0)
    if record not in store.consent_history(person.id):
        store.record_consent(person.id, record, actor=actor)


def ingest_recording(
    store: EmbeddedStore,
    person: Person,
    fmt: str,
    events: list[Event],
    scopes: tuple[str, ...],
    actor: str,
    batch_rows: int,
    tally: Tally,
) -> None:
    """Every session of one recording into the store, in batches, each through ``ingest``."""
    import msgspec

    from workprint.events.columnar import events_to_table
    from workprint.store.interface import Principal

    _grant(store, person, scopes, min(e.t for e in events), actor)
    by_session: dict[str, list[Event]] = {}
    for event in events:
        by_session.setdefault(event.session, []).append(event)
    encode = msgspec.msgpack.Encoder().encode
    for session, session_events in by_session.items():
        device = _device(store, person, fmt, session, actor)
        principal = Principal(person_id=person.id, role=person.role, device_id=device)
        for start in range(0, len(session_events), batch_rows):
            chunk = session_events[start : start + batch_rows]
            # Same recording, same batch ids: a re-import is recognised as a replay.
            batch_id = "import-" + hashlib.sha256(encode(chunk)).hexdigest()[:40]
            result = store.ingest(principal, batch_id, events_to_table(chunk))
            tally.accepted += result.accepted
            tally.duplicates += result.duplicates
            tally.rejected_consent += result.rejected_consent
            tally.bad_rows += result.rejected - result.rejected_consent
        tally.sessions += 1


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _import_path(
    store: EmbeddedStore,
    person: Person,
    fmt: str,
    path: Path,
    scopes: tuple[str, ...],
    actor: str,
    batch_rows: int,
    csv_user: str | None,
    tally: Tally,
) -> None:
    """One recording: its problems on stderr, its valid part into the store."""
    result = read_recording(fmt, path, csv_user)
    for issue in result.issues:
        line = "" if issue.line is None else f":{issue.line}"
        _say(f"{where(path, issue.file)}{line}: {issue.problem}")
    tally.problems += len(result.issues)
    if not any(type(e).__name__ not in _NOT_INPUT for e in result.events):
        _say(f"{path}: no usable events: nothing imported from it")
        tally.problems += not result.issues
        return
    events = result.events
    editor = getattr(result, "editor", None)
    if editor:  # the editor log (pastes, caret jumps, replacements) is stored as events too
        from workprint.events.editor_log import with_editor_events

        events = with_editor_events(events, editor)
    ingest_recording(store, person, fmt, events, scopes, actor, batch_rows, tally)
    tally.files += 1


@app.command("import")
def import_command(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}.")],
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help="Recording folders (agentnet, ducktrack) or files (idfx, .idfx.gz, csv).",
        ),
    ],
    person: Annotated[str, typer.Option("--person", help="Whose recordings these are (p_…).")],
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes",
            help="The consent scopes the recordings were collected under, comma-separated "
            "(e.g. input-timing,text-content,mouse). Events of other scopes are refused.",
        ),
    ],
    store_dir: StoreOption = None,
    master: MasterOption = None,
    actor: Annotated[str, typer.Option("--actor", help="Who imports, for the audit log.")] = "cli",
    csv_user: Annotated[
        str | None,
        typer.Option("--csv-user", help="keystroke-csv: import only this user's rows."),
    ] = None,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Events per ingest batch.")
    ] = 10_000,
) -> None:
    """Import recordings of other tools into the store, as PERSON's, under the stated consent.

    Problems in the input are printed as FILE:LINE: problem; the valid part is imported.
    Exit 0: all imported; 1: some problems, the valid part imported; 2: nothing usable."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from workprint.policy import parse_scopes

    if fmt not in FORMATS:
        raise WorkprintError(f"unknown import format {fmt!r} (one of: {', '.join(FORMATS)})")
    if csv_user is not None and fmt != "keystroke-csv":
        raise WorkprintError("--csv-user applies to keystroke-csv imports only")
    granted: tuple[str, ...] = parse_scopes([scopes])
    tally = Tally()
    with open_store(store_dir, master) as store:
        who = store.get_person(person)
        if who is None:
            raise NotFoundError(f"unknown person {person}")
        if who.erased_ns is not None:
            raise StoreError(f"person {person} was erased: nothing can be imported for them")
        bar = Progress(
            TextColumn("[bold]import[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            disable=len(paths) < 2,
        )
        with bar:
            task = bar.add_task(f"{fmt} files", total=len(paths))
            for path in paths:
                _import_path(store, who, fmt, path, granted, actor, batch_rows, csv_user, tally)
                bar.advance(task)
        store.audit(
            actor,
            "events.import",
            who.id,
            f"format={fmt} files={tally.files}/{len(paths)} sessions={tally.sessions} "
            f"accepted={tally.accepted} duplicates={tally.duplicates} "
            f"rejected_consent={tally.rejected_consent} bad_rows={tally.bad_rows} "
            f"issues={tally.problems}",
        )
    _finish(tally, fmt, len(paths), who.id, granted)


def _finish(tally: Tally, fmt: str, paths: int, person: str, scopes: tuple[str, ...]) -> None:
    """The summary line, and the exit code it implies."""
    if tally.rejected_consent:
        _say(
            f"{tally.rejected_consent} events need a consent scope not in --scopes "
            f"({','.join(scopes)}) and were not stored"
        )
    if tally.bad_rows:
        _say(f"{tally.bad_rows} events failed the store's validation (kept as bad rows)")
    if tally.accepted + tally.duplicates == 0:
        raise ImportFailed(
            f"nothing usable imported from {paths} {fmt} path(s)"
            + (" (see the problems above)" if tally.problems or tally.rejected_consent else "")
        )
    typer.echo(
        f"imported {tally.accepted} events ({tally.duplicates} already stored) from "
        f"{tally.files} of {paths} {fmt} path(s), {tally.sessions} sessions, for {person}; "
        f"{tally.problems} problems"
    )
    if tally.problems or tally.rejected_consent or tally.bad_rows:
        raise typer.Exit(1)
