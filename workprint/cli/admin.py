"""`workprint admin …` and `workprint forget`: run the collector's store from the command line.

Every command opens the embedded store in ``--data`` (default ``~/.local/share/
workprint-server``, or ``$WORKPRINT_DATA``) with the master key from ``--master-key`` (default
``~/.config/workprint-server/master.key``; ``$WORKPRINT_MASTER_KEY`` may hold a hex key
instead). Only ``add-person`` creates a store (and its master key) that does not exist yet.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workprint.cli.app import app
from workprint.cli.store_options import DataOption, MasterOption, actor, open_store
from workprint.errors import WorkprintError
from workprint.store.interface import ROLES, Role, StoreError

if TYPE_CHECKING:
    from workprint.store.embedded import EmbeddedStore

admin_app = typer.Typer(
    name="admin",
    help="Administer the collector's store: people, devices, retention, audit log.",
    no_args_is_help=True,
)
retention_app = typer.Typer(help="Delete raw events older than the retention period.")
audit_app = typer.Typer(help="Show and verify the hash-chained audit log.", no_args_is_help=True)
admin_app.add_typer(retention_app, name="retention")
admin_app.add_typer(audit_app, name="audit")
app.add_typer(admin_app)

PersonArg = Annotated[str, typer.Argument(metavar="PERSON", help="The person's id (p_…).")]


def _when(ns: int | None) -> str:
    if ns is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


@admin_app.command("add-person")
def add_person(
    name: Annotated[str, typer.Argument(help="A display name (kept until erasure).")],
    role: Annotated[
        str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.", show_default=True)
    ] = "subject",
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Add a person; a subject gets a one-time enrollment code, any other role an API token."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    chosen: Role = role
    with open_store(data, master, create=True) as store:
        person = store.add_person(name, chosen, actor=actor())
        typer.echo(f"person {person.id} ({person.role})")
        if person.role == "subject":
            code = store.create_enrollment_code(person.id, actor=actor())
            typer.echo(f"enrollment code (one use, valid 24 h): {code}")
        else:
            token = store.create_api_token(person.id, actor=actor())
            typer.echo(f"API token (shown once, keep it secret): {token}")


@admin_app.command("enroll-code")
def enroll_code(
    person: PersonArg,
    hours: Annotated[float, typer.Option("--hours", help="How long the code is valid.")] = 24.0,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Issue a one-time code with which a device of PERSON enrolls."""
    with open_store(data, master) as store:
        code = store.create_enrollment_code(person, ttl_s=hours * 3600, actor=actor())
    typer.echo(f"enrollment code (one use, valid {hours:g} h): {code}")


@admin_app.command("api-token")
def api_token(person: PersonArg, data: DataOption = None, master: MasterOption = None) -> None:
    """Issue a personal API token for PERSON (shown once)."""
    with open_store(data, master) as store:
        token = store.create_api_token(person, actor=actor())
    typer.echo(f"API token (shown once, keep it secret): {token}")


@admin_app.command("revoke-token")
def revoke_token(person: PersonArg, data: DataOption = None, master: MasterOption = None) -> None:
    """Revoke every personal API token of PERSON at once (device credentials: revoke-device)."""
    with open_store(data, master) as store:
        revoked = store.revoke_api_tokens(person, actor=actor())
    typer.echo(f"revoked {revoked} API token(s) of {person}")


