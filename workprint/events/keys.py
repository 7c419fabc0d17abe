"""What a key is, from its X keysym: its name, the character it produces and its key class.

Shared by every source of key events (the X11 recorder and the importers of other tools'
recordings), so a key is classified the same way whichever way it arrived."""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from typing import Final, NamedTuple

import Xlib.keysymdef

# Keysym names of modifier keys → the modifier they hold (names as in events.MODIFIERS).
MODIFIER_KEYSYMS: Final[dict[str, str]] = {
    "Shift_L": "shift",
    "Shift_R": "shift",
    "Control_L": "ctrl",
    "Control_R": "ctrl",
    "Alt_L": "alt",
    "Alt_R": "alt",
    "Meta_L": "meta",
    "Meta_R": "meta",
    "Super_L": "meta",
    "Super_R": "meta",
    "Hyper_L": "meta",
    "Hyper_R": "meta",
    "ISO_Level3_Shift": "altgr",
    "Mode_switch": "altgr",
    "Caps_Lock": "capslock",
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


UNKNOWN_KEY: Final = KeyInfo(None, None, "other")


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
        if name in MODIFIER_KEYSYMS or name in _OTHER_MODIFIERS:
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
        return UNKNOWN_KEY
    name = _KEYSYM_NAMES.get(keysym)
    if name is None and 0x01000000 <= keysym <= 0x0110FFFF:
        name = f"U{keysym - 0x01000000:04X}"
    char = keysym_char(keysym, name)
    return KeyInfo(name, char, classify(name, char))
