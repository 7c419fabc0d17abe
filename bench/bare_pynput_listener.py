"""A bare pynput keyboard + mouse listener: the baseline of bench/recorder_load.py.

This is the listener the peer recorders (OpenAdapt, DuckTrack, AgentNet) build on, with
callbacks that do nothing at all, so what it costs is pynput's own price per X event: the
python-xlib RECORD reply parsing, one event object per X event, and pynput's dispatch.

Run on an X display (``DISPLAY`` set). It prints ``ready backend=...`` on stdout once both
listeners have connected, then runs until SIGTERM or SIGINT and exits with status 0, after
printing ``stopped clean=True|False``. A pynput listener on Xorg notices ``stop()`` only when
its next event arrives (the keyboard listener: its next key), so whoever stops it should send a
pointer move and a key afterwards (bench/recorder_load.py taps Shift); we wait at most
``STOP_GRACE_S`` for the listener threads and then leave with ``os._exit`` anyway
(``clean=False``), so the process always exits.
"""

from __future__ import annotations

import os
import signal
import sys

STOP_GRACE_S = 2.0


def main() -> int:
    from pynput import keyboard, mouse  # needs DISPLAY: imported here, not at module level

    def on_press(key: object) -> None:
        pass

    def on_release(key: object) -> None:
        pass

    def on_move(x: int, y: int) -> None:
        pass

    def on_click(x: int, y: int, button: object, pressed: bool) -> None:
        pass

    def on_scroll(x: int, y: int, dx: int, dy: int) -> None:
        pass

    # Block the stop signals before any thread starts (threads inherit the mask), then take
    # them synchronously with sigwait: no handler, no race between a check and a sleep.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    kbd = keyboard.Listener(on_press=on_press, on_release=on_release)
    ptr = mouse.Listener(on_move=on_move, on_click=on_click, on_scroll=on_scroll)
    kbd.start()
    ptr.start()
    kbd.wait()
    ptr.wait()
    backend = type(kbd).__module__.rsplit("_", 1)[-1]
    print(f"ready backend={backend} pid={os.getpid()}", flush=True)

    signal.sigwait(stop_signals)
    kbd.stop()
    ptr.stop()
    kbd.join(STOP_GRACE_S)
    ptr.join(STOP_GRACE_S)
    clean = not (kbd.is_alive() or ptr.is_alive())
    print(f"stopped clean={clean}", flush=True)
    sys.stderr.flush()
    os._exit(0)  # never hang on a listener thread still blocked in a read


if __name__ == "__main__":
    sys.exit(main())
