"""The recorder's browser endpoint and the edge gate's browser rules, against hostile input."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workprint.capture.browser_bridge import MAX_MESSAGE_BYTES, BrowserEndpoint
from workprint.events import Event, WebAct, WebSearch
from workprint.policy import EdgePolicy, default_policy
from workprint.policy.browser_policy import site_matches

SECRET = b"a" * 64


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[BrowserEndpoint, list[Event], Path]]:
    received: list[Event] = []
    path = tmp_path / "browser.sock"
    ep = BrowserEndpoint(
        path, SECRET, "s1", received.extend, lambda m: {"ok": True, "state": "recording"}
    )
    ep.start()
    yield ep, received, path
    ep.stop()


def talk(path: Path, *lines: bytes) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        replies: list[dict[str, Any]] = []
        buf = b""
        for line in lines:
            try:
                sock.sendall(line + b"\n")
                while b"\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return replies
                    buf += chunk
            except (ConnectionResetError, BrokenPipeError):
                return replies  # the endpoint hung up
            reply, _, buf = buf.partition(b"\n")
            replies.append(json.loads(reply))
        return replies


HELLO = json.dumps({"op": "hello", "secret": SECRET.decode()}).encode()


def click(**extra: Any) -> dict[str, Any]:
    event = {"type": "web_act", "t_ms": time.time() * 1000, "tab": 1, "url": "http://a.test/"}
    event.update({"act": "click", **extra})
    return event


def events_message(*events: object) -> bytes:
    return json.dumps({"op": "events", "events": list(events)}).encode()


def test_a_good_message_is_accepted(endpoint: tuple[BrowserEndpoint, list[Event], Path]) -> None:
    _, received, path = endpoint
    replies = talk(path, HELLO, events_message(click(el_tag="a")))
    assert replies[1]["ok"] and replies[1]["accepted"] == 1
    assert isinstance(received[0], WebAct) and received[0].session == "s1"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (events_message(click(act="type")), "event 0: Invalid enum value 'type' - at `$.act`"),
        (events_message({**click(), "type": "key_down"}), "not a browser event type"),
        (events_message(click(session="forged")), "may only be set by the recorder"),
        (events_message(click(password="x")), "unknown fields for web_act: password"),
        (events_message(click(t_ms=1.0)), "more than a day away"),
        (events_message(click(t_ms="soon")), "t_ms must be a number"),
        (events_message(click(tab="one")), "Expected `int`"),
        (events_message(click(el_box="0,0")), "Expected `array`"),
        (events_message(click(), "not an event"), "event 1: not an object"),
        (json.dumps({"op": "events", "events": {}}).encode(), "'events' must be a list"),
        (b"[1, 2]", "expected a JSON object with a string 'op'"),
        (b"\xff\xfe garbage", "expected a JSON object"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason_and_change_nothing(
    endpoint: tuple[BrowserEndpoint, list[Event], Path], message: bytes, reason: str
) -> None:
    _, received, path = endpoint
    replies = talk(path, HELLO, message, events_message(click()))
    assert replies[0]["ok"]
    assert replies[1]["ok"] is False and reason in replies[1]["error"], replies[1]
    assert replies[2]["ok"]  # the connection goes on; the bad message left nothing behind
    assert len(received) == 1


def test_wrong_secret_ends_the_connection_and_oversized_messages_are_skipped(
    endpoint: tuple[BrowserEndpoint, list[Event], Path],
) -> None:
    _, received, path = endpoint
    wrong = json.dumps({"op": "hello", "secret": "b" * 64}).encode()
    replies = talk(path, wrong, events_message(click()))
    assert len(replies) == 1 and "wrong secret" in replies[0]["error"]
    replies = talk(path, events_message(click()))
    assert "wrong secret" in replies[0]["error"]  # no hello at all
    huge = events_message(click(el_name="x" * (MAX_MESSAGE_BYTES + 10)))
    replies = talk(path, HELLO, huge, events_message(click()))
    assert replies[1]["ok"] is False and "larger than" in replies[1]["error"]
    assert replies[2]["ok"] and len(received) == 1  # only the good message after it


def gate(*scopes: str) -> EdgePolicy:
    return EdgePolicy(default_policy(), frozenset(scopes), excluded_sites=("portal.test",))


def act(**fields: Any) -> WebAct:
    base: dict[str, Any] = {"t": 1, "session": "s", "tab": 1, "url": "http://a.test/p?q=1#x"}
    base.update({"act": "input", **fields})
    return WebAct(**base)


def test_gate_needs_browsing_and_strips_values_without_text_content() -> None:
    assert gate("input-timing", "mouse").admit([act(value="hello")]) == []
    (kept,) = gate("browsing").admit([act(value="hello")])
    assert isinstance(kept, WebAct)
    assert kept.value is None and kept.length == 5 and kept.url == "http://a.test/p"
    (kept,) = gate("browsing", "input-timing", "text-content").admit([act(value="hello")])
    assert isinstance(kept, WebAct) and kept.value == "hello"


@pytest.mark.parametrize(
    "event",
    [
        act(el_type="password", value="pw"),
        act(el_type="PASSWORD", length=3),
        act(el_autocomplete="cc-number", value="4111"),
        act(el_autocomplete="section-a one-time-code", value="123456"),
        act(el_autocomplete="new-password", value="pw"),
        act(url="http://portal.test/me", value="x"),
        act(url="http://127.0.0.1:8420/me", value="x"),
        act(url="http://[::1", value="x"),
    ],
)
def test_gate_drops_sensitive_fields_and_excluded_sites(event: WebAct) -> None:
    g = gate("browsing", "input-timing", "text-content")
    assert g.admit([event]) == []
    assert set(g.dropped) <= {"sensitive-field", "excluded-site"}


def test_search_queries_are_redacted() -> None:
    search = WebSearch(
        t=1,
        session="s",
        tab=1,
        url="http://a.test/s",
        engine="x",
        op="query",
        query="a@b.org 0612345678",
    )
    (kept,) = gate("browsing").admit([search])
    assert isinstance(kept, WebSearch) and kept.query == "[email] [number]"


@given(st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,2}", fullmatch=True), st.integers(1, 65535))
def test_a_site_pattern_matches_its_host_and_subdomains_only(host: str, port: int) -> None:
    assert site_matches(host, host, port)
    assert site_matches(host, f"www.{host}", None)
    assert site_matches(f"{host}:{port}", host, port)
    assert not site_matches(f"{host}:{port}", host, port % 65535 + 1)
    assert not site_matches(host, f"x{host}", port)
    assert not site_matches(f"*.{host}", host, port)
