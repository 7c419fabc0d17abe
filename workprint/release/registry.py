"""The release registry (SQLite, ``<root>/registry.db``) and the library API the CLI and the
portal use. Keep it this small:

- ``list_releases(root, *, role)``: every release, or for a researcher only approved ones;
- ``get_release(root, release_id, *, role)``: one release (a researcher sees only approved);
- ``approve(root, release_id, approver, store)``: a steward approves a passed release; its files
  become read-only; refused (``ReleaseError`` with the reasons) for a blocked one; audited;
- ``releases_including(root, person_id)``: the releases with data derived from that person (the
  list of people lives only here, never in a release directory);
- ``open_release_file(root, release_id, name, *, role)``: a release's file as bytes, verified
  against the manifest first (researchers: approved releases only);
- ``verify_release(root, release_id)``: the files that differ from the manifest.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from workprint.errors import WorkprintError

if TYPE_CHECKING:
    from workprint.store.interface import Role, Store

Status = Literal["blocked", "pending", "approved"]
REGISTRY_NAME: Final = "registry.db"
MANIFEST_NAME: Final = "manifest.json"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS releases (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL, kind TEXT NOT NULL,
  status TEXT NOT NULL, checks TEXT NOT NULL, reasons TEXT NOT NULL, epsilon REAL NOT NULL,
  created_by TEXT NOT NULL, created_ns INTEGER NOT NULL, approver TEXT, approved_ns INTEGER,
  path TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, UNIQUE (name, version));
CREATE TABLE IF NOT EXISTS release_people (
  release_id TEXT NOT NULL REFERENCES releases(id), person_id TEXT NOT NULL,
  PRIMARY KEY (release_id, person_id));
"""


class ReleaseError(WorkprintError):
    """A release request refused or impossible; the message says why in one line."""


