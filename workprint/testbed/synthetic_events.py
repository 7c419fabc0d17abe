"""What a recorder sends, synthesised: the event mix load generators and fleet tests need.

One endless stream per simulated device, shaped like coalesced recorder output — ~90% mouse moves
along strokes at ~60 Hz, key down/up pairs with characters, clicks, scrolls, focus changes with
titles — so collectors and stores are measured on the columns and sizes they will really see.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import NamedTuple

from workprint.events import (
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Scroll,
    WindowFocus,
)
from workprint.events.model import KeyClass

DEFAULT_SESSION = "3f2a9c1e5b7d4e0f8a6b2c9d1e3f5a7b"
APPS = [
    ("firefox", "Search results - Mozilla Firefox"),
    ("code", "spool.py - workprint - Visual Studio Code"),
    ("gnome-terminal", "~/work/main"),
    ("libreoffice", "report-q3.odt - LibreOffice Writer"),
]
TEXT = "the quick brown fox jumps over the lazy dog while the spool keeps every keystroke "


class Mix(NamedTuple):
    """What comes next, as cumulative shares of draws: a stroke of moves, a burst of typing, a
    click, a scroll; the rest are focus changes."""

    stroke: float
    typing: float
    click: float
    scroll: float


WORKFORCE: Mix = Mix(0.60, 0.68, 0.88, 0.96)  # ~90% of events mouse moves (collector loads)
MOUSE_HEAVY: Mix = Mix(0.86, 0.93, 0.97, 0.995)  # ~96% mouse moves (the spool benchmark)


def device_output(
    rng: random.Random, t: int, session: str = DEFAULT_SESSION, mix: Mix = WORKFORCE
) -> Iterator[Event]:
    """An endless stream of one device from time ``t`` (ns): coalesced moves along strokes,
    keys, clicks, scrolls and focus changes in the shares of ``mix``. Sequence numbers are
    left to the caller, who numbers events as it batches them (as the spool does)."""
    x, y = 960, 540
    while True:
        roll = rng.random()
        if roll < mix.stroke:  # a stroke towards a target, sampled at ~60 Hz
            tx, ty = rng.randint(0, 1919), rng.randint(0, 1079)
            steps = max(3, int(math.hypot(tx - x, ty - y) / rng.uniform(8, 30)))
            for i in range(1, steps + 1):
                t += rng.randint(14_000_000, 19_000_000)
                jx, jy = rng.randint(-1, 1), rng.randint(-1, 1)
                yield MouseMove(
                    t=t,
                    session=session,
                    x=x + (tx - x) * i // steps + jx,
                    y=y + (ty - y) * i // steps + jy,
                )
            x, y = tx, ty
        elif roll < mix.typing:  # a burst of typing
            offset = rng.randrange(len(TEXT) - 20)
            for ch in TEXT[offset : offset + rng.randint(3, 20)]:
                key = "space" if ch == " " else ch
                cls: KeyClass = "space" if ch == " " else "letter"
                t += rng.randint(60_000_000, 250_000_000)
                yield KeyDown(t=t, session=session, cls=cls, key=key, char=ch, keycode=38)
                t += rng.randint(40_000_000, 120_000_000)
                yield KeyUp(t=t, session=session, cls=cls, key=key, char=ch, keycode=38)
        elif roll < mix.click:
            t += rng.randint(50_000_000, 400_000_000)
            yield MouseDown(t=t, session=session, x=x, y=y, button=1)
            t += rng.randint(60_000_000, 140_000_000)
            yield MouseUp(t=t, session=session, x=x, y=y, button=1)
        elif roll < mix.scroll:
            for _ in range(rng.randint(1, 6)):
                t += rng.randint(20_000_000, 80_000_000)
                yield Scroll(t=t, session=session, x=x, y=y, dy=rng.choice((-1, 1)))
        else:
            app, title = rng.choice(APPS)
            t += rng.randint(100_000_000, 900_000_000)
            yield WindowFocus(
                t=t, session=session, app=app, title=title, pid=rng.randint(1000, 9999)
            )
