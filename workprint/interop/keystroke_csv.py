"""Import keystroke-timing CSV (``user,session,keyname,timepress,timerelease``, times in ms) →
workprint events, one recording session per (user, session) pair.

Key names are the dataset's lower-case names ("shift", "t", "period", "enter"); the character a
key typed is derived from the held Shift and Caps Lock state on a US layout, since the format keeps
key identities, not characters. Times are relative milliseconds with no wall-clock anchor, so
``t`` counts nanoseconds from the Unix epoch. A row that cannot be read becomes an issue naming
the file, line and problem; every other row is imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple, cast

import msgspec

from workprint.events import Event, KeyDown, KeyUp, SessionStart, SessionStop
from workprint.events.keys import classify, key_info
from workprint.events.model import KeyClass, Modifier
from workprint.interop.result import ImportIssue, ImportResult

COLUMNS: Final = ("user", "session", "keyname", "timepress", "timerelease")
_SHIFTED: Final = dict(zip("1234567890-=[]\\;',./`", '!@#$%^&*()_+{}|:"<>?~', strict=True))
# Dataset key name → X keysym name of a key that types nothing itself.
_NAMED: Final = {
    "shift": "Shift_L",
    "ctrl": "Control_L",
    "alt": "Alt_L",
    "windows": "Super_L",
    "command": "Super_L",
    "caps_lock": "Caps_Lock",
    "backspace": "BackSpace",
    "delete": "Delete",
    "left": "Left",
    "right": "Right",
    "up": "Up",
    "down": "Down",
    "home": "Home",
    "end": "End",
    "tab": "Tab",
    "escape": "Escape",
}
# Dataset key name → the character it types without Shift.
_TYPING: Final = {
    "space": " ",
    "enter": "\n",
    "return": "\n",
    "period": ".",
    "comma": ",",
    "quote": "'",
    "semicolon": ";",
    "slash": "/",
    "backslash": "\\",
    "dash": "-",
    "minus": "-",
    "equal": "=",
    "bracketleft": "[",
    "bracketright": "]",
    "grave": "`",
}
_MODIFIER_NAMES: Final = {"shift": "shift", "ctrl": "ctrl", "alt": "alt", "windows": "meta"}
_SCOPES: Final = ("input-timing", "text-content")


class Press(NamedTuple):
    line: int
    name: str
    down: int  # ns
    up: int  # ns


def _ms(value: str) -> int | None:
    """Milliseconds (integer or decimal) → nanoseconds, or None if it is not a time."""
    try:
        number = float(value)
    except ValueError:
        return None
    if not 0 <= number < 9e12:
        return None
    return round(number * 1_000_000)


def _rows(text: str, file: str, issues: list[ImportIssue]) -> Iterator[tuple[str, Press]]:
    """(session key, press) per readable row; an issue per unreadable one."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    names = [h.strip().lower() for h in header] if header else []
    if not set(COLUMNS) <= set(names):
        issues.append(ImportIssue(file, 1, f"header must name the columns {','.join(COLUMNS)}"))
        return
    index = [names.index(c) for c in COLUMNS]
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            issues.append(
                ImportIssue(file, line, f"{len(fields)} fields, the header has {len(names)}")
            )
            continue
        user, session, key, press, release = (fields[i].strip() for i in index)
        down, up = _ms(press), _ms(release)
        problem = None
        if not user or not session:
            problem = "empty user or session"
        elif not key:
            problem = "empty keyname"
        elif down is None:
            problem = f"timepress {press!r} is not a time in milliseconds"
        elif up is None:
            problem = f"timerelease {release!r} is not a time in milliseconds"
        elif up < down:
            problem = f"timerelease {release} is before timepress {press}"
        if problem is not None or down is None or up is None:
            issues.append(ImportIssue(file, line, problem or "unreadable row"))
            continue
        yield f"u{user}-s{session}", Press(line, key.lower(), down, up)


