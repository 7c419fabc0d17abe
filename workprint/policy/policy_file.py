"""The policy file: capture settings, spool bounds and window exclusions, as TOML.

A person or a steward edits it, so every mistake must come back as one line that says where
and what: the TOML is parsed by ``tomllib`` and converted by ``msgspec`` into frozen structs
that refuse unknown keys (a misspelt key would otherwise silently keep its default).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec

from workprint.errors import WorkprintError
from workprint.policy._text import one_line, validation_message
from workprint.policy.browser_policy import BrowserSettings
from workprint.policy.hotkey import Hotkey, parse_hotkey

DEFAULT_POLICY_RESOURCE: Final = "default_policy.toml"


class PolicyError(WorkprintError):
    """A policy file that cannot be read or is not a valid policy."""


class CaptureSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the recorder captures: pointer-move coalescing, pause hotkey, flush cadence."""

    mouse_move_max_hz: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 60
    mouse_move_min_px: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 2
    pause_hotkey: str = "ctrl+alt+shift+p"
    flush_interval_ms: Annotated[int, msgspec.Meta(ge=10, le=10_000)] = 500

    def __post_init__(self) -> None:
        try:
            self.hotkey  # noqa: B018  (parsing is the check)
        except ValueError as exc:
            raise ValueError(f"pause_hotkey: {exc}") from None

    @property
    def hotkey(self) -> Hotkey | None:
        """The parsed pause hotkey; None when ``pause_hotkey`` is "" (no hotkey)."""
        return parse_hotkey(self.pause_hotkey) if self.pause_hotkey.strip() else None


class SpoolSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounds of the local spool: it never grows without limit, and counts what it drops."""

    max_bytes: Annotated[int, msgspec.Meta(ge=1)] = 512 * 1024 * 1024
    max_age_days: Annotated[int, msgspec.Meta(ge=1)] = 14


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class ExclusionRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """While a window matching ``app`` and ``title`` (regexes searched; "" matches anything) is
    focused, only a gap marker is recorded. ``reason`` is for people; it is never recorded."""

    app: str = ""
    title: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        for name, pattern in (("app", self.app), ("title", self.title)):
            try:
                _regex(pattern)
            except (re.error, OverflowError, RecursionError) as exc:
                raise ValueError(f"{name}: bad regular expression {pattern!r}: {exc}") from None
        if not self.app and not self.title:
            raise ValueError("app and title are both empty, which would exclude every window")

    def matches(self, app: str, title: str | None) -> bool:
        """True if a window of application ``app`` with ``title`` falls under this rule; a rule
        with a title pattern does not match a window whose title is unknown (None)."""
        if self.app and _regex(self.app).search(app) is None:
            return False
        if self.title:
            return title is not None and _regex(self.title).search(title) is not None
        return True


class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole edge policy (see docs/policy.md)."""

    version: Annotated[int, msgspec.Meta(ge=1)] = 1
    capture: CaptureSettings = msgspec.field(default_factory=CaptureSettings)
    spool: SpoolSettings = msgspec.field(default_factory=SpoolSettings)
    exclude: tuple[ExclusionRule, ...] = ()
    browser: BrowserSettings = msgspec.field(default_factory=BrowserSettings)

    def matches_exclusion(self, app: str, title: str | None) -> ExclusionRule | None:
        """The first exclusion rule the window falls under, or None."""
        for rule in self.exclude:
            if rule.matches(app, title):
                return rule
        return None


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path``; the packaged default when ``path`` is None or does not exist."""
    if path is None:
        return default_policy()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return default_policy()
    except OSError as exc:
        raise _error(path, f"cannot read: {exc.strerror}") from None
    return parse_policy(data, path)


@functools.cache
def default_policy() -> Policy:
    """The policy shipped in the package (``default_policy.toml``)."""
    source = f"<packaged {DEFAULT_POLICY_RESOURCE}>"
    return parse_policy(default_policy_text(), source, default_exclusions=False)


def default_policy_text() -> str:
    """The packaged default policy file, comments and all."""
    resource = importlib.resources.files("workprint.policy") / DEFAULT_POLICY_RESOURCE
    return resource.read_text(encoding="utf-8")


def parse_policy(
    data: bytes | str, source: Path | str = "<policy>", *, default_exclusions: bool = True
) -> Policy:
    """Parse and validate policy TOML; any problem is a one-line ``PolicyError``.

    A document without an ``exclude`` key gets the packaged default exclusions, so a file that
    only tunes capture settings does not silently stop excluding password managers."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _error(source, f"not UTF-8 (byte {exc.start})") from None
    else:
        text = data
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(source, _toml_message(str(exc))) from None
    except RecursionError:
        raise _error(source, "invalid TOML: nested too deeply") from None
    if default_exclusions and "exclude" not in doc:
        doc["exclude"] = [msgspec.to_builtins(rule) for rule in default_policy().exclude]
    try:
        return msgspec.convert(doc, Policy)
    except msgspec.ValidationError as exc:
        raise _error(source, validation_message(str(exc))) from None


def to_toml(policy: Policy) -> str:
    """The policy as a TOML document that ``parse_policy`` reads back to an equal policy."""
    doc = msgspec.to_builtins(policy)
    lines = [f"version = {_toml_value(doc['version'])}"]
    if not doc["exclude"]:
        lines.append("exclude = []")  # explicit: a missing key would mean the defaults
    for section in ("capture", "spool"):
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in doc[section].items()]
    browser = doc["browser"]
    lines += ["", "[browser]"]
    lines += [
        f"{key} = {_toml_value(value)}" for key, value in browser.items() if key != "search_sites"
    ]
    if not browser["search_sites"]:
        lines.append("search_sites = []")
    for site in browser["search_sites"]:
        lines += ["", "[[browser.search_sites]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in site.items()]
    for rule in doc["exclude"]:
        lines += ["", "[[exclude]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in rule.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        # A JSON string is a TOML basic string, except that TOML also forbids a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _error(source: Path | str, what: str) -> PolicyError:
    return PolicyError(one_line(f"policy file {source}: {what}"))


_TOML_AT = re.compile(r"(.*) \(at (line \d+, column \d+|end of document)\)", re.S)


def _toml_message(message: str) -> str:
    """``Invalid value (at line 3, column 5)`` → ``line 3, column 5: invalid TOML: ...``."""
    match = _TOML_AT.fullmatch(message)
    if match is None:
        return f"invalid TOML: {message}"
    what, where = match.groups()
    where = "end of file" if where == "end of document" else where
    return f"{where}: invalid TOML: {what[:1].lower()}{what[1:]}"
