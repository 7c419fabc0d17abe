"""What the live view shows and what the devices pull: each device's last heartbeat (recording,
paused, excluded, no-consent, stopped) and each person's pause request from the portal.

A pause request is per person (all their devices) and carries the time it was made: a device
applies a request once, when its time changes, so a later pause or resume made on the device
itself (hotkey, ``workprint resume``) is not overridden by an old request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import msgspec

from workprint.portal.db import PortalDB

DEVICE_STATES: Final = ("recording", "paused", "excluded", "no-consent", "stopped")
STALE_AFTER_S: Final = 30.0  # no heartbeat for this long: the recorder is shown as offline


@dataclass(frozen=True)
class PauseRequest:
    paused: bool
    t: int


@dataclass(frozen=True)
class DeviceStatus:
    device_id: str
    state: str
    scopes: tuple[str, ...]
    seen_ns: int

    def shown_state(self, now_ns: int | None = None) -> str:
        now = time.time_ns() if now_ns is None else now_ns
        return "offline" if now - self.seen_ns > STALE_AFTER_S * 1e9 else self.state


class DeviceState:
    def __init__(self, db: PortalDB) -> None:
        self.db = db

    def request_pause(self, person_id: str, paused: bool) -> PauseRequest:
        request = PauseRequest(paused, time.time_ns())
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO pause_requests (person_id, paused, t) VALUES (?, ?, ?)"
                " ON CONFLICT (person_id) DO UPDATE SET paused = excluded.paused, t = excluded.t",
                (person_id, int(paused), request.t),
            )
        return request

    def pause_request(self, person_id: str) -> PauseRequest | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT paused, t FROM pause_requests WHERE person_id = ?", (person_id,)
            ).fetchone()
        return None if row is None else PauseRequest(bool(row[0]), row[1])

    def heartbeat(
        self, device_id: str, person_id: str, state: str, scopes: tuple[str, ...]
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO device_status (device_id, person_id, state, scopes, seen_ns)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET"
                " person_id = excluded.person_id, state = excluded.state,"
                " scopes = excluded.scopes, seen_ns = excluded.seen_ns",
                (device_id, person_id, state, msgspec.json.encode(scopes).decode(), time.time_ns()),
            )

    def statuses(self, person_id: str) -> dict[str, DeviceStatus]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT device_id, state, scopes, seen_ns FROM device_status WHERE person_id = ?",
                (person_id,),
            ).fetchall()
        return {
            row[0]: DeviceStatus(row[0], row[1], tuple(msgspec.json.decode(row[2])), row[3])
            for row in rows
        }
