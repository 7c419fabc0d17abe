"""The device key: 32 random bytes that seal this machine's spool.

It lives in the desktop keyring when a real one is running, else in an owner-only file next to
the spool. Later, per-person data keys will be wrapped by a master key (envelope encryption);
the device key then becomes the key that wraps them locally, and callers keep using
``load_or_create_device_key``.
"""

from __future__ import annotations

import binascii
import os
import sys
from pathlib import Path
from typing import Final, Literal

from workprint.crypto.aead import KEY_BYTES
from workprint.crypto.private_file import (
    load_or_create_secret,
)
from workprint.errors import WorkprintError

KEYRING_SERVICE: Final = "workprint"

Backend = Literal["auto", "file", "keyring"]


class DeviceKeyError(WorkprintError):
    """The device key is missing, unsafe, malformed or its store is unavailable."""


def load_or_create_device_key(
    path: Path, backend: Backend = "auto", *, create: bool = True
) -> bytes:
    """Return the device key named by ``path``, creating it (32 random bytes) if missing.

    ``auto`` keeps using a key file that already exists (switching stores would orphan the data
    sealed with it); otherwise it uses the keyring if a real one is available, else the file.
    With ``create=False`` a missing key is an error instead."""
    if backend == "auto":
        backend = "file" if os.path.lexists(path) or not keyring_usable() else "keyring"
    if backend == "file":
        return _file_key(path, create=create)
    if backend == "keyring":
        return _keyring_key(path, create=create)
    raise ValueError(f"unknown device key backend {backend!r}")


def keyring_usable() -> bool:
    """Whether the keyring package has a real backend (not the fail/null placeholder).

    On Linux every real backend (Secret Service, KWallet) talks over the D-Bus session bus:
    without one there is nothing to find, and not importing keyring keeps ~10 MB out of the
    recorder (its budget is 60 MB)."""
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError:  # pragma: no cover - keyring is a dependency
        return False
    try:
        ring = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop recording
        return False
    if isinstance(ring, fail.Keyring | null.Keyring):
        return False
    if isinstance(ring, chainer.ChainerBackend) and not ring.backends:
        return False
    priority: float = getattr(ring, "priority", 0)
    return priority >= 1


def parse_key(data: bytes, *, source: str) -> bytes:
    """A key stored as 32 raw bytes or as 64 hex digits (a trailing newline is allowed)."""
    if len(data) == KEY_BYTES:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return binascii.unhexlify(text)
        except binascii.Error:
            pass
    raise DeviceKeyError(
        f"device key {source} is {len(data)} bytes; expected {KEY_BYTES} raw bytes "
        f"or {2 * KEY_BYTES} hex digits"
    )


def _file_key(path: Path, *, create: bool) -> bytes:
    return load_or_create_secret(
        path,
        what="device key",
        create=create,
        new_content=lambda: os.urandom(KEY_BYTES),
        parse=lambda data: parse_key(data, source=str(path)),
        error=DeviceKeyError,
    )


def _keyring_key(path: Path, *, create: bool) -> bytes:
    import keyring
    from keyring.errors import KeyringError

    if not keyring_usable():
        raise DeviceKeyError("no usable keyring backend; use the file backend for the device key")
    username = str(path)
    source = f"in keyring {KEYRING_SERVICE}/{username}"
    try:
        stored = keyring.get_password(KEYRING_SERVICE, username)
        if stored is None:
            if not create:
                raise DeviceKeyError(f"no device key {source}")
            keyring.set_password(KEYRING_SERVICE, username, os.urandom(KEY_BYTES).hex())
            stored = keyring.get_password(KEYRING_SERVICE, username)
            if stored is None:
                raise DeviceKeyError(f"keyring did not keep the device key {source}")
    except KeyringError as exc:
        raise DeviceKeyError(f"keyring failed for the device key {source}: {exc}") from None
    return parse_key(stored.encode("ascii", "replace"), source=source)
