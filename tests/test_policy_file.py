"""The policy file: the packaged default, every validation error as one precise line, fuzzing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workprint.errors import WorkprintError
from workprint.events import MODIFIERS
from workprint.policy import (
    CaptureSettings,
    ExclusionRule,
    Hotkey,
    Policy,
    PolicyError,
    SpoolSettings,
    default_policy,
    load_policy,
    parse_hotkey,
    parse_policy,
    to_toml,
)
from workprint.policy.policy_file import default_policy_text

# -- the packaged default -------------------------------------------------------------------------


def test_default_policy_values() -> None:
    policy = default_policy()
    assert policy.version == 1
    assert policy.capture == CaptureSettings()
    assert policy.spool == SpoolSettings(max_bytes=536870912, max_age_days=14)
    assert policy.capture.hotkey == Hotkey(frozenset({"ctrl", "alt", "shift"}), "p")
    assert len(policy.exclude) == 3
    assert len(tomllib.loads(default_policy_text())["exclude"]) == 3


@pytest.mark.parametrize(
    ("app", "title"),
    [
        ("keepassxc", None),
        ("KeePassXC", "Passwords.kdbx - KeePassXC"),
        ("1Password", None),
        ("Bitwarden", None),
        ("pinentry-gtk-2", None),
        ("gcr-prompter", None),
        ("seahorse", None),
        ("signal", None),
        ("Signal", "Signal"),
        ("TelegramDesktop", None),
        ("telegram-desktop", None),
        ("whatsapp-for-linux", None),
        ("Element", None),
        ("xterm", "[sudo] password for ana: "),
        ("gnome-terminal-server", "Enter passphrase for key '/home/ana/.ssh/id_ed25519':"),
        ("konsole", "Password for ana@example.org"),
    ],
)
def test_default_policy_excludes(app: str, title: str | None) -> None:
    assert default_policy().matches_exclusion(app, title) is not None


@pytest.mark.parametrize(
    ("app", "title"),
    [
        ("firefox", "Signal - Wikipedia"),
        ("xterm", "ana@host: ~/src"),
        ("xterm", None),
        ("code", "keepassxc.py - Visual Studio Code"),
        ("signal-cli-wrapper", None),
        ("gedit", "notes.txt"),
    ],
)
def test_default_policy_keeps(app: str, title: str | None) -> None:
    assert default_policy().matches_exclusion(app, title) is None


def test_missing_file_or_none_means_the_default(tmp_path: Path) -> None:
    assert load_policy(None) is default_policy()
    assert load_policy(tmp_path / "nope.toml") == default_policy()


def test_packaged_file_and_reference_defaults_agree() -> None:
    """Every value in the packaged file equals the struct default it documents."""
    doc = tomllib.loads(default_policy_text())
    assert doc["capture"] == msgspec.to_builtins(CaptureSettings())
    assert doc["spool"] == msgspec.to_builtins(SpoolSettings())
    assert doc["version"] == Policy().version


# -- reading files --------------------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "policy.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_partial_file_takes_defaults_and_default_exclusions(tmp_path: Path) -> None:
    path = write(tmp_path, "version = 3\n[capture]\nmouse_move_max_hz = 30\n")
    policy = load_policy(path)
    assert policy.version == 3
    assert policy.capture.mouse_move_max_hz == 30
    assert policy.capture.mouse_move_min_px == 2
    assert policy.exclude == default_policy().exclude


def test_explicit_empty_exclude_means_none(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "exclude = []\n")).exclude == ()


def test_own_exclusions_replace_the_defaults(tmp_path: Path) -> None:
    text = '[[exclude]]\napp = "^bank$"\nreason = "banking"\n'
    policy = load_policy(write(tmp_path, text))
    assert policy.exclude == (ExclusionRule(app="^bank$", reason="banking"),)
    assert policy.matches_exclusion("bank", None) is policy.exclude[0]
    assert policy.matches_exclusion("KeePassXC", None) is None


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, b"\xef\xbb\xbfversion = 2\n")).version == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[capture]\nmouse_move_max_hz = "60"\n',
            "capture.mouse_move_max_hz: Expected `int`, got `str`",
        ),
        ("[capture]\nmouse_move_max_hz = 0\n", "capture.mouse_move_max_hz: Expected `int` >= 1"),
        (
            "[capture]\nmouse_move_max_hz = 1001\n",
            "capture.mouse_move_max_hz: Expected `int` <= 1000",
        ),
        ("[capture]\nmouse_move_min_px = -1\n", "capture.mouse_move_min_px: Expected `int` >= 0"),
        ("[capture]\nflush_interval_ms = 5\n", "capture.flush_interval_ms: Expected `int` >= 10"),
        ("[spool]\nmax_bytes = 0\n", "spool.max_bytes: Expected `int` >= 1"),
        ("[spool]\nmax_age_days = -3\n", "spool.max_age_days: Expected `int` >= 1"),
        ("version = 0\n", "version: Expected `int` >= 1"),
        (
            "[capture]\nmouse_move_max_Hz = 30\n",
            "capture: Object contains unknown field `mouse_move_max_Hz`",
        ),
        ("colour = 1\n", "Object contains unknown field `colour`"),
        ("capture = 1\n", "capture: Expected `object`, got `int`"),
        (
            '[[exclude]]\napp = "a"\n[[exclude]]\napp = "b"\n[[exclude]]\ntitle = "(x"\n',
            "exclude[2].title: bad regular expression '(x': missing ), unterminated subpattern",
        ),
        ('[[exclude]]\napp = "[z-a]"\n', "exclude[0].app: bad regular expression '[z-a]'"),
        ('[[exclude]]\nreason = "all"\n', "exclude[0]: app and title are both empty"),
        ('[[exclude]]\napp = "x"\nwhy = "?"\n', "exclude[0]: Object contains unknown field `why`"),
        (
            '[capture]\npause_hotkey = "ctrl+hyper+p"\n',
            "capture.pause_hotkey: hotkey 'ctrl+hyper+p': 'hyper' is not a modifier",
        ),
        ('[capture]\npause_hotkey = "p"\n', "capture.pause_hotkey: hotkey 'p': a single character"),
        ("version = 1\nversion = 2\n", "line 2, column 12: invalid TOML: cannot overwrite a value"),
        ("[capture\n", "line 1, column 9: invalid TOML: expected ']' at the end of a table"),
        ("version = \n", "line 1, column 11: invalid TOML: invalid value"),
        ("version = [1,\n", "end of file: invalid TOML: "),
        (b"version = 1 # caf\xe9\n", "not UTF-8 (byte 17)"),
    ],
)
def test_errors_are_one_precise_line(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    text_of = str(info.value)
    assert text_of.startswith(f"policy file {path}: {message}"), text_of
    assert "\n" not in text_of
    assert isinstance(info.value, WorkprintError) and info.value.exit_code == 2


def test_unreadable_path_is_a_policy_error(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").mkdir()
    with pytest.raises(PolicyError, match=r"policy\.toml: cannot read: Is a directory"):
        load_policy(tmp_path / "policy.toml")


def test_values_with_line_breaks_stay_on_one_line() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy('"a\\nb\\u2028c" = 1\n', "/p.toml")
    assert "\n" not in str(info.value) and "\u2028" not in str(info.value)
    assert "a\\nb\\u2028c" in str(info.value)


def test_exclusion_rule_checks_itself_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="bad regular expression"):
        ExclusionRule(app="(")
    with pytest.raises(ValueError, match="both empty"):
        ExclusionRule()


def test_title_rule_does_not_match_an_unknown_title() -> None:
    rule = ExclusionRule(title="secret")
    assert not rule.matches("xterm", None)
    assert rule.matches("xterm", "top secret")


# -- the hotkey -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mods", "key", "canonical"),
    [
        ("ctrl+alt+shift+p", {"ctrl", "alt", "shift"}, "p", "shift+ctrl+alt+p"),
        (" Control + Super + F12 ", {"ctrl", "meta"}, "f12", "ctrl+meta+f12"),
        ("pause", set(), "pause", "pause"),
        ("altgr+Page_Up", {"altgr"}, "page_up", "altgr+page_up"),
        ("ctrl+.", {"ctrl"}, ".", "ctrl+."),
    ],
)
def test_parse_hotkey(text: str, mods: set[str], key: str, canonical: str) -> None:
    hotkey = parse_hotkey(text)
    assert hotkey == Hotkey(frozenset(mods), key)
    assert str(hotkey) == canonical
    assert parse_hotkey(str(hotkey)) == hotkey


@pytest.mark.parametrize(
    "text", ["", "+", "ctrl+", "ctrl++p", "ctrl+ctrl+p", "ctrl+shift", "a", "ctrl+bad key", "x+p"]
)
def test_bad_hotkeys(text: str) -> None:
    with pytest.raises(ValueError, match="hotkey"):
        parse_hotkey(text)


def test_hotkey_matches_key_events() -> None:
    hotkey = parse_hotkey("ctrl+alt+shift+p")
    assert hotkey.matches("P", ("shift", "ctrl", "alt"))
    assert hotkey.matches("p", ("shift", "ctrl", "alt", "capslock"))
    assert not hotkey.matches("p", ("ctrl", "alt"))
    assert not hotkey.matches(None, ("shift", "ctrl", "alt"))
    assert not hotkey.matches("o", ("shift", "ctrl", "alt"))


@given(st.text(max_size=30))
def test_parse_hotkey_raises_only_value_error(text: str) -> None:
    try:
        hotkey = parse_hotkey(text)
    except ValueError as exc:
        assert "\n" not in str(exc).replace("\\n", "")
    else:
        assert hotkey.mods <= set(MODIFIERS) and hotkey.key == hotkey.key.lower()


# -- round trip and fuzzing -----------------------------------------------------------------------

regexes = st.sampled_from(["", "^a$", "(?i)x|y", "[sudo]", "\\d+", 'quo"te', "tab\there"])
rules = st.builds(
    lambda app_title, reason: ExclusionRule(app=app_title[0], title=app_title[1], reason=reason),
    st.tuples(regexes, regexes).filter(any),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
policies = st.builds(
    Policy,
    version=st.integers(1, 2**40),
    capture=st.builds(
        CaptureSettings,
        mouse_move_max_hz=st.integers(1, 1000),
        mouse_move_min_px=st.integers(0, 1000),
        pause_hotkey=st.sampled_from(["", "ctrl+alt+shift+p", "meta+F9", "pause"]),
        flush_interval_ms=st.integers(10, 10_000),
    ),
    spool=st.builds(
        SpoolSettings, max_bytes=st.integers(1, 2**62), max_age_days=st.integers(1, 10_000)
    ),
    exclude=st.lists(rules, max_size=4).map(tuple),
)


@given(policies)
def test_to_toml_round_trips(policy: Policy) -> None:
    assert parse_policy(to_toml(policy)) == policy


def test_default_round_trips() -> None:
    assert parse_policy(to_toml(default_policy())) == default_policy()


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_bytes_give_policy_error(data: bytes) -> None:
    try:
        parse_policy(data, "/fuzz.toml")
    except PolicyError as exc:
        assert str(exc).startswith("policy file /fuzz.toml: ") and "\n" not in str(exc)


FIELD_NAMES = [
    "version",
    "capture",
    "spool",
    "exclude",
    "mouse_move_max_hz",
    "pause_hotkey",
    "max_bytes",
    "app",
    "title",
    "reason",
    "x",
]
toml_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["(", "ctrl+alt+p", "", "^a$"]),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4)
    ),
    max_leaves=12,
)


def inline(value: object) -> str:
    """A TOML inline form of ``value`` (JSON strings and numbers are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) else f"{value!r}".replace("inf", "1.0")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {inline(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), toml_values, max_size=5))
def test_structured_garbage_gives_policy_or_policy_error(doc: dict[str, object]) -> None:
    text = "".join(f"{json.dumps(k)} = {inline(v)}\n" for k, v in doc.items())
    assert tomllib.loads(text) is not None
    try:
        policy = parse_policy(text, "/fuzz.toml")
    except PolicyError as exc:
        assert str(exc).startswith("policy file /fuzz.toml: ") and "\n" not in str(exc)
    else:
        assert isinstance(policy, Policy)
        assert parse_policy(to_toml(policy)) == policy


@pytest.mark.parametrize("text", ["a = " + "[" * 100_000, "a = " + "{b = " * 100_000])
def test_deep_nesting_is_a_policy_error(text: str) -> None:
    with pytest.raises(PolicyError, match="nested too deeply"):
        parse_policy(text, "/deep.toml")
