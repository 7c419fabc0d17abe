"""The edge gate: each rule on its own, then properties over arbitrary event streams."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import events as any_events

from workprint.events import (
    KEY_CLASSES,
    NAMED_KEY_CLASSES,
    SCOPES,
    ConsentChange,
    Event,
    Gap,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Pause,
    Resume,
    Scroll,
    SessionStart,
    SessionStop,
    WindowFocus,
)
from workprint.events.model import Modifier
from workprint.policy import EdgePolicy, ExclusionRule, Policy, default_policy, effective_scopes

S = "s1"
ALL = frozenset(SCOPES)
POLICY = default_policy()


def key(
    t: int, cls: str = "letter", key: str | None = "a", char: str | None = "a", **kw: object
) -> KeyDown:
    return KeyDown(t=t, session=S, cls=cls, key=key, char=char, keycode=38, **kw)  # type: ignore[arg-type]


def focus(t: int, app: str, title: str | None = None) -> WindowFocus:
    return WindowFocus(t=t, session=S, app=app, title=title, pid=42, window=7)


def gate(scopes: Sequence[str] = SCOPES, **kw: bool) -> EdgePolicy:
    return EdgePolicy(POLICY, frozenset(scopes), **kw)


# -- consent and reduction -------------------------------------------------------------------


def test_everything_kept_unchanged_with_every_scope() -> None:
    events: list[Event] = [
        SessionStart(t=1, session=S, device="d"),
        focus(2, "gedit", "notes.txt"),
        key(3),
        KeyUp(t=4, session=S, cls="letter", key="a", char="a", keycode=38),
        MouseMove(t=5, session=S, x=1, y=2),
        MouseDown(t=6, session=S, x=1, y=2, button=1),
        MouseUp(t=7, session=S, x=1, y=2, button=1),
        Scroll(t=8, session=S, x=1, y=2, dy=1),
        SessionStop(t=9, session=S),
    ]
    before = copy.deepcopy(events)
    g = gate()
    out = g.admit(events)
    assert [id(e) for e in out] == [id(e) for e in events]
    assert out[1:] == before[1:]
    assert out[0].scopes == SCOPES  # type: ignore[union-attr]
    assert g.dropped == {}


@pytest.mark.parametrize("cls", ["letter", "digit", "space", "punctuation", "other"])
def test_text_keys_lose_key_char_keycode_without_text_content(cls: str) -> None:
    down = key(1, cls=cls, key="a", char="a", mods=("shift",))
    (out,) = gate(["input-timing"]).admit([down])
    assert out is down
    assert (out.cls, out.mods, out.t) == (cls, ("shift",), 1)
    assert (out.key, out.char, out.keycode) == (None, None, None)


@pytest.mark.parametrize("cls", sorted(NAMED_KEY_CLASSES))
def test_named_keys_keep_their_name_without_text_content(cls: str) -> None:
    (out,) = gate(["input-timing"]).admit([key(1, cls=cls, key="Return", char="\n")])
    assert (out.key, out.char, out.keycode) == ("Return", None, None)  # type: ignore[union-attr]


def test_a_one_character_name_is_text_whatever_its_class() -> None:
    (out,) = gate(["input-timing"]).admit([key(1, cls="editing", key="x", char=None)])
    assert out.key is None  # type: ignore[union-attr]


def test_text_content_alone_is_not_in_force() -> None:
    g = gate(["text-content", "mouse"])
    assert g.effective_scopes == {"mouse"}
    assert g.admit([key(1)]) == []
    assert g.dropped == {"no-consent:input-timing": 1}


def test_text_content_keeps_everything() -> None:
    (out,) = gate(["input-timing", "text-content"]).admit([key(1)])
    assert (out.key, out.char, out.keycode) == ("a", "a", 38)  # type: ignore[union-attr]


def test_each_kind_needs_its_scope() -> None:
    events: list[Event] = [key(1), MouseMove(t=2, session=S, x=0, y=0), focus(3, "gedit", "x")]
    g = gate([])
    assert g.admit(events) == []
    assert g.dropped == {
        "no-consent:input-timing": 1,
        "no-consent:mouse": 1,
        "no-consent:app-usage": 1,
    }


def test_titles_need_window_titles() -> None:
    (out,) = gate(["app-usage"]).admit([focus(1, "gedit", "secret plans.txt")])
    assert (out.app, out.title) == ("gedit", None)  # type: ignore[union-attr]
    (out,) = gate(["app-usage", "window-titles"]).admit([focus(1, "gedit", "plans.txt")])
    assert out.title == "plans.txt"  # type: ignore[union-attr]
    assert gate(["window-titles"]).admit([focus(1, "gedit", "plans.txt")]) == []


def test_consent_change_takes_effect_at_its_position() -> None:
    g = gate(["input-timing"])
    revoke = ConsentChange(t=2, session=S, scopes=())
    grant = ConsentChange(t=4, session=S, scopes=("mouse",))
    out = g.admit([key(1), revoke, key(3), grant, MouseMove(t=5, session=S, x=0, y=0), key(6)])
    assert [e.t for e in out] == [1, 2, 4, 5]
    assert g.scopes == {"mouse"}


def test_nothing_at_all_for_someone_who_never_consented() -> None:
    g = gate([])
    events: list[Event] = [
        SessionStart(t=1, session=S, device="d"),
        Pause(t=2, session=S),
        Resume(t=3, session=S),
        focus(4, "KeePassXC"),
        ConsentChange(t=5, session=S, scopes=()),
        Gap(t=6, session=S, reason="capture"),
        SessionStop(t=7, session=S),
    ]
    assert g.admit(events) == []


def test_full_revocation_is_recorded_then_nothing() -> None:
    g = gate(["mouse"])
    revoke = ConsentChange(t=1, session=S, scopes=())
    out = g.admit([revoke, Pause(t=2, session=S), SessionStop(t=3, session=S)])
    assert out == [revoke]
    assert g.dropped == {"no-consent": 2}


def test_session_start_carries_the_effective_scopes() -> None:
    start = SessionStart(t=1, session=S, device="d", scopes=("browsing",))
    (out,) = gate(["mouse", "text-content", "app-usage"]).admit([start])
    assert out.scopes == ("mouse", "app-usage")  # type: ignore[union-attr]


def test_unknown_scope_at_construction_is_a_bug() -> None:
    with pytest.raises(ValueError, match="typing"):
        gate(["typing"])


# -- pause ----------------------------------------------------------------------------------------


def test_pause_drops_input_and_focus_but_keeps_markers() -> None:
    g = gate()
    pause, resume = Pause(t=1, session=S), Resume(t=5, session=S)
    out = g.admit([pause, key(2), MouseMove(t=3, session=S, x=0, y=0), focus(4, "gedit"), resume])
    assert out == [pause, resume]
    assert g.dropped == {"paused": 3}
    assert not g.paused


def test_starting_paused() -> None:
    g = gate(paused=True)
    assert g.paused and g.admit([key(1)]) == []


# -- exclusions -----------------------------------------------------------------------------------


def test_excluded_window_becomes_one_gap() -> None:
    g = gate()
    events: list[Event] = [
        focus(1, "gedit", "a.txt"),
        focus(2, "KeePassXC", "Passwords.kdbx"),
        key(3),
        MouseDown(t=4, session=S, x=0, y=0, button=1),
        focus(5, "KeePassXC", "Edit entry - bank"),
        focus(6, "gedit", "a.txt"),
        key(7),
    ]
    out = g.admit(events)
    assert [type(e).__name__ for e in out] == ["WindowFocus", "Gap", "WindowFocus", "KeyDown"]
    gap = out[1]
    assert gap == Gap(t=2, session=S, reason="excluded", t_end=6)
    assert b"KeePass" not in msgspec.json.encode(out)
    assert g.dropped == {"excluded": 4}
    assert not g.excluded


def test_gap_end_is_left_open_across_batches() -> None:
    g = gate()
    (gap,) = g.admit([focus(1, "Signal")])
    assert g.excluded
    (back,) = g.admit([focus(9, "gedit")])
    assert gap.t_end is None  # type: ignore[union-attr]
    assert back.app == "gedit"  # type: ignore[union-attr]


def test_title_rule_uses_the_real_title_even_without_window_titles() -> None:
    g = gate(["input-timing", "app-usage"])
    out = g.admit([focus(1, "xterm", "[sudo] password for ana:"), key(2)])
    assert [type(e) for e in out] == [Gap]


def test_exclusion_is_tracked_while_paused() -> None:
    g = gate()
    out = g.admit([Pause(t=1, session=S), focus(2, "1Password"), Resume(t=3, session=S), key(4)])
    assert [type(e) for e in out] == [Pause, Resume]
    assert g.excluded and g.dropped == {"paused": 1, "excluded": 1}
    # The recorder re-announces the window after a resume: now it becomes a gap.
    assert [type(e) for e in g.admit([focus(5, "1Password")])] == [Gap]


def test_pause_ends_a_gap() -> None:
    g = gate()
    out = g.admit([focus(1, "signal"), Pause(t=2, session=S)])
    assert out[0].t_end == 2  # type: ignore[union-attr]


def test_custom_policy_exclusions() -> None:
    g = EdgePolicy(Policy(exclude=(ExclusionRule(app="^bank$"),)), ALL)
    out = g.admit([focus(1, "bank"), focus(2, "KeePassXC")])
    assert [type(e) for e in out] == [Gap, WindowFocus]


# -- the pause hotkey -------------------------------------------------------------------------


def test_pause_hotkey_key_is_never_recorded() -> None:
    mods: tuple[Modifier, ...] = ("shift", "ctrl", "alt")
    events: list[Event] = [
        KeyDown(t=1, session=S, cls="letter", key="P", char="P", mods=mods),
        KeyDown(t=2, session=S, cls="letter", key="P", char="P", mods=mods),  # auto-repeat
        KeyUp(t=3, session=S, cls="letter", key="p", char="p", mods=()),  # mods released first
        KeyUp(t=4, session=S, cls="letter", key="p", char="p"),  # an ordinary p
    ]
    g = gate()
    out = g.admit(events)
    assert [e.t for e in out] == [4]
    assert g.dropped == {"hotkey": 3}


def test_no_hotkey_configured() -> None:
    policy = msgspec.structs.replace(
        POLICY, capture=msgspec.structs.replace(POLICY.capture, pause_hotkey="")
    )
    g = EdgePolicy(policy, ALL)
    event = KeyDown(t=1, session=S, cls="letter", key="p", mods=("shift", "ctrl", "alt"))
    assert g.admit([event]) == [event]


# -- properties over arbitrary streams ------------------------------------------------------------

APPS = ("gedit", "KeePassXC", "xterm", "signal", "firefox")
TITLES = (None, "notes.txt", "[sudo] password for ana:", "Inbox (3)")
KEY_NAMES = (None, "a", "p", "P", "BackSpace", "Left", "F5", "Shift_L", "U20AC", "x")
CHARS = (None, "a", "1", " ", "\n", ",", "€")

key_events = st.builds(
    lambda cls, k, c, mods, down: (KeyDown if down else KeyUp)(
        t=0, session=S, cls=cls, key=k, char=c, keycode=38, mods=mods
    ),
    st.sampled_from(KEY_CLASSES),
    st.sampled_from(KEY_NAMES),
    st.sampled_from(CHARS),
    st.sampled_from([(), ("shift",), ("shift", "ctrl", "alt"), ("ctrl",)]),
    st.booleans(),
)
mouse_events = st.one_of(
    st.builds(MouseMove, t=st.just(0), session=st.just(S), x=st.integers(0, 9), y=st.just(1)),
    st.builds(
        MouseDown, t=st.just(0), session=st.just(S), x=st.just(1), y=st.just(1), button=st.just(1)
    ),
    st.builds(
        MouseUp, t=st.just(0), session=st.just(S), x=st.just(1), y=st.just(1), button=st.just(3)
    ),
    st.builds(Scroll, t=st.just(0), session=st.just(S), x=st.just(1), y=st.just(1), dy=st.just(-1)),
)
focus_events = st.builds(
    lambda app, title: focus(0, app, title), st.sampled_from(APPS), st.sampled_from(TITLES)
)
scope_sets = st.frozensets(st.sampled_from(SCOPES))
control_events = st.one_of(
    st.builds(lambda s: ConsentChange(t=0, session=S, scopes=tuple(s)), scope_sets),
    st.just(Pause(t=0, session=S)),
    st.just(Resume(t=0, session=S)),
    st.just(SessionStart(t=0, session=S, device="d")),
    st.just(SessionStop(t=0, session=S)),
    st.just(Gap(t=0, session=S, reason="capture")),
)
stream_events = st.one_of(key_events, key_events, mouse_events, focus_events, control_events)


def numbered(events: list[Event]) -> list[Event]:
    """Fresh copies in time order with unique t and seq, so outputs map back to inputs."""
    out = []
    for i, event in enumerate(events):
        fresh = copy.copy(event)
        fresh.t, fresh.seq = (i + 1) * 1000, i
        out.append(fresh)
    return out


def reference_states(
    events: Sequence[Event], scopes: frozenset[str], paused: bool
) -> list[tuple[frozenset[str], bool, bool]]:
    """(effective scopes, paused, excluded) in force at each event, computed independently."""
    excluded, states = False, []
    for event in events:
        if isinstance(event, ConsentChange):
            scopes = frozenset(event.scopes)
        elif isinstance(event, Pause):
            paused = True
        elif isinstance(event, Resume):
            paused = False
        elif isinstance(event, WindowFocus):
            excluded = POLICY.matches_exclusion(event.app, event.title) is not None
        states.append((effective_scopes(scopes), paused, excluded))
    return states


@settings(max_examples=300)
@given(st.lists(stream_events, max_size=40), scope_sets, st.booleans())
def test_no_event_survives_out_of_scope(
    raw: list[Event], scopes: frozenset[str], paused: bool
) -> None:
    events = numbered(raw)
    originals = copy.deepcopy(events)
    states = reference_states(originals, scopes, paused)
    g = EdgePolicy(POLICY, scopes, paused=paused)
    out = g.admit(events)

    ids = {id(e) for e in events}
    kept_inputs = [e for e in out if id(e) in ids]
    made = [e for e in out if id(e) not in ids]
    assert sum(g.dropped.values()) + len(kept_inputs) == len(events)
    assert [e.t for e in out] == sorted(e.t for e in out)
    for event in out:
        effective, is_paused, is_excluded = states[event.seq]
        if isinstance(event, ConsentChange):  # kept if scopes were in force before or after
            before = states[event.seq - 1][0] if event.seq else effective_scopes(scopes)
            assert before or effective
            continue
        assert effective, "nothing is kept while no scope is in force"
        if isinstance(event, KeyDown | KeyUp):
            assert "input-timing" in effective and not is_paused and not is_excluded
            if "text-content" not in effective:
                assert event.char is None and event.keycode is None
                if event.cls not in NAMED_KEY_CLASSES:
                    assert event.key is None
        elif isinstance(event, MouseMove | MouseDown | MouseUp | Scroll):
            assert "mouse" in effective and not is_paused and not is_excluded
        elif isinstance(event, WindowFocus):
            assert "app-usage" in effective and not is_paused and not is_excluded
            assert POLICY.matches_exclusion(event.app, originals[event.seq].title) is None  # type: ignore[union-attr]
            if "window-titles" not in effective:
                assert event.title is None
    for gap in made:
        assert isinstance(gap, Gap) and gap.reason == "excluded"
        source = originals[gap.seq]
        assert isinstance(source, WindowFocus) and states[gap.seq][2]
    encoded = msgspec.json.encode(made + [e for e in out if isinstance(e, WindowFocus)])
    for secret in (b"KeePassXC", b"signal", b"sudo"):
        assert secret not in encoded
    if events:
        assert (g.effective_scopes, g.paused, g.excluded) == states[-1]


@given(st.lists(stream_events, max_size=40), st.booleans())
def test_nothing_survives_if_no_scope_was_ever_granted(raw: list[Event], paused: bool) -> None:
    events = [e for e in numbered(raw) if not isinstance(e, ConsentChange) or not e.scopes]
    assert EdgePolicy(POLICY, frozenset(), paused=paused).admit(events) == []


@given(st.lists(stream_events, max_size=40), scope_sets, st.lists(st.integers(0, 40), max_size=5))
def test_batching_does_not_change_the_outcome(
    raw: list[Event], scopes: frozenset[str], cuts: list[int]
) -> None:
    events = numbered(raw)
    whole = EdgePolicy(POLICY, scopes).admit(copy.deepcopy(events))
    g = EdgePolicy(POLICY, scopes)
    batched: list[Event] = []
    bounds = sorted({0, len(events), *(min(c, len(events)) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        batched += g.admit(copy.deepcopy(events[lo:hi]))
    strip = [msgspec.structs.replace(e, t_end=None) if isinstance(e, Gap) else e for e in whole]
    strip_b = [msgspec.structs.replace(e, t_end=None) if isinstance(e, Gap) else e for e in batched]
    assert strip == strip_b
    assert msgspec.json.encode(EdgePolicy(POLICY, scopes).admit(copy.deepcopy(events))) == (
        msgspec.json.encode(whole)
    )


@given(st.lists(any_events(), max_size=30), scope_sets)
def test_any_valid_events_are_handled(raw: list[Event], scopes: frozenset[str]) -> None:
    events = sorted(raw, key=lambda e: e.t)
    g = EdgePolicy(POLICY, scopes)
    out = g.admit(events)
    assert len(out) <= len(events) + sum(isinstance(e, WindowFocus) for e in events)
    if not effective_scopes(scopes) and not any(
        isinstance(e, ConsentChange) and effective_scopes(e.scopes) for e in events
    ):
        assert out == []
    for event in out:
        if isinstance(event, WindowFocus):
            assert POLICY.matches_exclusion(event.app, None) is None
