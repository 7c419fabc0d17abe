"""The steward's release policy: one TOML file saying how a release is generalised and checked.

The API the CLI and the portal share (keep it this small):

- ``parse_policy(text, source)`` → ``ReleasePolicy`` or a one-line ``ReleasePolicyError``
  naming the file, the key (``kanon.k``) and what is wrong;
- ``load_policy(path)``, ``save_policy(policy, path)`` (validated, written atomically);
- ``policy_to_toml(policy)`` (what ``parse_policy`` reads back to an equal policy);
- ``default_policy()``.

Example (every key optional; these are the defaults except the example apps and teams)::

    version = 1
    [apps]
    allowlist = ["firefox", "code"]          # names kept as they are
    categories = { gedit = "editor", slack = "chat" }   # others → category, else "other"
    [urls]
    search_params = ["q", "query"]           # the one query parameter kept (redacted)
    max_path_depth = 4
    [fields]
    titles = "redact"                        # redact | drop | keep
    text = "redact"                          # typed text: redact | drop | keep
    timing = "anonymise"                     # per-key and mouse-path timings: anonymise | drop
    max_reid_ratio = 2.0                     # block when the re-identification attack on the
                                             # released key timings beats chance by more
    block_types = ["SECRET", "CREDIT_CARD", "EMAIL", "IBAN", "GOV_ID", "URL_CREDENTIALS"]
    [kanon]
    k = 5
    quasi_identifiers = ["app", "screen_w", "screen_h"]
    [dp]
    epsilon = 1.0                            # spent by one release's aggregates (0: none)
    person_total = 3.0                       # the ledger refuses past these totals
    team_total = 10.0
    min_group_size = 5                       # smaller teams get no aggregate of their own
    max_values_per_person = 200
    max_seconds_per_person = 28800.0
    [teams]
    ops = ["p_1a2b", "p_3c4d"]               # team name → person ids
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from workprint.errors import WorkprintError
from workprint.privacy.spans import EntityType

TitlePolicy = Literal["redact", "drop", "keep"]
TimingPolicy = Literal["anonymise", "drop"]
ENTITY_TYPES: Final = tuple(e.value for e in EntityType)
DEFAULT_BLOCK: Final = ("SECRET", "CREDIT_CARD", "EMAIL", "IBAN", "GOV_ID", "URL_CREDENTIALS")
_AT: Final = re.compile(r"(.*) - at `\$(.*)`")


class ReleasePolicyError(WorkprintError):
    """A release policy file that cannot be used; the message names file, key and problem."""


class Apps(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    allowlist: tuple[str, ...] = ()
    categories: dict[str, str] = {}


class Urls(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    search_params: tuple[str, ...] = ("q", "query", "search_query", "p", "text", "wd")
    max_path_depth: int = 4


class Fields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    titles: TitlePolicy = "redact"
    text: TitlePolicy = "redact"
    timing: TimingPolicy = "anonymise"
    # Anonymised re-identification accuracy / chance above which the release is blocked
    # (workprint.release.reid); 2.0 is the target for the timing anonymiser.
    max_reid_ratio: float = 2.0
    block_types: tuple[str, ...] = DEFAULT_BLOCK


class KAnon(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    k: int = 5
    quasi_identifiers: tuple[str, ...] = ("app", "screen_w", "screen_h")


class DP(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    epsilon: float = 1.0
    person_total: float = 3.0
    team_total: float = 10.0
    min_group_size: int = 5
    max_values_per_person: int = 200
    max_seconds_per_person: float = 28800.0


class ReleasePolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: int = 1
    apps: Apps = Apps()
    urls: Urls = Urls()
    fields: Fields = Fields()
    kanon: KAnon = KAnon()
    dp: DP = DP()
    teams: dict[str, tuple[str, ...]] = {}

    def team_of(self) -> dict[str, str]:
        """person id → team name."""
        return {p: team for team, people in self.teams.items() for p in people}


def _check(policy: ReleasePolicy) -> None:
    """The rules msgspec's types cannot say; the first broken one, as ``key: problem``."""
    problems: list[tuple[str, str]] = []
    if policy.version != 1:
        problems.append(("version", f"unsupported version {policy.version} (this reads 1)"))
    if policy.urls.max_path_depth < 0:
        problems.append(("urls.max_path_depth", "must be ≥ 0"))
    for name in policy.fields.block_types:
        if name not in ENTITY_TYPES:
            problems.append(
                ("fields.block_types", f"unknown type {name!r} (one of: {', '.join(ENTITY_TYPES)})")
            )
    for app, category in policy.apps.categories.items():
        if not app.strip() or not category.strip():
            problems.append((f"apps.categories.{app}", "app and category must not be empty"))
    ratio = policy.fields.max_reid_ratio
    if not 0 < ratio < float("inf"):
        problems.append(("fields.max_reid_ratio", f"must be a finite number > 0, got {ratio:g}"))
    if policy.kanon.k < 1:
        problems.append(("kanon.k", f"must be ≥ 1, got {policy.kanon.k}"))
    dp = policy.dp
    for key in ("epsilon", "person_total", "team_total", "max_seconds_per_person"):
        value = getattr(dp, key)
        if not value >= 0 or value == float("inf"):
            problems.append((f"dp.{key}", f"must be a finite number ≥ 0, got {value}"))
    if dp.max_seconds_per_person == 0:
        problems.append(("dp.max_seconds_per_person", "must be > 0"))
    if dp.min_group_size < 1 or dp.max_values_per_person < 1:
        problems.append(("dp.min_group_size", "it and dp.max_values_per_person must be ≥ 1"))
    seen: dict[str, str] = {}
    for team, people in policy.teams.items():
        if not people:
            problems.append((f"teams.{team}", "a team needs at least one person id"))
        for person in people:
            if person in seen and seen[person] != team:
                problems.append((f"teams.{team}", f"{person} is already in team {seen[person]!r}"))
            seen[person] = team
    if problems:
        key, what = problems[0]
        raise ValueError(f"{key}: {what}")


def parse_policy(text: str | bytes, source: str | Path = "<policy>") -> ReleasePolicy:
    """Parse and validate a policy document; any problem is one ``ReleasePolicyError`` line."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReleasePolicyError(f"{source}: not UTF-8 (byte {exc.start})") from None
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReleasePolicyError(f"{source}: invalid TOML: {exc}") from None
    try:
        policy = msgspec.convert(doc, ReleasePolicy)
    except msgspec.ValidationError as exc:
        match = _AT.fullmatch(str(exc))
        where = match[2].lstrip(".") if match else ""
        what = match[1] if match else str(exc)
        raise ReleasePolicyError(f"{source}: {where + ': ' if where else ''}{what}") from None
    try:
        _check(policy)
    except ValueError as exc:
        raise ReleasePolicyError(f"{source}: {exc}") from None
    return policy


def load_policy(path: Path) -> ReleasePolicy:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReleasePolicyError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_policy(data, path)


def default_policy() -> ReleasePolicy:
    return ReleasePolicy()


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _value(key)


def policy_to_toml(policy: ReleasePolicy) -> str:
    """The policy as TOML; ``parse_policy`` reads it back to an equal policy."""
    doc = msgspec.to_builtins(policy)
    lines = [f"version = {doc.pop('version')}"]
    for section, values in doc.items():
        lines += ["", f"[{section}]"]
        lines += [f"{_key(key)} = {_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def save_policy(policy: ReleasePolicy, path: Path) -> None:
    """Validate, then replace ``path`` atomically (a reader never sees half a policy)."""
    text = policy_to_toml(policy)
    parse_policy(text, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".policy-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
