"""The ``Database`` seam between the store's engine and where its metadata lives.

The engine (identity, consent, keys, de-duplication, the file index, the audit chain, group
commit) is plain SQL with ``?`` placeholders that SQLite and PostgreSQL both run. What differs
is how a connection is had and how writers are kept apart: the embedded default is one SQLite
file whose ``BEGIN IMMEDIATE`` serialises every writing process; the PostgreSQL backend
(``workprint.store.postgres``) takes a transaction-level advisory lock instead, so several
collector processes and hosts write one after the other exactly as processes do on one file.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class Conn(Protocol):
    """The slice of a DB-API connection the engine uses (``sqlite3.Connection`` has it)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...


class Database(Protocol):
    """Transactions over the store's metadata. Thread-safe.

    Failures surface as ``StoreError`` (one line); a database that cannot be reached right now
    (restarting, network) as ``StoreUnavailableError``, which callers may retry."""

    @property
    def location(self) -> str:
        """What to name in messages (a file path, or a URL without its password)."""
        ...

    def write(self) -> AbstractContextManager[Conn]:
        """One transaction, serialised against every other writer of this store in any process
        or host; committed on a clean exit, rolled back on an exception."""
        ...

    def read(self) -> AbstractContextManager[Conn]:
        """A connection for reads that must see this process's latest commit."""
        ...

    def snapshot(self) -> AbstractContextManager[Conn]:
        """The last committed state, without waiting for a writer (per-thread connections)."""
        ...

    def scrub(self) -> bool:
        """After an erasure: rewrite storage so no old image of erased rows survives in the
        database's files; False if that could not be done completely now."""
        ...

    def metadata_bytes(self) -> int:
        """Bytes the metadata takes (for stats and benchmarks)."""
        ...

    def close(self) -> None: ...
