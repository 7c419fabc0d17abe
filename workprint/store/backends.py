"""Open the store a deployment is configured for.

- The embedded default: SQLite metadata and event files in one directory, no server.
- The shared backend: metadata in PostgreSQL (``database``, a ``postgresql://`` URL) and event
  files in an S3 bucket (``objects``, ``s3://bucket/prefix``; the endpoint and credentials come
  from ``WORKPRINT_S3_ENDPOINT``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``). Several
  collector processes and hosts may use it at once. ``objects`` without ``database`` is refused
  (the SQLite file cannot be shared between hosts); ``database`` without ``objects`` keeps the
  event files under the local directory, which suits several collectors on one host.

Commands read ``WORKPRINT_DATABASE`` and ``WORKPRINT_OBJECTS`` when no option names them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from workprint.store.interface import StoreError

if TYPE_CHECKING:
    from workprint.crypto.envelope import MasterKey
    from workprint.store.embedded import EmbeddedStore

DATABASE_ENV: Final = "WORKPRINT_DATABASE"
OBJECTS_ENV: Final = "WORKPRINT_OBJECTS"


def configured(
    database: str | None, objects: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str | None, str | None]:
    """The options given, else the environment's; empty strings count as unset."""
    return (
        database or environ.get(DATABASE_ENV) or None,
        objects or environ.get(OBJECTS_ENV) or None,
    )


def open_store(
    data_dir: Path,
    master: MasterKey,
    *,
    database: str | None = None,
    objects: str | None = None,
) -> EmbeddedStore:
    """The store: ``data_dir`` alone is the embedded default; with ``database`` (and usually
    ``objects``) the shared backend, ``data_dir`` then being this host's local directory."""
    from workprint.store.embedded import EmbeddedStore

    if database is None and objects is None:
        return EmbeddedStore.open(data_dir, master)
    if database is None:
        raise StoreError(
            "--objects needs --database: event files in a bucket need the shared PostgreSQL "
            "metadata (an SQLite file cannot be shared between hosts)"
        )
    if not database.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"--database must be a postgresql:// URL, not {_redact(database)!r}")
    from workprint.store.embedded.blobs import Blobs, LocalBlobs
    from workprint.store.objects import S3Blobs
    from workprint.store.postgres.database import PostgresDatabase

    root = Path(data_dir).expanduser().absolute()
    storage: Blobs
    if objects is None:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        storage = LocalBlobs(root)
    else:
        s3 = S3Blobs.from_url(objects)
        s3.check()  # a missing bucket is said now, not at the first upload
        storage = s3
    return EmbeddedStore.open_shared(root, PostgresDatabase.open(database), storage, master)


def _redact(url: str) -> str:
    """A URL fit for a message: no password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, userinfo = head.partition("://")
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{tail}"