def _key(name: str, shifted: bool, caps: bool) -> tuple[str | None, str | None, KeyClass]:
    """(keysym name, char, class) of a dataset key under the held Shift/Caps Lock state."""
    if name in _NAMED:
        return _NAMED[name], None, cast(KeyClass, classify(_NAMED[name], None))
    base = _TYPING.get(name, name if len(name) == 1 else None)
    if base is None:
        return None, None, "other"
    if base.isalpha():
        char = base.upper() if shifted != caps else base.lower()
    else:
        char = _SHIFTED.get(base, base) if shifted else base
    if char == "\n":
        return "Return", "\n", "editing"
    info = key_info(ord(char) if ord(char) <= 0xFF else ord(char) + 0x01000000)
    return info.name, char, cast(KeyClass, info.cls)


def _session_events(session: str, presses: list[Press], file: str) -> Iterator[Event]:
    """Key-downs and key-ups of one session in time order, with the modifiers held at each
    press (a modifier is held from its press until its release)."""
    held = [(p.down, p.up, _MODIFIER_NAMES[p.name]) for p in presses if p.name in _MODIFIER_NAMES]
    caps_toggles = sorted(p.down for p in presses if p.name == "caps_lock")
    timeline: list[tuple[int, int, Event]] = []
    for order, p in enumerate(presses):
        mods = tuple(
            sorted(
                {name for start, end, name in held if start <= p.down < end and name != p.name},
                key=("shift", "ctrl", "alt", "meta").index,
            )
        )
        caps = sum(1 for at in caps_toggles if at < p.down) % 2 == 1
        key, char, cls = _key(p.name, "shift" in mods, caps)
        typed_mods = cast(tuple[Modifier, ...], mods + (("capslock",) if caps else ()))
        timeline.append(
            (
                p.down,
                2 * order,
                KeyDown(t=p.down, session=session, cls=cls, key=key, char=char, mods=typed_mods),
            )
        )
        timeline.append(
            (
                p.up,
                2 * order + 1,
                KeyUp(t=p.up, session=session, cls=cls, key=key, char=char, mods=typed_mods),
            )
        )
    timeline.sort(key=lambda x: (x[0], x[1]))
    for _, _, event in timeline:
        yield event


def import_keystroke_csv(path: Path | str) -> ImportResult:
    """Import one CSV file; session ids are ``<file stem>-u<user>-s<session>``."""
    path = Path(path)
    issues: list[ImportIssue] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        issues.append(ImportIssue(path.name, None, f"cannot read: {exc.strerror}"))
        return ImportResult(events=[], issues=issues, session=path.stem[:64] or "csv")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        issues.append(ImportIssue(path.name, line, f"not UTF-8 ({exc.reason}); replaced"))
        text = raw.decode("utf-8-sig", errors="replace")
    sessions: dict[str, list[Press]] = {}
    for key, press in _rows(text, path.name, issues):
        sessions.setdefault(key, []).append(press)
    unknown = {
        p.name: p.line
        for presses in sessions.values()
        for p in presses
        if p.name not in _NAMED and p.name not in _TYPING and len(p.name) != 1
    }
    for name, line in unknown.items():
        issues.append(
            ImportIssue(
                path.name, line, f"unknown key name {name!r}: kept as an unnamed key (timing only)"
            )
        )
    events: list[Event] = []
    stem = path.stem[:40] or "csv"
    for key, presses in sessions.items():
        session = f"{stem}-{key}"[:64]
        start = min(p.down for p in presses)
        stop = max(p.up for p in presses)
        body = list(_session_events(session, presses, path.name))
        out: list[Event] = [
            SessionStart(
                t=start,
                session=session,
                device="keystroke-csv",
                source="keystroke-csv",
                scopes=_SCOPES,
            ),
            *body,
            SessionStop(t=stop, session=session, reason="end of file"),
        ]
        events.extend(msgspec.structs.replace(e, seq=i) for i, e in enumerate(out))
    return ImportResult(
        events=events, issues=issues, session=stem, metadata={"sessions": len(sessions)}
    )
