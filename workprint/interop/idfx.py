"""Import Inputlog/ScriptLog IDFX XML: keystrokes → workprint events, wordlog → an editor log.

Each ``<event type="keyboard">`` becomes a KeyDown at ``startTime`` and a KeyUp at ``endTime``
(X keysym names, as the X recorder writes them); its ``wordlog`` part (caret position, document
length) and a following ``<event type="replacement">`` (what a selection-replacing or deleting
key really did) become an ``EditorEntry`` with the key's ``seq``. Real files are not strictly
XML: bytes before the declaration, a BOM, control characters (``&#x8;`` for BackSpace). We
sanitise rather than reject (see ``sanitise``), and every problem the data itself has becomes an
``ImportIssue`` naming the file, line and element, with everything valid still imported.
"""

from __future__ import annotations

import codecs
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, cast

import msgspec
import pyarrow as pa

from workprint.events import Event, KeyDown, KeyUp, SessionStart, SessionStop, WindowFocus
from workprint.events.editor_log import EditorEntry, editor_to_table
from workprint.events.keys import classify, key_info
from workprint.events.model import KeyClass, Modifier
from workprint.interop.result import ImportIssue, ImportResult


@dataclass
class IdfxResult(ImportResult):
    """An ``ImportResult`` plus the editor log read from the wordlog parts, keyed by the same
    ``seq`` numbers as the events (the writing builder's second input)."""

    editor: list[EditorEntry] = field(default_factory=list)

    def editor_table(self) -> pa.Table:
        return editor_to_table(self.editor)


# XML 1.0 allows only tab, LF and CR below U+0020. Such characters (raw or as references) are
# moved to U+E000 + code before parsing and moved back after, so values keep them.
_SHIFT: Final = 0xE000
_CHAR_REF: Final = re.compile(r"&#(x[0-9A-Fa-f]+|[0-9]+);")
_RAW_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSHIFT: Final = {_SHIFT + c: c for c in range(0x20)}
_DECLARATION: Final = re.compile(r"<\?xml[^>]*\?>")
_ENCODING: Final = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SCOPES: Final = ("input-timing", "text-content", "app-usage", "window-titles")
# Log facts kept as metadata; the <session> part's participant fields (a real name, in one of
# the reference files) are personal data and are not carried over.
_KEPT_META: Final = frozenset(
    {
        "__LogProgramVersion",
        "__LogCreationDate",
        "__LogRelativeCreationDate",
        "__MainDocument",
        "Text Language",
    }
)

# Windows virtual-key codes → X keysym names, for keys whose value names no character.
_VK_PAIRS: Final = (
    "BACK=BackSpace DELETE=Delete RETURN=Return TAB=Tab LEFT=Left RIGHT=Right UP=Up DOWN=Down "
    "HOME=Home END=End PRIOR=Prior NEXT=Next INSERT=Insert ESCAPE=Escape SPACE=space "
    "SHIFT=Shift_L LSHIFT=Shift_L RSHIFT=Shift_R CONTROL=Control_L LCONTROL=Control_L "
    "RCONTROL=Control_R MENU=Alt_L LMENU=Alt_L RMENU=ISO_Level3_Shift CAPITAL=Caps_Lock "
    "LWIN=Super_L RWIN=Super_R APPS=Menu NUMLOCK=Num_Lock"
)
_VK_NAMES: Final = {
    **{f"VK_{vk}": name for vk, _, name in (p.partition("=") for p in _VK_PAIRS.split())},
    **{f"VK_F{n}": f"F{n}" for n in range(1, 25)},
    **{f"VK_NUMPAD{n}": f"KP_{n}" for n in range(10)},
    **{f"VK_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"},
}


def _issue(file: str, line: int, element: str, problem: str) -> ImportIssue:
    """An issue naming the element (``<event id="12" type="keyboard">``) as well as the line."""
    return ImportIssue(file, line, f"<{element}>: {problem}")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def decode(data: bytes, name: str, issues: list[ImportIssue]) -> str:
    """Bytes → text in the declared (or BOM-signalled) encoding; undecodable bytes become
    U+FFFD with one issue saying where the first was."""
    encoding = "utf-8"
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom) or (codec == "utf-16" and data.startswith(codecs.BOM_UTF16_BE)):
            encoding = codec
            break
    else:
        declared = _ENCODING.search(data[:1024])
        if declared is not None:
            encoding = declared.group(1).decode("ascii")
    try:
        codecs.lookup(encoding)
    except LookupError:
        issues.append(_issue(name, 1, "xml declaration", f"unknown encoding {encoding!r}"))
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = f"not valid {encoding} at byte {exc.start} ({exc.reason}); replaced with U+FFFD"
        issues.append(_issue(name, line, "bytes", problem))
        return data.decode(encoding, errors="replace")