class Check(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    passed: bool
    reason: str


class ReleaseInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    version: int
    kind: str
    status: Status
    checks: tuple[Check, ...]
    reasons: tuple[str, ...]  # why it is blocked (empty when it passed)
    epsilon: float
    created_by: str
    created_ns: int
    approver: str | None
    approved_ns: int | None
    path: str


def connect(root: Path) -> sqlite3.Connection:
    root.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(root / REGISTRY_NAME, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_SCHEMA)
    return db


def next_version(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT MAX(version) FROM releases WHERE name = ?", (name,)).fetchone()
    return int(row[0] or 0) + 1


def _info(row: Any) -> ReleaseInfo:
    return ReleaseInfo(
        id=row[0],
        name=row[1],
        version=row[2],
        kind=row[3],
        status=row[4],
        checks=msgspec.json.decode(row[5], type=tuple[Check, ...]),
        reasons=tuple(json.loads(row[6])),
        epsilon=row[7],
        created_by=row[8],
        created_ns=row[9],
        approver=row[10],
        approved_ns=row[11],
        path=row[12],
    )


_COLUMNS: Final = (
    "id, name, version, kind, status, checks, reasons, epsilon, created_by, created_ns, "
    "approver, approved_ns, path"
)


def register(db: sqlite3.Connection, info: ReleaseInfo, people: list[str], manifest: str) -> None:
    """Insert a new release and its (internal) list of people, in one transaction."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            f"INSERT INTO releases ({_COLUMNS}, manifest_sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.id,
                info.name,
                info.version,
                info.kind,
                info.status,
                msgspec.json.encode(info.checks).decode(),
                json.dumps(list(info.reasons)),
                info.epsilon,
                info.created_by,
                info.created_ns,
                None,
                None,
                info.path,
                manifest,
            ),
        )
        db.executemany(
            "INSERT INTO release_people VALUES (?, ?)", [(info.id, p) for p in sorted(people)]
        )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> str:
    """``manifest.json`` with the SHA-256 of every other file; returns the manifest's own."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    entries = {str(p.relative_to(directory)): sha256_file(p) for p in files}
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps({"files": entries}, indent=2) + "\n", encoding="utf-8")
    return sha256_file(path)


def _row(db: sqlite3.Connection, release_id: str) -> tuple[ReleaseInfo, str]:
    row = db.execute(
        f"SELECT {_COLUMNS}, manifest_sha256 FROM releases WHERE id = ?", (release_id,)
    ).fetchone()
    if row is None:
        raise ReleaseError(f"no release {release_id!r}")
    return _info(row), row[13]


def list_releases(root: Path, *, role: Role | None = None) -> list[ReleaseInfo]:
    """Every release, newest first; a researcher sees approved releases only."""
    db = connect(root)
    try:
        rows = db.execute(f"SELECT {_COLUMNS} FROM releases ORDER BY created_ns DESC").fetchall()
    finally:
        db.close()
    infos = [_info(r) for r in rows]
    return [i for i in infos if i.status == "approved"] if role == "researcher" else infos


def get_release(root: Path, release_id: str, *, role: Role | None = None) -> ReleaseInfo:
    db = connect(root)
    try:
        info, _ = _row(db, release_id)
    finally:
        db.close()
    if role == "researcher" and info.status != "approved":
        raise ReleaseError(f"no release {release_id!r}")  # it does not exist for them
    return info


def verify_release(root: Path, release_id: str) -> list[str]:
    """What differs from the manifest (empty: intact): changed, missing or extra files."""
    db = connect(root)
    try:
        info, manifest_sha = _row(db, release_id)
    finally:
        db.close()
    directory = Path(info.path)
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file() or sha256_file(manifest) != manifest_sha:
        return [f"{MANIFEST_NAME}: changed or missing"]
    entries: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    problems = []
    for name, digest in entries.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
    for path in sorted(directory.rglob("*")):
        name = str(path.relative_to(directory))
        if path.is_file() and name != MANIFEST_NAME and name not in entries:
            problems.append(f"{name}: not in the manifest")
    return problems


def _read_only(directory: Path) -> None:
    for path in [*directory.rglob("*"), directory]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def approve(root: Path, release_id: str, approver: str, store: Store) -> ReleaseInfo:
    """A steward approves a release whose checks passed; audited in the store."""
    person = store.get_person(approver)
    if person is None or person.erased_ns is not None:
        raise ReleaseError(f"unknown person {approver!r}")
    if person.role != "steward":
        raise ReleaseError(f"only a steward may approve a release; {approver} is a {person.role}")
    db = connect(root)
    try:
        info, _ = _row(db, release_id)
        if info.status == "blocked":
            raise ReleaseError(
                f"release {release_id} is blocked and cannot be approved: "
                + "; ".join(info.reasons)
            )
        if info.status == "approved":
            raise ReleaseError(f"release {release_id} was already approved by {info.approver}")
        problems = verify_release(root, release_id)
        if problems:
            raise ReleaseError(f"release {release_id} was altered: {'; '.join(problems)}")
        now = time.time_ns()
        db.execute(
            "UPDATE releases SET status = 'approved', approver = ?, approved_ns = ? WHERE id = ?",
            (approver, now, release_id),
        )
    finally:
        db.close()
    _read_only(Path(info.path))
    store.audit(approver, "release.approve", release_id, f"{info.name} v{info.version}")
    return get_release(root, release_id)


def releases_including(root: Path, person_id: str) -> list[ReleaseInfo]:
    """Every release (any status) with data derived from ``person_id``."""
    db = connect(root)
    try:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE id IN "
            "(SELECT release_id FROM release_people WHERE person_id = ?) ORDER BY created_ns",
            (person_id,),
        ).fetchall()
    finally:
        db.close()
    return [_info(r) for r in rows]


def open_release_file(root: Path, release_id: str, name: str, *, role: Role | None = None) -> bytes:
    """One file of a release, after the whole release was verified against its manifest."""
    info = get_release(root, release_id, role=role)
    directory = Path(info.path).resolve()
    path = (directory / name).resolve()
    if directory not in path.parents:
        raise ReleaseError(f"{name!r} is not a file of release {release_id}")
    problems = verify_release(root, release_id)
    if problems:
        raise ReleaseError(f"release {release_id} was altered: {'; '.join(problems)}")
    if not path.is_file():
        raise ReleaseError(f"release {release_id} has no file {name!r}")
    return path.read_bytes()
