"""Replay key events into the text each window received, through a small cursor model.

A first builder: it folds printable characters, BackSpace/Delete, Left/Right and Home/End of the
current line into text per focused window. Selections, clipboard and mouse placement of the
caret are not modelled (the writing-process builder will); key combinations with Ctrl, Alt or
Meta are not typing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from workprint.events import Event, KeyDown, WindowFocus

_NOT_TYPING = frozenset({"ctrl", "alt", "meta"})


@dataclass
class TextBuffer:
    text: list[str] = field(default_factory=list)
    cursor: int = 0

    def key(self, event: KeyDown) -> None:
        if _NOT_TYPING.intersection(event.mods):
            return
        name = event.key
        if event.char is not None and (event.char.isprintable() or event.char == "\n"):
            self.text.insert(self.cursor, event.char)
            self.cursor += 1
        elif name == "BackSpace" and self.cursor > 0:
            self.cursor -= 1
            del self.text[self.cursor]
        elif name == "Delete" and self.cursor < len(self.text):
            del self.text[self.cursor]
        elif name == "Left":
            self.cursor = max(0, self.cursor - 1)
        elif name == "Right":
            self.cursor = min(len(self.text), self.cursor + 1)
        elif name == "Home":
            while self.cursor > 0 and self.text[self.cursor - 1] != "\n":
                self.cursor -= 1
        elif name == "End":
            while self.cursor < len(self.text) and self.text[self.cursor] != "\n":
                self.cursor += 1

    @property
    def value(self) -> str:
        return "".join(self.text)


def typed_text_by_window(events: Iterable[Event]) -> dict[str, str]:
    """Text typed into each window, keyed "app: title" (or "window <id>" without a title)."""
    buffers: dict[int, TextBuffer] = {}
    labels: dict[int, str] = {}
    current = 0
    for event in events:
        if isinstance(event, WindowFocus):
            current = event.window
            labels.setdefault(
                current,
                f"{event.app}: {event.title}"
                if event.title
                else f"{event.app} window {event.window}",
            )
        elif isinstance(event, KeyDown):
            buffers.setdefault(current, TextBuffer()).key(event)
    return {labels.get(w, f"window {w}"): b.value for w, b in buffers.items()}
