"""The device side of the portal: report the recorder's state and apply what the person decided
on the portal (consent changes, pause/resume), pulled by the uploader every few seconds through
``POST /v1/device/heartbeat`` (docs/portal.md).

Consent from the server is *merged* into the local record (entries the device lacks are added,
the granted set is replayed from the merged history in time order), which the running recorder
watches; it is also told at once over its control socket. A pause request is applied once per
request time, through the same control socket ``workprint pause`` uses, so the recorder's own
switches are the only thing that ever changes what is captured.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from workprint.agent.control_client import send_command
from workprint.errors import WorkprintError
from workprint.home import Home
from workprint.policy.consent import (
    ConsentEntry,
    ConsentState,
    _locked,
    _write_atomic,
    canonical,
    load_consent,
)
from workprint.policy.policy_file import ExclusionRule, load_policy, to_toml

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
HEARTBEAT_PATH: Final = "/v1/device/heartbeat"
DEFAULT_INTERVAL_S: Final = 3.0
RECORDER_STATES: Final = frozenset({"recording", "paused", "excluded", "no-consent"})
PORTAL_RULE_REASON: Final = "steward policy (portal)"
APPLIED_NAME: Final = "portal-exclusions.json"  # beside the policy file: what was merged last


class PauseRequest(msgspec.Struct, frozen=True):
    paused: bool
    t: int


class EdgeExclusions(msgspec.Struct, frozen=True):
    version: int
    apps: list[str] = []
    sites: list[str] = []


class AppliedExclusions(msgspec.Struct, frozen=True):
    exclusions: EdgeExclusions
    added_sites: list[str]  # the sites the merge added (the file's own are never removed)


class DeviceControlReply(msgspec.Struct, frozen=True):
    consent: list[ConsentEntry]
    pause: PauseRequest | None = None
    poll_s: float = DEFAULT_INTERVAL_S
    exclusions: EdgeExclusions | None = None


_reply_decoder: Final = msgspec.json.Decoder(DeviceControlReply)


def _key(entry: ConsentEntry) -> tuple[int, str, tuple[str, ...], int]:
    return (entry.t, entry.action, tuple(entry.scopes), entry.policy_version)


def merge_consent(path: Path, entries: list[ConsentEntry]) -> bool:
    """Add the entries the local record lacks; the granted set is replayed from the merged
    history in time order. Returns whether the record changed."""
    with _locked(path):
        state = load_consent(path)
        known = {_key(e) for e in state.history}
        fresh = [e for e in entries if _key(e) not in known]
        if not fresh:
            return False
        history = sorted((*state.history, *fresh), key=lambda e: e.t)
        granted: set[str] = set()
        for entry in history:
            if entry.action == "grant":
                granted.update(entry.scopes)
            else:
                granted.difference_update(entry.scopes)
        merged = ConsentState(granted=canonical(granted), history=tuple(history))
        _write_atomic(path, msgspec.json.format(msgspec.json.encode(merged), indent=2) + b"\n")
    return True


def merge_exclusions(policy_file: Path, exclusions: EdgeExclusions) -> bool:
    """Write the steward's exclusions into the device's edge policy file: one ``[[exclude]]``
    rule for the applications (replacing the previous portal rule) and the sites added to
    ``browser.exclude_sites``. The file's own rules and sites (the packaged defaults included)
    stay: the portal can add protection, never remove it. Returns whether the file changed."""
    applied_file = policy_file.with_name(APPLIED_NAME)
    with _locked(policy_file):
        previous = _applied(applied_file)
        if previous is not None and previous.exclusions == exclusions:
            return False
        policy = load_policy(policy_file if policy_file.exists() else None)
        rules = [r for r in policy.exclude if r.reason != PORTAL_RULE_REASON]
        if exclusions.apps:
            names = "|".join(re.escape(app) for app in exclusions.apps)
            rules.append(ExclusionRule(app=f"(?i)^(?:{names})$", reason=PORTAL_RULE_REASON))
        ours = set(previous.added_sites) if previous is not None else set()
        sites = [s for s in policy.browser.exclude_sites if s not in ours]
        added = [s for s in dict.fromkeys(exclusions.sites) if s not in sites]
        browser = msgspec.structs.replace(policy.browser, exclude_sites=(*sites, *added))
        merged = msgspec.structs.replace(policy, exclude=tuple(rules), browser=browser)
        _write_atomic(policy_file, to_toml(merged).encode())
        record = AppliedExclusions(exclusions=exclusions, added_sites=added)
        _write_atomic(applied_file, msgspec.json.encode(record) + b"\n")
    return True


def _applied(path: Path) -> AppliedExclusions | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=AppliedExclusions)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # none yet, or unreadable: merge afresh (portal rules are found by reason)


@dataclass
class ControlOutcome:
    state: str
    consent_changed: bool = False
    policy_changed: bool = False
    pause_applied: bool | None = None  # True paused, False resumed, None nothing to apply
    error: str | None = None


class DeviceControl:
    """One device's heartbeat and pull; ``tick`` is cheap to call often (it rate-limits itself)."""

    def __init__(self, home: Home, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.home = home
        self.interval_s = interval_s
        self.applied_pause_t: int | None = None
        self._next = 0.0
        self.last: ControlOutcome | None = None

    def tick(self, client: httpx.Client, url: str, headers: dict[str, str]) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval_s
        self.last = self.sync(client, url, headers)
        if self.last.error:
            log.warning("device control: %s", self.last.error)

    def recorder_state(self) -> tuple[str, list[str]]:
        """What the local recorder says (over its control socket); "stopped" if none runs."""
        try:
            reply = send_command(self.home, "status")
        except WorkprintError:
            reply = None
        if not reply or reply.get("state") not in RECORDER_STATES:
            return "stopped", []
        scopes = reply.get("scopes")
        return str(reply["state"]), [s for s in scopes or [] if isinstance(s, str)]

    def sync(self, client: httpx.Client, url: str, headers: dict[str, str]) -> ControlOutcome:
        """One heartbeat: report, merge the consent history, apply a new pause request, merge
        the steward's exclusions into the edge policy file."""
        import httpx

        state, scopes = self.recorder_state()
        outcome = ControlOutcome(state)
        try:
            response = client.post(
                url.rstrip("/") + HEARTBEAT_PATH,
                json={"state": state, "scopes": scopes},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            outcome.error = f"cannot reach the collector: {exc or type(exc).__name__}"
            return outcome
        if response.status_code != 200:
            outcome.error = f"heartbeat answered {response.status_code}: {response.text[:200]}"
            return outcome
        try:
            reply = _reply_decoder.decode(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            outcome.error = f"the collector's control answer is invalid: {exc}"
            return outcome
        if reply.poll_s > 0:
            self.interval_s = min(max(reply.poll_s, 1.0), 60.0)
        try:
            outcome.consent_changed = merge_consent(self.home.consent_file, reply.consent)
            if outcome.consent_changed:
                self._command("reload-consent")
            pause = reply.pause
            if (
                pause is not None
                and pause.t != self.applied_pause_t
                and self._command("pause" if pause.paused else "resume") is not None
            ):
                self.applied_pause_t = pause.t
                outcome.pause_applied = pause.paused
            if reply.exclusions is not None and merge_exclusions(
                self.home.policy_file, reply.exclusions
            ):
                outcome.policy_changed = True
                self._command("reload-policy")
        except WorkprintError as exc:
            outcome.error = str(exc)
        return outcome

    def _command(self, cmd: str) -> dict[str, Any] | None:
        return send_command(self.home, cmd)
