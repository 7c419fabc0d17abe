"""The consent record: which scopes a person granted, and every grant and revocation with the
policy version it was made under.

The record is a small JSON file (``Home.consent_file``) replaced atomically on every change, so
a reader (the recorder reloading after ``reload-consent``) sees either the old or the new record,
never half of one. A missing file means nothing is granted. A file that cannot be read is an
error, never "probably nothing" or "probably everything": the caller decides what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast

import msgspec

from workprint.errors import WorkprintError
from workprint.events import SCOPES
from workprint.events.model import Scope
from workprint.policy._text import one_line, validation_message

CONSENT_FORMAT: Final = 1

# A scope that only has an effect together with another one: typed text is carried by key
# events (input-timing), window titles by application switches (app-usage).
SCOPE_REQUIRES: Final[Mapping[str, str]] = {
    "text-content": "input-timing",
    "window-titles": "app-usage",
}

SCOPE_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "input-timing": "When you press and release keys, with the kind of key (letter, digit, "
    "space, punctuation, arrow, editing, shortcut) and modifiers held, but not which letter "
    "or character it was.",
    "text-content": "Which keys you press and the characters they produce, so what you type "
    "can be reconstructed. Only takes effect together with input-timing.",
    "mouse": "Pointer movements (thinned out), clicks and scrolling, with screen positions "
    "and times.",
    "app-usage": "Which application is in front and when you switch between applications.",
    "window-titles": "The titles of the windows you use, which can contain document names, "
    "e-mail subjects or web page titles. Only takes effect together with app-usage.",
    "browsing": "In the browser with the workprint extension: the pages you visit (without "
    "query strings), the page elements you act on, search queries (redacted) and how long "
    "you stay.",
}

ALL_WORD: Final = "all"


class ConsentError(WorkprintError):
    """The consent record is unreadable or a request names an unknown scope."""


class ConsentEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One grant or revocation, as the person made it."""

    t: Annotated[int, msgspec.Meta(ge=0)]  # wall-clock nanoseconds since the Unix epoch
    action: Literal["grant", "revoke"]
    scopes: tuple[Scope, ...]
    policy_version: Annotated[int, msgspec.Meta(ge=0)]


class ConsentState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole consent record: what is granted now and how it came to be."""

    format: int = CONSENT_FORMAT
    granted: tuple[Scope, ...] = ()
    history: tuple[ConsentEntry, ...] = ()

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes."""
        return frozenset(self.granted)

    def effective_scopes(self) -> frozenset[str]:
        """The granted scopes that actually take effect (see ``SCOPE_REQUIRES``)."""
        return effective_scopes(self.granted)


def canonical(scopes: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes, deduplicated, in the fixed order of ``SCOPES``."""
    wanted = set(scopes)
    return cast("tuple[Scope, ...]", tuple(s for s in SCOPES if s in wanted))


def effective_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """What is in force given these granted scopes: unknown names and scopes whose companion
    scope is missing (text-content without input-timing, window-titles without app-usage)
    have no effect."""
    known = frozenset(s for s in scopes if s in SCOPES)
    return frozenset(s for s in known if SCOPE_REQUIRES.get(s, s) in known)


def parse_scopes(words: Iterable[str]) -> tuple[Scope, ...]:
    """Scope names as a person typed them (``all``, comma lists, any case) → canonical tuple."""
    found: set[str] = set()
    for word in words:
        for part in word.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == ALL_WORD:
                found.update(SCOPES)
            elif name in SCOPES:
                found.add(name)
            else:
                known = ", ".join(SCOPES)
                raise ConsentError(
                    one_line(f"unknown scope {part.strip()!r} (known: {known}; or {ALL_WORD!r})")
                )
    if not found:
        raise ConsentError("no scope given (known: " + ", ".join(SCOPES) + f"; or {ALL_WORD!r})")
    return canonical(found)


def load_consent(path: Path) -> ConsentState:
    """The consent record at ``path``; a missing file means nothing is granted."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ConsentState()
    except OSError as exc:
        raise _error(path, f"cannot read: {exc.strerror}") from None
    return decode_consent(data, path)


def decode_consent(data: bytes, path: Path | str = "<consent>") -> ConsentState:
    """Parse and validate a consent record; any problem is a one-line ``ConsentError``."""
    try:
        raw: Any = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise _error(path, f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise _error(path, f"expected a JSON object, got {kind}")
    fmt = raw.get("format")
    if fmt != CONSENT_FORMAT or isinstance(fmt, bool):
        raise _error(
            path,
            f"format {fmt!r} is not {CONSENT_FORMAT}, the only format this workprint understands",
        )
    try:
        return msgspec.convert(raw, ConsentState)
    except msgspec.ValidationError as exc:
        raise _error(path, validation_message(str(exc))) from None


def _error(path: Path | str, what: str) -> ConsentError:
    return ConsentError(one_line(f"consent file {path}: {what}"))


def grant(
    path: Path, scopes: Iterable[str], policy_version: int, *, now_ns: int | None = None
) -> ConsentState:
    """Add ``scopes`` to what is granted and record the grant; returns the new record."""
    return _change(path, "grant", scopes, policy_version, now_ns)


def revoke(
    path: Path, scopes: Iterable[str], policy_version: int, *, now_ns: int | None = None
) -> ConsentState:
    """Withdraw ``scopes`` and record the revocation (also when they were not granted)."""
    return _change(path, "revoke", scopes, policy_version, now_ns)


def set_aside(path: Path, *, now_ns: int | None = None) -> Path:
    """Rename an unreadable consent file out of the way (kept for inspection); returns the new
    name. Lets a revocation proceed on a fresh record instead of being blocked by a bad file."""
    stamp = time.time_ns() if now_ns is None else now_ns
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, target)
    except OSError as exc:
        raise _error(path, f"cannot move aside: {exc.strerror}") from None
    return target


def _change(
    path: Path,
    action: Literal["grant", "revoke"],
    scopes: Iterable[str],
    policy_version: int,
    now_ns: int | None,
) -> ConsentState:
    requested = parse_scopes(scopes)
    if isinstance(policy_version, bool) or not isinstance(policy_version, int):
        raise TypeError("policy_version must be an int")
    if policy_version < 0:
        raise ConsentError(f"policy version {policy_version} is negative")
    entry = ConsentEntry(
        t=time.time_ns() if now_ns is None else now_ns,
        action=action,
        scopes=requested,
        policy_version=policy_version,
    )
    with _locked(path):
        state = load_consent(path)
        granted = set(state.granted)
        if action == "grant":
            granted.update(requested)
        else:
            granted.difference_update(requested)
        new = ConsentState(granted=canonical(granted), history=(*state.history, entry))
        _write_atomic(path, msgspec.json.format(msgspec.json.encode(new), indent=2) + b"\n")
    return new


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the record between processes (CLI, portal, agent) by
    locking its directory; a lock on the file itself would be lost at ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise _error(path, f"cannot open its directory: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file (0600) in the same directory, fsync, ``os.replace``, fsync the directory."""
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = ""
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise _error(path, f"cannot write: {exc.strerror}") from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
