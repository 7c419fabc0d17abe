"""The key table of the cursor model: which keys do what (docs/writing.md, "Cursor model").

Shared by both builders so the mapping is stated once; what each action does to the text is
implemented separately in each (reference.py plainly, fast.py over runs) and tested equal.
"""

from __future__ import annotations

from typing import Final

# Characters that are never typed text: C0/C1 controls except the newline (Tab may move focus
# between fields, so it is unmodelled rather than guessed).
CONTROL_CHARS_PATTERN: Final = "[\x00-\x09\x0b-\x1f\x7f-\x9f]"

# Key classes whose characters are typed text: without the text-content scope such a key arrives
# with neither ``key`` nor ``char`` and is counted as redacted.
TEXT_CLASSES: Final = frozenset({"letter", "digit", "space", "punctuation"})
NEWLINE_KEYS: Final = frozenset({"Return", "KP_Enter"})

# Keys whose effect depends on what the model cannot see (layout, focus order, undo history).
UNMODELLED_KEYS: Final = frozenset(
    {
        "Tab",
        "ISO_Left_Tab",
        "KP_Tab",
        "Prior",
        "Next",
        "Page_Up",
        "Page_Down",
        "KP_Prior",
        "KP_Next",
        "KP_Page_Up",
        "KP_Page_Down",
        "Insert",
        "KP_Insert",
        "Undo",
        "Redo",
    }
)

# Keys without Ctrl (Shift extends the selection for the movements).
PLAIN_ACTIONS: Final = {
    "BackSpace": "backspace",
    "Delete": "delete",
    "KP_Delete": "delete",
    "Left": "left",
    "KP_Left": "left",
    "Right": "right",
    "KP_Right": "right",
    "Up": "up",
    "KP_Up": "up",
    "Down": "down",
    "KP_Down": "down",
    "Home": "home",
    "KP_Home": "home",
    "End": "end",
    "KP_End": "end",
}

# Keys with Ctrl (and without Alt/Meta); single letters match in either case.
CTRL_ACTIONS: Final = {
    "a": "select_all",
    "c": "copy",
    "x": "cut",
    "v": "paste",
    "z": "unmodelled",
    "y": "unmodelled",
    "BackSpace": "word_backspace",
    "Delete": "word_delete",
    "KP_Delete": "word_delete",
    "Left": "word_left",
    "KP_Left": "word_left",
    "Right": "word_right",
    "KP_Right": "word_right",
    "Home": "doc_start",
    "KP_Home": "doc_start",
    "End": "doc_end",
    "KP_End": "doc_end",
}
