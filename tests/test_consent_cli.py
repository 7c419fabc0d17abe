"""`workprint consent` and `workprint policy` through the real console entry point, and the
control-socket client they use to tell a running recorder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from workprint.agent.control_client import send_command
from workprint.agent.control_server import ControlServer
from workprint.errors import WorkprintError
from workprint.events import SCOPES
from workprint.home import Home
from workprint.policy import default_policy, load_consent, parse_policy


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WORKPRINT_HOME"}
    env["COLUMNS"] = "160"
    return subprocess.run(
        [sys.executable, "-m", "workprint", *args, "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("workprint: error: ")
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "wp"


def paths(home: Path) -> Home:
    return Home.resolve(home)


# -- consent --------------------------------------------------------------------------------------


def test_grant_show_revoke(home: Path) -> None:
    result = run(home, "consent", "grant", "input-timing", "text-content", "mouse")
    assert result.returncode == 0, result.stderr
    assert "granted: input-timing, text-content, mouse (policy version 1)" in result.stdout
    assert "no recorder running; the change applies when it starts" in result.stdout
    assert load_consent(paths(home).consent_file).granted == (
        "input-timing",
        "text-content",
        "mouse",
    )

    result = run(home, "consent", "revoke", "input-timing")
    assert result.returncode == 0, result.stderr
    assert "in force now: mouse" in result.stdout
    assert "note: text-content has no effect without input-timing" in result.stdout

    result = run(home, "consent", "show")
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "│ yes, but no" in rows["text-content"] and "effect without" in result.stdout
    assert "│ yes " in rows["mouse"] and "│ no " in rows["input-timing"]
    assert "Pointer movements" in rows["mouse"]
    assert set(SCOPES) <= set(rows)
    assert "History (latest 2 of 2)" in result.stdout
    history = [
        line for line in result.stdout.splitlines() if "│ grant" in line or "│ revoke" in line
    ]
    assert len(history) == 2 and "v1" in history[0]


def test_show_with_nothing_on_record(home: Path) -> None:
    result = run(home, "consent", "show")
    assert result.returncode == 0, result.stderr
    assert "No grants or revocations on record." in result.stdout
    assert not paths(home).consent_file.exists()


def test_grant_records_the_policy_version(home: Path) -> None:
    paths(home).ensure().policy_file.write_text("version = 7\n")
    assert run(home, "consent", "grant", "all").returncode == 0
    (entry,) = load_consent(paths(home).consent_file).history
    assert entry.policy_version == 7 and entry.scopes == SCOPES


def test_unknown_scope_is_one_line_exit_2(home: Path) -> None:
    line = one_line_failure(run(home, "consent", "grant", "mouse", "keystrokes"))
    assert "unknown scope 'keystrokes' (known: input-timing, text-content" in line
    assert not paths(home).consent_file.exists()


def test_missing_scope_is_a_usage_error(home: Path) -> None:
    result = run(home, "consent", "grant")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_corrupt_policy_blocks_grant_but_not_revoke(home: Path) -> None:
    paths(home).ensure().policy_file.write_text('[capture]\nmouse_move_max_hz = "fast"\n')
    line = one_line_failure(run(home, "consent", "grant", "mouse"))
    assert "capture.mouse_move_max_hz: Expected `int`, got `str`" in line

    result = run(home, "consent", "revoke", "all")
    assert result.returncode == 0, result.stderr
    assert "recorded with policy version 0" in result.stderr
    assert load_consent(paths(home).consent_file).history[0].policy_version == 0


def test_corrupt_consent_file(home: Path) -> None:
    consent = paths(home).ensure().consent_file
    consent.write_text('{"format": 1, "granted": ["mouse", "telepathy"]}')
    line = one_line_failure(run(home, "consent", "show"))
    assert f"consent file {consent}: granted[1]: Invalid enum value 'telepathy'" in line
    one_line_failure(run(home, "consent", "grant", "mouse"))

    result = run(home, "consent", "revoke", "mouse")  # a revocation is never blocked
    assert result.returncode == 0, result.stderr
    assert "moved it to" in result.stderr
    assert load_consent(consent).granted == ()
    (aside,) = consent.parent.glob("consent.json.corrupt-*")
    assert b"telepathy" in aside.read_bytes()


def test_revoke_erase_deletes_the_local_spool(home: Path) -> None:
    spool = paths(home).ensure().spool_file
    for suffix in ("", "-wal", "-shm"):
        Path(f"{spool}{suffix}").write_bytes(b"x")
    result = run(home, "consent", "revoke", "all", "--erase")
    assert result.returncode == 0, result.stderr
    assert "erased the local spool" in result.stdout
    assert "data already uploaded is not affected" in result.stdout
    assert not list(spool.parent.glob("spool.db*"))
    again = run(home, "consent", "revoke", "mouse", "--erase")
    assert "nothing to erase" in again.stdout


# -- with a recorder listening on the control socket ----------------------------------------------


@pytest.fixture
def recorder(home: Path) -> Iterator[list[dict[str, Any]]]:
    """The real control server with a handler that records what it was asked."""
    requests: list[dict[str, Any]] = []

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        requests.append(request)
        return {"ok": True, "changed": True}

    server = ControlServer(paths(home).ensure().control_socket, handle)
    server.start()
    yield requests
    server.stop()


def test_grant_and_revoke_tell_a_running_recorder(
    home: Path, recorder: list[dict[str, Any]]
) -> None:
    result = run(home, "consent", "grant", "mouse")
    assert result.returncode == 0, result.stderr
    assert "the running recorder applied the change" in result.stdout
    assert run(home, "consent", "revoke", "mouse").returncode == 0
    assert recorder == [{"cmd": "reload-consent"}, {"cmd": "reload-consent"}]


def test_erase_refused_while_a_recorder_holds_the_spool(
    home: Path, recorder: list[dict[str, Any]]
) -> None:
    spool = paths(home).spool_file
    spool.write_bytes(b"x")
    line = one_line_failure(run(home, "consent", "revoke", "all", "--erase"))
    assert "the revocation is recorded, but the spool" in line and "NOT erased" in line
    assert spool.exists()
    assert load_consent(paths(home).consent_file).history[-1].action == "revoke"
    assert recorder == [{"cmd": "reload-consent"}]


# -- the control client on its own ----------------------------------------------------------------


def serve_once(path: Path, respond: Callable[[socket.socket], None]) -> threading.Thread:
    """A one-connection server on a real Unix socket that answers with ``respond``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def main() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                respond(conn)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return thread


