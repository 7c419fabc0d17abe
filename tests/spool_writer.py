"""A spool writer for the crash test: appends a batch every ``interval`` seconds, forever, and
prints the last seq of each batch once it is committed. The test kill -9s it at a random time.

usage: python spool_writer.py SPOOL KEYFILE DEVICE_ID INTERVAL_S BATCH_SIZE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from workprint.crypto import load_or_create_device_key
from workprint.events import KeyDown, MouseMove
from workprint.spool import Spool


def main() -> None:
    spool_path, key_path, device_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    interval, size = float(sys.argv[4]), int(sys.argv[5])
    key = load_or_create_device_key(key_path, "file")
    with Spool.open(spool_path, key, device_id=device_id) as spool:
        print(f"ready {spool.stats().next_seq}", flush=True)
        t = time.time_ns()
        while True:
            batch = [
                KeyDown(t=t + i, session="crash", cls="letter", char="a")
                if i % 10 == 0
                else MouseMove(t=t + i, session="crash", x=i, y=i)
                for i in range(size)
            ]
            t += size
            info = spool.append(batch)
            assert info is not None
            print(info.last_seq, flush=True)
            if interval:
                time.sleep(interval)


if __name__ == "__main__":
    main()
