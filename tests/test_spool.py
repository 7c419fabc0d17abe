"""The spool on real SQLite files: round trips, seqs, bounds, refusals and no plaintext at rest."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import msgspec
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from strategies import event_lists

from workprint.crypto import open_sealed
from workprint.errors import WorkprintError
from workprint.events import (
    Event,
    Gap,
    KeyDown,
    MouseMove,
    SessionStart,
    WindowFocus,
    encode_batch,
)
from workprint.spool import Spool, SpoolError, load_or_create_device_id
from workprint.spool.spool import ZSTD_LEVEL

KEY = bytes(range(100, 132))
DEVICE = "0123456789abcdef0123456789abcdef"


def moves(n: int, t0: int = 1_700_000_000_000_000_000) -> list[Event]:
    return [MouseMove(t=t0 + i * 8_000_000, session="s1", x=i % 1920, y=i % 1080) for i in range(n)]


def open_spool(path: Path, **kwargs: float) -> Spool:
    return Spool.open(path, KEY, device_id=DEVICE, **kwargs)  # type: ignore[arg-type]


def one_line_error(exc: BaseException) -> str:
    message = str(exc)
    assert isinstance(exc, WorkprintError) and message and "\n" not in message
    return message


def test_round_trip_and_consecutive_seqs(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db") as spool:
        first = spool.append(moves(3))
        second = spool.append(moves(2))
        assert spool.append([]) is None
        assert first is not None and second is not None
        assert (first.first_seq, first.last_seq, first.n_events) == (1, 3, 3)
        assert (second.first_seq, second.last_seq) == (4, 5)
        assert first.batch_id != second.batch_id and len(first.batch_id) == 32
        batches = spool.pending()
        assert [b.batch_id for b in batches] == [first.batch_id, second.batch_id]
        assert [e.seq for b in batches for e in b.events] == [1, 2, 3, 4, 5]
        assert [e.seq for e in spool.iter_events()] == [1, 2, 3, 4, 5]
        stats = spool.stats()
        assert (stats.batches, stats.events, stats.next_seq) == (2, 5, 6)
        assert stats.payload_bytes == first.n_bytes + second.n_bytes
        assert stats.file_bytes > stats.payload_bytes


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=event_lists(min_size=1, max_size=30))
def test_any_events_come_back_exactly(tmp_path: Path, batch: list[Event]) -> None:
    path = tmp_path / f"{os.urandom(6).hex()}.db"
    with open_spool(path) as spool:
        spool.append(batch)
        assert spool.pending()[0].events == batch  # seqs were assigned in place
        assert list(spool.iter_events()) == sorted(batch, key=lambda e: e.seq)


def test_seqs_persist_across_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path) as spool:
        spool.append(moves(10))
    with open_spool(path) as spool:
        info = spool.append(moves(5))
        assert info is not None and info.first_seq == 11
        pending = spool.pending()
        spool.ack([b.batch_id for b in pending])
        assert spool.stats().batches == 0
    with open_spool(path) as spool:  # acknowledging everything does not rewind the counter
        info = spool.append(moves(1))
        assert info is not None and info.first_seq == 16


def test_import_keeps_seqs_and_moves_next_seq_past_them(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db") as spool:
        imported = moves(3)
        for event, seq in zip(imported, (500, 400, 450), strict=True):
            event.seq = seq
        info = spool.append(imported, assign_seq=False)
        assert info is not None and (info.first_seq, info.last_seq) == (400, 500)
        assert spool.stats().next_seq == 501
        low = moves(1)
        low[0].seq = 7
        spool.append(low, assign_seq=False)
        assert spool.stats().next_seq == 501
        assert [e.seq for e in spool.iter_events()] == [7, 400, 450, 500]
        fresh = spool.append(moves(1))
        assert fresh is not None and fresh.first_seq == 501


def test_seq_outside_sqlite_range_is_refused(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db") as spool:
        events = moves(2)
        events[1].seq = 2**63 - 1
        with pytest.raises(SpoolError, match="outside the spool's range") as info:
            spool.append(events, assign_seq=False)
        one_line_error(info.value)
        assert spool.stats().batches == 0


def test_ack_and_quarantine(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db") as spool:
        infos = [spool.append(moves(2)) for _ in range(3)]
        ids = [info.batch_id for info in infos if info is not None]
        assert spool.ack([ids[0], "no-such-batch"]) == 1
        assert spool.ack([ids[0]]) == 0
        assert spool.quarantine(ids[1], "server said: schema mismatch")
        assert not spool.quarantine(ids[1], "again")
        assert [b.batch_id for b in spool.pending()] == [ids[2]]
        stats = spool.stats()
        assert (stats.batches, stats.events, stats.quarantined) == (1, 2, 1)
    db = sqlite3.connect(tmp_path / "spool.db")
    batch_id, reason, payload = db.execute(
        "SELECT batch_id, reason, payload FROM quarantine"
    ).fetchone()
    db.close()
    assert (batch_id, reason) == (ids[1], "server said: schema mismatch")
    assert b"mouse_move" not in payload  # kept sealed
    open_sealed(KEY, payload, batch_id.encode())


def test_undecryptable_batch_is_quarantined_not_blocking(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path) as spool:
        bad = spool.append(moves(2))
        good = spool.append(moves(2))
    assert bad is not None and good is not None
    db = sqlite3.connect(path)
    db.execute("UPDATE batches SET payload = zeroblob(60) WHERE batch_id = ?", (bad.batch_id,))
    db.commit()
    db.close()
    with open_spool(path) as spool:
        assert [b.batch_id for b in spool.pending()] == [good.batch_id]
        assert spool.stats().quarantined == 1
        assert [e.seq for e in spool.iter_events()] == [3, 4]


def test_bytes_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db", max_bytes=2000) as spool:
        infos = [spool.append(moves(50, t0=i * 10**12)) for i in range(8)]
        sizes = [info.n_bytes for info in infos if info is not None]
        stats = spool.stats()
        assert stats.payload_bytes <= 2000
        kept = [b.batch_id for b in spool.pending()]
        all_ids = [info.batch_id for info in infos if info is not None]
        assert kept == all_ids[len(all_ids) - len(kept) :]  # the newest survive, in order
        assert stats.dropped_batches == len(all_ids) - len(kept) > 0
        assert stats.dropped_events == 50 * stats.dropped_batches
        assert stats.payload_bytes == sum(sizes[stats.dropped_batches :])
        assert next(e.seq for e in spool.iter_events()) == 50 * stats.dropped_batches + 1


def test_bytes_bound_drops_quarantine_first(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path) as spool:
        first = spool.append(moves(50))
        spool.append(moves(50))
        assert first is not None
        spool.quarantine(first.batch_id, "bad")
        budget = spool.stats().payload_bytes + first.n_bytes // 2
    with open_spool(path, max_bytes=budget) as spool:
        stats = spool.stats()
        assert (stats.quarantined, stats.batches, stats.dropped_batches) == (0, 1, 1)


def test_age_bound_drops_old_batches_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path, max_age_s=0.5) as spool:
        spool.append(moves(4))
        time.sleep(0.7)
        newer = spool.append(moves(3))
        stats = spool.stats()
        assert (stats.batches, stats.dropped_batches, stats.dropped_events) == (1, 1, 4)
        assert [b.batch_id for b in spool.pending()] == [newer.batch_id if newer else ""]
    time.sleep(0.7)
    with open_spool(path, max_age_s=0.5) as spool:  # also applied when opening
        stats = spool.stats()
        assert (stats.batches, stats.dropped_batches, stats.dropped_events) == (0, 2, 7)
        assert stats.next_seq == 8


def test_file_and_side_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        with open_spool(tmp_path / "spool.db") as spool:
            spool.append(moves(10))
            names = [p for p in tmp_path.iterdir() if p.name.startswith("spool.db")]
            assert {p.name for p in names} == {"spool.db", "spool.db-wal", "spool.db-shm"}
            for name in names:
                assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
    finally:
        os.umask(old)


def test_wrong_key_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path) as spool:
        spool.append(moves(1))
    with pytest.raises(SpoolError) as info:
        Spool.open(path, bytes(32), device_id=DEVICE)
    assert "different device key" in one_line_error(info.value)


def test_wrong_device_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    open_spool(path).close()
    with pytest.raises(SpoolError) as info:
        Spool.open(path, KEY, device_id="f" * 32)
    assert DEVICE in one_line_error(info.value)


@pytest.mark.parametrize(
    "content",
    [b"hello, I am a text file\n" * 20, b"SQLite format 3\x00" + b"\x00" * 50, os.urandom(9000)],
    ids=["text", "truncated-header", "random"],
)
def test_not_a_spool_is_refused_in_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(content)
    with pytest.raises(SpoolError) as info:
        open_spool(path)
    assert str(path) in one_line_error(info.value)
    assert path.read_bytes() == content  # left untouched


def test_other_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(SpoolError) as info:
        open_spool(path)
    assert "not a workprint spool" in one_line_error(info.value)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_corrupt_spool_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with open_spool(path) as spool:
        for _ in range(20):
            spool.append(moves(200))
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    data[4096 : 8 * 4096] = os.urandom(7 * 4096)  # clobber the pages after the header page
    path.write_bytes(bytes(data))
    with pytest.raises(SpoolError) as info, open_spool(path) as spool:
        spool.stats()
        list(spool.iter_events())
    one_line_error(info.value)


def test_missing_spool_without_create(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="no spool"):
        Spool.open(tmp_path / "none.db", KEY, device_id=DEVICE, create=False)
    assert not (tmp_path / "none.db").exists()


def test_closed_spool_says_so(tmp_path: Path) -> None:
    spool = open_spool(tmp_path / "spool.db")
    spool.close()
    spool.close()
    with pytest.raises(SpoolError, match="closed"):
        spool.append(moves(1))


def test_threads_share_one_spool_without_losing_or_reusing_seqs(tmp_path: Path) -> None:
    with open_spool(tmp_path / "spool.db") as spool:

        def writer() -> None:
            for _ in range(25):
                spool.append(moves(4))

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seqs = [e.seq for e in spool.iter_events()]
        assert seqs == list(range(1, 401))


def test_device_id_is_created_once_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "device.id"
    device = load_or_create_device_id(path)
    assert len(device) == 32 and int(device, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_device_id(path) == device
    path.chmod(0o600)
    path.write_text("not an id\n")
    with pytest.raises(WorkprintError, match="32 lowercase hex"):
        load_or_create_device_id(path)


# -- no plaintext at rest ------------------------------------------------------------------

MARKER = "zq7MARKERxk4"  # typed one character at a time
TITLE = "Quarterly salaries - CONFIDENTIAL-9w3v.xlsx"
HOST = "host-unique-5rt8"
KEYNAME = "keyname-unique-2pp1"


def secret_events() -> list[Event]:
    t = 1_700_000_000_000_000_000
    typed: list[Event] = [
        KeyDown(t=t + i, session="sess-unique-8k2m", cls="letter", key=ch, char=ch)
        for i, ch in enumerate(MARKER)
    ]
    return [
        SessionStart(t=t, session="sess-unique-8k2m", device=DEVICE, host=HOST),
        WindowFocus(t=t, session="sess-unique-8k2m", app="soffice", title=TITLE, pid=4242),
        *typed,
        KeyDown(t=t + 99, session="sess-unique-8k2m", cls="other", key=KEYNAME),
        Gap(t=t + 100, session="sess-unique-8k2m", reason="excluded"),
        *moves(500),
    ]


def needles(events: list[Event]) -> list[bytes]:
    """Byte strings that plaintext storage would contain, checked to be in the msgpack form."""
    found = [
        TITLE.encode(),
        HOST.encode(),
        KEYNAME.encode(),
        b"sess-unique-8k2m",
        b"soffice",
        DEVICE.encode(),  # SessionStart.device: so the spool's meta must not show it either
        KEY,
        KEY.hex().encode(),
    ]
    packed = encode_batch(events)
    for text in found[:6]:
        assert text in packed  # so that looking for it in the files means something
    per_event = [msgspec.msgpack.encode(e) for e in events[:20]]
    return found + [p for p in per_event if len(p) >= 16]


def spool_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_no_plaintext_in_db_wal_or_shm(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    events = secret_events()
    compressed: list[bytes] = []  # zstd entropy-codes literals: look for the frames too
    with open_spool(path) as spool:
        for start in range(0, len(events), 100):
            spool.append(events[start : start + 100])
            packed = encode_batch(events[start : start + 100])
            compressed.append(zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(packed)[:48])
        assert Path(f"{path}-wal").stat().st_size > 0
        live = spool_bytes(path)  # while open: most pages still in the WAL
        decrypted = list(spool.iter_events())
        first = spool.pending(1)[0]
        spool.ack([first.batch_id])  # deleted pages must not leak either
    closed = spool_bytes(path)  # after close: checkpointed into the database file
    for blob in (live, closed):
        for needle in [*needles(events), *compressed]:
            assert needle not in blob, needle
    # ... and the test is not vacuous: the same content comes back after decryption.
    typed = "".join(e.char for e in decrypted if isinstance(e, KeyDown) and e.char)
    assert MARKER in typed
    assert any(isinstance(e, WindowFocus) and e.title == TITLE for e in decrypted)
    assert decrypted == events
