"""Real Chromium (Debian's) with the unpacked extension, driven by Playwright, delivering to a
real recorder through the real native messaging host; the test site served on 127.0.0.1."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RecorderProcess, exported_events, run_cli
from workprint.events import WebAct, WebDwell, WebNav, WebSearch, WebTab
from workprint.policy.browser_gate import WebEvent
from workprint.testbed.chromium import CHROMIUM, CHROMIUM_ARGS

SITE_DIR = Path(__file__).parent / "data" / "websites"
EXTENSION_DIR = Path(__file__).resolve().parents[1] / "extension"

# What a person types that must never appear in any byte written.
PASSWORD = "Hunter2-Sesame-9931"
CARD_NUMBER = "4111111111111111"
CARD_CVC = "737"
ONE_TIME_CODE = "582914"


def needs_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")


@dataclass
class TestSite:
    """The pages in tests/data/websites on 127.0.0.1; ``PORT`` in a page becomes the port."""

    server: http.server.ThreadingHTTPServer
    requests: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def serve_site() -> Iterator[TestSite]:
    holder: list[TestSite] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site = holder[0]
            site.requests.append(f"{self.headers.get('Host')}{self.path}")
            name = self.path.split("?", 1)[0].lstrip("/") or "search.html"
            page = SITE_DIR / name
            if "/" in name or not page.is_file():
                self.send_error(404)
                return
            body = page.read_bytes().replace(b"PORT", str(site.port).encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)  # read and forgotten: the site keeps nothing
            self.send_response(303)
            self.send_header("Location", "/article.html")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(TestSite(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()


def browser_policy(site: TestSite, *, excluded: tuple[str, ...] = ()) -> str:
    """A policy file: the test site's search page is an internal search site."""
    sites = ", ".join(f'"{s}"' for s in ("127.0.0.1:8420", *excluded))
    return (
        "[browser]\n"
        f"exclude_sites = [{sites}]\n"
        'sensitive_selectors = [".private-note"]\n\n'
        "[[browser.search_sites]]\n"
        'name = "intranet"\n'
        f'host = "127.0.0.1:{site.port}"\n'
        'path = "/search.html"\n'
        'param = "q"\n'
        'results = "[data-result] a[href]"\n'
    )


@contextmanager
def chromium_with_extension(profile: Path, *, toolbar: bool = False) -> Iterator[Any]:
    """A persistent Chromium context (profile dir ``profile``) with the unpacked extension.
    ``toolbar``: allow CDP's ``Extensions.triggerAction`` (``click_toolbar_button``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                f"--disable-extensions-except={EXTENSION_DIR}",
                f"--load-extension={EXTENSION_DIR}",
                *(["--enable-unsafe-extension-debugging"] if toolbar else []),
            ],
        )
        try:
            yield context
        finally:
            context.close()


def service_worker(context: Any) -> Any:
    workers = context.service_workers
    return workers[0] if workers else context.wait_for_event("serviceworker", timeout=20_000)


def wait_for_state(worker: Any, state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.evaluate("wpDebug.config().state") == state:
            return
        time.sleep(0.1)
    raise AssertionError(
        f"extension never reached state {state!r}: {worker.evaluate('wpDebug.config()')}"
    )


def tab_id(worker: Any, url: str) -> int:
    """The extension's id of the tab showing ``url``."""
    found = worker.evaluate(
        "url => chrome.tabs.query({}).then(tabs => (tabs.find(t => t.url === url) || {}).id)", url
    )
    assert isinstance(found, int), f"no tab shows {url}"
    return found


def badge(worker: Any, tab: int) -> tuple[str, str]:
    """The toolbar badge's text and tooltip for ``tab``, read back from the browser."""
    got = worker.evaluate(
        "tabId => Promise.all("
        "[chrome.action.getBadgeText({tabId}), chrome.action.getTitle({tabId})])",
        tab,
    )
    return str(got[0]), str(got[1])


def wait_for_badge(worker: Any, tab: int, text: str, timeout: float = 20) -> str:
    """Waits until ``tab``'s badge reads ``text``; returns its tooltip."""
    deadline = time.monotonic() + timeout
    shown = badge(worker, tab)
    while shown[0] != text and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = badge(worker, tab)
    assert shown[0] == text, f"badge of tab {tab} is {shown}, expected {text!r}"
    return shown[1]


def click_toolbar_button(context: Any, worker: Any, url: str) -> None:
    """What a click on the extension's toolbar button does, through the browser itself: CDP's
    ``Extensions.triggerAction`` on the tab showing ``url`` dispatches ``action.onClicked``."""
    cdp = context.browser.new_browser_cdp_session()
    try:
        targets = cdp.send("Target.getTargets", {"filter": [{"type": "tab"}]})["targetInfos"]
        tab = next(t for t in targets if t["type"] == "tab" and t["url"] == url)
        extension_id = worker.url.split("/")[2]
        cdp.send("Extensions.triggerAction", {"id": extension_id, "targetId": tab["targetId"]})
    finally:
        cdp.detach()


def install_host(home: Path, profile: Path) -> None:
    result = run_cli(
        home,
        "browser",
        "install",
        "--browser",
        "chromium",
        "--manifest-dir",
        str(profile / "NativeMessagingHosts"),
    )
    assert result.returncode == 0, result.stderr


def web_events(home: Path) -> list[WebEvent]:
    return [
        e
        for e in exported_events(home)
        if isinstance(e, WebNav | WebTab | WebAct | WebDwell | WebSearch)
    ]


def settle(seconds: float = 1.2) -> None:
    """Let the extension's 100 ms batches and the recorder's flush reach the spool."""
    time.sleep(seconds)


def stop_recorder(rec: RecorderProcess) -> None:
    code, err = rec.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


def check_result_click(acts: list[WebAct], base: str) -> None:
    """The click on the test site's first search result, as every browser must report it:
    stable selector, accessible name and role, page URL, box, viewport and position."""
    result_click = next(a for a in acts if a.act == "click" and a.el_tag == "a")
    assert result_click.el_selector == "#results > li:nth-of-type(1) > a"
    assert result_click.el_name == "Travel expense policy" and result_click.el_role == "link"
    assert result_click.url == f"{base}/search.html"
    assert len(result_click.el_box) == 4 and result_click.vw and result_click.vh
    assert result_click.x is not None and result_click.el_box[0] <= result_click.x
