"""Where the agent keeps what enrollment gave it: the collector URL (``collector.json`` in the
config directory) and the device credential (``device.token`` in the data directory, 0600)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Final

import msgspec

from workprint.crypto import create_private_file, read_private_file
from workprint.errors import WorkprintError
from workprint.home import Home

CONFIG_NAME: Final = "collector.json"
TOKEN_NAME: Final = "device.token"


class CollectorConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    device_id: str
    person_id: str
    enrolled_ns: int


class CollectorConfigError(WorkprintError):
    """The enrollment files are unreadable or inconsistent."""


def config_path(home: Home) -> Path:
    return home.config_dir / CONFIG_NAME


def token_path(home: Home) -> Path:
    return home.data_dir / TOKEN_NAME


def save_enrollment(home: Home, url: str, device_id: str, person_id: str, token: str) -> None:
    """Write the token (0600) and then the config, replacing an earlier enrollment."""
    home.ensure()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(token_path(home))
    create_private_file(token_path(home), token.encode("ascii") + b"\n")
    config = CollectorConfig(
        url=url.rstrip("/"), device_id=device_id, person_id=person_id, enrolled_ns=time.time_ns()
    )
    tmp = config_path(home).with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.format(msgspec.json.encode(config), indent=2) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, config_path(home))


def load_enrollment(home: Home) -> tuple[CollectorConfig, str] | None:
    """The collector config and the device token, or None if this device is not enrolled."""
    try:
        data = config_path(home).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CollectorConfigError(f"cannot read {config_path(home)}: {exc.strerror}") from None
    try:
        config = msgspec.json.decode(data, type=CollectorConfig)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CollectorConfigError(f"{config_path(home)} is not valid: {exc}") from None
    raw = read_private_file(token_path(home), what="device token")
    if raw is None:
        raise CollectorConfigError(
            f"{config_path(home)} names a collector but {token_path(home)} is missing: "
            "enroll again with `workprint enroll URL CODE`"
        )
    token = raw.decode("ascii", "replace").strip()
    return config, token
