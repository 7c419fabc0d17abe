"""The extension in real Firefox (Debian's firefox-esr, driven over WebDriver BiDi): the package
`workprint browser package --browser firefox` writes, installed as a temporary add-on, the
native host found where `workprint browser install --browser firefox` put it in the browser's
HOME, a real recorder and its encrypted spool. Fewer checks than the Chromium tests
(tests/test_browser_capture.py): what differs between the browsers is the packaging, the
background script and native messaging, not the content script's rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.browser_harness import (
    PASSWORD,
    browser_policy,
    check_result_click,
    serve_site,
    settle,
    stop_recorder,
    web_events,
)
from tests.conftest import RecorderProcess, cli_env, run_cli, written_files
from workprint.events import WebAct, WebNav, WebSearch
from workprint.testbed import XSession
from workprint.testbed.firefox import (
    EXTENSION_UUID,
    FIREFOX,
    BidiError,
    Firefox,
    firefox,
    write_profile,
)

if TYPE_CHECKING:  # imported by name, pytest would try to collect the class as tests
    from tests.browser_harness import TestSite

pytestmark = pytest.mark.x11
ADDON_ID: Final = "browser@workprint.org"
# An empty page of the extension's own origin, added to the test's copy of the package: from
# there the test reads the background script's state, as the Chromium tests do in the worker.
PROBE_URL: Final = f"moz-extension://{EXTENSION_UUID}/probe.html"
BACKGROUND: Final = "browser.runtime.getBackgroundPage()"  # its global, from the probe page


def needs_firefox() -> None:
    if not Path(FIREFOX).exists():
        pytest.skip(
            f"Debian's Firefox ESR is not installed ({FIREFOX}: apt-get install firefox-esr)"
        )
    pytest.importorskip("websockets")


def browser_env(home: Path, browser_home: Path) -> dict[str, str]:
    """The environment of the browser (and so of the native host it starts) and of
    `workprint browser install`: the recorder's home, and HOME where Firefox looks for
    ``~/.mozilla/native-messaging-hosts``."""
    env = cli_env(home)
    env["HOME"] = str(browser_home)
    env["MOZ_CRASHREPORTER_DISABLE"] = "1"
    return env


def install_firefox_host(home: Path, browser_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workprint", "browser", "install", "--browser", "firefox"],
        env=browser_env(home, browser_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    manifest = browser_home / ".mozilla" / "native-messaging-hosts" / "org.workprint.agent.json"
    assert json.loads(manifest.read_text())["allowed_extensions"] == [ADDON_ID]


def package_extension(home: Path, out: Path) -> Path:
    result = run_cli(home, "browser", "package", str(out), "--browser", "firefox")
    assert result.returncode == 0, result.stderr
    (out / "probe.html").write_text("<!doctype html><title>probe</title>\n")
    return out


@contextmanager
def firefox_with_extension(home: Path, tmp_path: Path) -> Iterator[tuple[Firefox, str]]:
    """Firefox with the packaged extension; yields it and the probe tab."""
    browser_home = tmp_path / "browser-home"
    install_firefox_host(home, browser_home)
    extension = package_extension(home, tmp_path / "extension")
    profile = browser_home / "profile"
    # Session restore saved every second (15 s by default): the scan must see what it keeps.
    # An idle background page is suspended after 1.5 s instead of 30 s: the extension must keep
    # running through a test anyway (Firefox spares a page with an open native messaging port).
    prefs = {"browser.sessionstore.interval": 1000, "extensions.background.idle.timeout": 1500}
    write_profile(profile, ADDON_ID, prefs)
    with firefox(profile, env=browser_env(home, browser_home)) as ff:
        assert ff.install_extension(extension) == ADDON_ID
        probe = ff.new_tab()
        ff.navigate(probe, PROBE_URL)
        yield ff, probe


def extension_state(ff: Firefox, probe: str) -> str:
    state = ff.evaluate(probe, f"{BACKGROUND}.then(b => b.wpDebug.config())")
    return str(state["state"])


def wait_for_state(ff: Firefox, probe: str, state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while extension_state(ff, probe) != state:
        if time.monotonic() > deadline:
            raise AssertionError(f"extension never reached {state!r}: {extension_state(ff, probe)}")
        time.sleep(0.1)


def wait_for_badge(ff: Firefox, probe: str, url: str, text: str, timeout: float = 20) -> None:
    """Waits until the toolbar badge of the tab showing ``url`` reads ``text``."""
    ask = (
        f"browser.tabs.query({{}}).then(tabs => tabs.find(t => t.url === {json.dumps(url)}))"
        ".then(tab => tab ? browser.action.getBadgeText({tabId: tab.id}) : null)"
    )
    deadline = time.monotonic() + timeout
    while (shown := ff.evaluate(probe, ask)) != text:
        if time.monotonic() > deadline:
            raise AssertionError(f"badge of {url} is {shown!r}, expected {text!r}")
        time.sleep(0.1)


def wait_for_page(ff: Firefox, tab: str, path: str, timeout: float = 20) -> None:
    """Waits until ``tab`` has loaded a page at ``path`` (after a click or a submit)."""
    deadline = time.monotonic() + timeout
    shown = None
    while time.monotonic() < deadline:
        try:
            shown = ff.evaluate(tab, "[location.pathname, document.readyState]")
        except BidiError:  # the old document went away while asked
            shown = None
        if shown == [path, "complete"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"tab never showed {path}: {shown}")


def start(home: Path, xsession: XSession, site: TestSite) -> RecorderProcess:
    (home / "config" / "policy.toml").write_text(browser_policy(site))
    result = run_cli(home, "consent", "grant", "all")
    assert result.returncode == 0, result.stderr
    return RecorderProcess(home, xsession.display)


def test_firefox_records_click_typing_search_and_navigation_never_the_password(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    needs_firefox()
    with serve_site() as site:
        rec = start(home, xsession, site)
        recorders.append(rec)
        with firefox_with_extension(home, tmp_path) as (ff, probe):
            wait_for_state(ff, probe, "recording")
            # A mark on the background page's global: gone if Firefox suspended or restarted it.
            ff.evaluate(probe, f"{BACKGROUND}.then(b => {{ b.wpTestMark = 1; }})")
            tab = ff.new_tab()
            ff.navigate(tab, site.url("/search.html"))
            wait_for_badge(ff, probe, site.url("/search.html"), "REC")
            ff.click(tab, "#q")
            ff.type_text(tab, "travel expenses\ue007")  # Enter submits the search form
            wait_for_page(ff, tab, "/search.html")
            ff.click(tab, "#results li:nth-child(1) a")
            wait_for_page(ff, tab, "/article.html")
            ff.click(tab, "#notes")
            ff.type_text(tab, "claims within thirty days")
            ff.navigate(tab, site.url("/login.html"))
            ff.click(tab, "#user")
            ff.type_text(tab, "ada")
            ff.click(tab, "#credential")
            ff.type_text(tab, PASSWORD)
            ff.click(tab, "#toggle")  # the show-password trap: the field becomes type=text
            ff.click(tab, "#credential")
            ff.type_text(tab, PASSWORD)
            # Firefox saves the form state of the page shown (Chromium did save the toggled
            # field there): wait for a save that holds this form, then look in it.
            restore = session_restore_with(tmp_path / "browser-home" / "profile", b'"user":"ada"')
            assert PASSWORD.encode() not in restore, "Firefox's session restore kept it"
            ff.click(tab, "#sign-in")
            wait_for_page(ff, tab, "/article.html")
            settle()
            stored = ff.evaluate(probe, "browser.storage.local.get(null)")
            mark = ff.evaluate(probe, f"{BACKGROUND}.then(b => b.wpTestMark)")
            assert mark == 1, "the background page was suspended or restarted"
        stop_recorder(rec)

    events = web_events(home)
    base = site.url("")
    assert not any("?" in (e.url or "") for e in events), "query strings must be stripped"
    navs = [e for e in events if isinstance(e, WebNav)]
    assert any(n.url == f"{base}/search.html" and n.title == "Intranet search" for n in navs)
    assert any(n.url == f"{base}/article.html" and n.transition == "link" for n in navs)
    assert any(n.url == f"{base}/login.html" for n in navs)

    acts = [e for e in events if isinstance(e, WebAct)]
    check_result_click(acts, base)
    typed = {a.el_id: a for a in acts if a.act == "input"}
    assert typed["notes"].value == "claims within thirty days"  # text-content granted
    assert typed["notes"].url == f"{base}/article.html"
    assert typed["user"].value == "ada" and typed["user"].el_name == "User name"
    assert "credential" not in typed, "the password field was recorded"
    assert any(a.act == "click" and a.el_id == "toggle" for a in acts)
    assert any(a.act == "submit" and a.el_id == "login" for a in acts)

    searches = [e for e in events if isinstance(e, WebSearch)]
    assert [s.op for s in searches] == ["query", "open"]
    assert searches[0].query == "travel expenses"
    assert searches[1].rank == 1 and searches[1].domain == "127.0.0.1"

    # The extension's own storage, read through its API (Firefox keeps it compressed on disk).
    assert PASSWORD not in json.dumps(stored)
    # Every byte the browser (profile, caches, its HOME), the host and the recorder wrote, the
    # session-restore files decompressed.
    leaks = [str(p) for p in written_files(tmp_path) if leaked(p, PASSWORD)]
    assert leaks == [], f"{PASSWORD!r} found in {leaks}"
    assert PASSWORD not in run_cli(home, "events", "export").stdout


def test_firefox_paused_records_nothing(
    xsession: XSession, home: Path, tmp_path: Path, recorders: list[RecorderProcess]
) -> None:
    needs_firefox()
    with serve_site() as site:
        rec = start(home, xsession, site)
        recorders.append(rec)
        assert run_cli(home, "pause").returncode == 0
        with firefox_with_extension(home, tmp_path) as (ff, probe):
            wait_for_state(ff, probe, "paused")
            tab = ff.new_tab()
            ff.navigate(tab, site.url("/search.html?q=paused"))
            wait_for_badge(ff, probe, site.url("/search.html?q=paused"), "II")
            ff.click(tab, "#results li:nth-child(1) a")
            wait_for_page(ff, tab, "/article.html")
            ff.click(tab, "#notes")
            ff.type_text(tab, "while paused")
            ff.navigate(tab, site.url("/login.html"))
            ff.click(tab, "#user")
            ff.type_text(tab, "ada")
            settle()
            ff.navigate(tab, "about:blank")  # else the page shown at resume is announced
            assert run_cli(home, "resume").returncode == 0
            wait_for_state(ff, probe, "recording")
            ff.navigate(tab, site.url("/checkout.html"))  # proves the channel was live
            ff.click(tab, "#city")
            ff.type_text(tab, "Lyon")
            settle()
        stop_recorder(rec)

    events = web_events(home)
    checkout = site.url("/checkout.html")
    assert any(isinstance(e, WebNav) and e.url == checkout for e in events)
    assert any(isinstance(e, WebAct) and e.act == "input" and e.value == "Lyon" for e in events)
    assert [e for e in events if (e.url or checkout) != checkout] == [], "recorded while paused"
    assert "while paused" not in run_cli(home, "events", "export").stdout


def session_restore_with(profile: Path, needle: bytes, timeout: float = 20) -> bytes:
    """The session-restore file once Firefox has written one holding ``needle``."""
    recovery = profile / "sessionstore-backups" / "recovery.jsonlz4"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = mozlz4_decompress(recovery.read_bytes())
        except (OSError, IndexError, AssertionError):  # not there yet, or being replaced
            data = b""
        if needle in data:
            return data
        time.sleep(0.2)
    raise AssertionError(f"Firefox never saved a session with {needle!r} in {recovery}")


def test_bidi_client_returns_values_events_and_firefox_errors(tmp_path: Path) -> None:
    """The testbed's own BiDi client against real Firefox, no extension: remote values come
    back as JSON types, subscribed events arrive, and failures carry Firefox's reason."""
    needs_firefox()
    profile = tmp_path / "profile"
    write_profile(profile, ADDON_ID)
    with serve_site() as site, firefox(profile) as ff:
        ff.bidi.command("session.subscribe", {"events": ["log.entryAdded"]})
        tab = ff.new_tab()
        ff.navigate(tab, site.url("/article.html"))
        got = ff.evaluate(tab, "({title: document.title, n: [1, 2.5, null], ok: true})")
        assert got == {"title": "Travel expense policy", "n": [1, 2.5, None], "ok": True}
        ff.evaluate(tab, "console.log('from the page', 7)")
        entry = ff.bidi.wait_event("log.entryAdded", lambda p: p.get("text") == "from the page 7")
        assert entry["source"]["context"] == tab
        with pytest.raises(BidiError, match=r"script threw.*nope"):
            ff.evaluate(tab, "(() => { throw new Error('nope'); })()")
        with pytest.raises(BidiError, match=r"browsingContext\.navigate: no such frame"):
            ff.navigate("no-such-tab", site.url("/article.html"))
        with pytest.raises(BidiError, match=r"no log\.entryAdded event within 0\.2 s"):
            ff.bidi.wait_event("log.entryAdded", timeout=0.2)
        pid = ff.process.pid
    assert ff.process.poll() is not None, "firefox still runs after the context closed"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing of its process group is left


