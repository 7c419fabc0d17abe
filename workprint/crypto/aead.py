"""Authenticated encryption for everything workprint keeps at rest.

AES-256-GCM with a fresh random 12-byte nonce per message, prepended to the ciphertext. The
associated data binds a ciphertext to its place (a spool batch id, say), so a blob copied to
another row does not open. Random nonces are safe here: one key seals far fewer than the 2**32
messages after which a collision starts to matter.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from workprint.errors import WorkprintError

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
OVERHEAD: Final = NONCE_BYTES + TAG_BYTES


class DecryptionError(WorkprintError):
    """A sealed blob did not open: wrong key, wrong associated data, tampered or truncated."""


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"key must be {KEY_BYTES} bytes, got {len(key)}")
    return AESGCM(key)


class Sealer:
    """``seal`` with one key, keeping its cipher object: building one costs more than sealing a
    small batch. Held by its owner (the spool), never cached globally, so a key leaves memory
    with the object that uses it (a forgotten person's data key must not linger)."""

    def __init__(self, key: bytes) -> None:
        self._cipher = _cipher(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, plaintext, aad)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext``; returns nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _cipher(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob made by ``seal`` with the same key and associated data."""
    cipher = _cipher(key)
    if len(blob) < OVERHEAD:
        raise DecryptionError(
            f"sealed blob is {len(blob)} bytes, shorter than the {OVERHEAD} bytes of nonce and tag"
        )
    try:
        return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            "sealed blob failed authentication (wrong key, wrong context or tampered data)"
        ) from None
