"""Per-person data keys: created with the person, kept only wrapped, unwrapped on demand.

The unwrapped keys are cached in memory for speed; ``forget`` drops the cached key, and every
use first checks in the same transaction that the wrapped key still exists, so a key destroyed
by another process is not used from a stale cache.
"""

from __future__ import annotations

import threading
import time
from typing import Final

from workprint.crypto.envelope import MasterKey, new_data_key
from workprint.store.embedded.database import Conn
from workprint.store.interface import CredentialError

_AAD_PREFIX: Final = b"person data key\x00"


def _aad(person_id: str) -> bytes:
    return _AAD_PREFIX + person_id.encode()


class DataKeys:
    """Creates, unwraps (with a cache) and destroys the data keys of people."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._cache: dict[str, tuple[bytes, bytes]] = {}  # person → (wrapped, key)
        self._lock = threading.Lock()

    def create(self, conn: Conn, person_id: str) -> None:
        wrapped = self._master.wrap(new_data_key(), _aad(person_id))
        conn.execute(
            "INSERT INTO data_keys (person_id, wrapped, created_ns) VALUES (?, ?, ?)",
            (person_id, wrapped, time.time_ns()),
        )

    def get(self, conn: Conn, person_id: str) -> bytes:
        """The person's data key; ``CredentialError`` if it was destroyed (erased person)."""
        row = conn.execute(
            "SELECT wrapped FROM data_keys WHERE person_id = ?", (person_id,)
        ).fetchone()
        if row is None:
            with self._lock:
                self._cache.pop(person_id, None)
            raise CredentialError(f"person {person_id} has no data key (erased or unknown)")
        return self.from_wrapped(person_id, bytes(row[0]))

    def from_wrapped(self, person_id: str, wrapped: bytes) -> bytes:
        """The key ``wrapped`` holds (the caller read it from the database), from the cache
        when it has not changed."""
        with self._lock:
            cached = self._cache.get(person_id)
        if cached is not None and cached[0] == wrapped:
            return cached[1]
        key = self._master.unwrap(wrapped, _aad(person_id))
        with self._lock:
            self._cache[person_id] = (wrapped, key)
        return key

    def wrapped(self, conn: Conn, person_id: str) -> bytes | None:
        row = conn.execute(
            "SELECT wrapped FROM data_keys WHERE person_id = ?", (person_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def destroy(self, conn: Conn, person_id: str) -> bool:
        """Overwrite and delete the wrapped key (inside the caller's transaction)."""
        conn.execute(
            "UPDATE data_keys SET wrapped = zeroblob(length(wrapped)) WHERE person_id = ?",
            (person_id,),
        )
        gone = conn.execute("DELETE FROM data_keys WHERE person_id = ?", (person_id,)).rowcount
        self.forget_cached(person_id)
        return bool(gone)

    def forget_cached(self, person_id: str) -> None:
        with self._lock:
            self._cache.pop(person_id, None)
