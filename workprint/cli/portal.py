"""`workprint portal set-password`: give a person a sign-in for the web portal (docs/portal.md).

The password is read from stdin (one line) or asked for twice on a terminal, never taken from
the command line where other users could see it in the process list."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from workprint.cli.app import app
from workprint.cli.store_options import DataOption, MasterOption, actor, open_store
from workprint.store.interface import NotFoundError, StoreError

portal_app = typer.Typer(help="The web portal's sign-in accounts.", no_args_is_help=True)
app.add_typer(portal_app, name="portal")


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if first != getpass.getpass("again: "):
        raise StoreError("the two passwords differ; nothing was changed")
    return first


@portal_app.command("set-password")
def set_password(
    person: Annotated[str, typer.Argument(metavar="PERSON", help="The person's id (p_…).")],
    login: Annotated[str, typer.Argument(help="The login name to sign in with.")],
    data: DataOption = None,
    master: MasterOption = None,
) -> None:
    """Set PERSON's portal login and password (stdin, or asked twice on a terminal)."""
    from workprint.portal.state import portal_state_for

    password = _read_password()
    with open_store(data, master) as store:
        found = store.get_person(person)
        if found is None or found.erased_ns is not None:
            raise NotFoundError(f"no person {person!r} in the store")
        portal = portal_state_for(store)
        try:
            account = portal.logins.set_password(person, login, password)
            portal.sessions.end_all(person)
            store.audit(actor(), "portal.account_set", person)
        finally:
            portal.db.close()
    typer.echo(f"{found.name} ({found.role}) signs in as {account.login}")
