"""Keyboard mapping of an X server, precomputed so that decoding a key event costs one index.

For every keycode and shift level we resolve once: the keysym name (``a``, ``Return``), the
character it produces and its key class. Modifier keys are found through the server's modifier
mapping, so the recorder tracks modifier state itself (RECORD's device events carry no usable
``state``).
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from typing import Any, Final, NamedTuple

import Xlib.keysymdef

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

_MODIFIER_KEYSYMS: Final = {
    "Shift_L": SHIFT,
    "Shift_R": SHIFT,
    "Control_L": CTRL,
    "Control_R": CTRL,
    "Alt_L": ALT,
    "Alt_R": ALT,
    "Meta_L": META,
    "Meta_R": META,
    "Super_L": META,
    "Super_R": META,
    "Hyper_L": META,
    "Hyper_R": META,
    "ISO_Level3_Shift": ALTGR,
    "Mode_switch": ALTGR,
    "Caps_Lock": CAPSLOCK,
}
_OTHER_MODIFIERS: Final = frozenset({"Num_Lock", "Scroll_Lock", "ISO_Level5_Shift", "Shift_Lock"})
_NAVIGATION: Final = frozenset(
    {
        "Left",
        "Right",
        "Up",
        "Down",
        "Home",
        "End",
        "Prior",
        "Next",
        "Page_Up",
        "Page_Down",
        "Tab",
        "ISO_Left_Tab",
        "KP_Left",
        "KP_Right",
        "KP_Up",
        "KP_Down",
        "KP_Home",
        "KP_End",
        "KP_Prior",
        "KP_Next",
        "KP_Tab",
    }
)
_EDITING: Final = frozenset(
    {"BackSpace", "Delete", "Return", "KP_Enter", "Insert", "KP_Delete", "KP_Insert", "Linefeed"}
)
_FUNCTION_NAMES: Final = frozenset(
    {"Escape", "Print", "Pause", "Menu", "Break", "Sys_Req", "Help", "Cancel", "Execute"}
)
_CONTROL_CHARS: Final = {"Return": "\n", "KP_Enter": "\n", "Tab": "\t", "KP_Tab": "\t"}


class KeyInfo(NamedTuple):
    name: str | None
    char: str | None
    cls: str


_UNKNOWN: Final = KeyInfo(None, None, "other")


def keysym_char(keysym: int, name: str | None) -> str | None:
    """The character a keysym produces, if any (Latin-1, Unicode keysyms, keypad digits)."""
    if name in _CONTROL_CHARS:
        return _CONTROL_CHARS[name]
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:
        return chr(keysym - 0x01000000)
    if 0xFFB0 <= keysym <= 0xFFB9:  # KP_0..KP_9
        return chr(keysym - 0xFFB0 + ord("0"))
    return _LEGACY_CHARS.get(keysym)


def classify(name: str | None, char: str | None) -> str:
    """The key class kept when text content is out of scope (see docs/events.md)."""
    if name is not None:
        if name in _MODIFIER_KEYSYMS or name in _OTHER_MODIFIERS:
            return "modifier"
        if name in _NAVIGATION:
            return "navigation"
        if name in _EDITING:
            return "editing"
        if name in _FUNCTION_NAMES or (name[:1] == "F" and name[1:].isdigit()):
            return "function"
    if char is None or len(char) != 1:
        return "other"
    if char == " ":
        return "space"
    if char.isalpha():
        return "letter"
    if char.isdigit():
        return "digit"
    if char.isprintable():
        return "punctuation"
    return "other"


def _load_keysym_names() -> dict[int, str]:
    """keysym → canonical name (first definition wins: "Prior" before "Page_Up", as xev shows),
    from every group python-xlib ships."""
    names: dict[int, str] = {}
    groups = [
        "miscellany",
        "latin1",
        *sorted(
            m.name
            for m in pkgutil.iter_modules(Xlib.keysymdef.__path__)
            if m.name not in ("miscellany", "latin1")
        ),
    ]
    for group in groups:
        module = importlib.import_module(f"Xlib.keysymdef.{group}")
        for attr, value in vars(module).items():
            if attr.startswith("XK_") and isinstance(value, int):
                names.setdefault(value, attr[3:])
    return names


_KEYSYM_NAMES: Final = _load_keysym_names()


def _build_legacy_chars() -> dict[int, str]:
    """Legacy (pre-Unicode) keysyms such as Cyrillic or Greek, from the keysym names and
    Unicode character names; covers what X keymaps commonly produce."""
    table: dict[int, str] = {}
    for value, name in _KEYSYM_NAMES.items():
        if not 0x100 <= value <= 0x13FF:
            continue
        script, _, letter = name.partition("_")
        size = "SMALL" if letter.islower() else "CAPITAL"
        candidates = (
            name.replace("_", " ").upper(),
            f"{script} {size} LETTER {letter.replace('_', ' ')}".upper(),
        )
        for candidate in candidates:
            try:
                table[value] = unicodedata.lookup(candidate)
                break
            except KeyError:
                continue
    return table


_LEGACY_CHARS: Final = _build_legacy_chars()


def key_info(keysym: int) -> KeyInfo:
    if keysym == 0:
        return _UNKNOWN
    name = _KEYSYM_NAMES.get(keysym)
    if name is None and 0x01000000 <= keysym <= 0x0110FFFF:
        name = f"U{keysym - 0x01000000:04X}"
    char = keysym_char(keysym, name)
    return KeyInfo(name, char, classify(name, char))


class Keymap:
    """Per-keycode decoding tables for one X server, rebuilt on MappingNotify."""

    def __init__(self, display: Any) -> None:
        self.levels: list[tuple[KeyInfo, KeyInfo, KeyInfo, KeyInfo]] = [(_UNKNOWN,) * 4] * 256
        self.modifier_bits: list[int] = [0] * 256
        self.keysym_names: list[str | None] = [None] * 256
        self.reload(display)

    def reload(self, display: Any) -> None:
        first = display.display.info.min_keycode
        count = display.display.info.max_keycode - first + 1
        mapping = display.get_keyboard_mapping(first, count)
        levels = [(_UNKNOWN,) * 4] * 256
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
            bits[keycode] = _MODIFIER_KEYSYMS.get(infos[0].name or "", 0)
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
