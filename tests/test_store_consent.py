"""Consent enforced again at ingest: events of a scope not granted at their ``t`` are rejected
and counted, never stored. The vectorised check is compared with a one-event-at-a-time
reference over arbitrary consent histories and events."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.store_support import SESSION, T0, enrol, key_event, moves, open_store, read_all, table
from tests.strategies import events as any_event
from workprint.events import (
    NAMED_KEY_CLASSES,
    SCOPES,
    ConsentChange,
    EditorEdit,
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Pause,
    Scroll,
    WindowFocus,
)
from workprint.events.columnar import events_to_table
from workprint.policy.consent import effective_scopes
from workprint.store.embedded import consent_gate
from workprint.store.embedded.validate import type_masks
from workprint.store.interface import ConsentRecord


def grant(t: int, *scopes: str) -> ConsentRecord:
    return ConsentRecord(t=t, action="grant", scopes=scopes, policy_version=1)


def revoke(t: int, *scopes: str) -> ConsentRecord:
    return ConsentRecord(t=t, action="revoke", scopes=scopes, policy_version=1)


def focus(t: int, seq: int, title: str | None) -> WindowFocus:
    return WindowFocus(t=t, session=SESSION, seq=seq, app="gedit", title=title)


def test_nothing_granted_stores_only_markers(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=())
        sent: list[Event] = [
            Pause(t=T0, session=SESSION, seq=0),
            *moves(3, t=T0, seq=1),
            key_event(T0 + 1, 4, cls="editing", key="BackSpace"),
            focus(T0 + 2, 5, None),
        ]
        result = store.ingest(subject.principal, "b1", table(sent))
        assert (result.accepted, result.rejected, result.rejected_consent) == (1, 5, 5)
        assert read_all(store, subject.person_id) == sent[:1]
        assert store.stats().rejected_consent == 5


def test_input_timing_without_text_content(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=("input-timing",))
        keep = [
            key_event(T0, 0, cls="letter"),  # class and timing only
            key_event(T0 + 1, 1, cls="editing", key="BackSpace"),  # a named key says no text
        ]
        drop = [
            key_event(T0 + 2, 2, cls="letter", key="a", char="a"),
            key_event(T0 + 3, 3, cls="letter", key="a"),  # the key name is the text
            key_event(T0 + 4, 4, cls="function", key="F"),  # a one-character name is text
            KeyDown(t=T0 + 5, session=SESSION, seq=5, cls="letter", keycode=38),
        ]
        result = store.ingest(subject.principal, "b1", table(keep + drop))
        assert (result.accepted, result.rejected_consent) == (2, 4)
        assert read_all(store, subject.person_id) == keep


def test_text_content_needs_input_timing(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=("text-content", "window-titles", "mouse"))
        sent: list[Event] = [
            key_event(T0, 0, cls="letter", key="a", char="a"),
            focus(T0 + 1, 1, "Secret plans"),
            *moves(2, t=T0 + 2, seq=2),
        ]
        result = store.ingest(subject.principal, "b1", table(sent))
        assert (result.accepted, result.rejected_consent) == (2, 2)
        assert read_all(store, subject.person_id) == sent[2:]


def test_titles_need_window_titles(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=("app-usage",))
        sent = [focus(T0, 0, None), focus(T0 + 1, 1, "Inbox (3) - mail")]
        result = store.ingest(subject.principal, "b1", table(sent))
        assert (result.accepted, result.rejected_consent) == (1, 1)


def test_revocation_and_regrant_are_judged_at_each_events_time(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=("mouse",), since=T0)
        store.record_consent(subject.person_id, revoke(T0 + 100, "mouse"))
        store.record_consent(subject.person_id, grant(T0 + 200, "mouse"))
        sent = [
            MouseMove(t=t, session=SESSION, seq=i, x=i, y=i)
            for i, t in enumerate((T0 - 1, T0, T0 + 99, T0 + 100, T0 + 199, T0 + 200, T0 + 10**12))
        ]
        result = store.ingest(subject.principal, "b1", table(sent))
        assert (result.accepted, result.rejected_consent) == (4, 3)
        assert [e.t for e in read_all(store, subject.person_id)] == [
            T0,
            T0 + 99,
            T0 + 200,
            T0 + 10**12,
        ]
        assert store.consent_history(subject.person_id) == [
            grant(T0, "mouse"),
            revoke(T0 + 100, "mouse"),
            grant(T0 + 200, "mouse"),
        ]


def test_rejected_events_can_be_stored_after_a_late_grant(tmp_path: Path) -> None:
    """A rejected event is not marked as stored: if its grant arrives late and the device
    sends it again in a new batch, it is judged again."""
    with open_store(tmp_path) as store:
        subject = enrol(store, scopes=())
        sent = moves(3, t=T0, seq=0)
        assert store.ingest(subject.principal, "b1", table(sent)).rejected_consent == 3
        store.record_consent(subject.person_id, grant(T0 - 1, "mouse"))
        assert store.ingest(subject.principal, "b2", table(sent)).accepted == 3


# -- the vectorised check against a scalar reference -------------------------------------------


def reference(event: Event, history: list[ConsentRecord]) -> bool:
    granted: set[str] = set()
    for record in sorted(history, key=lambda r: r.t):
        if record.t > event.t:
            break
        if record.action == "grant":
            granted.update(record.scopes)
        else:
            granted.difference_update(record.scopes)
    scopes = effective_scopes(granted)
    if isinstance(event, KeyDown | KeyUp):
        named = event.key is not None and event.cls in NAMED_KEY_CLASSES and len(event.key) >= 2
        text = event.char is not None or event.keycode is not None
        text = text or (event.key is not None and not named)
        return "input-timing" in scopes and (not text or "text-content" in scopes)
    if isinstance(event, MouseMove | MouseDown | MouseUp | Scroll):
        return "mouse" in scopes
    if isinstance(event, WindowFocus):
        return "app-usage" in scopes and (event.title is None or "window-titles" in scopes)
    if isinstance(event, EditorEdit):
        return "input-timing" in scopes and "text-content" in scopes
    if type(event).__struct_config__.tag in consent_gate.WEB_TYPES:  # browser events
        value = getattr(event, "value", None)
        return "browsing" in scopes and (value is None or "text-content" in scopes)
    return True


times = st.integers(0, 1000)
histories = st.lists(
    st.builds(
        ConsentRecord,
        t=times,
        action=st.sampled_from(["grant", "revoke"]),
        scopes=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=4).map(tuple),
        policy_version=st.just(1),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    histories,
    st.lists(any_event(), min_size=1, max_size=30),
    st.lists(times, min_size=30, max_size=30),
)
def test_vectorised_check_matches_the_reference(
    history: list[ConsentRecord], events: list[Event], ts: list[int]
) -> None:
    for event, t in zip(events, ts, strict=False):
        event.t = t  # near the consent changes, where the boundaries are
    tab = events_to_table(events)
    got = consent_gate.allowed(tab, consent_gate.scope_intervals(history), type_masks(tab))
    assert got.tolist() == [reference(e, history) for e in events]


def test_consent_change_markers_pass_without_scopes() -> None:
    events: list[Event] = [ConsentChange(t=5, session=SESSION, scopes=())]
    tab = events_to_table(events)
    assert consent_gate.allowed(tab, consent_gate.scope_intervals([]), type_masks(tab)).all()
