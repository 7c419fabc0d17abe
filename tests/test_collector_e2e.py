"""End to end on real parts: a scripted session typed with xdotool on a virtual X display →
the real `workprint record` (edge policy, encrypted spool, uploader thread) → the real
`workprint serve` on the real store → the subject's own export holds exactly the events
recorded, once each. Enrollment goes through `workprint enroll`, the rest through `workprint
upload`."""

from __future__ import annotations

import io
import json
import re
import stat
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.collector_support import ServeProcess, open_store
from tests.conftest import RecorderProcess, exported_events, run_cli
from workprint.builders.typed_text import typed_text_by_window
from workprint.events import SCOPES, Event, SessionStart, SessionStop, iter_jsonl
from workprint.home import Home
from workprint.testbed import XSession
from workprint.testbed.scripted_session import (
    TK_EXPECTED_BEFORE_PASTE,
    XTERM_TYPED,
    alt_tab_to_xterm,
    open_windows,
    type_into_tk,
    type_into_xterm,
)


def new_subject(data: Path) -> tuple[str, str]:
    store = open_store(data)
    try:
        person = store.add_person("Ada", "subject")
        return person.id, store.create_enrollment_code(person.id)
    finally:
        store.close()


def server_events(url: str, token: str) -> list[Event]:
    response = httpx.get(
        url + "/v1/me/events", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return list(iter_jsonl(response.content.splitlines()))  # type: ignore[arg-type]


def test_enroll_stores_the_credential_privately(tmp_path: Path, home: Path) -> None:
    person_id, code = new_subject(tmp_path / "store")
    server = ServeProcess(tmp_path / "store")
    try:
        result = run_cli(home, "enroll", server.url, code)
        assert result.returncode == 0, result.stderr
        assert person_id in result.stdout
        again = run_cli(home, "enroll", server.url, code, "--force")
        assert again.returncode == 2 and "enrollment refused (403)" in again.stderr
        paths = Home.resolve(home)
        token_file = paths.data_dir / "device.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        me = httpx.get(server.url + "/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["person"]["id"] == person_id
        # the device enrolled under its agent stream id: what its session_start events carry
        device_id = (paths.data_dir / "device.id").read_text().strip()
        assert me.json()["person"]["devices"][0]["name"] == device_id
    finally:
        server.stop()


@pytest.mark.x11
def test_recorded_events_reach_the_subjects_export_exactly_once(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    _, code = new_subject(tmp_path / "store")
    server = ServeProcess(tmp_path / "store")
    try:
        assert run_cli(home, "consent", "grant", "all").returncode == 0
        assert run_cli(home, "enroll", server.url, code).returncode == 0
        token = (Home.resolve(home).data_dir / "device.token").read_text().strip()
        windows = open_windows(xsession, tmp_path)
        rec = RecorderProcess(home, xsession.display)
        recorders.append(rec)
        type_into_tk(xsession, windows)
        alt_tab_to_xterm(xsession, windows)
        type_into_xterm(xsession)
        # a consent change while recording reaches the collector too (the uploader sends it)
        assert run_cli(home, "consent", "revoke", "browsing").returncode == 0
        deadline = time.monotonic() + 20  # the uploader thread delivers while recording goes on
        while time.monotonic() < deadline:
            upload = rec.status()["upload"]  # type: ignore[index]
            if upload["sent"] > 0:  # type: ignore[index]
                break
            time.sleep(0.2)
        assert upload["last_error"] is None and upload["sent"] > 0, upload  # type: ignore[index]
        code_, err = rec.stop()
        assert code_ == 0, err
        spooled = int(re.search(r"(\d+) written to the encrypted spool", err).group(1))  # type: ignore[union-attr]
        left = exported_events(home)  # what the recorder had not uploaded yet when it stopped
        result = run_cli(home, "upload")
        assert result.returncode == 0, result.stderr
        assert "quarantined 0" in result.stdout
    finally:
        server.stop()
    server = ServeProcess(tmp_path / "store", server.port)
    try:
        stored = server_events(server.url, token)
        export = httpx.get(
            server.url + "/v1/me/export", headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        server.stop()
    consent = json.loads(zipfile.ZipFile(io.BytesIO(export.content)).read("consent.json"))
    assert [(c["action"], c["scopes"]) for c in consent] == [
        ("grant", list(SCOPES)),
        ("revoke", ["browsing"]),
    ]
    seqs = [e.seq for e in stored]
    assert len(stored) == spooled, "every spooled event arrived, none twice"
    assert seqs == list(range(seqs[0], seqs[0] + spooled))
    assert isinstance(stored[0], SessionStart) and isinstance(stored[-1], SessionStop)
    assert stored[len(stored) - len(left) :] == left  # the tail, identical field for field
    typed = typed_text_by_window(stored)
    # the text typed, rebuilt from what the collector stored, is what the windows received
    assert TK_EXPECTED_BEFORE_PASTE in typed.values(), typed
    assert XTERM_TYPED + "\n" in typed.values(), typed
    assert exported_events(home) == []  # the spool is empty: all acknowledged