def sanitise(text: str, name: str, issues: list[ImportIssue]) -> str:
    """Make real-world IDFX parseable without changing line numbers: drop anything before the
    root (stray bytes, the declaration — the text is already decoded), and move control
    characters XML 1.0 forbids to the private-use area (mapped back by ``restore``)."""
    declaration = _DECLARATION.search(text)
    start = declaration.start() if declaration else max(text.find("<"), 0)
    body = declaration.end() if declaration else start
    stray = text[:start].lstrip("\ufeff").strip()
    if stray:
        problem = f"{len(stray)} characters before the XML declaration ignored: {stray[:40]!r}"
        issues.append(_issue(name, 1, "prolog", problem))
    text = "\n" * text.count("\n", 0, body) + text[body:]

    def shift_reference(match: re.Match[str]) -> str:
        ref = match.group(1)
        code = int(ref[1:], 16) if ref[0] == "x" else int(ref)
        if code < 0x20 and code not in (0x9, 0xA, 0xD):
            return f"&#x{_SHIFT + code:X};"
        if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF) or code > 0x10FFFF:
            line = _line_of(text, match.start())
            issues.append(_issue(name, line, match.group(0), "not a character; U+FFFD used"))
            return "&#xFFFD;"
        return match.group(0)

    text = _CHAR_REF.sub(shift_reference, text)
    return _RAW_CONTROL.sub(lambda m: chr(_SHIFT + ord(m.group(0))), text)


def restore(value: str) -> str:
    """Undo ``sanitise``'s shift of control characters; newlines become "\\n"."""
    return value.translate(_UNSHIFT).replace("\r\n", "\n").replace("\r", "\n")


class _Element(msgspec.Struct):
    """An ``<event>`` as read: its attributes, line, and the text fields of each part."""

    attrs: dict[str, str]
    line: int
    parts: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)


