"""Open the store a deployment is configured for: the embedded default (SQLite + files in one
directory) or the shared one (PostgreSQL metadata + event files in an S3 bucket)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workprint.store.interface import StoreError

if TYPE_CHECKING:
    from workprint.crypto.envelope import MasterKey
    from workprint.store.embedded import EmbeddedStore


def open_store(
    data_dir: Path,
    master: MasterKey,
    *,
    database: str | None = None,
    objects: str | None = None,
) -> EmbeddedStore:
    """The store: ``data_dir`` alone is the embedded default; ``database`` (a ``postgresql://``
    URL) and ``objects`` (an ``s3://bucket/prefix`` URL, or omitted for files under
    ``data_dir``) select the shared backend, which several collectors may use at once."""
    from workprint.store.embedded import EmbeddedStore

    if database is None and objects is None:
        return EmbeddedStore.open(data_dir, master)
    raise StoreError("the PostgreSQL/S3 backend is not wired yet")
