"""`workprint consent grant|revoke|show`: the person's own say over what is recorded.

Every change is written to the consent record first and then announced to a running recorder,
so it takes effect at once; a revocation is never blocked by a broken policy or consent file.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from workprint.agent.control_client import send_command
from workprint.cli.app import HomeOption, app, resolve_home
from workprint.errors import WorkprintError
from workprint.events import SCOPES
from workprint.home import Home
from workprint.policy.consent import (
    ALL_WORD,
    SCOPE_DESCRIPTIONS,
    SCOPE_REQUIRES,
    ConsentError,
    ConsentState,
    grant,
    load_consent,
    parse_scopes,
    revoke,
    set_aside,
)
from workprint.policy.policy_file import PolicyError, load_policy

consent_app = typer.Typer(
    name="consent",
    help="Grant, withdraw and show your consent to what workprint records.",
    no_args_is_help=True,
)
app.add_typer(consent_app)

# Messages carry paths and file contents: never read them as Rich markup, never wrap them.
out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

ScopesArg = Annotated[
    list[str],
    typer.Argument(
        metavar="SCOPE",
        help=f"One or more of: {', '.join(SCOPES)}; or {ALL_WORD}.",
        show_default=False,
    ),
]


@consent_app.command("grant")
def grant_command(scopes: ScopesArg, home: HomeOption = None) -> None:
    """Consent to recording SCOPE...; a running recorder applies it at once."""
    paths = resolve_home(home)
    requested = parse_scopes(scopes)
    version = load_policy(paths.policy_file).version
    state = grant(paths.consent_file, requested, version)
    out.print(f"granted: {', '.join(requested)} (policy version {version})")
    _print_in_force(state)
    _notify(paths)


@consent_app.command("revoke")
def revoke_command(
    scopes: ScopesArg,
    erase: Annotated[
        bool,
        typer.Option(
            "--erase",
            help="Also delete the local spool: everything recorded on this machine and not yet "
            "uploaded, of every scope. Data already uploaded is not affected.",
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Withdraw consent to SCOPE...; a running recorder stops recording them at once."""
    paths = resolve_home(home)
    requested = parse_scopes(scopes)
    try:
        version = load_policy(paths.policy_file).version
    except PolicyError as exc:
        err.print(f"warning: {exc}; the revocation is recorded with policy version 0")
        version = 0
    try:
        load_consent(paths.consent_file)
    except ConsentError as exc:
        moved = set_aside(paths.consent_file)
        err.print(f"warning: {exc}; moved it to {moved}, starting a record with nothing granted")
    state = revoke(paths.consent_file, requested, version)
    out.print(f"revoked: {', '.join(requested)}")
    _print_in_force(state)
    running = _notify(paths)
    if erase:
        _erase_spool(paths, recorder_running=running)


@consent_app.command("show")
def show_command(
    home: HomeOption = None,
    history: Annotated[
        int,
        typer.Option(
            "--history", "-n", min=0, help="How many of the latest grants and revocations to list."
        ),
    ] = 10,
) -> None:
    """Show each scope, whether it is granted and in force, what it covers, and the history."""
    paths = Home.resolve(home)
    state = load_consent(paths.consent_file)
    effective = state.effective_scopes()
    table = Table(title=f"Consent ({paths.consent_file})", title_justify="left")
    table.add_column("Scope", no_wrap=True)
    table.add_column("Granted", max_width=16)
    table.add_column("What it covers", ratio=1)
    for scope in SCOPES:
        if scope in effective:
            granted = "yes"
        elif scope in state.scopes:
            granted = f"yes, but no effect without {SCOPE_REQUIRES[scope]}"
        else:
            granted = "no"
        table.add_row(scope, granted, SCOPE_DESCRIPTIONS[scope])
    out.print(table, soft_wrap=False)
    if not state.history:
        out.print("No grants or revocations on record.")
        return
    entries = state.history[-history:] if history else ()
    if not entries:
        return
    log = Table(title=f"History (latest {len(entries)} of {len(state.history)})")
    log.add_column("When", no_wrap=True)
    log.add_column("Action", no_wrap=True)
    log.add_column("Scopes")
    log.add_column("Policy", justify="right", no_wrap=True)
    for entry in entries:
        when = datetime.datetime.fromtimestamp(entry.t / 1e9).astimezone()
        log.add_row(
            when.isoformat(timespec="seconds"),
            entry.action,
            ", ".join(entry.scopes),
            f"v{entry.policy_version}",
        )
    out.print(log, soft_wrap=False)


def _print_in_force(state: ConsentState) -> None:
    effective = state.effective_scopes()
    in_force = [s for s in SCOPES if s in effective]
    out.print(f"in force now: {', '.join(in_force) if in_force else 'nothing'}")
    for scope in state.granted:
        if scope not in effective:
            out.print(f"note: {scope} has no effect without {SCOPE_REQUIRES[scope]}")


def _notify(paths: Home) -> bool:
    """Tell a running recorder to re-read the consent record; True if one is running."""
    try:
        reply = send_command(paths, "reload-consent")
    except WorkprintError as exc:
        raise WorkprintError(
            f"the consent record is updated, but the recorder did not confirm: {exc}"
        ) from None
    if reply is None:
        out.print("no recorder running; the change applies when it starts")
        return False
    if not reply["ok"]:
        reason = reply.get("error", "no reason given")
        raise WorkprintError(
            f"the consent record is updated, but the recorder refused to reload it: {reason}"
        )
    out.print("the running recorder applied the change")
    return True


def _erase_spool(paths: Home, *, recorder_running: bool) -> None:
    """Delete the spool database and its SQLite side files (-wal, -shm)."""
    spool = paths.spool_file
    if recorder_running:
        raise WorkprintError(
            f"the revocation is recorded, but the spool {spool} was NOT erased: a recorder is "
            "running and holds it open; stop the recorder, then run this command again"
        )
    removed: list[Path] = []
    for path in (spool, Path(f"{spool}-wal"), Path(f"{spool}-shm")):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise WorkprintError(f"cannot delete {path}: {exc.strerror}") from None
        removed.append(path)
    if removed:
        out.print(f"erased the local spool: deleted {', '.join(str(p) for p in removed)}")
    else:
        out.print(f"nothing to erase: there is no local spool ({spool})")
    out.print("data already uploaded is not affected by this")
