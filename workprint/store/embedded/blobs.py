"""Where sealed event files live: the ``Blobs`` seam between the store and its bytes.

The store names every event file by a relative key (``files.relative_path``:
``events/day=…/bucket=…/<id>.parquet.sealed``) and never rewrites one: a file is created once,
read, and eventually removed. That is all an object store offers too, so the same engine runs
on a local directory (``LocalBlobs``, the embedded default) or on an S3 bucket
(``workprint.store.objects.S3Blobs``). The metadata database is the only index: a blob no
committed row names is debris of a crash, and ``collect_garbage`` removes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from workprint.store.embedded import files


class Blobs(Protocol):
    """Create-once storage of sealed event files under relative keys. Thread-safe."""

    @property
    def location(self) -> str:
        """Where the blobs are, for messages (a directory or ``s3://bucket/prefix``)."""
        ...

    def write(self, rel: str, blob: bytes) -> None:
        """Create ``rel`` holding ``blob``; durable when this returns. Raises ``OSError`` (or
        ``StoreError``) on failure, leaving no partial blob behind."""
        ...

    def read(self, rel: str) -> bytes:
        """The whole blob; ``FileNotFoundError`` if there is none."""
        ...

    def remove(self, rels: Iterable[str]) -> None:
        """Delete blobs no metadata references any more. Best effort: what cannot be removed
        now is debris for ``collect_garbage``."""
        ...

    def collect_garbage(self, referenced: set[str], *, min_age_s: float) -> int:
        """Remove blobs under ``events/`` that ``referenced`` does not name and that are older
        than ``min_age_s`` (younger ones may belong to a batch another writer is committing);
        returns how many went."""
        ...

    def total_bytes(self) -> int:
        """Bytes of every blob under ``events/`` (for stats and benchmarks)."""
        ...


class LocalBlobs:
    """Blobs as files under one directory: ``O_EXCL`` create, file and directories fsync'd."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        return str(self.root)

    def write(self, rel: str, blob: bytes) -> None:
        files.write_blob(self.root, rel, blob)

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def remove(self, rels: Iterable[str]) -> None:
        files.remove(self.root, rels)

    def collect_garbage(self, referenced: set[str], *, min_age_s: float) -> int:
        return files.collect_garbage(self.root, referenced, min_age_s=min_age_s)

    def total_bytes(self) -> int:
        events = self.root / files.EVENTS_DIR
        return sum(p.stat().st_size for p in events.rglob("*") if p.is_file())
