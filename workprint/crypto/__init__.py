"""Keys and authenticated encryption for data at rest.

Today: AES-256-GCM sealing and the per-device key. Envelope encryption (per-person data keys
wrapped by a master key, destroyed to crypto-shred) will build on ``seal``/``open_sealed``.
"""

from workprint.crypto.aead import KEY_BYTES, DecryptionError, Sealer, open_sealed, seal
from workprint.crypto.device_key import (
    DeviceKeyError,
    keyring_usable,
    load_or_create_device_key,
)
from workprint.crypto.private_file import PrivateFileError, create_private_file, read_private_file

__all__ = [
    "KEY_BYTES",
    "DecryptionError",
    "DeviceKeyError",
    "PrivateFileError",
    "Sealer",
    "create_private_file",
    "keyring_usable",
    "load_or_create_device_key",
    "open_sealed",
    "read_private_file",
    "seal",
]
