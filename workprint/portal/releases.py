"""The portal's window on the release registry (``workprint.release.registry``): every release
page goes through here, with the viewer's role, so a researcher can only ever reach approved
releases (the registry itself refuses the rest, and says they do not exist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from workprint.release.registry import (
    MANIFEST_NAME,
    ReleaseError,
    ReleaseInfo,
    approve,
    get_release,
    list_releases,
    open_release_file,
    releases_including,
)
from workprint.store.interface import Role, Store

RELEASES_DIR: Final = "releases"
CARD_NAME: Final = "README.md"
REPORT_NAME: Final = "privacy-report.html"

__all__ = [
    "ReleaseError",
    "ReleaseInfo",
    "Releases",
    "approve",
    "get_release",
    "list_releases",
    "open_release_file",
    "releases_including",
]


class Releases:
    """The registry under ``root`` (by default ``DATA/releases``), seen with a role."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def listed(self, role: Role) -> list[ReleaseInfo]:
        if not (self.root / "registry.db").exists():
            return []
        return list_releases(self.root, role=role)

    def get(self, release_id: str, role: Role) -> ReleaseInfo | None:
        if not (self.root / "registry.db").exists():
            return None
        try:
            return get_release(self.root, release_id, role=role)
        except ReleaseError:
            return None

    def including(self, person_id: str) -> list[ReleaseInfo]:
        if not (self.root / "registry.db").exists():
            return []
        return releases_including(self.root, person_id)

    def approve(self, release_id: str, steward_id: str, store: Store) -> ReleaseInfo:
        return approve(self.root, release_id, steward_id, store)

    def file(self, release_id: str, name: str, role: Role) -> bytes:
        """A file of the release, verified against its manifest (ReleaseError otherwise)."""
        return open_release_file(self.root, release_id, name, role=role)

    def files(self, release_id: str, role: Role) -> list[str]:
        """The data files the manifest lists (what a researcher may download)."""
        try:
            manifest = json.loads(self.file(release_id, MANIFEST_NAME, role))
        except (ReleaseError, ValueError):
            return []
        files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
        return sorted(name for name in files if isinstance(name, str))
