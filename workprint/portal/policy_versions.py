"""The release policy as stewards edit it: every saved text is a new numbered version (never
overwritten), so any two versions can be compared and the consent pages can say which version
a grant was made under.

The text is TOML: the release policy (``workprint.release.policy``: allowlists, k, ε budgets,
teams), checked by the release package's own validator, plus two sections of the portal's,
``[retention]`` and ``[exclusions]``. Saving also writes the release part to
``DATA/release-policy.toml`` for the release tooling (see ``PortalState.save_policy``).
"""

from __future__ import annotations

import difflib
import re
import time
import tomllib
from dataclasses import dataclass
from typing import Final

import msgspec

from workprint.portal.db import PortalDB
from workprint.release.policy import (
    ReleasePolicy,
    ReleasePolicyError,
    default_policy,
    parse_policy,
    policy_to_toml,
)
from workprint.store.interface import StoreError

MAX_POLICY_CHARS: Final = 64 * 1024
SITE_PATTERN: Final = re.compile(r"^(\*\.)?[a-z0-9.\-]{1,253}(:\d{1,5})?$")  # as the edge policy's
PORTAL_SECTIONS: Final = ("retention", "exclusions")
DEFAULT_RAW_DAYS: Final = 30  # the store's own default (docs/store.md)
HEADER: Final = """\
# The release policy as stewards edit it. [retention] and [exclusions] are the portal's;
# everything else is workprint.release.policy's (allowlists, k, epsilon budgets, teams).
"""
PORTAL_PART: Final = """\
[retention]
raw_days = 30                            # raw events older than this are deleted

[exclusions]
apps = ["keepassxc", "1password", "signal", "sudo"]
sites = ["bank.example", "mail.example"]
"""
DEFAULT_POLICY: Final = HEADER + policy_to_toml(default_policy()) + "\n" + PORTAL_PART


class PolicyError(StoreError):
    """A policy text that cannot be saved; the message says what to fix."""


@dataclass(frozen=True)
class PortalSections:
    """What of the policy acts outside releases: how long raw events are kept (the store's
    retention job) and what the devices must not record (merged into each device's edge policy
    file through the heartbeat, docs/portal.md)."""

    raw_days: float
    apps: tuple[str, ...]
    sites: tuple[str, ...]


def portal_sections(text: str) -> PortalSections:
    """The ``[retention]`` and ``[exclusions]`` of a policy text that ``validate_policy`` has
    accepted (the defaults where a section is left out)."""
    data = tomllib.loads(text)
    retention, exclusions = data.get("retention", {}), data.get("exclusions", {})
    return PortalSections(
        raw_days=float(retention.get("raw_days", DEFAULT_RAW_DAYS)),
        apps=tuple(exclusions.get("apps", ())),
        sites=tuple(site.lower() for site in exclusions.get("sites", ())),
    )


@dataclass(frozen=True)
class PolicyVersion:
    version: int
    text: str
    author: str
    note: str
    created_ns: int


def validate_policy(text: str) -> ReleasePolicy:
    """The release part of the policy, after checking every section; ``PolicyError`` names the
    key and the problem."""
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(f"the policy is longer than {MAX_POLICY_CHARS} characters")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    retention = data.get("retention", {})
    if not isinstance(retention, dict) or set(retention) - {"raw_days"}:
        raise PolicyError("[retention] has one key, raw_days")
    days = retention.get("raw_days", DEFAULT_RAW_DAYS)
    if isinstance(days, bool) or not isinstance(days, int | float) or not days >= 1:
        raise PolicyError(f"retention.raw_days must be a number of days ≥ 1 (got {days!r})")
    exclusions = data.get("exclusions", {})
    if not isinstance(exclusions, dict) or set(exclusions) - {"apps", "sites"}:
        raise PolicyError("[exclusions] has two keys, apps and sites")
    for key, value in exclusions.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"exclusions.{key} must be a list of non-empty strings")
    for app in exclusions.get("apps", []):
        if len(app) > 200 or not app.isprintable():
            raise PolicyError(f"exclusions.apps: {app[:40]!r} is not an application name")
    for site in exclusions.get("sites", []):
        if not SITE_PATTERN.match(site.lower()):
            raise PolicyError(f"exclusions.sites: {site[:60]!r} is not a host or *.host pattern")
    rest = {k: v for k, v in data.items() if k not in PORTAL_SECTIONS}
    try:
        release = msgspec.convert(rest, ReleasePolicy)
        return parse_policy(policy_to_toml(release), "policy")
    except msgspec.ValidationError as exc:
        raise PolicyError(str(exc).replace("$.", "")) from None
    except ReleasePolicyError as exc:
        raise PolicyError(str(exc)) from None


class PolicyVersions:
    def __init__(self, db: PortalDB) -> None:
        self.db = db

    def current(self) -> PolicyVersion:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT version, text, author, note, created_ns FROM policy_versions"
                " ORDER BY version DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return PolicyVersion(1, DEFAULT_POLICY, "system", "the default policy", 0)
        return PolicyVersion(*row)

    def get(self, version: int) -> PolicyVersion | None:
        if version == 1 and not self.versions():
            return self.current()
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT version, text, author, note, created_ns FROM policy_versions"
                " WHERE version = ?",
                (version,),
            ).fetchone()
        return None if row is None else PolicyVersion(*row)

    def versions(self) -> list[PolicyVersion]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT version, text, author, note, created_ns FROM policy_versions"
                " ORDER BY version DESC"
            ).fetchall()
        return [PolicyVersion(*row) for row in rows]

    def save(self, text: str, author: str, note: str) -> PolicyVersion:
        """Validate and store ``text`` as the next version (the default counts as version 1)."""
        text = text.replace("\r\n", "\n")
        validate_policy(text)
        with self.db.write() as conn:
            count, top = conn.execute(
                "SELECT count(*), coalesce(max(version), 0) FROM policy_versions"
            ).fetchone()
            if count == 0:  # keep the default as version 1 so the first diff has a base
                conn.execute(
                    "INSERT INTO policy_versions VALUES (1, ?, 'system', 'the default policy', 0)",
                    (DEFAULT_POLICY,),
                )
                top = 1
            version = PolicyVersion(top + 1, text, author, note.strip()[:200], time.time_ns())
            conn.execute(
                "INSERT INTO policy_versions VALUES (?, ?, ?, ?, ?)",
                (version.version, version.text, version.author, version.note, version.created_ns),
            )
        return version


def diff_lines(old: PolicyVersion, new: PolicyVersion) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs: kind is 'add', 'del', 'hunk' or 'same'."""
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(
        old.text.splitlines(),
        new.text.splitlines(),
        f"version {old.version}",
        f"version {new.version}",
        lineterm="",
    ):
        if line.startswith(("+++", "---")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out
