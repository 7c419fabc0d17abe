"""The extension's content script: main-thread cost per page load and per event on a large page
(≥ 10,000 DOM nodes, 100 text mutations every 100 ms), side by side with the same page
in the same Chromium without the extension.

Debian's Chromium (/usr/bin/chromium) driven by Playwright; the page's renderer main-thread time
is CDP ``Performance.getMetrics`` ``TaskDuration`` (all main-thread tasks) and ``ScriptDuration``
(JavaScript, the content script's isolated world included), both in the main thread's CPU time
(``timeDomain: threadTicks``), not wall time. The extension is put in the "recording" state
through its own storage (as its service worker would after the recorder answered), so the
content script does all its work: describing elements, coalescing scrolls, batching and posting
events to the service worker, which queues them (no recorder runs here: the count of events the
content script posted is printed as the proof that it was live).

The interaction: each of a third of the events is a wheel notch followed by a click on the row
then under the pointer (a new row each time, half-way down the table: no selector comes from a
cache), then a field is clicked and a third are key presses into it.

Per event = (extension's extra script time during the interaction phase) / events dispatched;
the page's own timer, which keeps mutating the table meanwhile, is taken out of both sides (the
page measures its timer's work itself with performance.now(); an estimate from the idle phase's
rate was too noisy: the page's script time per second varied 2x between runs). Runs alternate
without/with the extension; medians.

Two more views of the content script's cost: its own time, measured inside it with
``performance.now()`` around every handler, timer and observer callback (the "bench" flag this
script sets in the extension's storage turns that on; wall time, so inflated when the machine
is busy), and with ``--profile`` a CDP CPU profile of the interaction phase charged to the
extension's functions (where the time goes).

usage: .venv/bin/python bench/browser_overhead.py [--rows 2000] [--events 300] [--runs 3]
       [--state recording|paused] [--profile]
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

from workprint.testbed.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extension"
SET_STATE = (
    "state => chrome.storage.local.set({wp: {state, text: false, exclude_sites: [], "
    "sensitive_selectors: [], search_sites: [], bench: true}})"
)
# Counts what the content scripts post (a port since the batching rework; one-off messages
# before) (the worker itself drops it: no recorder answers).
# (and keeps the content script's own timing, which the "bench" flag makes it send along).
COUNT_EVENTS = (
    "globalThis.benchSeen = 0; globalThis.benchTiming = {};"
    " chrome.runtime.onConnect.addListener((p) => p.onMessage.addListener((m) => {"
    " if (m && m.op === 'events') { globalThis.benchSeen += m.events.length;"
    " globalThis.benchTiming = m.timing || {}; } }));"
    " chrome.runtime.onMessage.addListener((m) => {"
    " if (m && m.op === 'events') globalThis.benchSeen += m.events.length; })"
)
OWN_PARTS = ("click", "input", "scroll", "flush", "boxes", "settle", "observers")


def big_page(rows: int) -> bytes:
    """A table of ``rows`` rows (each: a button, a text field, a link, two text cells: ~6 nodes
    per row plus text nodes), and a timer rewriting 100 random cells every 100 ms."""
    body = "".join(
        f'<tr><td><button id="b{i}">Open {i}</button></td><td><input name="f{i}"></td>'
        f'<td><a href="#r{i}">row {i}</a></td><td class="c">{i}</td><td>{i * 7}</td></tr>'
        for i in range(rows)
    )
    script = (
        "const cells = document.querySelectorAll('td.c'); let n = 0; window.benchPageMs = 0;"
        "setInterval(() => { const t0 = performance.now(); for (let k = 0; k < 100; k++) {"
        " cells[(n * 7919 + k * 104729) % cells.length].textContent = String(n + k); }"
        " n++; window.benchPageMs += performance.now() - t0; }, 100);"
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


def print_profile(profile: dict[str, Any], top: int = 25) -> float:
    """Where the extension's script time went: each CPU sample whose stack holds a frame of the
    extension is charged to (innermost extension function, leaf function), so a DOM call such as
    ``getBoundingClientRect`` (and the layout it forces) shows under the function that made it."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent: dict[int, int] = {}
    for n in profile["nodes"]:
        for child in n.get("children", []):
            parent[child] = n["id"]
    charged: dict[tuple[str, str], float] = {}
    total = 0.0
    for sample, delta in zip(profile["samples"], [*profile["timeDeltas"][1:], 0], strict=True):
        leaf = nodes[sample]["callFrame"]
        node_id: int | None = sample
        while node_id is not None:
            frame = nodes[node_id]["callFrame"]
            if frame["url"].startswith("chrome-extension://"):
                own = f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1} "
                own += frame["functionName"] or "(anonymous)"
                key = (own, leaf["functionName"] or "(anonymous)")
                charged[key] = charged.get(key, 0.0) + delta / 1000.0
                total += delta / 1000.0
                break
            node_id = parent.get(node_id)
    print(f"extension script time in the profile: {total:.1f} ms", file=sys.stderr)
    for (own, leaf), ms in sorted(charged.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {ms:8.2f} ms  {own}  →  {leaf}", file=sys.stderr)
    return total / 1000.0


def own_time(worker: Any) -> dict[str, float]:
    """The content script's own time (ms) per part so far, as its last batch reported it."""
    got = worker.evaluate("globalThis.benchTiming") if worker is not None else {}
    return {k: float(got.get(k, 0.0)) for k in OWN_PARTS}


def one_run(
    pw: Any,
    url: str,
    extension: bool,
    events: int,
    profile: bool = False,
    state: str = "recording",
    extension_dir: Path = EXTENSION,
) -> dict[str, float]:
    """One fresh browser: a page load, 2 s idle, then ``events`` clicks, key presses and wheel
    notches (a third each). Main-thread seconds of each phase."""
    args = list(CHROMIUM_ARGS)
    if extension:
        args += [
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
        ]
    with tempfile.TemporaryDirectory() as profile_dir:
        context = pw.chromium.launch_persistent_context(
            profile_dir, executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            worker = None
            if extension:
                workers = context.service_workers
                worker = workers[0] if workers else context.wait_for_event("serviceworker")
                time.sleep(1.0)  # its first (failing) state poll
                worker.evaluate(COUNT_EVENTS)
                worker.evaluate(SET_STATE, state)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            # Durations in the main thread's CPU time, not wall time: on a shared machine a
            # descheduled thread would otherwise charge its wait to whatever script was running.
            cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
            page.goto(url, wait_until="load")
            page.wait_for_timeout(500)
            loaded = metrics(cdp)
            nodes = page.evaluate("document.getElementsByTagName('*').length")
            # Mid-table, so that a click's element has ~1,000 rows before it (the selector's
            # :nth-of-type), then 2 s of the page's own work alone.
            page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
            page.wait_for_timeout(300)
            settled = metrics(cdp)  # the idle phase starts here, after these scripts' work
            page_ms_settled = page.evaluate("window.benchPageMs")
            page.wait_for_timeout(2000)
            idle = metrics(cdp)
            page_ms_idle = page.evaluate("window.benchPageMs")
            own_before = own_time(worker)
            if profile:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 50})
                cdp.send("Profiler.start")
            start = time.monotonic()
            third = events // 3
            for _ in range(third):  # each click on a new row: no selector comes from a cache
                page.mouse.wheel(0, 40)
                page.mouse.click(40, 300)
            page.mouse.click(260, 300)  # a text field of the row
            for i in range(third):
                page.keyboard.press("abcdefgh"[i % 8])
            page.wait_for_timeout(600)  # the last scroll burst and batch
            wall = time.monotonic() - start
            acted = metrics(cdp)
            page_ms_acted = page.evaluate("window.benchPageMs")
            profiled = print_profile(cdp.send("Profiler.stop")["profile"]) if profile else 0.0
            queued = float(worker.evaluate("globalThis.benchSeen")) if worker is not None else 0.0
            own_after = own_time(worker)
        finally:
            context.close()
    idle_task = (idle["TaskDuration"] - settled["TaskDuration"]) / 2.0
    idle_script = (idle["ScriptDuration"] - settled["ScriptDuration"]) / 2.0
    # The page's own timer keeps running during the interaction: the time it measured itself
    # (performance.now() around its work) is taken out of both sides' script time.
    page_ms = (page_ms_acted - page_ms_idle) / 1000.0
    return {
        "nodes": float(nodes),
        "load_task": loaded["TaskDuration"],
        "load_script": loaded["ScriptDuration"],
        "idle_task_per_s": idle_task,
        "idle_script_per_s": idle_script,
        "act_task": acted["TaskDuration"] - idle["TaskDuration"] - page_ms,
        "act_script": acted["ScriptDuration"] - idle["ScriptDuration"] - page_ms,
        "wall": wall,
        "page_timer": page_ms,
        "idle_page_timer_per_s": (page_ms_idle - page_ms_settled) / 2000.0,
        "act_script_raw": acted["ScriptDuration"] - idle["ScriptDuration"],
        "events": float(3 * third + 1),
        "queued": queued,
        "profiled_ext": profiled,
        **{f"own_{k}": (own_after[k] - own_before[k]) / 1000.0 for k in OWN_PARTS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--state",
        default="recording",
        choices=("recording", "paused"),
        help="the recorder state the extension is put in (paused: the cost of merely being there)",
    )
    parser.add_argument(
        "--extension",
        type=Path,
        default=EXTENSION,
        help="the unpacked extension to measure (e.g. an older version, to compare)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the interaction phase with the CDP Profiler, print the extension's top costs",
    )
    opts = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with serve(big_page(opts.rows)) as url, sync_playwright() as pw:
        for run in range(opts.runs):
            for extension in (False, True):
                got = one_run(
                    pw,
                    url,
                    extension,
                    opts.events,
                    opts.profile and extension,
                    opts.state,
                    opts.extension,
                )
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
        ("idle script (ms/s)", "idle_script_per_s"),
        ("interaction TaskDuration (ms)", "act_task"),
        ("interaction ScriptDuration (ms)", "act_script"),
    ):
        a, b = med(False, key) * 1000, med(True, key) * 1000
        share = f" ({(b - a) / a * 100:+.1f}%)" if a > 0.5 else ""
        print(f"{label:31s} {a:11.2f} {b:10.2f} {b - a:+9.2f}{share}")
    n = med(True, "events")
    sent = med(True, "queued")
    per_task = (med(True, "act_task") - med(False, "act_task")) / n * 1000
    added_script = med(True, "act_script") - med(False, "act_script")
    print(
        f"per event ({int(n)} dispatched): +{per_task:.4f} ms main-thread task time, "
        f"+{added_script / n * 1000:.4f} ms script time (target < 0.05 ms); "
        f"+{added_script / max(sent, 1) * 1000:.4f} ms script time per event sent ({sent:.0f})"
    )
    # The same in CPU time only: the page alone runs its timer at a rate (script CPU ms per
    # second of the interaction phase, runs without the extension); what the runs with it used
    # beyond that rate over their own phase is the extension's.
    rate = statistics.median(r["act_script_raw"] / r["wall"] for r in results[False])
    beyond = statistics.median(r["act_script_raw"] - rate * r["wall"] for r in results[True])
    print(
        f"script CPU time beyond the page's own rate ({rate * 1000:.2f} ms/s): "
        f"{beyond * 1000:+.1f} ms = {beyond / n * 1000:.4f} ms per event dispatched, "
        f"{beyond / max(sent, 1) * 1000:.4f} ms per event sent"
    )
    own = {k: med(True, f"own_{k}") * 1000 for k in OWN_PARTS}
    print(
        f"content script's own time in the interaction (performance.now() around its handlers, "
        f"timers and observers): {sum(own.values()):.1f} ms = "
        f"{sum(own.values()) / n:.4f} ms per event dispatched ("
        + ", ".join(f"{k} {v:.1f}" for k, v in own.items())
        + ")"
    )
    if opts.profile:
        profiled = med(True, "profiled_ext")
        print(
            f"CPU profile, samples in the extension's own functions (and the DOM calls they make) "
            f"during the interaction: {profiled * 1000:.1f} ms = {profiled / n * 1000:.4f} ms "
            "per event dispatched"
        )
    total_a = med(False, "load_task") + med(False, "act_task") + 2 * med(False, "idle_task_per_s")
    total_b = med(True, "load_task") + med(True, "act_task") + 2 * med(True, "idle_task_per_s")
    print(
        f"whole scenario (load + 2 s idle + interaction): +{(total_b - total_a) * 1000:.1f} ms "
        f"= {(total_b - total_a) / total_a * 100:+.1f}% main-thread time (target < 5%)"
    )
    script_added = (
        med(True, "load_script")
        - med(False, "load_script")
        + 2 * (med(True, "idle_script_per_s") - med(False, "idle_script_per_s"))
        + added_script
    )
    print(
        f"added script time over the whole scenario: {script_added * 1000:+.1f} ms = "
        f"{script_added / total_a * 100:+.2f}% of the page's main-thread time without the "
        "extension"
    )


if __name__ == "__main__":
    main()