@admin_app.command("set-role")
def set_role(
    person: PersonArg,
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Change PERSON's role (audited)."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    chosen: Role = role
    with open_store(data, master) as store:
        updated = store.set_role(person, chosen, actor=actor())
    typer.echo(f"person {updated.id} is now {updated.role}")


@admin_app.command("people")
def people(data: DataOption = None, master: MasterOption = None) -> None:
    """List people: id, role, created, erased, name."""
    with open_store(data, master) as store:
        for person in store.list_people():
            typer.echo(
                f"{person.id}  {person.role:<10}  {_when(person.created_ns)}  "
                f"erased {_when(person.erased_ns)}  {person.name}"
            )


@admin_app.command("devices")
def devices(
    person: Annotated[str | None, typer.Argument(help="Only this person's devices.")] = None,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """List enrolled devices: id, person, enrolled, revoked, name."""
    with open_store(data, master) as store:
        for device in store.list_devices(person):
            typer.echo(
                f"{device.id}  {device.person_id}  {_when(device.created_ns)}  "
                f"revoked {_when(device.revoked_ns)}  {device.name}"
            )


@admin_app.command("revoke-device")
def revoke_device(
    device: Annotated[str, typer.Argument(help="The device id (d_…).")],
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Revoke DEVICE: its credential stops working at once; its stored events stay."""
    with open_store(data, master) as store:
        store.revoke_device(device, actor=actor())
    typer.echo(f"device {device} revoked")


@retention_app.command("run")
def retention_run(
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            help="Keep raw events this many days [default: the portal policy's"
            " retention.raw_days, else 30].",
            min=0.001,
        ),
    ] = None,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Delete raw events older than --days (whole day partitions; boundary files rewritten)."""
    from workprint.portal.state import steward_retention

    with open_store(data, master) as store:
        steward = steward_retention(store) if days is None else None
        keep = days if days is not None else steward[0] if steward is not None else 30.0
        result = store.apply_retention(time.time_ns(), keep, actor=actor())
    source = f" (portal policy v{steward[1]})" if steward is not None else ""
    typer.echo(
        f"deleted {result.events_deleted} events older than {keep:g} days{source} "
        f"({result.files_rewritten} files rewritten)"
    )


@admin_app.command("compact")
def compact(
    day: Annotated[
        str | None,
        typer.Option("--day", help="Only this UTC day (YYYY-MM-DD); default: all before today."),
    ] = None,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Merge each person's per-batch files of a day into one (smaller, faster to read), then
    remove event files no metadata names that are over an hour old (debris of a crash between
    writing a batch and committing it; on an object store nothing else removes them)."""
    today = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    merged = 0
    with open_store(data, master) as store:
        chosen = [day] if day is not None else [d for d in store.days() if d < today]
        for one in chosen:
            merged += store.compact(one, actor=actor())
        debris = store.collect_debris()
    typer.echo(f"merged {merged} files over {len(chosen)} days; removed {debris} debris files")


@admin_app.command("status")
def status(data: DataOption = None, master: MasterOption = None) -> None:
    """What the store holds, in numbers."""
    with open_store(data, master) as store:
        stats = store.stats()
        root = store.root
    typer.echo(f"store      {root}")
    for field in stats.__struct_fields__:
        typer.echo(f"{field:<17}{getattr(stats, field)}")


@admin_app.command("export-subject")
def export_subject_command(
    person: PersonArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write (0600).")],
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Write PERSON's data-subject access export (events JSONL, consent history) as a zip."""
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise WorkprintError(f"cannot create {output}: {exc.strerror}") from None
    try:
        with open_store(data, master) as store, os.fdopen(fd, "wb") as sink:
            from workprint.store.subject_export import export_subject

            summary = export_subject(store, person, sink, actor=actor())
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    typer.echo(
        f"wrote {output}: {summary.events} events, {summary.consent_records} consent records, "
        f"{summary.bad_rows} bad rows"
    )


@audit_app.command("verify")
def audit_verify(data: DataOption = None, master: MasterOption = None) -> None:
    """Recompute the audit chain; exit 1 naming the first edited or missing entry."""
    with open_store(data, master) as store:
        verdict = store.verify_audit()
    if verdict.ok:
        typer.echo(f"audit log intact: {verdict.entries} entries")
        return
    typer.echo(f"audit log TAMPERED: {verdict.reason}", err=True)
    raise typer.Exit(1)


@audit_app.command("show")
def audit_show(
    last: Annotated[int, typer.Option("--last", "-n", help="Only the last N entries.")] = 0,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Print the audit log: id, time, actor, action, target, details."""
    with open_store(data, master) as store:
        entries = store.audit_entries()
    for entry in entries[-last:] if last > 0 else entries:
        typer.echo(
            f"{entry.id:>6}  {_when(entry.t)}  {entry.actor}  {entry.action}  {entry.target}"
            + (f"  {entry.details}" if entry.details else "")
        )
    if entries:
        typer.echo(f"head {entries[-1].hash}")


@app.command("forget")
def forget(
    person: PersonArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Erase PERSON: destroy their data key, delete their events, bad rows, consents and
    device credentials, and record the erasure. Irreversible."""
    if not yes:
        if not sys.stdin.isatty():
            raise WorkprintError("refusing to erase without --yes when stdin is not a terminal")
        typer.confirm(f"Erase everything stored about {person}? This cannot be undone", abort=True)
    with open_store(data, master) as store:
        receipt = store.forget(person, actor=actor())
        _forget_portal_account(store, receipt.person_id)
    typer.echo(
        f"erased {receipt.person_id}: {receipt.events_deleted} events deleted, "
        f"{receipt.devices_revoked} devices revoked, data key "
        f"{'destroyed' if receipt.key_destroyed else 'already gone'}"
    )


def _forget_portal_account(store: EmbeddedStore, person_id: str) -> None:
    """The portal's sign-in, sessions and device status of the person go too, now (a running
    collector would otherwise only sweep them at its next start)."""
    from workprint.portal.db import existing_portal_db

    portal = existing_portal_db(store)
    if portal is not None:
        try:
            portal.forget_person(person_id)
        finally:
            portal.close()
