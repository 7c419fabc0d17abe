"""Key vocabulary shared by both reducers: which key events are typing, edits, hotkeys or plain
keys, and the canonical (pyautogui-style, lowercase) names actions carry.

This is vocabulary, not reduction logic: the reference and the fast reducer both classify a key
press through ``classify_key`` so that they can only differ in how they group events.
"""

from __future__ import annotations

from typing import Final

from workprint.events.keys import MODIFIER_KEYSYMS

# X keysym names of modifier keys → the modifier they hold. Caps/Num Lock are modifier keys too
# (class "modifier") but hold nothing an action needs.
MODIFIER_OF_KEY: Final[dict[str, str]] = {
    name: mod for name, mod in MODIFIER_KEYSYMS.items() if mod != "capslock"
}

# Modifiers that make a key press a command, and the order hotkeys list them in.
COMMAND_MODS: Final = frozenset({"ctrl", "alt", "meta"})
HOTKEY_ORDER: Final[tuple[str, ...]] = ("ctrl", "alt", "shift", "meta")

# A modifier pressed and released alone does something only for these (Super opens the launcher,
# Alt focuses the menu bar); lone Shift/Ctrl taps are absorbed.
TAP_MODS: Final = frozenset({"alt", "meta"})

# Keys the typing cursor model folds into the text of a ``type`` action.
EDIT_KEYS: Final = frozenset({"BackSpace", "Delete", "Left", "Right", "Home", "End"})

# Key classes whose characters are typed text (``char`` is absent without the text scope).
TEXT_CLASSES: Final = frozenset({"letter", "digit", "space", "punctuation"})

# X keysym → canonical key name (pyautogui's KEY_NAMES where it has one).
_KEY_NAMES: Final[dict[str, str]] = {
    "Return": "enter",
    "KP_Enter": "enter",
    "Tab": "tab",
    "ISO_Left_Tab": "tab",
    "Escape": "esc",
    "BackSpace": "backspace",
    "Delete": "delete",
    "KP_Delete": "delete",
    "Insert": "insert",
    "KP_Insert": "insert",
    "Home": "home",
    "KP_Home": "home",
    "End": "end",
    "KP_End": "end",
    "Prior": "pageup",
    "Page_Up": "pageup",
    "KP_Prior": "pageup",
    "Next": "pagedown",
    "Page_Down": "pagedown",
    "KP_Next": "pagedown",
    "Left": "left",
    "Right": "right",
    "Up": "up",
    "Down": "down",
    "KP_Left": "left",
    "KP_Right": "right",
    "KP_Up": "up",
    "KP_Down": "down",
    "space": "space",
    "Print": "printscreen",
    "Pause": "pause",
    "Menu": "apps",
    "Caps_Lock": "capslock",
    "Num_Lock": "numlock",
    "Scroll_Lock": "scrolllock",
    **{name: mod for name, mod in MODIFIER_OF_KEY.items()},
}

# Row codes of key presses, as ``classify_key`` returns them.
K_MODIFIER: Final = 0  # a modifier key: changes held state, never an action by itself
K_CHAR: Final = 1  # types a character
K_EDIT: Final = 2  # BackSpace/Delete/arrows/Home/End without modifiers: folded into typing
K_HOTKEY: Final = 3  # a key with Ctrl/Alt/Meta (or Shift with a key that types nothing)
K_KEY: Final = 4  # any other key: Enter, Tab, Escape, F-keys, Up/Down, Page Up…

# Placeholder for a character whose content is out of the text-content scope.
UNKNOWN_CHAR: Final = "\ufffd"


MOD_BITS: Final = {"shift": 1, "ctrl": 2, "alt": 4, "meta": 8}


def mods_from_bits(bits: int) -> frozenset[str]:
    return frozenset(name for name, bit in MOD_BITS.items() if bits & bit)


def mods_of(mods: tuple[str, ...] | list[str] | None) -> frozenset[str]:
    return frozenset(mods or ())


def classify_key(key: str | None, char: str | None, cls: str | None, mods: frozenset[str]) -> int:
    """What a key press is, from the fields every key event carries."""
    if cls == "modifier" or (key is not None and key in MODIFIER_OF_KEY):
        return K_MODIFIER
    command = bool(mods & COMMAND_MODS)
    types_text = (char is not None and char.isprintable() and char != "") or (
        char is None and cls in TEXT_CLASSES
    )
    if types_text and not command:
        return K_CHAR
    if command or ("shift" in mods and not types_text):
        return K_HOTKEY
    if key in EDIT_KEYS:
        return K_EDIT
    return K_KEY


def typed_char(char: str | None, cls: str | None) -> str:
    """The text a K_CHAR press inserts: its character, or a placeholder without text scope."""
    if char is not None:
        return char
    return " " if cls == "space" else UNKNOWN_CHAR


def key_name(key: str | None, char: str | None, cls: str | None) -> str:
    """Canonical name of a key in key/hotkey actions: ``enter``, ``f5``, ``s``, ``<letter>``."""
    if key is not None and key in _KEY_NAMES:
        return _KEY_NAMES[key]
    if char is not None and char.isprintable() and char != "":
        return char.lower() if char.isalpha() else char
    if key is None:
        return f"<{cls or 'other'}>"
    return key.lower()


def hotkey_keys(mods: frozenset[str], name: str) -> tuple[str, ...]:
    """Modifiers in the normalised order, then the key."""
    return (*(m for m in HOTKEY_ORDER if m in mods), name)


def held_mods(held: dict[str, str]) -> tuple[str, ...]:
    """Modifiers held (by modifier key name → modifier) in the normalised order."""
    values = set(held.values())
    return tuple(m for m in HOTKEY_ORDER if m in values)


def button_name(button: int) -> str:
    """X11/pynput button numbers → names (8/9 are the back/forward side buttons)."""
    return _BUTTONS.get(button, f"button{button}")


_BUTTONS: Final = {1: "left", 2: "middle", 3: "right", 8: "back", 9: "forward"}


def click_kind(button: str, count: int) -> str:
    if button == "left":
        return ("click", "double_click", "triple_click")[count - 1]
    if button == "right":
        return "right_click"
    if button == "middle":
        return "middle_click"
    return "click"
