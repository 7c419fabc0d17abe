"""``S3Blobs`` against a real S3-compatible server (moto) over HTTP on 127.0.0.1: sealed event
files go in and come out whole, under the store's prefix in the day/bucket layout, are never
overwritten, removed without debris, garbage-collected by reference and age, and an unreachable
or hung endpoint fails fast with ``StoreUnavailableError``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import boto3  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import s3_support
from tests.s3_support import new_bucket, object_paths
from tests.store_support import T0, moves, table, typing
from workprint.crypto.aead import DecryptionError
from workprint.store.embedded import files
from workprint.store.embedded.blobs import Blobs
from workprint.store.interface import StoreError, StoreUnavailableError
from workprint.store.objects import S3Blobs
from workprint.testbed.s3 import S3Server

s3_server = s3_support.s3_server  # the shared fixtures, under their own names
s3_blobs = s3_support.s3_blobs

PLANTED = "PLANTED-quarterly-salaries-7f3a"
HANG_GUARD_S = 60.0  # only against hanging forever; how long it took is printed, not asserted


def event_rel(day: str = "2026-09-21", bucket: str = "b7c1e0a9", file_id: str = "") -> str:
    return files.relative_path(day, bucket, file_id or files.new_file_id())


def call_with_hang_guard(action: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run ``action`` in a thread; (what it raised, seconds it took). Fails if it never ends."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD_S)
    assert outcome, f"the call did not return within {HANG_GUARD_S:.0f} s"
    return outcome[0], time.monotonic() - started


def test_sealed_event_file_round_trips_and_stays_encrypted(
    s3_blobs: S3Blobs, s3_server: S3Server
) -> None:
    key = os.urandom(32)
    events = typing("hello there", t=T0, seq=1, title=PLANTED) + moves(50, t=T0 + 10**9, seq=40)
    day, bucket, file_id = files.day_of(T0), "b7c1e0a9", files.new_file_id()
    sealed = files.seal_table(key, table(events), day=day, bucket=bucket, file_id=file_id)
    rel = files.relative_path(day, bucket, file_id)

    s3_blobs.write(rel, sealed)
    stored = s3_blobs.read(rel)

    assert stored == sealed
    assert PLANTED.encode() not in stored
    # the same object through pyarrow's S3 filesystem, as the Ray readers open it
    via_pyarrow = s3_server.filesystem().open_input_file(
        f"{s3_blobs.settings.bucket}/tenant/store/{rel}"
    )
    assert via_pyarrow.read() == sealed
    # the store's own reader opens it through S3Blobs, under its name and only there
    decoded = files.read_sealed(s3_blobs, key, rel)
    assert decoded.num_rows == len(events)
    assert PLANTED in decoded.column("title").to_pylist()
    moved = files.relative_path(day, "a0a0a0a0", file_id)
    s3_blobs.write(moved, stored)
    with pytest.raises(DecryptionError):
        files.read_sealed(s3_blobs, key, moved)
    assert s3_blobs.total_bytes() == 2 * len(sealed)


def test_is_a_blobs_and_says_where(s3_blobs: S3Blobs) -> None:
    blobs: Blobs = s3_blobs
    assert blobs.location == f"s3://{s3_blobs.settings.bucket}/tenant/store"


def test_keys_land_under_the_prefix_in_the_day_bucket_layout(
    s3_blobs: S3Blobs, s3_server: S3Server
) -> None:
    written = {
        event_rel("2026-09-21", "aa11"),
        event_rel("2026-09-21", "aa11"),
        event_rel("2026-09-22", "bb22"),
    }
    for rel in written:
        s3_blobs.write(rel, rel.encode())

    keys = object_paths(s3_server, s3_blobs.settings.bucket)
    assert keys == {f"tenant/store/{rel}" for rel in written}
    for key in keys:
        day, bucket, _ = files.parse_relative(key.removeprefix("tenant/store/"))
        assert (day, bucket) in {("2026-09-21", "aa11"), ("2026-09-22", "bb22")}


def test_objects_stay_private(s3_blobs: S3Blobs, s3_server: S3Server) -> None:
    rel = event_rel()
    s3_blobs.write(rel, b"sealed bytes")
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name=s3_server.region,
    )
    acl = client.get_object_acl(Bucket=s3_blobs.settings.bucket, Key=f"tenant/store/{rel}")
    grantees = [grant["Grantee"] for grant in acl["Grants"]]
    assert [g.get("Type") for g in grantees] == ["CanonicalUser"]
    assert grantees[0].get("ID") == acl["Owner"]["ID"]


def test_overwriting_is_refused_and_the_first_blob_kept(s3_blobs: S3Blobs) -> None:
    rel = event_rel()
    s3_blobs.write(rel, b"first")

    with pytest.raises(StoreError, match="already exists: event files are never overwritten"):
        s3_blobs.write(rel, b"second")

    assert s3_blobs.read(rel) == b"first"
    # a retried PUT whose first attempt landed (same bytes) is not a conflict
    s3_blobs.write(rel, b"first")
    assert s3_blobs.read(rel) == b"first"


def test_reading_a_missing_blob_is_file_not_found(s3_blobs: S3Blobs) -> None:
    with pytest.raises(FileNotFoundError, match="no blob s3://"):
        s3_blobs.read(event_rel())


@pytest.mark.parametrize("rel", ["", "/events/x", "events/../x", "events//x", "events/a\\b"])
def test_unsafe_blob_names_are_refused(s3_blobs: S3Blobs, rel: str) -> None:
    with pytest.raises(StoreError, match="blob name"):
        s3_blobs.write(rel, b"x")


def test_remove_deletes_and_leaves_no_directory_markers(
    s3_blobs: S3Blobs, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    rels = [event_rel("2026-09-21", "cc33") for _ in range(3)]
    for rel in rels:
        s3_blobs.write(rel, b"x" * 10)

    with caplog.at_level(logging.WARNING):
        s3_blobs.remove([rels[0], rels[1], event_rel(), "../outside"])
    assert object_paths(s3_server, s3_blobs.settings.bucket) == {f"tenant/store/{rels[2]}"}
    assert "not removing ../outside" in caplog.text

    s3_blobs.remove([rels[2]])
    assert object_paths(s3_server, s3_blobs.settings.bucket) == set()
    assert s3_blobs.total_bytes() == 0


def test_remove_never_raises_when_the_server_is_unreachable(
    s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {**s3_server.environ(), "WORKPRINT_S3_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    blobs = S3Blobs.from_url("s3://wp-nowhere/p", environ, max_attempts=1)
    with caplog.at_level(logging.WARNING):
        blobs.remove([event_rel(), event_rel()])
    assert "cannot remove 2 blobs from s3://wp-nowhere/p now" in caplog.text


def test_garbage_collection_keeps_referenced_and_young_blobs(
    s3_blobs: S3Blobs, s3_server: S3Server
) -> None:
    bucket = s3_blobs.settings.bucket
    old = [event_rel() for _ in range(3)]
    for rel in old:
        s3_blobs.write(rel, b"old")
    # not under events/, and another store's prefix: never garbage
    other = S3Blobs.from_url(f"s3://{bucket}/tenant/other", s3_server.environ())
    foreign = event_rel()
    other.write(foreign, b"someone else's")
    s3_blobs.write("manifest.json", b"{}")
    time.sleep(3.0)  # S3 times have one-second resolution
    young = event_rel()
    s3_blobs.write(young, b"young")

    assert s3_blobs.collect_garbage({old[0]}, min_age_s=3600) == 0
    assert s3_blobs.collect_garbage({old[0]}, min_age_s=2) == 2

    left = object_paths(s3_server, bucket)
    assert left == {
        f"tenant/store/{old[0]}",
        f"tenant/store/{young}",
        "tenant/store/manifest.json",
        f"tenant/other/{foreign}",
    }
    assert s3_blobs.collect_garbage(set(), min_age_s=0) == 2
    assert object_paths(s3_server, bucket) == {
        "tenant/store/manifest.json",
        f"tenant/other/{foreign}",
    }


rel_names = st.builds(
    files.relative_path,
    st.sampled_from(["2026-09-20", "2026-09-21"]),
    st.sampled_from(["aa", "bb", "cc"]),
    st.text(alphabet="0123456789abcdef", min_size=4, max_size=8),
)


def subsets(items: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), unique=True) if items else st.just([])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), written=st.lists(rel_names, unique=True, max_size=8))
def test_garbage_collection_keeps_exactly_what_is_written_and_not_removed(
    s3_server: S3Server, data: st.DataObject, written: list[str]
) -> None:
    bucket = new_bucket(s3_server)
    blobs = S3Blobs.from_url(f"s3://{bucket}/p", s3_server.environ())
    for rel in written:
        blobs.write(rel, rel.encode())
    removed = set(
        data.draw(st.lists(st.sampled_from(written), unique=True) if written else st.just([]))
    )
    blobs.remove(removed)
    kept = set(written) - removed

    assert blobs.collect_garbage(kept, min_age_s=0) == 0
    assert object_paths(s3_server, bucket) == {f"p/{rel}" for rel in kept}

    still_referenced = set(
        data.draw(st.lists(st.sampled_from(sorted(kept)), unique=True) if kept else st.just([]))
    )
    assert blobs.collect_garbage(still_referenced, min_age_s=0) == len(kept - still_referenced)
    assert object_paths(s3_server, bucket) == {f"p/{rel}" for rel in still_referenced}
    assert blobs.total_bytes() == sum(len(rel) for rel in still_referenced)


def test_a_missing_bucket_is_a_one_line_store_error(s3_server: S3Server) -> None:
    blobs = S3Blobs.from_url("s3://wp-no-such-bucket/p", s3_server.environ())
    actions = (blobs.check, lambda: blobs.write(event_rel(), b"x"), blobs.total_bytes)
    for action in actions:
        with pytest.raises(StoreError, match="bucket wp-no-such-bucket does not exist at") as info:
            action()
        assert not isinstance(info.value, StoreUnavailableError)
        assert "\n" not in str(info.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def private_s3_server() -> Iterator[S3Server]:
    """A server of this test's own, which it may stop."""
    with S3Server() as server:
        yield server


