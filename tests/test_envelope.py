"""Envelope encryption: master keys (file, environment), wrapping data keys, and the store's
refusal of a wrong master key or one kept inside its own data directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.crypto.envelope import (
    MASTER_KEY_ENV,
    EnvMasterKey,
    FileMasterKey,
    LocalMasterKey,
    MasterKeyError,
    new_data_key,
    resolve_master_key,
)
from workprint.errors import WorkprintError
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import StoreError

MASTER = LocalMasterKey(bytes(range(32)), source="test")


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_wrap_unwrap_round_trip(key: bytes, aad: bytes) -> None:
    assert MASTER.unwrap(MASTER.wrap(key, aad), aad) == key


def test_wrapped_key_is_bound_to_its_owner_and_master() -> None:
    key = new_data_key()
    blob = MASTER.wrap(key, b"p_alice")
    assert key not in blob
    with pytest.raises(MasterKeyError, match="does not open"):
        MASTER.unwrap(blob, b"p_bob")
    with pytest.raises(MasterKeyError):
        LocalMasterKey(bytes(32), source="other").unwrap(blob, b"p_alice")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(MasterKeyError):
        MASTER.unwrap(bytes(tampered), b"p_alice")


def test_data_keys_are_fresh() -> None:
    assert len({new_data_key() for _ in range(100)}) == 100
    with pytest.raises(ValueError):
        MASTER.wrap(b"short", b"")


def test_file_master_key_is_created_owner_only_as_hex(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "master.key"
    first = FileMasterKey(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_bytes()
    assert len(text.strip()) == 64 and text.endswith(b"\n")
    bytes.fromhex(text.decode())
    again = FileMasterKey(path)  # the same key is read back
    assert again.unwrap(first.wrap(b"k" * 32, b"x"), b"x") == b"k" * 32
    assert text.strip().decode() not in repr(first)


def test_file_master_key_refuses_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    FileMasterKey(path)
    os.chmod(path, 0o640)
    with pytest.raises(MasterKeyError, match="owner only"):
        FileMasterKey(path)


def test_file_master_key_missing_or_malformed(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="no master key"):
        FileMasterKey(tmp_path / "absent.key", create=False)
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"not a key\n")
    os.chmod(bad, 0o600)
    with pytest.raises(MasterKeyError, match="hex digits"):
        FileMasterKey(bad)
    raw = tmp_path / "raw.key"
    raw.write_bytes(bytes(range(32)))
    os.chmod(raw, 0o600)
    assert FileMasterKey(raw).unwrap(MASTER.wrap(b"z" * 32, b"a"), b"a") == b"z" * 32


def test_env_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, bytes(range(32)).hex())
    key = EnvMasterKey()
    assert key.unwrap(MASTER.wrap(b"q" * 32, b"a"), b"a") == b"q" * 32
    assert bytes(range(32)).hex() not in repr(key)
    monkeypatch.setenv(MASTER_KEY_ENV, "abc")
    with pytest.raises(MasterKeyError, match="hex digits"):
        EnvMasterKey()
    monkeypatch.delenv(MASTER_KEY_ENV)
    with pytest.raises(MasterKeyError, match="not set"):
        EnvMasterKey()


def test_resolve_prefers_named_file_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named, default = tmp_path / "named.key", tmp_path / "default.key"
    monkeypatch.setenv(MASTER_KEY_ENV, bytes(32).hex())
    assert isinstance(resolve_master_key(named, default, create=True), FileMasterKey)
    assert isinstance(resolve_master_key(None, default, create=True), EnvMasterKey)
    assert not default.exists()
    monkeypatch.delenv(MASTER_KEY_ENV)
    chosen = resolve_master_key(None, default, create=True)
    assert isinstance(chosen, FileMasterKey) and chosen.path == default.absolute()
    assert issubclass(MasterKeyError, WorkprintError)


def test_store_refuses_a_master_key_inside_its_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(StoreError, match="must not live inside"):
        EmbeddedStore.open(data, FileMasterKey(data / "keys" / "master.key"))


def test_store_refuses_another_master_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    EmbeddedStore.open(data, FileMasterKey(tmp_path / "one.key")).close()
    with pytest.raises(StoreError, match="different master key"):
        EmbeddedStore.open(data, FileMasterKey(tmp_path / "two.key"))
    EmbeddedStore.open(data, FileMasterKey(tmp_path / "one.key")).close()


def test_store_opens_with_the_same_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "one.key"
    EmbeddedStore.open(tmp_path / "data", FileMasterKey(path)).close()
    monkeypatch.setenv(MASTER_KEY_ENV, path.read_text().strip())
    EmbeddedStore.open(tmp_path / "data", EnvMasterKey()).close()
