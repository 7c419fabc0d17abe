"""The consent record: grants, revocations, history, atomic 0600 writes, and bad files."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workprint.errors import WorkprintError
from workprint.events import SCOPES
from workprint.policy import (
    SCOPE_DESCRIPTIONS,
    ConsentEntry,
    ConsentError,
    ConsentState,
    effective_scopes,
    grant,
    load_consent,
    parse_scopes,
    revoke,
)
from workprint.policy.consent import decode_consent, set_aside


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "consent.json"


def test_missing_file_means_nothing_granted(path: Path) -> None:
    state = load_consent(path)
    assert state == ConsentState()
    assert state.scopes == frozenset() and state.effective_scopes() == frozenset()


def test_grant_writes_the_documented_record(path: Path) -> None:
    state = grant(path, ["mouse", "input-timing"], 3, now_ns=1_000)
    assert state.granted == ("input-timing", "mouse")  # canonical order
    assert json.loads(path.read_text()) == {
        "format": 1,
        "granted": ["input-timing", "mouse"],
        "history": [
            {"t": 1000, "action": "grant", "scopes": ["input-timing", "mouse"], "policy_version": 3}
        ],
    }
    assert load_consent(path) == state
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_grant_and_revoke_keep_history(path: Path) -> None:
    grant(path, ["all"], 1, now_ns=1)
    revoke(path, ["text-content", "browsing"], 2, now_ns=2)
    state = revoke(path, ["browsing"], 2, now_ns=3)  # recorded even though already revoked
    assert state.granted == ("input-timing", "mouse", "app-usage", "window-titles")
    assert [(e.action, e.scopes, e.policy_version) for e in state.history] == [
        ("grant", SCOPES, 1),
        ("revoke", ("text-content", "browsing"), 2),
        ("revoke", ("browsing",), 2),
    ]
    assert state == load_consent(path)


def test_write_is_atomic_and_leaves_no_temp_files(path: Path) -> None:
    grant(path, ["mouse"], 1)
    inode = path.stat().st_ino
    revoke(path, ["mouse"], 1)
    assert path.stat().st_ino != inode  # replaced, not rewritten in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["consent.json"]


def test_concurrent_changes_are_all_recorded(path: Path) -> None:
    def work(scope: str) -> None:
        for _ in range(10):
            grant(path, [scope], 1)

    threads = [threading.Thread(target=work, args=(scope,)) for scope in SCOPES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = load_consent(path)
    assert len(state.history) == 10 * len(SCOPES)
    assert state.granted == SCOPES


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["mouse"], ("mouse",)),
        (["all"], SCOPES),
        (["ALL"], SCOPES),
        (["mouse,app-usage", " Input-Timing "], ("input-timing", "mouse", "app-usage")),
        (["mouse", "mouse"], ("mouse",)),
    ],
)
def test_parse_scopes(words: list[str], expected: tuple[str, ...]) -> None:
    assert parse_scopes(words) == expected


def test_unknown_scope_names_the_known_ones(path: Path) -> None:
    with pytest.raises(ConsentError) as info:
        grant(path, ["mouse", "keylogging"], 1)
    assert str(info.value) == (
        "unknown scope 'keylogging' (known: input-timing, text-content, mouse, app-usage, "
        "window-titles, browsing; or 'all')"
    )
    assert isinstance(info.value, WorkprintError)
    assert not path.exists()


def test_no_scope_is_an_error(path: Path) -> None:
    with pytest.raises(ConsentError, match="no scope given"):
        revoke(path, [" , "], 1)


def test_policy_version_is_checked(path: Path) -> None:
    with pytest.raises(ConsentError, match="negative"):
        grant(path, ["mouse"], -1)
    with pytest.raises(TypeError):
        grant(path, ["mouse"], True)


@pytest.mark.parametrize(
    ("granted", "effective"),
    [
        ({"text-content"}, set()),
        ({"text-content", "input-timing"}, {"text-content", "input-timing"}),
        ({"window-titles", "mouse"}, {"mouse"}),
        ({"window-titles", "app-usage"}, {"window-titles", "app-usage"}),
        ({"browsing", "nonsense"}, {"browsing"}),
    ],
)
def test_effective_scopes(granted: set[str], effective: set[str]) -> None:
    assert effective_scopes(granted) == effective


def test_every_scope_is_described() -> None:
    assert set(SCOPE_DESCRIPTIONS) == set(SCOPES)
    assert all(text.endswith(".") and "\n" not in text for text in SCOPE_DESCRIPTIONS.values())


# -- bad files ------------------------------------------------------------------------------------

GOOD = {"format": 1, "granted": ["mouse"], "history": []}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not valid JSON: Input data was truncated"),
        (b"{", "not valid JSON: Input data was truncated"),
        (b"\xff\xfe{}", "not valid JSON: JSON is malformed: invalid character (byte 0)"),
        (b"[]", "expected a JSON object, got list"),
        (b"{}", "format None is not 1"),
        (b'{"format": 2}', "format 2 is not 1, the only format this workprint understands"),
        (b'{"format": true}', "format True is not 1"),
        (
            b'{"format": 1, "granted": ["mouse", "eyes"]}',
            "granted[1]: Invalid enum value 'eyes'",
        ),
        (b'{"format": 1, "granted": "mouse"}', "granted: Expected `array`, got `str`"),
        (b'{"format": 1, "extra": 1}', "Object contains unknown field `extra`"),
        (
            b'{"format": 1, "history": [{"t": -1, "action": "grant", "scopes": [], '
            b'"policy_version": 1}]}',
            "history[0].t: Expected `int` >= 0",
        ),
        (
            b'{"format": 1, "history": [{"t": 1, "action": "maybe", "scopes": [], '
            b'"policy_version": 1}]}',
            "history[0].action: Invalid enum value 'maybe'",
        ),
        (b'{"format": 1, "granted": ["a\\nb"]}', "granted[0]: Invalid enum value 'a\\nb'"),
    ],
)
def test_bad_files_are_one_line_errors(path: Path, content: bytes, message: str) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(ConsentError) as info:
        load_consent(path)
    assert str(info.value).startswith(f"consent file {path}: {message}"), str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_file(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(ConsentError, match="cannot read: Is a directory"):
        load_consent(path)


def test_grant_refuses_to_build_on_a_bad_record(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not json")
    with pytest.raises(ConsentError):
        grant(path, ["mouse"], 1)
    assert path.read_bytes() == b"not json"


def test_set_aside_lets_a_revocation_start_fresh(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{broken")
    moved = set_aside(path, now_ns=42)
    assert moved.name == "consent.json.corrupt-42" and moved.read_bytes() == b"{broken"
    state = revoke(path, ["all"], 1)
    assert state.granted == () and len(state.history) == 1


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_bytes_give_consent_error(data: bytes) -> None:
    try:
        state = decode_consent(data, "/c.json")
    except ConsentError as exc:
        assert str(exc).startswith("consent file /c.json: ") and "\n" not in str(exc)
    else:
        assert isinstance(state, ConsentState)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from([*SCOPES, "grant", "revoke"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["format", "granted", "history", "t", "action", "scopes", "x"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"format": st.sampled_from([1, 1, 1, 2, "1", None])},
        optional={"granted": json_values, "history": json_values, "extra": json_values},
    )
)
def test_structured_garbage_gives_state_or_consent_error(doc: dict[str, object]) -> None:
    try:
        state = decode_consent(json.dumps(doc).encode(), "/c.json")
    except ConsentError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(state.granted) <= set(SCOPES)
        assert all(isinstance(e, ConsentEntry) for e in state.history)
        assert decode_consent(msgspec.json.encode(state)) == state


@given(st.lists(st.tuples(st.booleans(), st.sets(st.sampled_from([*SCOPES, "all"]), min_size=1))))
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_granted_is_the_replay_of_history(
    tmp_path: Path, steps: list[tuple[bool, set[str]]]
) -> None:
    path = tmp_path / f"c{os.urandom(6).hex()}.json"
    expected: set[str] = set()
    for is_grant, scopes in steps:
        (grant if is_grant else revoke)(path, sorted(scopes), 1)
        named = set(SCOPES) if "all" in scopes else scopes
        expected = expected | named if is_grant else expected - named
    state = load_consent(path)
    assert set(state.granted) == expected
    assert len(state.history) == len(steps)
