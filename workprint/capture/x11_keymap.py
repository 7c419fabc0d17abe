"""Keyboard mapping of an X server, precomputed so that decoding a key event costs one index.

For every keycode and shift level we resolve once: the keysym name (``a``, ``Return``), the
character it produces and its key class. Modifier keys are found through the server's modifier
mapping, so the recorder tracks modifier state itself (RECORD's device events carry no usable
``state``).
"""

from __future__ import annotations

from typing import Any, Final

from workprint.events.keys import MODIFIER_KEYSYMS, UNKNOWN_KEY, KeyInfo, key_info

# Bits of the recorder's own modifier state, one per name in events.MODIFIERS.
SHIFT: Final = 1
CTRL: Final = 2
ALT: Final = 4
META: Final = 8
ALTGR: Final = 16
CAPSLOCK: Final = 32
_MOD_NAMES: Final = (
    (SHIFT, "shift"),
    (CTRL, "ctrl"),
    (ALT, "alt"),
    (META, "meta"),
    (ALTGR, "altgr"),
    (CAPSLOCK, "capslock"),
)
# mods tuple for every state, so key events share these objects instead of allocating.
MODS_BY_STATE: Final[tuple[tuple[str, ...], ...]] = tuple(
    tuple(name for bit, name in _MOD_NAMES if state & bit) for state in range(64)
)

MODIFIER_BITS: Final = {name: bit for bit, name in _MOD_NAMES}


class Keymap:
    """Per-keycode decoding tables for one X server, rebuilt on MappingNotify."""

    def __init__(self, display: Any) -> None:
        self.levels: list[tuple[KeyInfo, KeyInfo, KeyInfo, KeyInfo]] = [(UNKNOWN_KEY,) * 4] * 256
        self.modifier_bits: list[int] = [0] * 256
        self.keysym_names: list[str | None] = [None] * 256
        self.reload(display)

    def reload(self, display: Any) -> None:
        first = display.display.info.min_keycode
        count = display.display.info.max_keycode - first + 1
        mapping = display.get_keyboard_mapping(first, count)
        levels = [(UNKNOWN_KEY,) * 4] * 256
        bits = [0] * 256
        names: list[str | None] = [None] * 256
        for offset, syms in enumerate(mapping):
            keycode = first + offset
            syms = list(syms) + [0] * 6
            lower, upper = syms[0], syms[1] or syms[0]
            alt_lower = syms[4] or lower
            alt_upper = syms[5] or syms[4] or upper
            infos = (key_info(lower), key_info(upper), key_info(alt_lower), key_info(alt_upper))
            levels[keycode] = infos
            names[keycode] = infos[0].name
            bits[keycode] = MODIFIER_BITS.get(MODIFIER_KEYSYMS.get(infos[0].name or "", ""), 0)
        self.levels = levels
        self.modifier_bits = bits
        self.keysym_names = names

    def lookup(self, keycode: int, state: int) -> KeyInfo:
        """Decode a key press under the given modifier state (Shift, Caps Lock, AltGr)."""
        infos = self.levels[keycode]
        base = 2 if state & ALTGR else 0
        lower = infos[base]
        shifted = bool(state & SHIFT)
        if state & CAPSLOCK and lower.char is not None and lower.char.isalpha():
            shifted = not shifted
        return infos[base + 1] if shifted else lower
