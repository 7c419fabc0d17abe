"""The main job on a machine without a screen: record a scripted session on a private virtual
display with every scope granted, then turn the spool into datasets on disk: the events, the
typed text, and — built in-process from the decrypted events, as `workprint build` would from a
store — the actions (also as pyautogui code) and the writing records, each with its card."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from workprint import __version__
from workprint.agent.control_client import send_command
from workprint.agent.recorder import Recorder, RecorderSummary
from workprint.builders.actions import (
    EpisodeConfig,
    Thresholds,
    label_actions,
    reduce_actions,
    split_episodes,
)
from workprint.builders.typed_text import typed_text_by_window
from workprint.builders.writing import WritingConfig, build_writing
from workprint.crypto import load_or_create_device_key
from workprint.events import SCOPES, Event, encode_jsonl
from workprint.events.columnar import events_to_table
from workprint.export import DatasetCard, with_action_format, write_dataset
from workprint.home import Home
from workprint.policy import grant, load_policy
from workprint.spool import Spool, load_or_create_device_id
from workprint.testbed.scripted_session import open_windows, run_scripted_session
from workprint.testbed.xsession import XSession, XSessionError

# What `workprint build` writes too: nothing has been through the release checks yet.
NOT_FOR_RELEASE: Final = "none (raw; not for release: see the release gate)"


@dataclass
class DemoDatasets:
    """Dataset directories (each with train.jsonl and its card, README.md) and their sizes."""

    actions: Path
    pyautogui: Path
    writing: Path
    action_rows: int
    writing_rows: int


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
    datasets: DemoDatasets


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


def build_datasets(events: list[Event], out: Path) -> DemoDatasets:
    """The recorded session's actions and writing records, each as JSON Lines with its card
    (one session, one person: no store and no pseudonyms needed)."""
    table = events_to_table(events)
    thresholds, episodes, writing_config = Thresholds(), EpisodeConfig(), WritingConfig()
    actions = label_actions(reduce_actions(table, thresholds), split_episodes(table, episodes))
    card = DatasetCard(
        name="workprint demo: actions",
        description="The actions of the scripted demo session: clicks, a double click, a drag, "
        "scrolls, typed text with its corrections, keys and hotkeys, each with its raw time "
        "range, approach path and window.",
        source="the scripted session `workprint demo` recorded on a private virtual display",
        people=1,
        scopes=SCOPES,
        consent="the demo's own consent record (every scope granted in its home)",
        thresholds={**thresholds.as_dict(), **episodes.as_dict()},
        privacy_transforms=(NOT_FOR_RELEASE,),
    )
    done = write_dataset([actions], out / "actions", "jsonl", card, progress=False)
    pyautogui = msgspec.structs.replace(
        card, name="workprint demo: actions (pyautogui)", action_format="pyautogui"
    )
    write_dataset(
        [with_action_format(actions, "pyautogui")],
        out / "actions-pyautogui",
        "jsonl",
        pyautogui,
        progress=False,
    )
    records = build_writing(table, writing_config)
    writing_card = msgspec.structs.replace(
        card,
        name="workprint demo: writing process",
        description="One record per window typed into: every edit, bursts, pauses, revisions "
        "and the final text, replayed from the key events.",
        kind="writing process",
        builder="workprint.writing",
        builder_version=__version__,
        thresholds=msgspec.structs.asdict(writing_config),
    )
    written = write_dataset([records], out / "writing", "jsonl", writing_card, progress=False)
    return DemoDatasets(
        out / "actions", out / "actions-pyautogui", out / "writing", done.rows, written.rows
    )


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
    datasets = build_datasets(events, out / "datasets")
    return DemoResult(
        out, home, summary, events_file, typed_file, stats_file, counts, typed, datasets
    )
