"""Helpers for the collector tests: a real uvicorn server on 127.0.0.1 (in a thread for the
in-process store, or `workprint serve` in a subprocess), people with credentials, and batches
encoded the way the uploader sends them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
import zstandard

from tests.backend_support import backend_environ, open_backend_store
from workprint.collector import CollectorSettings, create_app
from workprint.crypto.envelope import FileMasterKey
from workprint.events import Event, KeyDown, MouseMove, SessionStart, WindowFocus, encode_batch
from workprint.spool.wire import BATCH_CONTENT_TYPE, BATCH_ID_HEADER
from workprint.store.interface import Role, Store

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def master_key_of(data: Path) -> Path:
    return data.parent / f"{data.name}.master.key"


def open_store(data: Path) -> Store:
    """The real store on ``data`` (its master key beside it, never inside), on the backend the
    session runs on (``backend_support``)."""
    store: Store = open_backend_store(data, FileMasterKey(master_key_of(data)))
    return store


class ServerThread:
    """uvicorn serving ``create_app(store)`` on a free loopback port, in a daemon thread."""

    def __init__(
        self, store: Store, settings: CollectorSettings | None = None, *, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(store, settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_healthy(self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServeProcess:
    """`workprint serve` in its own process: what kill -9 and restarts are tested on."""

    def __init__(self, data: Path, port: int | None = None) -> None:
        self.data = data
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        env = dict(os.environ)
        env.pop("WORKPRINT_MASTER_KEY", None)
        env.update(backend_environ(self.data))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "workprint",
                    "serve",
                    "--data",
                    str(self.data),
                    "--master-key",
                    str(master_key_of(self.data)),
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        wait_healthy(self.url, self.proc, self.log)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(30)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text() if log else ""
            raise AssertionError(f"collector exited ({proc.returncode}): {text[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"collector at {url} did not become healthy")


@dataclass
class Person:
    id: str
    role: Role
    token: str  # a device credential for subjects, an API token otherwise
    device_id: str | None
    device_name: str | None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_person(store: Store, role: Role, name: str | None = None) -> Person:
    """A person; a subject gets an enrolled device (redeemed directly on the store), others an
    API token."""
    person = store.add_person(name or f"{role}-{uuid.uuid4().hex[:6]}", role)
    if role != "subject":
        return Person(person.id, role, store.create_api_token(person.id), None, None)
    code = store.create_enrollment_code(person.id)
    device_name = uuid.uuid4().hex
    enrollment = store.redeem_enrollment_code(code, device_name)
    return Person(person.id, role, enrollment.token, enrollment.device_id, device_name)


def grant_all(client: httpx.Client, person: Person, t: int = 1, *, url: str = "") -> None:
    scopes = ["input-timing", "text-content", "mouse", "app-usage", "window-titles", "browsing"]
    entry = {"t": t, "action": "grant", "scopes": scopes, "policy_version": 1}
    response = client.post(url + "/v1/consent", json={"history": [entry]}, headers=person.auth)
    assert response.status_code == 200, response.text


def sample_events(n: int, *, start_seq: int = 0, device: str | None = None) -> list[Event]:
    """A realistic mix: ~90% mouse moves, keys, clicks, focus; seq numbers from ``start_seq``."""
    session = "s" + uuid.uuid4().hex[:12]
    base = time.time_ns() - 10**9
    events: list[Event] = []
    if device is not None:
        events.append(SessionStart(t=base, session=session, seq=start_seq, device=device))
    while len(events) < n:
        i = len(events)
        t, seq = base + i * 1000, start_seq + i
        if i % 10 < 8:
            events.append(MouseMove(t=t, session=session, seq=seq, x=i % 1920, y=i % 1080))
        elif i % 10 == 8:
            events.append(KeyDown(t=t, session=session, seq=seq, cls="letter", key="a", char="a"))
        else:
            events.append(WindowFocus(t=t, session=session, seq=seq, app="xterm", title="~"))
    return events


def encoded(events: list[Event]) -> bytes:
    return zstandard.ZstdCompressor().compress(encode_batch(events))


def batch_headers(person: Person, batch_id: str | None = None) -> dict[str, str]:
    return {
        **person.auth,
        "Content-Type": BATCH_CONTENT_TYPE,
        "Content-Encoding": "zstd",
        BATCH_ID_HEADER: batch_id or uuid.uuid4().hex,
    }


@contextmanager
def running(store: Store, settings: CollectorSettings | None = None) -> Iterator[ServerThread]:
    server = ServerThread(store, settings)
    try:
        yield server
    finally:
        server.stop()
