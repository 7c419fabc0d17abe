"""The recorder's life: kill -9 and restart, bad input at start-up, the control socket, the
systemd user service — each through the real CLI on a real virtual display."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import RecorderProcess, cli_env, exported_events, run_cli
from workprint.builders.typed_text import typed_text_by_window
from workprint.events import KeyDown, SessionStart
from workprint.home import Home
from workprint.testbed import XSession
from workprint.testbed.scripted_session import open_windows

pytestmark = pytest.mark.x11


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("workprint: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_kill_9_loses_at_most_the_last_second_and_never_duplicates(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    assert run_cli(home, "consent", "grant", "all").returncode == 0
    windows = open_windows(xsession, tmp_path)
    xsession.activate(windows.tk)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    text = "the quick brown fox jumps over the lazy dog " * 6
    typist = subprocess.Popen(
        ["xdotool", "type", "--delay", "40", text], env=xsession.env, stdout=subprocess.DEVNULL
    )
    acked: list[tuple[float, int]] = []  # (monotonic time, next_seq the spool had committed)
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        status = rec.status()
        assert status is not None
        acked.append((time.monotonic(), status["spool"]["next_seq"]))  # type: ignore[index]
        time.sleep(0.1)
    rec.kill9()
    killed_at = time.monotonic()
    typist.kill()
    typist.wait()
    time.sleep(0.3)  # let Tk save its last keystrokes
    typed_for_real = windows.tk_text_file.read_text()

    events = exported_events(home)
    seqs = [e.seq for e in events]
    assert len(seqs) == len(set(seqs)), "duplicated sequence numbers"
    assert seqs == sorted(seqs)
    # everything the spool acknowledged before the last second is there
    acked_before = max(n for t, n in acked if t <= killed_at - 1.0)
    assert acked_before > 20
    assert set(range(min(seqs), acked_before)) <= set(seqs)
    # and the text it holds is what Tk received, less at most ~1 s of typing (25 keys/s)
    recovered = typed_text_by_window(events)["Tk: TkPad"]
    assert typed_for_real.startswith(recovered)
    assert len(typed_for_real) - len(recovered) <= 40, (len(typed_for_real), len(recovered))

    # a new recorder on the same home removes the stale socket and continues the numbering
    rec2 = RecorderProcess(home, xsession.display)
    recorders.append(rec2)
    xsession.xdotool("type", "--delay", "20", "again")
    code, err = rec2.stop()
    assert code == 0, err
    after = exported_events(home)
    seqs2 = [e.seq for e in after]
    assert len(seqs2) == len(set(seqs2)) and seqs2 == sorted(seqs2)
    assert len([e for e in after if isinstance(e, SessionStart)]) == 2
    assert min(e.seq for e in after[len(events) :]) > max(seqs)


def test_corrupt_policy_file_is_one_line_and_non_zero(xsession: XSession, home: Path) -> None:
    policy = home / "config" / "policy.toml"
    policy.write_text("version = [\n")
    result = run_cli(home, "record", "--duration", "1", display=xsession.display)
    assert_one_line_error(result, "policy", str(policy))
    policy.write_text('[capture]\nmouse_move_max_hz = "fast"\n')
    result = run_cli(home, "record", "--duration", "1", display=xsession.display)
    assert_one_line_error(result, "mouse_move_max_hz")
    policy.write_text('[[exclude]]\napp = "(unclosed"\n')
    result = run_cli(home, "record", "--duration", "1", display=xsession.display)
    assert_one_line_error(result, "exclude")


def test_unknown_scope_is_one_line_and_non_zero(home: Path) -> None:
    result = run_cli(home, "consent", "grant", "input-timing", "keystrokes-and-everything")
    assert_one_line_error(result, "keystrokes-and-everything")
    assert run_cli(home, "consent", "show").returncode == 0


def test_missing_display_is_one_line_and_non_zero(home: Path) -> None:
    assert run_cli(home, "consent", "grant", "all").returncode == 0
    result = run_cli(home, "record", "--duration", "1", display=":87")
    assert_one_line_error(result, "cannot open X display :87")
    result = run_cli(home, "record", "--duration", "1", display=None)
    assert_one_line_error(result, "X display")
    assert not Home.resolve(home).control_socket.exists()


def test_control_commands_without_a_recorder(home: Path) -> None:
    for cmd in ("pause", "resume"):
        assert_one_line_error(run_cli(home, cmd), "no recorder is running")
    status = run_cli(home, "status")
    assert status.returncode == 0 and "not running" in status.stdout


def test_control_socket_is_private_and_single(
    xsession: XSession, home: Path, recorders: list[RecorderProcess]
) -> None:
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    paths = Home.resolve(home)
    mode = os.stat(paths.control_socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(paths.runtime_dir).st_mode) == 0o700
    for directory in (paths.config_dir, paths.data_dir):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for written in paths.data_dir.iterdir():
        assert stat.S_IMODE(written.stat().st_mode) & 0o077 == 0, written
    second = run_cli(home, "record", "--duration", "1", display=xsession.display)
    assert_one_line_error(second, "already running")
    assert rec.status() is not None, "the first recorder still answers"
    code, err = rec.stop(signal.SIGTERM)
    assert code == 0, err
    assert not paths.control_socket.exists()


def test_consent_grant_reaches_a_running_recorder_at_once(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    assert run_cli(home, "consent", "grant", "app-usage", "window-titles").returncode == 0
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    xsession.activate(windows.tk)
    xsession.xdotool("type", "--delay", "20", "nokeys ")
    granted = run_cli(home, "consent", "grant", "input-timing", "text-content")
    assert granted.returncode == 0, granted.stderr
    assert "input-timing" in rec.status()["scopes"]  # type: ignore[index]
    xsession.xdotool("type", "--delay", "20", "keys ")
    revoked = run_cli(home, "consent", "revoke", "input-timing")
    assert revoked.returncode == 0, revoked.stderr
    xsession.xdotool("type", "--delay", "20", "gone")
    rec.stop()
    events = exported_events(home)
    assert typed_text_by_window(events)["Tk: TkPad"] == "keys "
    assert windows.tk_text_file.read_text() == "nokeys keys gone"
    assert [type(e).__name__ for e in events].count("ConsentChange") == 2
    assert all(isinstance(e, KeyDown) is False or e.char in "keys " for e in events)


def test_service_install_writes_a_unit_whose_command_records(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    xdg = tmp_path / "xdg"
    env = cli_env(home, xsession.display)
    env["XDG_CONFIG_HOME"] = str(xdg)
    installed = subprocess.run(
        [*shlex.split(_python_m()), "service", "install", "--no-enable", "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    unit = xdg / "systemd" / "user" / "workprint-recorder.service"
    text = unit.read_text()
    assert "[Service]" in text and "WantedBy=graphical-session.target" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[-2:] == ["--home", str(home)]
    # the unit's own command line starts a working recorder, and SIGTERM (systemd's stop) ends it
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while run_cli(home, "status").stdout.strip() == "not running":
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    removed = subprocess.run(
        [*shlex.split(_python_m()), "service", "uninstall"], env=env, capture_output=True, text=True
    )
    assert removed.returncode == 0 and not unit.exists()


def _python_m() -> str:
    import sys

    return shlex.join([sys.executable, "-m", "workprint"])
