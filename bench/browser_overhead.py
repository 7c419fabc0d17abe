"""The extension's content script: main-thread cost per page load and per event on a large page
(≥ 10,000 DOM nodes, 100 text mutations every 100 ms), side by side with the same page
in the same Chromium without the extension.

Debian's Chromium (/usr/bin/chromium) driven by Playwright; the page's renderer main-thread time
is CDP ``Performance.getMetrics`` ``TaskDuration`` (all main-thread tasks) and ``ScriptDuration``
(JavaScript, the content script's isolated world included). The extension is put in the
"recording" state through its own storage (as its service worker would after the recorder
answered), so the content script does all its work: describing elements, coalescing scrolls,
batching and posting events to the service worker, which queues them (no recorder runs here:
the count of events the content script posted is printed as the proof that it was live).

Per event = (extension's extra main-thread time during the interaction phase) / events
dispatched; the background of the mutating page (time per second when idle, measured in each
run) is subtracted from both sides first. Runs alternate without/with the extension.

usage: .venv/bin/python bench/browser_overhead.py [--rows 2000] [--events 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extension"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RECORDING = (
    "chrome.storage.local.set({wp: {state: 'recording', text: false, exclude_sites: [], "
    "sensitive_selectors: [], search_sites: []}})"
)
# Counts what the content scripts post (the worker itself drops it: no recorder answers).
COUNT_EVENTS = (
    "globalThis.benchSeen = 0; chrome.runtime.onMessage.addListener((m) => {"
    " if (m && m.op === 'events') globalThis.benchSeen += m.events.length; })"
)


def big_page(rows: int) -> bytes:
    """A table of ``rows`` rows (each: a button, a text field, a link, two text cells: ~6 nodes
    per row plus text nodes), and a timer rewriting 100 random cells every 100 ms."""
    body = "".join(
        f'<tr><td><button id="b{i}">Open {i}</button></td><td><input name="f{i}"></td>'
        f'<td><a href="#r{i}">row {i}</a></td><td class="c">{i}</td><td>{i * 7}</td></tr>'
        for i in range(rows)
    )
    script = (
        "const cells = document.querySelectorAll('td.c'); let n = 0;"
        "setInterval(() => { for (let k = 0; k < 100; k++) {"
        " cells[(n * 7919 + k * 104729) % cells.length].textContent = String(n + k); }"
        " n++; }, 100);"
    )
    return (
        f"<!doctype html><html><head><title>Large page</title></head><body>"
        f'<table style="table-layout:fixed;width:900px">{body}</table>'
        f"<script>{script}</script></body></html>"
    ).encode()


@contextmanager
def serve(page: bytes) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/big.html"
    finally:
        server.shutdown()
        server.server_close()


def metrics(cdp: Any) -> dict[str, float]:
    got = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: float(m["value"]) for m in got}


def one_run(pw: Any, url: str, extension: bool, events: int) -> dict[str, float]:
    """One fresh browser: a page load, 2 s idle, then ``events`` clicks, key presses and wheel
    notches (a third each). Main-thread seconds of each phase."""
    args = list(ARGS)
    if extension:
        args += [f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}"]
    with tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            worker = None
            if extension:
                workers = context.service_workers
                worker = workers[0] if workers else context.wait_for_event("serviceworker")
                time.sleep(1.0)  # its first (failing) state poll
                worker.evaluate(COUNT_EVENTS)
                worker.evaluate(RECORDING)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(url, wait_until="load")
            page.wait_for_timeout(500)
            loaded = metrics(cdp)
            nodes = page.evaluate("document.getElementsByTagName('*').length")
            page.wait_for_timeout(2000)
            idle = metrics(cdp)
            start = time.monotonic()
            third = events // 3
            for i in range(third):
                page.mouse.click(40, 12 + (i % 20) * 22)
            page.click("input[name=f1]")
            for i in range(third):
                page.keyboard.press("abcdefgh"[i % 8])
            for _ in range(third):
                page.mouse.wheel(0, 40)
            page.wait_for_timeout(600)  # the last scroll burst and batch
            wall = time.monotonic() - start
            acted = metrics(cdp)
            queued = float(worker.evaluate("globalThis.benchSeen")) if worker is not None else 0.0
        finally:
            context.close()
    idle_task = (idle["TaskDuration"] - loaded["TaskDuration"]) / 2.0
    return {
        "nodes": float(nodes),
        "load_task": loaded["TaskDuration"],
        "load_script": loaded["ScriptDuration"],
        "idle_task_per_s": idle_task,
        "act_task": acted["TaskDuration"] - idle["TaskDuration"] - idle_task * wall,
        "act_script": acted["ScriptDuration"] - idle["ScriptDuration"],
        "wall": wall,
        "events": float(3 * third + 1),
        "queued": queued,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with serve(big_page(opts.rows)) as url, sync_playwright() as pw:
        for run in range(opts.runs):
            for extension in (False, True):
                got = one_run(pw, url, extension, opts.events)
                results[extension].append(got)
                print(
                    f"run {run + 1} {'with' if extension else 'without'} extension: "
                    + ", ".join(f"{k}={v:.4f}" for k, v in got.items()),
                    file=sys.stderr,
                )

    def med(extension: bool, key: str) -> float:
        return statistics.median(r[key] for r in results[extension])

    nodes = int(med(False, "nodes"))
    print(f"page: {nodes} DOM nodes, 100 text mutations / 100 ms; {opts.runs} runs each, medians")
    print("                              without ext   with ext     added")
    for label, key in (
        ("page load TaskDuration (ms)", "load_task"),
        ("page load ScriptDuration (ms)", "load_script"),
        ("idle main thread (ms/s)", "idle_task_per_s"),
        ("interaction TaskDuration (ms)", "act_task"),
        ("interaction ScriptDuration (ms)", "act_script"),
    ):
        a, b = med(False, key) * 1000, med(True, key) * 1000
        print(f"{label:31s} {a:11.2f} {b:10.2f} {b - a:+9.2f} ({(b - a) / a * 100:+.1f}%)")
    n = med(True, "events")
    per_task = (med(True, "act_task") - med(False, "act_task")) / n * 1000
    per_script = (med(True, "act_script") - med(False, "act_script")) / n * 1000
    total_a = med(False, "load_task") + med(False, "act_task") + 2 * med(False, "idle_task_per_s")
    total_b = med(True, "load_task") + med(True, "act_task") + 2 * med(True, "idle_task_per_s")
    print(
        f"per event ({int(n)} dispatched): +{per_task:.4f} ms main-thread task time, "
        f"+{per_script:.4f} ms script time (target < 0.05 ms)"
    )
    print(
        f"whole scenario (load + 2 s idle + interaction): +{(total_b - total_a) * 1000:.1f} ms "
        f"= {(total_b - total_a) / total_a * 100:+.1f}% main-thread time (target < 5%)"
    )
    print(f"events the content script posted to the service worker: {med(True, 'queued'):.0f}")


if __name__ == "__main__":
    main()
