"""Per-release pseudonyms for person and session ids: a keyed HMAC-SHA256.

Every release gets a fresh random key, so two releases cannot be joined on their ids. A steward
who wants two releases to be linkable on purpose (a longitudinal study) passes the same *link
key* to both: then the same person has the same pseudonym in each. Neither key is ever written
into a release; the link key lives wherever the steward keeps it (a 0600 file).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Final

from workprint.errors import WorkprintError

MIN_KEY_BYTES: Final = 16


class PseudonymKeyError(WorkprintError):
    """A link key that cannot be used (missing, too short)."""


class ReleasePseudonyms:
    """``person``/``session`` pseudonyms under one key (the ``Namer`` protocol of the build
    pipeline). ``linked`` says whether the key came from a steward (linkable) or was random."""

    def __init__(self, key: bytes, *, linked: bool) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.linked = linked

    @classmethod
    def fresh(cls) -> ReleasePseudonyms:
        """A random 256-bit key: this release links to no other."""
        return cls(secrets.token_bytes(32), linked=False)

    @classmethod
    def from_link_key(cls, path: Path) -> ReleasePseudonyms:
        """The steward's link key file: releases made with it share pseudonyms."""
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise PseudonymKeyError(f"cannot read link key {path}: {exc.strerror}") from None
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(
                f"link key {path} has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed"
            )
        return cls(key, linked=True)

    def _digest(self, *parts: str) -> str:
        message = "\0".join(parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]

    def person(self, person_id: str) -> str:
        return f"anon-{self._digest('person', person_id)}"

    def session(self, person_id: str, session: str) -> str:
        return f"session-{self._digest('session', person_id, session)}"

    def opaque(self, kind: str, value: str) -> str:
        """A short keyed digest of any value (k-anonymity reports name classes by it)."""
        return self._digest(kind, value)[:8]


def new_link_key(path: Path) -> None:
    """Write a fresh 32-byte link key (hex) to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
