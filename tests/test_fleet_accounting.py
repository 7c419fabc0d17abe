"""The exactly-once check of the fleet harness counts every kind of fault it is shown.

A verdict of "zero lost, zero duplicated" is only worth something if the same code reports a
loss, a duplicate or a stray row when there is one: here the stored rows are derived from the
fleet's own batch records with faults injected at random (hypothesis), and the report must count
exactly the faults injected. The stored rows come from a small reader holding Arrow tables — the
part under test is ``verify_exactly_once``, not the store (tests/test_multi_collector.py runs it
against the real store)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator

import hypothesis.strategies as st
import pyarrow as pa
from hypothesis import given, settings

from workprint.testbed.fleet import BatchRecord, DeviceFleet, EnrolledDevice, verify_exactly_once

# what happens to a batch: whether the device got its acknowledgement, and what the store holds
FATES = ("stored", "dropped", "stored-twice")


class TablesByPerson:
    """Stored rows per person, as ``Store.read_events`` hands them out (several tables)."""

    def __init__(self, tables: dict[str, list[pa.Table]]) -> None:
        self.tables = tables

    def read_events(
        self,
        person_id: str,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        actor: str,
    ) -> Iterator[pa.Table]:
        return iter(self.tables.get(person_id, []))


def rows_table(rows: list[tuple[str, int]], dictionary: bool) -> pa.Table:
    sessions = pa.array([s for s, _ in rows], pa.string())
    if dictionary:
        sessions = sessions.dictionary_encode()
    return pa.table({"session": sessions, "seq": pa.array([q for _, q in rows], pa.int64())})


batch_plans = st.lists(
    st.tuples(
        st.integers(0, 3),  # device
        st.integers(1, 30),  # events
        st.booleans(),  # acknowledged
        st.sampled_from(FATES),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    plans=batch_plans,
    strays=st.integers(0, 5),
    dictionary=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_report_counts_exactly_the_injected_faults(
    plans: list[tuple[int, int, bool, str]], strays: int, dictionary: bool, seed: int
) -> None:
    devices = [EnrolledDevice(f"person-{i // 2}", f"dev-{i}", f"d{i}", "token") for i in range(4)]
    fleet = DeviceFleet(["http://127.0.0.1:9"], devices, seed=seed % 1000)
    session_of = {index: session for session, index in fleet.sessions().items()}
    rows: dict[str, list[tuple[str, int]]] = defaultdict(list)
    expected = dict.fromkeys(("lost", "duplicated", "stored_unacked", "unknown"), 0)
    for device, events, acked, fate in plans:
        state = devices[device]
        record = BatchRecord(
            device, f"b{len(fleet.records)}", session_of[device], state.next_seq, events
        )
        record.acked = acked
        state.next_seq += events
        fleet.records.append(record)
        copies = {"stored": 1, "dropped": 0, "stored-twice": 2}[fate]
        for seq in record.seqs():
            rows[state.person_id] += [(record.session, seq)] * copies
        if acked and copies == 0:
            expected["lost"] += events
        if copies == 2:
            expected["duplicated"] += events
        if not acked and copies:
            expected["stored_unacked"] += events
    for n in range(strays):  # rows under a fleet session with a seq no batch carried
        device = n % 4
        rows[devices[device].person_id].append((session_of[device], 10**9 + n))
    expected["unknown"] = strays
    rng = random.Random(seed)
    tables: dict[str, list[pa.Table]] = {}
    for person, person_rows in rows.items():
        person_rows.append(("another-session-of-this-person", 0))  # never the fleet's
        rng.shuffle(person_rows)
        cut = rng.randint(0, len(person_rows))
        parts = [person_rows[:cut], person_rows[cut:]]
        tables[person] = [rows_table(part, dictionary) for part in parts]

    report = verify_exactly_once(TablesByPerson(tables), fleet)

    fleet_rows = sum(len(r) - 1 for r in rows.values())
    assert (report.lost, report.duplicated) == (expected["lost"], expected["duplicated"])
    assert (report.stored_unacked, report.unknown) == (
        expected["stored_unacked"],
        expected["unknown"],
    )
    assert report.stored == fleet_rows
    assert report.sent == sum(events for _, events, _, _ in plans)
    assert report.acked == sum(events for _, events, acked, _ in plans if acked)
    assert report.exactly_once == (
        expected["lost"] == expected["duplicated"] == expected["unknown"] == 0
    )