def test_a_stopped_server_makes_write_unavailable_fast(private_s3_server: S3Server) -> None:
    server = private_s3_server
    bucket = new_bucket(server)
    blobs = S3Blobs.from_url(f"s3://{bucket}/p", server.environ())
    blobs.write(event_rel(), b"before")
    server.stop()

    raised, seconds = call_with_hang_guard(lambda: blobs.write(event_rel(), b"during"))

    print(f"write to a stopped server failed after {seconds:.2f} s")
    assert isinstance(raised, StoreUnavailableError), raised
    assert "unreachable" in str(raised) and "\n" not in str(raised)
    # moto keeps objects in memory: back on the same endpoint, empty; the same client works
    server.start()
    server.create_bucket(bucket)
    blobs.write(event_rel(), b"after")
    assert blobs.total_bytes() == len(b"after")


def test_a_hung_server_times_out_as_unavailable(s3_server: S3Server) -> None:
    """A server that accepts connections and never answers: bounded by the read timeout and
    the number of attempts, not by the kernel's TCP timeouts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes the handshakes; nobody ever answers
        environ = {
            **s3_server.environ(),
            "WORKPRINT_S3_ENDPOINT": f"http://127.0.0.1:{listener.getsockname()[1]}",
        }
        blobs = S3Blobs.from_url("s3://wp-hung/p", environ, read_timeout_s=0.5, max_attempts=2)

        raised, seconds = call_with_hang_guard(lambda: blobs.write(event_rel(), b"x"))

    print(f"write to a hung server failed after {seconds:.2f} s")
    assert isinstance(raised, StoreUnavailableError), raised
    assert "\n" not in str(raised)


def test_from_url_contacts_nothing_and_keeps_settings(s3_server: S3Server) -> None:
    environ = {**s3_server.environ(), "WORKPRINT_S3_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    blobs = S3Blobs.from_url("s3://wp-events/a/b/", environ)
    assert blobs.location == "s3://wp-events/a/b"
    assert blobs.settings.prefix == "a/b"
    assert s3_server.secret_key not in repr(blobs.settings)
