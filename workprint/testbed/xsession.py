"""A private virtual X session: Xvfb (display number chosen by the server via ``-displayfd``),
a small window manager (openbox) so ``_NET_ACTIVE_WINDOW`` exists, and helpers to open windows
and drive real input with xdotool. Used by the tests, the demo and the benchmarks; everything it
starts is torn down by PID."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from workprint.errors import WorkprintError

REQUIRED_PROGRAMS = ("Xvfb", "openbox", "xdotool", "xprop")


class XSessionError(WorkprintError):
    """The virtual display could not be started or driven."""


@dataclass
class XSession:
    """Start with ``with XSession() as xs:``; ``xs.env`` is an environment with its DISPLAY."""

    width: int = 1280
    height: int = 800
    window_manager: bool = True
    display: str = ""
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> XSession:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def start(self) -> None:
        missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None]
        if missing:
            raise XSessionError(
                f"missing programs {', '.join(missing)}: "
                "install the Debian packages xvfb, openbox, xdotool and x11-utils"
            )
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{self.width}x{self.height}x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(write_fd)
        self._procs.append(xvfb)
        number = self._read_display_number(read_fd, xvfb)
        self.display = f":{number}"
        if self.window_manager:
            self.spawn(["openbox", "--sm-disable"])
            self._wait_for_wm()

    def _read_display_number(self, fd: int, xvfb: subprocess.Popen[bytes]) -> str:
        data = b""
        deadline = time.monotonic() + 20
        try:
            while not data.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or xvfb.poll() is not None:
                    self.stop()
                    raise XSessionError("Xvfb did not start (no display number within 20 s)")
                ready, _, _ = select.select([fd], [], [], remaining)
                if ready:
                    chunk = os.read(fd, 64)
                    if not chunk:
                        break
                    data += chunk
        finally:
            os.close(fd)
        number = data.decode().strip()
        if not number.isdigit():
            self.stop()
            raise XSessionError(f"Xvfb reported no display number ({data!r})")
        return number

    def _wait_for_wm(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"],
                env=self.env,
                capture_output=True,
                text=True,
            )
            if "window id" in probe.stdout:
                return
            time.sleep(0.05)
        raise XSessionError("openbox did not take the display within 20 s")

    def spawn(
        self, argv: Sequence[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a program on this display; it is killed when the session stops."""
        proc = subprocess.Popen(
            list(argv),
            env=env or self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._procs.append(proc)
        return proc

    def xdotool(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        """Run xdotool with these arguments (or a script on stdin with ``-``)."""
        result = subprocess.run(
            ["xdotool", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise XSessionError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def wait_for_window(self, name: str, timeout: float = 20) -> int:
        """Wait until a visible window whose title matches ``name`` exists; return its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", name],
                env=self.env,
                capture_output=True,
                text=True,
            )
            ids = found.stdout.split()
            if ids:
                return int(ids[0])
            time.sleep(0.05)
        raise XSessionError(f"no window named {name!r} appeared within {timeout:.0f} s")

    def activate(self, window: int) -> None:
        """Focus a window through the window manager and wait until it is active."""
        self.xdotool("windowactivate", "--sync", str(window))

    def active_window(self) -> int:
        return int(self.xdotool("getactivewindow").strip())

    def stop(self) -> None:
        """Kill everything started here, newest first, by process group."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._procs.clear()


def tk_text_window_script() -> Path:
    """Path of the small Tk text editor used as a typing target (saves its text on demand)."""
    return Path(__file__).with_name("tk_text_window.py")
