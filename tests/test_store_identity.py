"""People, devices, enrollment codes and tokens in the embedded store (real files)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.store_support import T0, all_bytes, enrol, moves, open_store, table
from workprint.crypto.envelope import FileMasterKey
from workprint.store.embedded import EmbeddedStore
from workprint.store.interface import CredentialError, NotFoundError, StoreError


def test_people_have_random_ids_and_roles(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        a = store.add_person("Ada", "subject")
        b = store.add_person("Ada", "steward")
        assert a.id != b.id and a.id.startswith("p_") and "Ada" not in a.id
        assert store.get_person(a.id) == a
        assert store.get_person("p_nobody") is None
        assert [p.id for p in store.list_people()] == [a.id, b.id]
        changed = store.set_role(a.id, "researcher", actor="admin-1")
        assert changed.role == "researcher"
        last = store.audit_entries()[-1]
        assert (last.actor, last.action, last.target, last.details) == (
            "admin-1",
            "person.role",
            a.id,
            "subject->researcher",
        )
        with pytest.raises(StoreError, match="unknown role"):
            store.add_person("Eve", "overlord")  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="printable"):
            store.add_person("  ", "subject")
        with pytest.raises(NotFoundError):
            store.set_role("p_nobody", "admin", actor="x")


def test_enrollment_code_is_one_time_and_forgiving_in_form(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        person = store.add_person("Ada", "subject")
        code = store.create_enrollment_code(person.id)
        assert len(code.replace("-", "")) == 16
        typed = " " + code.lower().replace("-", " ") + " "
        enrollment = store.redeem_enrollment_code(typed, "work laptop")
        assert enrollment.person_id == person.id and enrollment.token.startswith("wpd_")
        with pytest.raises(CredentialError, match="unknown or already used"):
            store.redeem_enrollment_code(code, "second laptop")
        principal = store.authenticate(enrollment.token)
        assert principal is not None
        assert (principal.person_id, principal.role, principal.device_id) == (
            person.id,
            "subject",
            enrollment.device_id,
        )
        (device,) = store.list_devices(person.id)
        assert (device.id, device.name, device.revoked_ns) == (
            enrollment.device_id,
            "work laptop",
            None,
        )


def test_expired_and_unknown_codes_are_refused(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        person = store.add_person("Ada", "subject")
        code = store.create_enrollment_code(person.id, ttl_s=0.05)
        time.sleep(0.1)
        with pytest.raises(CredentialError, match="expired"):
            store.redeem_enrollment_code(code, "laptop")
        with pytest.raises(CredentialError):
            store.redeem_enrollment_code("AAAA-BBBB-CCCC-DDDD", "laptop")
        with pytest.raises(NotFoundError):
            store.create_enrollment_code("p_nobody")
        with pytest.raises(StoreError):
            store.create_enrollment_code(person.id, ttl_s=0)


def test_api_tokens_and_authentication(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        steward = store.add_person("Sam", "steward")
        token = store.create_api_token(steward.id)
        assert token.startswith("wpa_")
        principal = store.authenticate(token)
        assert principal is not None and principal.role == "steward"
        assert principal.device_id is None
        assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert store.authenticate("") is None
        assert store.authenticate("x" * 10_000) is None
        store.set_role(steward.id, "admin", actor="root")
        again = store.authenticate(token)
        assert again is not None and again.role == "admin"  # the role is read at each call


def test_only_hashes_of_secrets_are_stored(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        code = store.create_enrollment_code(subject.person_id)
        api = store.create_api_token(subject.person_id)
        everything = all_bytes(tmp_path / "data")
    for secret in (subject.token, api, code, code.replace("-", "")):
        assert secret.encode() not in everything


def test_revoked_device_stops_authenticating(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store)
        device_id = subject.principal.device_id
        assert device_id is not None
        store.revoke_device(device_id, actor="admin-1")
        assert store.authenticate(subject.token) is None
        (device,) = store.list_devices(subject.person_id)
        assert device.revoked_ns is not None
        with pytest.raises(CredentialError, match="revoked"):
            store.ingest(subject.principal, "b1", table(moves(3, t=T0, seq=0)))
        with pytest.raises(NotFoundError):
            store.revoke_device("d_nobody", actor="admin-1")
        assert store.audit_entries()[-1].action == "device.revoke"


def test_database_is_owner_only_and_recognised(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        enrol(store)
        root = store.root
    for path in root.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path
    other = tmp_path / "other"
    other.mkdir()
    sqlite3.connect(other / "meta.db").execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(StoreError, match="not a workprint store"):
        open_store_at(other, tmp_path)


def open_store_at(data: Path, tmp_path: Path) -> None:
    EmbeddedStore.open(data, FileMasterKey(tmp_path / "other.key")).close()


def test_store_is_usable_from_several_threads(tmp_path: Path) -> None:
    import threading

    with open_store(tmp_path) as store:
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for j in range(10):
                    person = store.add_person(f"p{i}-{j}", "subject")
                    store.create_api_token(person.id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(store.list_people()) == 40
        assert store.verify_audit().ok
