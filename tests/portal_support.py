"""Helpers for the portal tests: a real collector (uvicorn on 127.0.0.1, in a thread) with the
portal mounted, accounts with passwords, signed-in HTTP clients, and events sent through the real
ingest API."""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.collector_support import (
    Person,
    ServerThread,
    add_person,
    batch_headers,
    encoded,
    open_store,
)
from workprint.agent.control_server import ControlServer
from workprint.events import Event, KeyDown, MouseMove, SessionStart, WindowFocus
from workprint.home import Home
from workprint.policy.consent import load_consent
from workprint.portal.state import PortalState
from workprint.store.interface import Role, Store

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Portal:
    url: str
    state: PortalState
    store: Store


@contextmanager
def serving(store: Store) -> Iterator[Portal]:
    """The collector app (portal included) on a free loopback port."""
    with ServerThread(store) as server:
        yield Portal(server.url, server.app.state.portal, store)


@contextmanager
def portal_on(data: Path) -> Iterator[Portal]:
    """A fresh store in ``data`` (on the session's backend) served with its portal; the store
    is closed afterwards."""
    store = open_store(data)
    try:
        with serving(store) as running:
            yield running
    finally:
        store.close()


def account(portal: Portal, role: Role, name: str | None = None) -> tuple[Person, str]:
    """A person of ``role`` (a subject with an enrolled device) with a portal login."""
    person = add_person(portal.store, role, name)
    login = f"{role}-{uuid.uuid4().hex[:8]}"
    portal.state.logins.set_password(person.id, login, PASSWORD)
    return person, login


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(portal: Portal, login: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=portal.url)
    page = client.get("/portal/login")
    answer = client.post(
        "/portal/login", data={"login": login, "password": password, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303, answer.text
    return client


def page_csrf(client: httpx.Client, path: str = "/portal/") -> str:
    return csrf_of(client.get(path, follow_redirects=True).text)


def activity(device_name: str, n: int, *, t0: int | None = None) -> list[Event]:
    """A session of ``n`` events after ``t0`` (default: now): focus, keys and mouse moves."""
    base = time.time_ns() if t0 is None else t0
    session = "s" + uuid.uuid4().hex[:12]
    events: list[Event] = [SessionStart(t=base, session=session, seq=0, device=device_name)]
    for i in range(1, n):
        t = base + i * 50_000_000
        if i % 10 == 1:
            events.append(WindowFocus(t=t, session=session, seq=i, app="gedit"))
        elif i % 10 < 5:
            events.append(KeyDown(t=t, session=session, seq=i, cls="letter", key="a", char="a"))
        else:
            events.append(MouseMove(t=t, session=session, seq=i, x=i, y=2 * i))
    return events


def send_batch(portal: Portal, device: Person, events: list[Event]) -> dict[str, object]:
    response = httpx.post(
        portal.url + "/v1/batches", content=encoded(events), headers=batch_headers(device)
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


class RecorderStandIn:
    """The recorder's control socket (the real ``ControlServer``) answering as a recorder does:
    status with its state and effective scopes read from the consent file, pause, resume and
    reload-consent. It lets the device side be tested without an X display."""

    def __init__(self, home: Home) -> None:
        self.home = home.ensure()
        self.paused = False
        self.commands: list[str] = []
        self.server = ControlServer(home.control_socket, self.handle)
        self.server.start()

    def handle(self, request: dict[str, object]) -> dict[str, object]:
        cmd = str(request.get("cmd"))
        self.commands.append(cmd)
        if cmd == "pause":
            self.paused = True
        elif cmd == "resume":
            self.paused = False
        elif cmd not in ("reload-consent", "reload-policy", "status"):
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        scopes = sorted(load_consent(self.home.consent_file).effective_scopes())
        state = "no-consent" if not scopes else "paused" if self.paused else "recording"
        return {"ok": True, "state": state, "scopes": scopes, "paused": self.paused}

    def stop(self) -> None:
        self.server.stop()


def device_home() -> Home:
    """A short path: a Unix socket path must stay under 108 bytes."""
    return Home.resolve(tempfile.mkdtemp(prefix="wp-dev-"))
