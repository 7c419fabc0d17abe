"""`workprint admin …` and `workprint forget`, through the real entry point in a subprocess."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.store_support import T0, all_bytes, moves, table, typing
from workprint.crypto.envelope import FileMasterKey
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import ConsentRecord

SCOPES = ("input-timing", "text-content", "mouse", "app-usage", "window-titles")


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.data = tmp_path / "server-data"
        self.key = tmp_path / "server-config" / "master.key"
        self.env = dict(os.environ, HOME=str(tmp_path / "home"), COLUMNS="200")
        for var in ("WORKPRINT_DATA", "WORKPRINT_MASTER_KEY", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            self.env.pop(var, None)

    def __call__(
        self, *args: str, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workprint", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            input=stdin,
            timeout=60,
        )

    def store(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return self(*args, "--data", str(self.data), "--master-key", str(self.key), stdin=stdin)

    def open(self) -> EmbeddedStore:
        return EmbeddedStore.open(self.data, FileMasterKey(self.key, create=False))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def one_line_error(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workprint: error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def add_subject(cli: Cli, name: str = "Ada") -> tuple[str, str]:
    result = cli.store("admin", "add-person", name, "--role", "subject")
    assert result.returncode == 0, result.stderr
    person = re.search(r"person (p_[0-9a-f]+) \(subject\)", result.stdout)
    code = re.search(r"enrollment code .*: ([0-9A-Z-]{19})", result.stdout)
    assert person and code, result.stdout
    return person.group(1), code.group(1)


def test_add_person_creates_store_and_key_apart(cli: Cli) -> None:
    person_id, code = add_subject(cli)
    assert (cli.data / "meta.db").exists() and cli.key.exists()
    assert oct(cli.key.stat().st_mode & 0o777) == "0o600"
    assert not list(cli.data.rglob("*.key"))
    researcher = cli.store("admin", "add-person", "Rita", "--role", "researcher")
    assert researcher.returncode == 0
    token = re.search(r"API token .*: (wpa_\S+)", researcher.stdout)
    assert token
    with cli.open() as store:
        enrollment = store.redeem_enrollment_code(code, "laptop")
        assert enrollment.person_id == person_id
        principal = store.authenticate(token.group(1))
        assert principal is not None and principal.role == "researcher"
    people = cli.store("admin", "people")
    assert person_id in people.stdout and "Rita" in people.stdout


def test_defaults_follow_home_and_env(cli: Cli) -> None:
    result = cli("admin", "add-person", "Ada")
    assert result.returncode == 0, result.stderr
    home = cli.tmp / "home"
    assert (home / ".local/share/workprint-server/meta.db").exists()
    assert (home / ".config/workprint-server/master.key").exists()
    hexkey = (home / ".config/workprint-server/master.key").read_text().strip()
    other = cli.tmp / "other"
    made = cli("admin", "add-person", "Bob", WORKPRINT_DATA=str(other), WORKPRINT_MASTER_KEY=hexkey)
    assert made.returncode == 0, made.stderr
    listed = cli("admin", "people", WORKPRINT_DATA=str(other), WORKPRINT_MASTER_KEY=hexkey)
    assert "Bob" in listed.stdout and "Ada" not in listed.stdout


def test_enroll_code_revoke_device_and_devices(cli: Cli) -> None:
    person_id, code = add_subject(cli)
    fresh = cli.store("admin", "enroll-code", person_id, "--hours", "2")
    assert fresh.returncode == 0 and "valid 2 h" in fresh.stdout
    with cli.open() as store:
        enrollment = store.redeem_enrollment_code(code, "laptop")
    listed = cli.store("admin", "devices", person_id)
    assert enrollment.device_id in listed.stdout and "revoked -" in listed.stdout
    revoked = cli.store("admin", "revoke-device", enrollment.device_id)
    assert revoked.returncode == 0, revoked.stderr
    with cli.open() as store:
        assert store.authenticate(enrollment.token) is None
    one_line_error(cli.store("admin", "revoke-device", "d_nobody"), "no device d_nobody")
    one_line_error(cli.store("admin", "enroll-code", "p_nobody"), "no person p_nobody")


def test_errors_are_one_line(cli: Cli) -> None:
    one_line_error(cli.store("admin", "people"), "no store at")
    add_subject(cli)
    one_line_error(
        cli("admin", "people", "--data", str(cli.data), "--master-key", str(cli.tmp / "wrong.key")),
        "no master key",
    )
    wrong = cli.tmp / "wrong2.key"
    FileMasterKey(wrong)
    one_line_error(
        cli("admin", "people", "--data", str(cli.data), "--master-key", str(wrong)),
        "different master key",
    )
    one_line_error(cli.store("admin", "add-person", "X", "--role", "king"), "unknown role")
    inside = cli(
        "admin",
        "add-person",
        "X",
        "--data",
        str(cli.tmp / "d"),
        "--master-key",
        str(cli.tmp / "d" / "m.key"),
    )
    one_line_error(inside, "must not live inside the data directory")


def ingest_some(cli: Cli, person_id: str, code: str) -> None:
    with cli.open() as store:
        enrollment = store.redeem_enrollment_code(code, "laptop")
        store.record_consent(
            person_id, ConsentRecord(t=0, action="grant", scopes=SCOPES, policy_version=1)
        )
        principal = store.authenticate(enrollment.token)
        assert principal is not None
        store.ingest(
            principal, "b1", table(typing("top secret words", t=T0, seq=0, title="Secret doc"))
        )
        store.ingest(principal, "b2", table(moves(10, t=T0 + 10**11, seq=100)))


def test_forget_needs_yes_without_a_terminal(cli: Cli) -> None:
    person_id, code = add_subject(cli, "Zed Unusualname")
    ingest_some(cli, person_id, code)
    login = cli.store(
        "portal", "set-password", person_id, "zed.login.name", stdin="pw-Zed-123456\n"
    )
    assert login.returncode == 0, login.stderr
    assert b"zed.login.name" in all_bytes(cli.data)  # the portal's sign-in, erased below too
    refused = cli.store("forget", person_id, stdin="")
    one_line_error(refused, "without --yes")
    done = cli.store("forget", person_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert (
        f"erased {person_id}: 43 events deleted, 1 devices revoked, data key destroyed"
        in done.stdout
    )
    everything = all_bytes(cli.data)
    assert b"Zed Unusualname" not in everything and b"Secret doc" not in everything
    assert b"zed.login.name" not in everything
    people = cli.store("admin", "people")
    assert person_id in people.stdout and "erased -" not in people.stdout
    one_line_error(cli.store("forget", "p_nobody", "--yes"), "no person p_nobody")


def test_retention_compact_status_and_export(cli: Cli) -> None:
    person_id, code = add_subject(cli)
    ingest_some(cli, person_id, code)
    status = cli.store("admin", "status")
    assert re.search(r"events\s+43", status.stdout), status.stdout
    compacted = cli.store("admin", "compact")
    assert compacted.returncode == 0 and "merged 2 files over 1 days" in compacted.stdout
    out = cli.tmp / "export.zip"
    exported = cli.store("admin", "export-subject", person_id, "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "43 events, 1 consent records, 0 bad rows" in exported.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(out) as archive:
        assert len(archive.read("events.jsonl").splitlines()) == 43
    one_line_error(cli.store("admin", "export-subject", person_id, "-o", str(out)), "cannot create")
    kept = cli.store("admin", "retention", "run", "--days", "30")
    assert kept.returncode == 0 and "deleted 43 events older than 30 days" in kept.stdout


def test_audit_show_and_verify_detect_tampering(cli: Cli) -> None:
    person_id, _ = add_subject(cli)
    cli.store("admin", "set-role", person_id, "steward")
    shown = cli.store("admin", "audit", "show")
    assert shown.returncode == 0
    assert (
        "person.add" in shown.stdout
        and "person.role" in shown.stdout
        and "subject->steward" in shown.stdout
    )
    assert re.search(r"head [0-9a-f]{64}", shown.stdout)
    ok = cli.store("admin", "audit", "verify")
    assert ok.returncode == 0 and "intact: 3 entries" in ok.stdout
    with sqlite3.connect(cli.data / "meta.db") as conn:
        conn.execute("UPDATE audit SET details = 'role=admin' WHERE id = 1")
    bad = cli.store("admin", "audit", "verify")
    assert bad.returncode == 1
    assert "entry 1 was altered" in bad.stderr and "Traceback" not in bad.stderr
    with sqlite3.connect(cli.data / "meta.db") as conn:
        conn.execute("UPDATE audit SET details = 'role=subject' WHERE id = 1")
        conn.execute("DELETE FROM audit WHERE id = 2")
    gone = cli.store("admin", "audit", "verify")
    assert gone.returncode == 1 and "entry 2 is missing" in gone.stderr


def test_help_lists_the_commands(cli: Cli) -> None:
    result = cli("admin", "--help")
    assert result.returncode == 0
    for command in ("add-person", "enroll-code", "revoke-device", "retention", "audit"):
        assert command in result.stdout
    assert cli("forget", "--help").returncode == 0