def test_no_recorder_is_none(home: Path) -> None:
    assert send_command(paths(home), "status") is None


def test_stale_socket_is_none(home: Path) -> None:
    path = paths(home).ensure().control_socket
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: what a killed recorder leaves
    assert send_command(paths(home), "status") is None


def test_reply_and_arguments(home: Path) -> None:
    got: list[bytes] = []
    path = paths(home).control_socket
    path.parent.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def main() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                got.append(conn.recv(4096))
                conn.sendall(b'{"ok": true, "state": "paused"}\n{"ignored": 1}\n')

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert send_command(paths(home), "pause", reason="test") == {"ok": True, "state": "paused"}
    thread.join(5)
    assert json.loads(got[0]) == {"cmd": "pause", "reason": "test"} and got[0].endswith(b"\n")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"not json\n", "garbled reply: b'not json'"),
        (b'["ok"]\n', "garbled reply (no boolean 'ok')"),
        (b'{"ok": "yes"}\n', "garbled reply (no boolean 'ok')"),
        (b'{"ok": true}', "closed the connection without a reply"),
        (b"", "closed the connection without a reply"),
    ],
)
def test_bad_replies_are_one_line_errors(home: Path, reply: bytes, message: str) -> None:
    serve_once(paths(home).control_socket, lambda conn: conn.sendall(reply))
    with pytest.raises(WorkprintError) as info:
        send_command(paths(home), "status")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"control socket {paths(home).control_socket}: ")


def void(_: object) -> None:
    """Discard a value (for lambdas that must return None)."""


def test_silent_recorder_times_out(home: Path) -> None:
    release = threading.Event()
    serve_once(paths(home).control_socket, lambda conn: void(release.wait(10)))
    started = time.monotonic()
    with pytest.raises(WorkprintError, match="no reply within 2 s"):
        send_command(paths(home), "status")
    release.set()
    assert 1.5 < time.monotonic() - started < 5


# -- policy ---------------------------------------------------------------------------------------


def test_policy_check_default_and_show(home: Path) -> None:
    result = run(home, "policy", "check")
    assert result.returncode == 0, result.stderr
    assert "the packaged default applies" in result.stdout
    assert parse_policy(result.stdout) == default_policy()

    result = run(home, "policy", "show")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# policy in force: the packaged default")
    assert parse_policy(result.stdout) == default_policy()

    result = run(home, "policy", "show", "--default")
    assert "[[exclude]]" in result.stdout and "# " in result.stdout
    assert tomllib.loads(result.stdout)["version"] == 1


def test_policy_check_a_file(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('version = 4\n[[exclude]]\napp = "^bank$"\n')
    result = run(home, "policy", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert f"# {path}: valid (policy version 4, 1 exclusion rules)" in result.stdout
    policy = parse_policy(result.stdout)
    assert policy.version == 4 and len(policy.exclude) == 1

    quiet = run(home, "policy", "check", "-q", str(path))
    assert quiet.stdout.count("\n") == 1


def test_policy_show_uses_the_installation_file(home: Path) -> None:
    policy_file = paths(home).ensure().policy_file
    policy_file.write_text("[capture]\nmouse_move_max_hz = 30\n")
    result = run(home, "policy", "show")
    assert result.stdout.startswith(f"# policy in force: {policy_file}")
    assert parse_policy(result.stdout).capture.mouse_move_max_hz == 30


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[capture]\nmouse_move_max_hz = 5000\n",
            "capture.mouse_move_max_hz: Expected `int` <= 1000",
        ),
        ('[[exclude]]\ntitle = "(unclosed"\n', "exclude[0].title: bad regular expression"),
        ("[capture\n", "line 1, column 9: invalid TOML"),
    ],
)
def test_corrupt_policy_is_one_line_exit_2(
    home: Path, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    line = one_line_failure(run(home, "policy", "check", str(path)))
    assert f"policy file {path}: {message}" in line
    paths(home).ensure().policy_file.write_text(content)
    assert message in one_line_failure(run(home, "policy", "show"))


def test_policy_check_missing_file(home: Path, tmp_path: Path) -> None:
    line = one_line_failure(run(home, "policy", "check", str(tmp_path / "nope.toml")))
    assert line.endswith("nope.toml: no such file")