def leaked(path: Path, secret: str) -> bool:
    """``secret`` in the file's bytes (UTF-8 or UTF-16), or in its decompressed content if it
    is one of Firefox's mozLz4 files (session restore, add-on and search state)."""
    data = path.read_bytes()
    if data.startswith(MOZLZ4_MAGIC):
        data = mozlz4_decompress(data)
    return secret.encode() in data or secret.encode("utf-16-le") in data


MOZLZ4_MAGIC: Final = b"mozLz40\0"


def mozlz4_decompress(data: bytes) -> bytes:
    """Firefox's mozLz4: the magic, the size (u32 LE), one LZ4 block (lz4 block format)."""
    size = int.from_bytes(data[8:12], "little")
    src, out, i = data[12:], bytearray(), 0
    while i < len(src):
        token = src[i]
        i += 1
        literals = token >> 4
        if literals == 15:
            while src[i] == 255:
                literals += 255
                i += 1
            literals += src[i]
            i += 1
        out += src[i : i + literals]
        i += literals
        if i >= len(src):
            break
        offset = src[i] | src[i + 1] << 8
        i += 2
        length = token & 15
        if length == 15:
            while src[i] == 255:
                length += 255
                i += 1
            length += src[i]
            i += 1
        for _ in range(length + 4):  # byte by byte: a match may overlap what it copies
            out.append(out[-offset])
    assert len(out) == size, f"mozLz4 size {len(out)} != {size}"
    return bytes(out)