class _Reader:
    """Streams expat callbacks into meta entries and one ``_Element`` per ``<event>``."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.meta: dict[str, str] = {}
        self.entry: dict[str, str] = {}
        self.current: _Element | None = None
        self.part: dict[str, str] | None = None
        self.buffer: list[str] = []

    def text(self, data: str) -> None:
        self.buffer.append(data)

    def start(self, tag: str, attrs: dict[str, str], line: int) -> None:
        self.stack.append(tag)
        self.buffer = []
        if tag == "event" and len(self.stack) == 2:
            self.current = _Element(dict(attrs), line)
        elif tag == "part" and self.current is not None:
            self.part = self.current.parts.setdefault(attrs.get("type", ""), {})
        elif tag == "entry":
            self.entry = {}

    def end(self, tag: str) -> _Element | None:
        self.stack.pop()
        text = "".join(self.buffer)
        self.buffer = []
        if tag == "event" and self.current is not None and not self.stack[1:]:
            done, self.current, self.part = self.current, None, None
            return done
        if tag == "part":
            self.part = None
        elif self.part is not None:
            self.part[tag] = text
        elif tag in ("key", "value") and self.stack[-1:] == ["entry"]:
            self.entry[tag] = text
        elif tag == "entry" and "key" in self.entry:
            self.meta.setdefault(self.entry["key"], self.entry.get("value", ""))
        return None


def _creation_ns(meta: dict[str, str]) -> int | None:
    """Wall-clock ns of the logger's relative time 0 (the creation date is yy/mm/dd, local time
    of the recording machine, taken as UTC since IDFX records no zone)."""
    try:
        created = datetime.strptime(meta["__LogCreationDate"], "%y/%m/%d %H:%M:%S.%f")
        relative_ms = int(meta["__LogRelativeCreationDate"])
    except (KeyError, ValueError):
        return None
    epoch_ns = int(created.replace(tzinfo=UTC).timestamp() * 1000) * 1_000_000
    return epoch_ns - relative_ms * 1_000_000


def _int(fields: dict[str, str], name: str) -> int | None:
    value = fields.get(name)
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value)


Edit = tuple[int, int, str]  # start, end, new text


class _Converter:
    """Turns read ``<event>`` elements into events and editor entries, one at a time."""

    def __init__(self, name: str, session: str, issues: list[ImportIssue]) -> None:
        self.name, self.session, self.issues = name, session, issues
        self.events: list[Event] = []
        self.editor: list[EditorEntry] = []
        self.seq = 0
        self.base: int | None = None
        self.last_t = 0
        self.waiting: tuple[KeyDown, int | None, int | None] | None = None  # replay=False key
        self.skipped: dict[str, tuple[int, int]] = {}

    def problem(self, element: _Element, problem: str) -> None:
        label = f'event id="{element.attrs.get("id", "?")}" type="{element.attrs.get("type")}"'
        self.issues.append(_issue(self.name, element.line, label, problem))

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def note(
        self, seq: int, t: int, caret: int | None, length: int | None, edit: Edit | None
    ) -> None:
        start, end, text = edit if edit is not None else (None, None, None)
        entry = EditorEntry(session=self.session, seq=seq, t=t, caret=caret, doc_len=length)
        self.editor.append(msgspec.structs.replace(entry, start=start, end=end, text=text))

    def begin(self, meta: dict[str, str]) -> None:
        self.base = _creation_ns(meta)
        if self.base is None:
            problem = "no valid __LogCreationDate and __LogRelativeCreationDate: times are the "
            self.issues.append(_issue(self.name, 1, "meta", problem + "relative milliseconds"))
            self.base = 0
        t = max(self.base, 0)
        app = "ScriptLog" if meta.get("__LogProgramVersion", "").startswith("SCR") else "Inputlog"
        start = SessionStart(t=t, session=self.session, device="idfx", source="idfx")
        focus = WindowFocus(t=t, session=self.session, app=app, window=1)
        title = meta.get("__MainDocument") or None
        self.events.append(msgspec.structs.replace(start, scopes=_SCOPES))
        self.events.append(msgspec.structs.replace(focus, seq=self.next_seq(), title=title))

    def flush_waiting(self) -> None:
        """A replay=False key that changes text but had no replacement changed nothing."""
        if self.waiting is not None:
            key, caret, length = self.waiting
            self.waiting = None
            changes = key.char is not None or key.key in ("BackSpace", "Delete")
            edit = (caret, caret, "") if changes and caret is not None else None
            self.note(key.seq, key.t, caret, length, edit)

    def add(self, element: _Element) -> None:
        kind = element.attrs.get("type", "")
        if kind == "keyboard":
            self.keyboard(element)
        elif kind == "replacement":
            self.replacement(element)
        else:
            self.flush_waiting()
            count, line = self.skipped.get(kind, (0, element.line))
            self.skipped[kind] = (count + 1, line)

    def keyboard(self, element: _Element) -> None:
        self.flush_waiting()
        win = element.parts.get("winlog")
        if win is None:
            self.problem(element, "keyboard event without a winlog part: skipped")
            return
        start_ms, end_ms = _int(win, "startTime"), _int(win, "endTime")
        assert self.base is not None
        if start_ms is None or start_ms < 0 or self.base + start_ms * 1_000_000 < 0:
            self.problem(element, f"startTime {win.get('startTime')!r} is not a time: skipped")
            return
        if end_ms is None or end_ms < start_ms:
            problem = f"endTime {win.get('endTime')!r} is missing or before startTime {start_ms}"
            self.problem(element, problem + ": key-up placed at the key-down")
            end_ms = start_ms
        t, t_up = self.base + start_ms * 1_000_000, self.base + end_ms * 1_000_000
        value = restore(win.get("value", ""))
        name, char, cls, mods = _key_fields(win.get("key", ""), value, win.get("keyboardstate"))
        seq = self.next_seq()
        down = KeyDown(t=t, session=self.session, seq=seq, cls=cls, key=name, char=char, mods=mods)
        up = KeyUp(t=t_up, session=self.session, seq=seq + 1, cls=cls, key=name, char=char)
        self.events += [down, msgspec.structs.replace(up, mods=mods)]
        self.seq, self.last_t = seq + 1, t_up
        word = element.parts.get("wordlog")
        if word is None:
            return
        caret, length = _int(word, "position"), _int(word, "documentLength")
        if caret is None or caret < 0:
            self.problem(element, f"wordlog position {word.get('position')!r} is not a position")
            caret = None
        # Word counts the final paragraph mark in its length; the text has one character less.
        doc_len = length - 1 if length is not None and length >= 1 else None
        if word.get("replay", "True").strip() == "False":
            self.waiting = (down, caret, doc_len)
            return
        # a paste or IME commit: the value is the text the key inserted
        pasted = caret is not None and len(value) > 1 and char is None
        self.note(seq, t, caret, doc_len, (caret or 0, caret or 0, value) if pasted else None)

    def replacement(self, element: _Element) -> None:
        word = element.parts.get("wordlog", {})
        start, end = _int(word, "start"), _int(word, "end")
        if start is None or end is None or not 0 <= start <= end:
            self.flush_waiting()
            got = f"start {word.get('start')!r}, end {word.get('end')!r}"
            self.problem(element, f"replacement {got} is not a range: skipped")
            return
        edit = (start, end, restore(word.get("newtext", "")))
        if self.waiting is not None:  # the change the waiting key made
            key, caret, doc_len = self.waiting
            self.waiting = None
            self.note(key.seq, key.t, caret, doc_len, edit)
        else:  # a change no key made (autocorrect): an entry of its own
            self.note(self.next_seq(), self.last_t, None, None, edit)

    def finish(self) -> None:
        self.flush_waiting()
        for kind, (count, line) in self.skipped.items():
            problem = f"{count} events of this type not imported"
            self.issues.append(_issue(self.name, line, f'event type="{kind}"', problem))
        t = max(self.last_t, self.base or 0)
        stop = SessionStop(t=t, session=self.session, reason="end of log")
        self.events.append(msgspec.structs.replace(stop, seq=self.next_seq()))


def _key_fields(
    vk: str, value: str, state: str | None
) -> tuple[str | None, str | None, KeyClass, tuple[Modifier, ...]]:
    """(keysym name, char, key class, mods) of an IDFX key: the character the key produced
    names it when there is exactly one, else the Windows virtual-key code does."""
    lowered = (state or "").lower()
    mods: tuple[Modifier, ...] = tuple(
        m
        for m in ("shift", "ctrl", "alt")
        if m in lowered or (m == "ctrl" and "control" in lowered)
    )
    if value == "\n" or vk == "VK_RETURN":
        return "Return", "\n" if value == "\n" else None, "editing", mods
    code = ord(value) if len(value) == 1 else 0
    if code >= 0x20 and not 0x7F <= code <= 0x9F:
        info = key_info(code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else code + 0x01000000)
        return info.name, value, cast(KeyClass, info.cls), mods
    name = _VK_NAMES.get(vk)
    if name is not None and len(name) == 1:  # a letter or digit key that produced no character
        return name, None, cast(KeyClass, classify(None, name)), mods
    return name, None, cast(KeyClass, classify(name, None)), mods


def parse_idfx(data: bytes, name: str, session: str | None = None) -> IdfxResult:
    """Parse IDFX bytes; ``name`` labels issues, ``session`` defaults to the file stem."""
    issues: list[ImportIssue] = []
    text = sanitise(decode(data, name, issues), name, issues)
    session = (session or Path(name).stem or "idfx")[:64]
    reader = _Reader()
    convert = _Converter(name, session, issues)
    parser = xml.parsers.expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "event" and convert.base is None:
            convert.begin(reader.meta)
        reader.start(tag, attrs, parser.CurrentLineNumber)

    def end(tag: str) -> None:
        element = reader.end(tag)
        if element is not None:
            convert.add(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as exc:
        where = "/".join(reader.stack) or "document"
        problem = f"{xml.parsers.expat.ErrorString(exc.code)} (column {exc.offset + 1}); the rest "
        issues.append(_issue(name, exc.lineno, where, problem + "of the file is lost"))
    if convert.base is None:
        convert.begin(reader.meta)
    convert.finish()
    return IdfxResult(
        events=convert.events,
        issues=issues,
        session=session,
        editor=convert.editor,
        metadata={k: v for k, v in reader.meta.items() if k in _KEPT_META},
    )


def import_idfx(path: Path | str) -> IdfxResult:
    """Import one IDFX file; the session id is the file name without extension."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        issue = ImportIssue(path.name, None, f"cannot read: {exc.strerror}")
        return IdfxResult(events=[], issues=[issue], session=path.stem[:64] or "idfx")
    return parse_idfx(data, path.name, path.stem)
