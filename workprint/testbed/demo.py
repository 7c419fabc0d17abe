"""The main job on a machine without a screen: record a scripted session on a private virtual
display with every scope granted, then turn the spool into a small dataset on disk."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from workprint.agent.control_client import send_command
from workprint.agent.recorder import Recorder, RecorderSummary
from workprint.builders.typed_text import typed_text_by_window
from workprint.crypto import load_or_create_device_key
from workprint.events import SCOPES, Event, encode_jsonl
from workprint.home import Home
from workprint.policy import grant, load_policy
from workprint.spool import Spool, load_or_create_device_id
from workprint.testbed.scripted_session import open_windows, run_scripted_session
from workprint.testbed.xsession import XSession, XSessionError


@dataclass
class DemoResult:
    out: Path
    home: Home
    summary: RecorderSummary
    events_file: Path
    typed_text_file: Path
    stats_file: Path
    event_counts: dict[str, int]
    typed_text: dict[str, str]


def wait_until_recording(home: Home, thread: threading.Thread, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise XSessionError("the recorder stopped before it started recording")
        reply = send_command(home, "status")
        if reply is not None and reply.get("ok"):
            return
        time.sleep(0.05)
    raise XSessionError("the recorder did not start within 20 s")


def read_spool(home: Home) -> list[Event]:
    key = load_or_create_device_key(home.device_key_file)
    device = load_or_create_device_id(home.device_id_file)
    with Spool.open(home.spool_file, key, device_id=device) as spool:
        return list(spool.iter_events())


def run_demo(out: Path) -> DemoResult:
    out.mkdir(parents=True, exist_ok=True)
    home = Home.resolve(out / "home").ensure()
    grant(home.consent_file, list(SCOPES), load_policy(None).version)
    with XSession() as xs:
        windows = open_windows(xs, out)
        recorder = Recorder(home, xs.display)
        result: list[RecorderSummary] = []
        errors: list[BaseException] = []

        def record() -> None:
            try:
                result.append(recorder.run(install_signals=False))
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=record, name="recorder")
        thread.start()
        try:
            wait_until_recording(home, thread)
            run_scripted_session(xs, windows)
        finally:
            recorder.stop()
            thread.join(timeout=30)
        if errors:
            raise errors[0]
    events = read_spool(home)
    events_file = out / "events.jsonl"
    events_file.write_bytes(encode_jsonl(events))
    typed = typed_text_by_window(events)
    typed_file = out / "typed_text.json"
    typed_file.write_text(json.dumps(typed, indent=2, ensure_ascii=False), encoding="utf-8")
    counts = dict(Counter(type(e).__name__ for e in events))
    stats_file = out / "stats.json"
    summary = result[0]
    stats_file.write_text(
        json.dumps(
            {
                "session": summary.session,
                "raw_input_events": summary.raw_events,
                "captured_after_coalescing": summary.captured,
                "written_to_spool": summary.spooled,
                "event_counts": counts,
                "dropped_by_policy": summary.dropped,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return DemoResult(out, home, summary, events_file, typed_file, stats_file, counts, typed)
