"""Shared fixtures: a private X session (Xvfb via -displayfd + openbox, driven by xdotool), the
real `workprint` CLI in a subprocess, and readers for everything a recorder wrote."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workprint.agent.control_client import send_command
from workprint.events import Event, iter_jsonl
from workprint.home import Home
from workprint.testbed import XSession


def cli_env(home: Path, display: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["WORKPRINT_HOME"] = str(home)
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)  # so "every byte written" includes temp files
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    env["COLUMNS"] = "200"
    return env


def run_cli(
    home: Path,
    *args: str,
    display: str | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point (`python -m workprint …`) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "workprint", *args],
        env=cli_env(home, display),
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


class RecorderProcess:
    """`workprint record` running in its own process on a test display."""

    def __init__(self, home: Path, display: str, *extra: str) -> None:
        self.home = home
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workprint", "record", *extra],
            env=cli_env(home, display),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.wait_ready()

    def status(self) -> dict[str, object] | None:
        return send_command(Home.resolve(self.home), "status")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                raise AssertionError(f"recorder exited early ({self.proc.returncode}): {err}")
            if self.status() is not None:
                return
            time.sleep(0.05)
        raise AssertionError("recorder did not open its control socket")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        """Stop it the way a person would (Ctrl-C), wait, and return (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.communicate(timeout=30)


@pytest.fixture
def xsession() -> Iterator[XSession]:
    with XSession() as xs:
        yield xs


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "wp"
    Home.resolve(path).ensure()
    return path


@pytest.fixture
def recorders() -> Iterator[list[RecorderProcess]]:
    """Recorders a test started; any still running at the end are killed."""
    started: list[RecorderProcess] = []
    yield started
    for rec in started:
        if rec.proc.poll() is None:
            rec.kill9()


def exported_events(home: Path) -> list[Event]:
    """Decrypt the spool through the real `workprint events export` command."""
    result = run_cli(home, "events", "export")
    assert result.returncode == 0, result.stderr
    events: list[Event] = []
    for item in iter_jsonl(result.stdout.encode().splitlines()):
        assert isinstance(item, Event.__args__), item  # type: ignore[attr-defined]
        events.append(item)  # type: ignore[arg-type]
    return events


def written_files(home: Path) -> list[Path]:
    """Every file under the recorder's home (spool, -wal/-shm, key, logs, temp files)."""
    return [p for p in home.rglob("*") if p.is_file() and not p.is_socket()]


def written_bytes(home: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in written_files(home))
