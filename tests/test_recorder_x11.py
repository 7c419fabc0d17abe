"""The recorder end to end on a real (virtual) X server: real windows, real X input from xdotool,
the real `workprint record` process, its real encrypted spool read back through the CLI."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tests.conftest import RecorderProcess, exported_events, run_cli, written_bytes
from workprint.builders.typed_text import typed_text_by_window
from workprint.events import (
    Event,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Scroll,
    SessionStart,
    SessionStop,
    WindowFocus,
)
from workprint.testbed import XSession
from workprint.testbed.scripted_session import (
    TK_EXPECTED_BEFORE_PASTE,
    XTERM_TYPED,
    alt_tab_to_xterm,
    copy_paste_in_tk,
    mouse_gestures,
    open_windows,
    type_into_tk,
    type_into_xterm,
)

pytestmark = pytest.mark.x11


def grant(home: Path, *scopes: str) -> None:
    result = run_cli(home, "consent", "grant", *scopes)
    assert result.returncode == 0, result.stderr


def with_focus(events: list[Event]) -> list[tuple[Event, WindowFocus | None]]:
    """Each event with the window focus in force when it happened."""
    focus: WindowFocus | None = None
    out: list[tuple[Event, WindowFocus | None]] = []
    for event in events:
        if isinstance(event, WindowFocus):
            focus = event
        out.append((event, focus))
    return out


def test_scripted_session_is_recorded_completely_in_order_with_window_context(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "all")
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    type_into_tk(xsession, windows)
    tk_before_paste = windows.tk_text_file.read_text()
    copy_paste_in_tk(xsession)
    alt_tab_to_xterm(xsession, windows)
    type_into_xterm(xsession)
    mouse_gestures(xsession, windows)
    code, err = rec.stop()
    assert code == 0, err
    assert "Traceback" not in err

    events = exported_events(home)
    assert isinstance(events[0], SessionStart) and isinstance(events[-1], SessionStop)
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), "sequence numbers must be unique and increasing"
    times = [e.t for e in events]
    assert times == sorted(times)
    assert {e.session for e in events} == {events[0].session}

    # the text each window really received is recoverable from the events
    assert tk_before_paste == TK_EXPECTED_BEFORE_PASTE
    typed = typed_text_by_window(events)
    assert typed["Tk: TkPad"] == TK_EXPECTED_BEFORE_PASTE
    assert typed["XTerm: XTermPad"] == XTERM_TYPED + "\n"
    assert windows.xterm_text_file.read_text() == XTERM_TYPED + "\n"
    tk_final = windows.tk_text_file.read_text()
    assert tk_final.startswith(TK_EXPECTED_BEFORE_PASTE) and len(tk_final) > len(tk_before_paste)

    # every key event, in order, with its window, paired press/release by keycode
    keyed = [(e, f) for e, f in with_focus(events) if isinstance(e, KeyDown | KeyUp)]
    downs = [(e.key, e.mods, f.title if f else None) for e, f in keyed if isinstance(e, KeyDown)]
    named = [(k, m, w) for k, m, w in downs if k not in ("Shift_L", "Control_L", "Alt_L")]
    expected_tk = (
        [
            (c if c != " " else "space", ("shift",) if c.isupper() else (), "TkPad")
            for c in "Hello workprnt"
        ]
        + [(k, (), "TkPad") for k in ["BackSpace", "BackSpace", "i", "n", "t", "End"]]
        + [("exclam", ("shift",), "TkPad")]
        + [("Left", (), "TkPad")] * 10
        + [("X", ("shift",), "TkPad"), ("End", (), "TkPad")]
        + [
            ("Left", ("shift", "ctrl"), "TkPad"),
            ("c", ("ctrl",), "TkPad"),
            ("End", (), "TkPad"),
            ("v", ("ctrl",), "TkPad"),
            ("Tab", ("alt",), "TkPad"),
        ]
    )
    expected_xterm = [(c if c != " " else "space", (), "XTermPad") for c in XTERM_TYPED] + [
        ("Return", (), "XTermPad")
    ]
    assert named == [*expected_tk, *expected_xterm, ("Escape", (), "TkPad")]
    open_keys: dict[int, KeyDown] = {}
    for event, _ in keyed:
        assert event.keycode is not None
        if isinstance(event, KeyDown):
            assert event.keycode not in open_keys
            open_keys[event.keycode] = event
        else:
            pressed = open_keys.pop(event.keycode)
            assert (pressed.key, pressed.char) == (event.key, event.char)
    assert open_keys == {}

    # every button and wheel event, in order, with its window
    buttons = [
        (type(e).__name__, getattr(e, "button", None) or (e.dx, e.dy), f.title if f else None)
        for e, f in with_focus(events)
        if isinstance(e, MouseDown | MouseUp | Scroll)
    ]
    assert buttons == [
        ("MouseDown", 1, "TkPad"),
        ("MouseUp", 1, "TkPad"),
        ("MouseDown", 1, "TkPad"),
        ("MouseUp", 1, "TkPad"),
        ("MouseDown", 1, "TkPad"),
        ("MouseUp", 1, "TkPad"),
        ("MouseDown", 1, "TkPad"),
        ("MouseUp", 1, "TkPad"),
        ("MouseDown", 3, "TkPad"),
        ("MouseUp", 3, "TkPad"),
        *[("Scroll", (0, -1), "TkPad")] * 3,
        *[("Scroll", (0, 1), "TkPad")] * 2,
    ]
    # the drag: press at its start, a path of moves, release at its end
    clicks = [e for e in events if isinstance(e, MouseDown | MouseUp)]
    drag_down, drag_up = clicks[6], clicks[7]
    assert (drag_down.x, drag_down.y) == (150, 100)
    assert (drag_up.x, drag_up.y) == (350, 150)
    path = [e for e in events if isinstance(e, MouseMove) and drag_down.t <= e.t <= drag_up.t]
    assert len(path) >= 5
    assert [m.x for m in path] == sorted(m.x for m in path)
    # window context: apps, titles and pids of both windows; no duplicate focus events
    focuses = [e for e in events if isinstance(e, WindowFocus)]
    assert {(f.app, f.title) for f in focuses} >= {("Tk", "TkPad"), ("XTerm", "XTermPad")}
    assert all(f.window != 0 for f in focuses)
    assert any(f.pid for f in focuses if f.app == "XTerm")
    pairs = [(f.window, f.title) for f in focuses]
    assert all(a != b for a, b in itertools.pairwise(pairs))


def test_spool_holds_no_plaintext_but_decrypts_to_it(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "all")
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    type_into_tk(xsession, windows)
    alt_tab_to_xterm(xsession, windows)
    type_into_xterm(xsession)
    rec.stop()
    raw = written_bytes(home)
    events = exported_events(home)
    decrypted = "".join(f.title or "" for f in events if isinstance(f, WindowFocus))
    typed = "".join(typed_text_by_window(events).values())
    for secret in ("TkPad", "XTermPad", "Xworkprint", "private notes"):
        assert secret in decrypted + typed, f"control: {secret!r} was recorded"
        assert secret.encode() not in raw, f"{secret!r} in plaintext on disk"
        assert secret.encode("utf-16-le") not in raw
    # the characters themselves are not there as a readable JSON/msgpack field either
    assert b'"char"' not in raw and b"XTerm" not in raw


def test_without_any_consent_nothing_is_written(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    type_into_tk(xsession, windows)
    mouse_gestures(xsession, windows)
    status = rec.status()
    assert status is not None and status["state"] == "no-consent"
    code, _ = rec.stop()
    assert code == 0
    assert exported_events(home) == []
    raw = written_bytes(home)
    for secret in ("TkPad", "workprnt", "Hello"):
        assert secret.encode() not in raw


def test_paused_span_records_no_input(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "all")
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    xsession.activate(windows.tk)
    xsession.xdotool("type", "--delay", "20", "before ")
    paused = run_cli(home, "pause")
    assert paused.returncode == 0 and "paused" in paused.stdout
    assert rec.status()["state"] == "paused"  # type: ignore[index]
    xsession.xdotool("type", "--delay", "20", "secretpausedtext")
    xsession.xdotool("mousemove", "--sync", "300", "200", "click", "1")
    assert run_cli(home, "resume").returncode == 0
    xsession.xdotool("type", "--delay", "20", "after")
    rec.stop()
    events = exported_events(home)
    kinds = [type(e).__name__ for e in events]
    pause_at, resume_at = kinds.index("Pause"), kinds.index("Resume")
    between = events[pause_at + 1 : resume_at]
    assert not [e for e in between if isinstance(e, KeyDown | KeyUp | MouseDown | MouseUp)]
    refreshed = next(e for e in events[resume_at:] if isinstance(e, WindowFocus | KeyDown))
    assert isinstance(refreshed, WindowFocus) and refreshed.title == "TkPad"
    text = typed_text_by_window(events)["Tk: TkPad"]
    assert text == "before after"
    assert windows.tk_text_file.read_text() == "before secretpausedtextafter"
    assert b"secretpausedtext" not in written_bytes(home)


def test_pause_hotkey_toggles_and_is_not_recorded(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "all")
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    xsession.activate(windows.tk)
    xsession.xdotool("type", "--delay", "20", "one ")
    xsession.xdotool("key", "ctrl+alt+shift+p")
    xsession.xdotool("type", "--delay", "20", "hidden")
    assert rec.status()["paused"] is True  # type: ignore[index]
    xsession.xdotool("key", "ctrl+alt+shift+p")
    xsession.xdotool("type", "--delay", "20", "two")
    rec.stop()
    events = exported_events(home)
    assert typed_text_by_window(events)["Tk: TkPad"] == "one two"
    reasons = [(type(e).__name__, getattr(e, "reason", None)) for e in events]
    assert ("Pause", "hotkey") in reasons and ("Resume", "hotkey") in reasons
    assert not [e for e in events if isinstance(e, KeyDown) and e.key in ("p", "P")]


def test_excluded_window_leaves_only_a_gap(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "all")
    policy = Path(home) / "config" / "policy.toml"
    policy.write_text(
        'version = 3\n[[exclude]]\napp = "(?i)^xterm$"\ntitle = ""\nreason = "test terminal"\n'
    )
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    type_into_tk(xsession, windows)
    alt_tab_to_xterm(xsession, windows)
    assert rec.status()["state"] in ("excluded", "recording")  # type: ignore[index]
    type_into_xterm(xsession)
    xsession.xdotool("mousemove", "--sync", "700", "400", "click", "1")
    xsession.activate(windows.tk)
    xsession.xdotool("key", "Escape")
    rec.stop()
    assert windows.xterm_text_file.read_text() == XTERM_TYPED + "\n"
    events = exported_events(home)
    kinds = [type(e).__name__ for e in events]
    assert "Gap" in kinds
    gap_at = kinds.index("Gap")
    back = next(i for i in range(gap_at, len(events)) if isinstance(events[i], WindowFocus))
    inside = events[gap_at + 1 : back]
    assert not [e for e in inside if isinstance(e, KeyDown | KeyUp | MouseDown | MouseUp | Scroll)]
    assert not [e for e in events if isinstance(e, WindowFocus) and e.app == "XTerm"]
    assert "XTerm: XTermPad" not in typed_text_by_window(events)
    assert isinstance(events[back], WindowFocus) and events[back].title == "TkPad"
    raw = written_bytes(home)
    assert b"private notes" not in raw and b"XTermPad" not in raw


def test_without_text_content_no_character_is_kept(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "input-timing", "mouse", "app-usage", "window-titles")
    windows = open_windows(xsession, tmp_path)
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    type_into_tk(xsession, windows)
    rec.stop()
    events = exported_events(home)
    keys = [e for e in events if isinstance(e, KeyDown | KeyUp)]
    assert len([e for e in keys if isinstance(e, KeyDown) and e.cls == "letter"]) >= 14
    for event in keys:
        assert event.char is None and event.keycode is None
        if event.cls in ("letter", "digit", "space", "punctuation", "other"):
            assert event.key is None
    assert {"letter", "space", "editing", "navigation", "modifier"} <= {e.cls for e in keys}
    export = run_cli(home, "events", "export").stdout
    assert '"char"' not in export and '"keycode"' not in export
    assert not re.search(r'"key":"[A-Za-z]"', export)
    assert typed_text_by_window(events).get("Tk: TkPad", "") == ""
    assert b"workprnt" not in written_bytes(home)


def test_mouse_moves_are_coalesced_but_clicks_keep_their_positions(
    xsession: XSession, home: Path, recorders: list[RecorderProcess]
) -> None:
    grant(home, "mouse")
    rec = RecorderProcess(home, xsession.display)
    recorders.append(rec)
    script = "".join(f"mousemove {100 + i} {100 + (i % 7)}\n" for i in range(400))
    script += "click 1\nmousemove 640 400\n"
    xsession.xdotool("-", stdin=script)
    rec.stop()
    events = exported_events(home)
    moves = [e for e in events if isinstance(e, MouseMove)]
    downs = [e for e in events if isinstance(e, MouseDown)]
    assert [(d.x, d.y) for d in downs] == [(499, 100 + 399 % 7)]
    span_s = (moves[-1].t - moves[0].t) / 1e9
    assert len(moves) <= span_s * 60 + 3, (len(moves), span_s)
    assert (moves[-1].x, moves[-1].y) == (640, 400), "the path ends where it stopped"
    # apart from the flushes before a click and at rest, kept moves are >= 1/60 s apart
    pairs = list(itertools.pairwise(moves))
    too_close = [(a, b) for a, b in pairs if b.t - a.t < 16_666_667]
    assert len(too_close) <= 3, too_close
    assert not [e for e in events if isinstance(e, KeyDown | WindowFocus)]
