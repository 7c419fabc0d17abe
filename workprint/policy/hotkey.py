"""The pause hotkey: a written form such as ``ctrl+alt+shift+p`` and the key events it matches.

Key names are X keysym names compared without case (``p``, ``F12``, ``Pause``); modifiers are
the names of ``workprint.events.MODIFIERS``, with a few common aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import msgspec

from workprint.events import MODIFIERS

MODIFIER_ALIASES: Final = {
    "control": "ctrl",
    "super": "meta",
    "win": "meta",
    "cmd": "meta",
    "mod4": "meta",
    "mod1": "alt",
}
_KEY_NAME = re.compile(r"[a-z0-9_]+", re.ASCII)


class Hotkey(msgspec.Struct, frozen=True):
    """Modifiers that must be held (exactly) and the key pressed with them (lower case)."""

    mods: frozenset[str]
    key: str

    def __str__(self) -> str:
        return "+".join([*(m for m in MODIFIERS if m in self.mods), self.key])

    def matches(self, key: str | None, mods: Iterable[str]) -> bool:
        """True for a key event of this combination; caps lock is ignored unless part of it."""
        if key is None or key.lower() != self.key:
            return False
        held = frozenset(mods)
        if "capslock" not in self.mods:
            held = held - {"capslock"}
        return held == self.mods


def parse_hotkey(text: str) -> Hotkey:
    """Parse ``mod+mod+key``; raises ValueError with a one-line reason."""
    parts = [p.strip().lower() for p in text.split("+")]
    if not text.strip() or any(not p for p in parts):
        raise ValueError(f"hotkey {text!r}: expected modifiers and a key joined by '+'")
    *mod_words, key = parts
    mods: set[str] = set()
    for word in mod_words:
        name = MODIFIER_ALIASES.get(word, word)
        if name not in MODIFIERS:
            known = ", ".join(MODIFIERS)
            raise ValueError(f"hotkey {text!r}: {word!r} is not a modifier (known: {known})")
        if name in mods:
            raise ValueError(f"hotkey {text!r}: modifier {name!r} given twice")
        mods.add(name)
    if MODIFIER_ALIASES.get(key, key) in MODIFIERS:
        raise ValueError(f"hotkey {text!r}: ends in a modifier, not a key")
    if not (_KEY_NAME.fullmatch(key) or (len(key) == 1 and key.isprintable())):
        raise ValueError(f"hotkey {text!r}: {key!r} is not a key name")
    if not mods and len(key) == 1:
        raise ValueError(
            f"hotkey {text!r}: a single character without modifiers would swallow typing"
        )
    return Hotkey(frozenset(mods), key)
