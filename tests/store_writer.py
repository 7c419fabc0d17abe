"""A collector stand-in for the crash test: ingests batches into the embedded store as fast as it
can and prints ``first last`` (the seq range) of each batch once ``ingest`` returned, i.e. once
it was acknowledged. The test kill -9s it at an arbitrary moment.

Events are a pure function of their seq (one a minute, so most batches span two UTC days and
write two files), which lets the test check exactly what was stored.

usage: python store_writer.py DATA_DIR MASTER_KEY TOKEN FIRST_SEQ BATCH_SIZE
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.backend_support import open_store_here
from workprint.crypto.envelope import FileMasterKey
from workprint.events import Event, KeyDown, MouseMove
from workprint.events.columnar import events_to_table

T0 = 1_790_000_000 * 10**9
MINUTE = 60 * 10**9


def event(seq: int) -> Event:
    if seq % 7 == 0:
        return KeyDown(t=T0 + seq * MINUTE, session="crash", seq=seq, cls="letter", char="k")
    return MouseMove(t=T0 + seq * MINUTE, session="crash", seq=seq, x=seq % 1000, y=seq % 777)


def main() -> None:
    data, master, token = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    first, size = int(sys.argv[4]), int(sys.argv[5])
    with open_store_here(data, FileMasterKey(master, create=False)) as store:
        principal = store.authenticate(token)
        assert principal is not None
        print("ready", flush=True)
        while True:
            batch = events_to_table([event(s) for s in range(first, first + size)])
            result = store.ingest(principal, f"batch-{first}", batch)
            assert result.accepted == size, result
            print(first, first + size - 1, flush=True)
            first += size


if __name__ == "__main__":
    main()
