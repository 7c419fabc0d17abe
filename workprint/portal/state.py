"""Everything the portal keeps besides the store, bundled for the routes (``app.state.portal``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from workprint.portal.accounts import PasswordLogin, Sessions
from workprint.portal.db import PortalDB, existing_portal_db, portal_db_for
from workprint.portal.device_state import DeviceState
from workprint.portal.policy_versions import (
    PolicyVersion,
    PolicyVersions,
    portal_sections,
    validate_policy,
)
from workprint.portal.rate_limit import RateLimiter
from workprint.portal.releases import RELEASES_DIR, Releases
from workprint.release.policy import save_policy
from workprint.store.interface import RetentionResult, Store

RELEASE_POLICY_NAME: Final = "release-policy.toml"


@dataclass
class PortalState:
    store: Store
    db: PortalDB
    logins: PasswordLogin = field(init=False)
    sessions: Sessions = field(init=False)
    devices: DeviceState = field(init=False)
    policies: PolicyVersions = field(init=False)
    release_root: Path
    login_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20, 60.0))
    releases: Releases = field(init=False)

    def __post_init__(self) -> None:
        self.logins = PasswordLogin(self.db)
        self.sessions = Sessions(self.db)
        self.devices = DeviceState(self.db)
        self.policies = PolicyVersions(self.db)
        self.releases = Releases(self.release_root)

    def forget(self, person_id: str, actor: str) -> None:
        """Erasure across store and portal: the store crypto-shreds and deletes the events, the
        portal deletes the account, sessions, device status and pause request."""
        self.store.forget(person_id, actor=actor)
        self.db.forget_person(person_id)

    def save_policy(self, text: str, author: str, note: str) -> PolicyVersion:
        """A new policy version; its release part is also written to ``release-policy.toml`` in
        the data directory, where the release tooling reads it. Audited. A changed retention
        period is applied to the store at once (and by every later ``workprint admin retention
        run``); the exclusions reach the devices with their next heartbeat."""
        before = portal_sections(self.policies.current().text).raw_days
        version = self.policies.save(text, author, note)
        root = getattr(self.store, "root", None)  # the data directory (the embedded store's)
        if root is not None:
            save_policy(validate_policy(version.text), Path(root) / RELEASE_POLICY_NAME)
        self.store.audit(author, "policy.update", f"policy v{version.version}", version.note)
        if portal_sections(version.text).raw_days != before:
            self.apply_retention(author)
        return version

    def apply_retention(self, actor: str) -> RetentionResult:
        """The store's retention job with the current policy's ``[retention] raw_days``."""
        days = portal_sections(self.policies.current().text).raw_days
        return self.store.apply_retention(time.time_ns(), days, actor=actor)

    def sweep_erased(self) -> int:
        """Remove portal rows of people the store has erased by other means (``workprint
        forget``): run at start-up, so erasure always reaches the portal's file too."""
        erased = [p.id for p in self.store.list_people() if p.erased_ns is not None]
        known = {a.person_id for a in self.logins.accounts()}
        for person_id in erased:
            if person_id in known:
                self.db.forget_person(person_id)
        return len(set(erased) & known)


def portal_state_for(store: Store, release_root: Path | None = None) -> PortalState:
    """The portal's tables live in the shared store's PostgreSQL database, or in a file beside
    the embedded store's (its ``root``); releases in ``DATA/releases`` unless told otherwise; a
    store without a directory gets an in-memory portal database."""
    root = getattr(store, "root", None)
    data = Path(root) if root is not None else None
    releases = release_root or (data or Path.cwd()) / RELEASES_DIR
    state = PortalState(store, portal_db_for(store, data), releases)
    if data is not None:  # an in-memory portal database holds nothing from before
        state.sweep_erased()
    return state


def steward_retention(store: Store) -> tuple[float, int] | None:
    """``(raw_days, policy version)`` of the steward policy of ``store`` (in its PostgreSQL
    database, or in the portal file beside the embedded store), or None where no portal has
    run (nothing is created by asking)."""
    db = existing_portal_db(store)
    if db is None:
        return None
    try:
        current = PolicyVersions(db).current()
    finally:
        db.close()
    return portal_sections(current.text).raw_days, current.version
