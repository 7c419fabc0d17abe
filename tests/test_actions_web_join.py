"""The timeline join: OS clicks, typing and scrolls get the element and URL of the browser
``web_act`` the same gesture produced (docs/actions.md, "Browser context"), in the fast and the
reference reducer alike, on synthetic interleaved OS + web timelines."""

from __future__ import annotations

import json
from typing import Final

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workprint.builders.actions import (
    Thresholds,
    reduce_actions,
    reduce_actions_reference,
    table_to_actions,
)
from workprint.builders.actions.web_context import element_descriptor
from workprint.events import (
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Scroll,
    SessionStart,
    WebAct,
)
from workprint.events.columnar import events_to_table

MS: Final = 1_000_000
T0: Final = 1_790_000_000 * 10**9
S: Final = "join-session"
FORM: Final = "http://127.0.0.1:8000/checkout.html"


def web(t: int, seq: int, act: str, **fields: object) -> WebAct:
    return WebAct(t=t, session=S, seq=seq, tab=2, url=FORM, act=act, **fields)  # type: ignore[arg-type]


def timeline() -> list[Event]:
    """A click on a button (DOM click 3 ms after the release), typing "hi" into a field (an
    input per key), a scroll, a right click next to a DOM click (no match), and a click whose
    DOM click came 2 s later (too far: no match)."""
    t = T0
    return [
        SessionStart(t=t, session=S, seq=0, device="d", screen_w=1000, screen_h=800),
        MouseMove(t=t + 10 * MS, session=S, seq=1, x=100, y=200),
        MouseDown(t=t + 100 * MS, session=S, seq=2, x=100, y=200, button=1),
        MouseUp(t=t + 160 * MS, session=S, seq=3, x=100, y=200, button=1),
        web(t + 163 * MS, 4, "click", el_tag="button", el_role="button", el_name="Pay",
            el_id="pay", el_selector="#pay", el_box=(90, 190, 40, 20), x=95, y=195),
        KeyDown(t=t + 1_000 * MS, session=S, seq=5, cls="letter", key="h", char="h"),
        web(t + 1_002 * MS, 6, "input", el_tag="input", el_type="text", el_name="City",
            el_selector="#city", length=1),
        KeyUp(t=t + 1_050 * MS, session=S, seq=7, cls="letter", key="h", char="h"),
        KeyDown(t=t + 1_200 * MS, session=S, seq=8, cls="letter", key="i", char="i"),
        web(t + 1_203 * MS, 9, "input", el_tag="input", el_type="text", el_name="City",
            el_selector="#city", length=2),
        KeyUp(t=t + 1_260 * MS, session=S, seq=10, cls="letter", key="i", char="i"),
        Scroll(t=t + 3_000 * MS, session=S, seq=11, x=500, y=400, dy=-1),
        web(t + 3_001 * MS, 12, "scroll", dy=120, vw=1000, vh=700),
        MouseDown(t=t + 5_000 * MS, session=S, seq=13, x=300, y=300, button=3),
        web(t + 5_010 * MS, 14, "click", el_tag="a", el_selector="#x"),
        MouseUp(t=t + 5_050 * MS, session=S, seq=15, x=300, y=300, button=3),
        MouseDown(t=t + 8_000 * MS, session=S, seq=16, x=10, y=10, button=1),
        MouseUp(t=t + 8_040 * MS, session=S, seq=17, x=10, y=10, button=1),
        web(t + 10_000 * MS, 18, "click", el_tag="div", el_selector="#late"),
    ]  # fmt: skip


def test_fast_and_reference_attach_the_same_element_and_url() -> None:
    table = events_to_table(timeline())
    fast = table_to_actions(reduce_actions(table))
    reference = table_to_actions(reduce_actions_reference(table))
    assert fast == reference
    got = [(a.kind, a.url, json.loads(a.element) if a.element else None) for a in fast]
    assert got == [
        (
            "click",
            FORM,
            {
                "tag": "button",
                "role": "button",
                "name": "Pay",
                "id": "pay",
                "selector": "#pay",
                "box": [90, 190, 40, 20],
            },
        ),
        ("type", FORM, {"tag": "input", "name": "City", "type": "text", "selector": "#city"}),
        ("scroll", FORM, None),  # a page scroll: a URL, no element
        ("right_click", None, None),  # right clicks fire no DOM click: never a neighbour's
        ("click", None, None),  # the DOM click came 2 s later
    ]


def test_tolerance_is_a_threshold() -> None:
    wide = Thresholds(web_join_s=2.5)
    table = events_to_table(timeline())
    fast = table_to_actions(reduce_actions(table, wide))
    assert fast == table_to_actions(reduce_actions_reference(table, wide))
    late = fast[-1]
    assert late.kind == "click" and late.element == '{"tag":"div","selector":"#late"}'


def test_other_sessions_web_acts_are_never_joined() -> None:
    events = [
        msgspec.structs.replace(e, session="another") if isinstance(e, WebAct) else e
        for e in timeline()
    ]
    table = events_to_table(events)
    for actions in (reduce_actions(table), reduce_actions_reference(table)):
        assert actions.column("url").null_count == actions.num_rows
        assert actions.column("element").null_count == actions.num_rows


def test_descriptor_leaves_out_what_the_element_lacks() -> None:
    assert element_descriptor({}) is None
    assert element_descriptor({"el_box": ()}) is None
    assert element_descriptor({"el_id": "q", "el_tag": "input"}) == '{"tag":"input","id":"q"}'


@st.composite
def interleaved(draw: st.DrawFn) -> list[Event]:
    """OS clicks and key presses with web_acts of every kind scattered around them, times drawn
    around the tolerance (so ties and window edges occur)."""
    events: list[Event] = [SessionStart(t=T0, session=S, seq=0, device="d")]
    t, seq = T0, 1
    for _ in range(draw(st.integers(1, 12))):
        t += draw(st.sampled_from([1, 50, 249, 250, 251, 600])) * MS
        what = draw(st.sampled_from(["click", "key", "web", "web_same_t"]))
        if what == "click":
            events.append(MouseDown(t=t, session=S, seq=seq, x=5, y=5, button=1))
            t += draw(st.sampled_from([0, 40])) * MS
            events.append(MouseUp(t=t, session=S, seq=seq + 1, x=5, y=5, button=1))
        elif what == "key":
            events.append(KeyDown(t=t, session=S, seq=seq, cls="letter", key="a", char="a"))
            events.append(KeyUp(t=t + MS, session=S, seq=seq + 1, cls="letter", key="a", char="a"))
        else:
            act = draw(st.sampled_from(["click", "input", "submit", "scroll", "paste"]))
            at = t - 250 * MS if what == "web_same_t" else t
            events.append(web(at, seq, act, el_selector=f"#e{seq}"))
            events.append(web(at, seq + 1, act, el_selector=f"#e{seq + 1}"))
        seq += 2
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interleaved())
def test_fast_equals_reference_on_random_interleavings(events: list[Event]) -> None:
    table = events_to_table(sorted(events, key=lambda e: (e.t, e.seq)))
    assert table_to_actions(reduce_actions(table)) == table_to_actions(
        reduce_actions_reference(table)
    )
