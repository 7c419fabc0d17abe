"""Sealing and the device key, on real files (the keyring only where a real one runs)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.crypto import (
    KEY_BYTES,
    DecryptionError,
    DeviceKeyError,
    keyring_usable,
    load_or_create_device_key,
    open_sealed,
    seal,
)
from workprint.crypto.aead import NONCE_BYTES, OVERHEAD
from workprint.errors import WorkprintError

KEY = bytes(range(32))


@settings(max_examples=100)
@given(st.binary(max_size=2000), st.binary(max_size=64))
def test_seal_round_trip(plaintext: bytes, aad: bytes) -> None:
    blob = seal(KEY, plaintext, aad)
    assert len(blob) == len(plaintext) + OVERHEAD
    assert open_sealed(KEY, blob, aad) == plaintext


def test_nonce_is_fresh_each_time() -> None:
    blobs = {seal(KEY, b"same", b"aad")[:NONCE_BYTES] for _ in range(200)}
    assert len(blobs) == 200


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_single_bit_flip_is_refused(plaintext: bytes, data: st.DataObject) -> None:
    blob = bytearray(seal(KEY, plaintext, b"batch-1"))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError, match="failed authentication"):
        open_sealed(KEY, bytes(blob), b"batch-1")


def test_wrong_key_wrong_aad_and_short_blob_are_refused() -> None:
    blob = seal(KEY, b"hello", b"batch-1")
    with pytest.raises(DecryptionError):
        open_sealed(bytes(32), blob, b"batch-1")
    with pytest.raises(DecryptionError):
        open_sealed(KEY, blob, b"batch-2")
    with pytest.raises(DecryptionError, match="shorter"):
        open_sealed(KEY, blob[: OVERHEAD - 1], b"batch-1")
    assert issubclass(DecryptionError, WorkprintError)


def test_key_length_is_checked() -> None:
    with pytest.raises(ValueError):
        seal(b"short", b"x", b"")


# -- device key: file backend --------------------------------------------------------------


def test_file_key_is_created_owner_only_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "data" / "device.key"
    key = load_or_create_device_key(path, "file")
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key
    assert load_or_create_device_key(path, "file") == key
    assert load_or_create_device_key(path, "auto") == key  # an existing file always wins
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_file_key_is_created_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_device_key(tmp_path / "k", "file")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_auto_uses_the_file_on_a_machine_without_a_keyring(tmp_path: Path) -> None:
    if keyring_usable():
        pytest.skip("a real keyring is running here; auto would use it")
    key = load_or_create_device_key(tmp_path / "device.key")
    assert (tmp_path / "device.key").read_bytes() == key


def test_hex_key_files_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o600)
    assert load_or_create_device_key(path, "file") == KEY


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "device.key"
    load_or_create_device_key(path, "file")
    path.chmod(mode)
    with pytest.raises(DeviceKeyError) as info:
        load_or_create_device_key(path, "file")
    message = str(info.value)
    assert str(path) in message and f"{mode:04o}" in message and "\n" not in message


@pytest.mark.parametrize("content", [b"", b"x" * 31, b"x" * 33, b"zz" * 32, KEY + b"\n"])
def test_key_of_the_wrong_length_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "device.key"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(DeviceKeyError) as info:
        load_or_create_device_key(path, "file")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_key_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceKeyError, match="no device key"):
        load_or_create_device_key(tmp_path / "device.key", "file", create=False)
    assert not (tmp_path / "device.key").exists()


def test_key_path_that_is_a_symlink_or_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "real.key"
    load_or_create_device_key(target, "file")
    link = tmp_path / "link.key"
    link.symlink_to(target)
    with pytest.raises(DeviceKeyError):
        load_or_create_device_key(link, "file")
    (tmp_path / "dir.key").mkdir()
    with pytest.raises(DeviceKeyError):
        load_or_create_device_key(tmp_path / "dir.key", "file")


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        keys.append(load_or_create_device_key(path, "file"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1


def test_concurrent_processes_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "device.key"
    code = (
        "import sys; from pathlib import Path;"
        "from workprint.crypto import load_or_create_device_key as f;"
        "print(f(Path(sys.argv[1]), 'file').hex())"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
        for _ in range(6)
    ]
    outputs = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert outputs == {path.read_bytes().hex().encode()}


# -- device key: keyring backend -----------------------------------------------------------


def test_explicit_keyring_without_a_backend_is_a_one_line_error(tmp_path: Path) -> None:
    if keyring_usable():
        pytest.skip("a real keyring is running here")
    with pytest.raises(DeviceKeyError, match="no usable keyring") as info:
        load_or_create_device_key(tmp_path / "device.key", "keyring")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "device.key").exists()


@pytest.mark.skipif(
    not keyring_usable(),
    reason="no real keyring backend on this machine (headless: keyring's fail backend); "
    "a fake in-memory backend would only test the fake",
)
def test_keyring_key_round_trip(tmp_path: Path) -> None:  # pragma: no cover - needs a keyring
    import keyring

    path = tmp_path / "device.key"
    try:
        key = load_or_create_device_key(path, "keyring")
        assert len(key) == KEY_BYTES
        assert load_or_create_device_key(path, "keyring") == key
        assert load_or_create_device_key(path, "auto") == key
        assert not path.exists()
    finally:
        keyring.delete_password("workprint", str(path))
