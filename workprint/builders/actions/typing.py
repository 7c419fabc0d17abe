"""Cursor models that fold typing, BackSpace/Delete, arrows and Home/End into the text of a
``type`` action.

A model only knows the text typed in the current action: an edit that would act outside it
(BackSpace at its start, Delete or Right at its end, Left at its start) returns False, and the
reducer ends the action there and keeps that key as a ``key`` action, so nothing typed is
misrepresented. ``ReferenceCursor`` is the obviously correct one (a list and an index) the tests
hold ``GapCursor`` (a gap buffer: every edit O(1)) against.

The writing-process builder (workprint/builders/writing/) models a whole document with
selections; both could share one model once it exists there (see docs/actions.md).
"""

from __future__ import annotations

from typing import Final, Protocol

# Edit operations, by X keysym of the key that does them.
EDIT_OPS: Final = {
    "BackSpace": "backspace",
    "Delete": "delete",
    "Left": "left",
    "Right": "right",
    "Home": "home",
    "End": "end",
}


class Cursor(Protocol):
    def insert(self, chars: str) -> None: ...
    def edit(self, op: str) -> bool: ...
    @property
    def text(self) -> str: ...
    @property
    def caret(self) -> int: ...


class ReferenceCursor:
    """The text as a list of characters and the caret as an index into it."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.index = 0

    def insert(self, chars: str) -> None:
        for ch in chars:
            self.chars.insert(self.index, ch)
            self.index += 1

    def edit(self, op: str) -> bool:
        """Apply an edit; False (and no change) if it would act outside the known text."""
        n = len(self.chars)
        if op == "backspace":
            if self.index == 0:
                return False
            del self.chars[self.index - 1]
            self.index -= 1
        elif op == "delete":
            if self.index == n:
                return False
            del self.chars[self.index]
        elif op == "left":
            if self.index == 0:
                return False
            self.index -= 1
        elif op == "right":
            if self.index == n:
                return False
            self.index += 1
        elif op == "home":
            self.index = 0
        elif op == "end":
            self.index = n
        else:
            raise ValueError(f"unknown edit {op!r}")
        return True

    @property
    def text(self) -> str:
        return "".join(self.chars)

    @property
    def caret(self) -> int:
        return self.index


class GapCursor:
    """A gap buffer: characters before the caret, and after it in reverse order."""

    __slots__ = ("after", "before")

    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[str] = []

    def insert(self, chars: str) -> None:
        self.before.extend(chars)

    def edit(self, op: str) -> bool:
        before, after = self.before, self.after
        if op == "backspace":
            if not before:
                return False
            before.pop()
        elif op == "delete":
            if not after:
                return False
            after.pop()
        elif op == "left":
            if not before:
                return False
            after.append(before.pop())
        elif op == "right":
            if not after:
                return False
            before.append(after.pop())
        elif op == "home":
            after.extend(reversed(before))
            before.clear()
        elif op == "end":
            before.extend(reversed(after))
            after.clear()
        else:
            raise ValueError(f"unknown edit {op!r}")
        return True

    @property
    def text(self) -> str:
        return "".join(self.before) + "".join(reversed(self.after))

    @property
    def caret(self) -> int:
        return len(self.before)
