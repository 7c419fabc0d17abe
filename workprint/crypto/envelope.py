"""Envelope encryption: per-person data keys wrapped by a master key.

Every person gets a data key (32 random bytes) that seals their events; the store keeps it only
wrapped by the master key. Destroying the wrapped data key is crypto-shredding: whatever copy of
the ciphertext survives (a backup, a stale disk block) no longer opens. The master key never
lives next to the data: a copy of the data directory alone reveals no content.

``MasterKey`` is the seam for a KMS: anything that can wrap and unwrap 32-byte keys under
associated data implements it. Two local implementations are here: an owner-only key file and an
environment variable (hex), both AES-256-GCM via ``seal``/``open_sealed``.
"""

from __future__ import annotations

import binascii
import os
from pathlib import Path
from typing import Final, Protocol

from workprint.crypto.aead import KEY_BYTES, DecryptionError, open_sealed, seal
from workprint.crypto.private_file import (
    load_or_create_secret,
)
from workprint.errors import WorkprintError

MASTER_KEY_ENV: Final = "WORKPRINT_MASTER_KEY"
_WRAP_PREFIX: Final = b"workprint wrap v1\x00"


class MasterKeyError(WorkprintError):
    """The master key is missing, unsafe or malformed, or a wrapped key does not unwrap."""


class MasterKey(Protocol):
    """Wraps and unwraps data keys; ``aad`` binds a wrapped key to its owner (a person id)."""

    def wrap(self, key: bytes, aad: bytes) -> bytes: ...
    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def new_data_key() -> bytes:
    """A fresh data key: 32 bytes from the OS CSPRNG."""
    return os.urandom(KEY_BYTES)


class LocalMasterKey:
    """A master key held in this process's memory (AES-256-GCM key wrapping)."""

    __slots__ = ("_key", "source")

    def __init__(self, key: bytes, *, source: str) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"master key {source} must be {KEY_BYTES} bytes")
        self._key = key
        self.source = source

    def wrap(self, key: bytes, aad: bytes) -> bytes:
        if len(key) != KEY_BYTES:
            raise ValueError(f"data key must be {KEY_BYTES} bytes, got {len(key)}")
        return seal(self._key, key, _WRAP_PREFIX + aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        try:
            key = open_sealed(self._key, blob, _WRAP_PREFIX + aad)
        except DecryptionError:
            raise MasterKeyError(
                f"a wrapped key does not open with the master key {self.source} "
                "(wrong master key, or the wrapped key was altered)"
            ) from None
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"unwrapped key is {len(key)} bytes, not {KEY_BYTES}")
        return key

    def __repr__(self) -> str:  # never print the key
        return f"{type(self).__name__}({self.source})"


class FileMasterKey(LocalMasterKey):
    """The master key in an owner-only (0600) file, created with 32 random bytes if missing.

    The file holds 64 hex digits (so it can be copied into ``WORKPRINT_MASTER_KEY``); 32 raw
    bytes are accepted too. A file others could read is refused, not silently used."""

    __slots__ = ("path",)

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path).expanduser().absolute()
        super().__init__(_load_or_create(self.path, create=create), source=str(self.path))


class EnvMasterKey(LocalMasterKey):
    """The master key as 64 hex digits in an environment variable (containers, CI, systemd)."""

    __slots__ = ("var",)

    def __init__(self, var: str = MASTER_KEY_ENV) -> None:
        self.var = var
        value = os.environ.get(var)
        if not value:
            raise MasterKeyError(f"environment variable {var} is not set")
        super().__init__(_parse(value.encode(), source=f"in ${var}"), source=f"${var}")


def resolve_master_key(path: Path | None, default: Path, *, create: bool) -> LocalMasterKey:
    """The master key a command should use: the file ``path`` if one was named, else
    ``$WORKPRINT_MASTER_KEY`` if set, else the file ``default`` (created only with ``create``)."""
    if path is not None:
        return FileMasterKey(path, create=create)
    if os.environ.get(MASTER_KEY_ENV):
        return EnvMasterKey()
    return FileMasterKey(default, create=create)


def _parse(data: bytes, *, source: str) -> bytes:
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return binascii.unhexlify(text)
        except binascii.Error:
            pass
    raise MasterKeyError(
        f"master key {source} is not {2 * KEY_BYTES} hex digits (or {KEY_BYTES} raw bytes)"
    )


def _load_or_create(path: Path, *, create: bool) -> bytes:
    return load_or_create_secret(
        path,
        what="master key",
        create=create,
        new_content=lambda: os.urandom(KEY_BYTES).hex().encode() + b"\n",
        parse=lambda data: _parse(data, source=str(path)),
        error=MasterKeyError,
    )
