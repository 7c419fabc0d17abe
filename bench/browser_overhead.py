"""The extension's content script: main-thread cost per event (by event type) and per page load on
a large page (≥ 10,000 DOM nodes, 100 text mutations every 100 ms), side by side with the same
page in the same Chromium without the extension, with the recorder "recording" and "paused".

Debian's Chromium (/usr/bin/chromium) driven by Playwright. Durations are CDP
``Performance.getMetrics`` in the renderer main thread's CPU time (``timeDomain:
threadTicks``), not wall time: ``ScriptDuration`` (all JavaScript, the content script's isolated
world included) and ``TaskDuration`` (all main-thread work: layout, paint, ...).

Why not simply (script time with − without) / events: the page's own timer keeps mutating the
table during the interaction, and how many times it fires depends on how long the phase took,
which differs between runs and between a loaded and an idle machine. The page counts its timer's
ticks; each browser first measures the script CPU time per tick during 3 s of idle, and every
phase's script time has ``ticks × that`` taken out. What is left is script caused by the
interaction (the extension's, and Playwright's few evaluations, which both sides have). Per
event = (left-over with − left-over without) / events, medians over runs; runs alternate
without / recording / paused, each in a fresh browser and profile.

Each event type is its own phase, after a warm-up of the same type (not counted): ``click`` (a
click on a button of a new row each time, after the pointer moved there), ``keystroke`` (key
presses into a field of the table), ``scroll`` (wheel notches), ``mousemove`` (moves only). A
phase ends with 0.7 s of quiet so its batches and scroll bursts are in it. The recording state
is set through the extension's own storage (as its service worker does once the recorder
answered); with no recorder, the worker counts what the content script posted, printed as the
proof that it was live.

``--profile``: a CDP CPU profile of the phases, charged to the extension's own functions (where
its time goes).

usage: .venv/bin/python bench/browser_overhead.py [--rows 2000] [--events 300] [--runs 3]
       [--states recording,paused] [--profile] [--extension DIR]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workprint.testbed.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extension"
SET_STATE = (
    "state => chrome.storage.local.set({wp: {state, text: false, exclude_sites: [], "
    "sensitive_selectors: [], search_sites: []}})"
)
# The worker counts the events content scripts post (it drops them: no recorder answers).
COUNT_EVENTS = (
    "globalThis.benchSeen = 0;"
    " chrome.runtime.onConnect.addListener((p) => p.onMessage.addListener((m) => {"
    " if (m && m.op === 'events') globalThis.benchSeen += m.events.length; }));"
)
KINDS = ("click", "keystroke", "scroll", "mousemove")
WARM_UP = 30
QUIET_MS = 700
IDLE_MS = 3000


def big_page(rows: int) -> bytes:
    """A table of ``rows`` rows (each: a button, a text field, a link, two text cells: ~9 nodes a
    row) and a timer rewriting 100 cells every 100 ms; ``benchTicks`` counts its runs."""
    body = "".join(
        f'<tr><td><button id="b{i}">Open {i}</button></td><td><input name="f{i}"></td>'
        f'<td><a href="#r{i}">row {i}</a></td><td class="c">{i}</td><td>{i * 7}</td></tr>'
        for i in range(rows)
    )
    script = (
        "const cells = document.querySelectorAll('td.c'); let n = 0; window.benchTicks = 0;"
        "setInterval(() => { for (let k = 0; k < 100; k++) {"
        " cells[(n * 7919 + k * 104729) % cells.length].textContent = String(n + k); }"
        " n++; window.benchTicks++; }, 100);"
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


def print_profile(profile: dict[str, Any], top: int = 15) -> float:
    """Where the extension's script time went: each CPU sample whose stack holds a frame of the
    extension is charged to (innermost extension function, leaf function), so a DOM call such as
    ``getBoundingClientRect`` (and the layout it forces) shows under the function that made it."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    charged: dict[tuple[str, str], float] = {}
    for sample, delta in zip(profile["samples"], [*profile["timeDeltas"][1:], 0], strict=True):
        leaf = nodes[sample]["callFrame"]["functionName"] or "(anonymous)"
        node_id: int | None = sample
        while node_id is not None:
            frame = nodes[node_id]["callFrame"]
            if frame["url"].startswith("chrome-extension://"):
                own = f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1} "
                key = (own + (frame["functionName"] or "(anonymous)"), leaf)
                charged[key] = charged.get(key, 0.0) + delta / 1000.0
                break
            node_id = parent.get(node_id)
    total = sum(charged.values())
    print(f"  extension's functions in the CPU profile: {total:.1f} ms", file=sys.stderr)
    for (own, leaf), ms in sorted(charged.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {ms:8.2f} ms  {own}  →  {leaf}", file=sys.stderr)
    return total / 1000.0


class Tab:
    """One page in one fresh browser, and the main thread's CPU clock of its renderer."""

    def __init__(self, page: Any, cdp: Any) -> None:
        self.page = page
        self.cdp = cdp
        self.per_tick = 0.0  # the page timer's script CPU seconds per run, calibrated in idle

    def clocks(self) -> tuple[float, float, int]:
        """(ScriptDuration, TaskDuration, page timer ticks) now."""
        got = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        ticks = int(self.page.evaluate("window.benchTicks"))
        return float(got["ScriptDuration"]), float(got["TaskDuration"]), ticks

    def layout(self) -> float:
        """Layout and style recalculation CPU seconds now: a handler that forces a synchronous
        layout shows here (and whether it also shows in ``ScriptDuration`` is then visible)."""
        got = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return float(got["LayoutDuration"]) + float(got["RecalcStyleDuration"])

    def measure(self, act: Callable[[], None]) -> dict[str, float]:
        """Script and task CPU seconds of ``act`` plus the quiet after it, the page timer's share
        of the script taken out; layout + style time alongside."""
        layout0 = self.layout()
        script0, task0, ticks0 = self.clocks()
        act()
        self.page.wait_for_timeout(QUIET_MS)
        script1, task1, ticks1 = self.clocks()
        layout1 = self.layout()
        ticks = ticks1 - ticks0
        return {
            "script": script1 - script0 - ticks * self.per_tick,
            "task": task1 - task0,
            "layout": layout1 - layout0,
            "ticks": float(ticks),
        }


def interactions(page: Any) -> dict[str, Callable[[int], None]]:
    """Each kind's way of dispatching ``n`` events, through CDP input only (no script in the
    page). Clicks go down the visible rows, then a wheel turn shows new ones: a new element, and
    so a new selector, every time."""

    def click(n: int) -> None:
        for i in range(n):
            page.mouse.click(40, 60 + 30 * (i % 20))
            if i % 20 == 19:
                page.mouse.wheel(0, 600)

    def keystroke(n: int) -> None:
        page.mouse.click(260, 300)  # a text field of the row there
        for i in range(n):
            page.keyboard.press("abcdefgh"[i % 8])

    def scroll(n: int) -> None:
        for i in range(n):
            page.mouse.wheel(0, 40 if i % 2 == 0 else -40)

    def mousemove(n: int) -> None:
        for i in range(n):
            page.mouse.move(100 + (i * 37) % 600, 100 + (i * 53) % 400)

    return {"click": click, "keystroke": keystroke, "scroll": scroll, "mousemove": mousemove}


def one_run(
    pw: Any, url: str, state: str | None, events: int, extension_dir: Path, profile: bool
) -> dict[str, float]:
    """A fresh browser (``state`` None: without the extension): the page load, 3 s idle, then
    each kind of event. CPU seconds of each phase."""
    args = list(CHROMIUM_ARGS)
    if state is not None:
        args += [
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
        ]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as profile_dir:
        context = pw.chromium.launch_persistent_context(
            profile_dir, executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            worker = None
            if state is not None:
                workers = context.service_workers
                worker = workers[0] if workers else context.wait_for_event("serviceworker")
                time.sleep(1.0)  # its first (failing) poll for a recorder
                worker.evaluate(COUNT_EVENTS)
                worker.evaluate(SET_STATE, state)
            page = context.new_page()
            page.set_viewport_size({"width": 1000, "height": 700})
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
            tab = Tab(page, cdp)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(500)
            out["load_script"], out["load_task"], _ = tab.clocks()
            out["nodes"] = float(page.evaluate("document.getElementsByTagName('*').length"))
            page.evaluate("window.scrollTo(0, document.body.scrollHeight / 3)")
            page.wait_for_timeout(300)
            page.wait_for_timeout(IDLE_MS)  # the page's timer warms up (its code optimised)
            script0, task0, ticks0 = tab.clocks()
            page.wait_for_timeout(IDLE_MS)
            script1, task1, ticks1 = tab.clocks()
            tab.per_tick = (script1 - script0) / max(ticks1 - ticks0, 1)
            out["idle_script_per_s"] = (script1 - script0) / (IDLE_MS / 1000)
            out["idle_task_per_s"] = (task1 - task0) / (IDLE_MS / 1000)
            out["per_tick"] = tab.per_tick
            if profile and state is not None:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                cdp.send("Profiler.start")
            acts = interactions(page)
            for kind in KINDS:
                acts[kind](WARM_UP)
                page.wait_for_timeout(QUIET_MS)
                got = tab.measure(functools.partial(acts[kind], events))
                for key, value in got.items():
                    out[f"{kind}_{key}"] = value
            script0, task0, ticks0 = tab.clocks()
            page.wait_for_timeout(IDLE_MS)
            script1, task1, ticks1 = tab.clocks()
            out["per_tick_end"] = (script1 - script0) / max(ticks1 - ticks0, 1)
            if profile and state is not None:
                print(f"run with the extension {state}:", file=sys.stderr)
                print_profile(cdp.send("Profiler.stop")["profile"])
            out["posted"] = float(worker.evaluate("globalThis.benchSeen")) if worker else 0.0
        finally:
            context.close()
    return out


def uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def report(results: dict[str | None, list[dict[str, float]]], events: int, runs: int) -> None:
    def med(state: str | None, key: str) -> float:
        return statistics.median(r[key] for r in results[state])

    def spread(state: str | None, key: str) -> str:
        values = sorted(r[key] for r in results[state])
        return f"{values[0] * 1000:.2f}…{values[-1] * 1000:.2f}"

    states = [s for s in results if s is not None]
    print(
        f"page: {int(med(None, 'nodes'))} DOM nodes, 100 text mutations / 100 ms; {events} "
        f"events per kind after {WARM_UP} warm-up; {runs} runs, medians; CPU time"
    )
    print(
        f"page timer's script per tick (without): {med(None, 'per_tick') * 1000:.3f} ms "
        f"(after the events: {med(None, 'per_tick_end') * 1000:.3f} ms); "
        f"left-over script without the extension per event: "
        + ", ".join(f"{k} {med(None, f'{k}_script') / events * 1000:+.4f} ms" for k in KINDS)
    )
    for state in states:
        posted = med(state, "posted")
        print(f"\nextension {state} (events the content script posted: {posted:.0f})")
        print(
            "  per event (ms)      added script   (runs: min…max, µs)   added task time"
            "   added layout+style"
        )
        for kind in KINDS:
            added = [
                (r[f"{kind}_script"] - med(None, f"{kind}_script")) / events for r in results[state]
            ]
            task = (med(state, f"{kind}_task") - med(None, f"{kind}_task")) / events
            layout = (med(state, f"{kind}_layout") - med(None, f"{kind}_layout")) / events
            print(
                f"  {kind:12s} {statistics.median(added) * 1000:+14.4f}   "
                f"({min(added) * 1e6:+.1f}…{max(added) * 1e6:+.1f})"
                f"{task * 1000:+22.3f}{layout * 1000:+21.4f}"
            )
        load_script = med(state, "load_script") - med(None, "load_script")
        load_task = med(state, "load_task") - med(None, "load_task")
        idle = med(state, "idle_script_per_s") - med(None, "idle_script_per_s")
        print(
            f"  per page load: {load_script * 1000:+.2f} ms script "
            f"(without {med(None, 'load_script') * 1000:.2f}, with "
            f"{spread(state, 'load_script')}), {load_task * 1000:+.1f} ms task time"
        )
        print(f"  idle (page timer only): {idle * 1000:+.3f} ms script per second")
        total_without = med(None, "load_task") + sum(med(None, f"{k}_task") for k in KINDS)
        added_script = load_script + sum(
            med(state, f"{k}_script") - med(None, f"{k}_script") for k in KINDS
        )
        total_with = med(state, "load_task") + sum(med(state, f"{k}_task") for k in KINDS)
        print(
            f"  whole scenario (load + {len(KINDS)}×{events + WARM_UP} events): added script "
            f"{added_script * 1000:+.1f} ms = {added_script / total_without * 100:+.2f}% of the "
            f"main-thread time without the extension ({total_without * 1000:.0f} ms); "
            f"task time {(total_with - total_without) / total_without * 100:+.1f}% (noisy)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--events", type=int, default=300, help="measured events per kind")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--states", default="recording,paused", help="extension states to run")
    parser.add_argument(
        "--extension",
        type=Path,
        default=EXTENSION,
        help="the unpacked extension to measure (e.g. an older version, to compare)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the extension's top costs (CPU profile)"
    )
    opts = parser.parse_args()
    states = [s for s in opts.states.split(",") if s]
    if not states or any(s not in ("recording", "paused") for s in states):
        parser.error("--states: a comma-separated list of recording, paused")
    from playwright.sync_api import sync_playwright

    print(f"before: {uptime()}")
    results: dict[str | None, list[dict[str, float]]] = {None: [], **{s: [] for s in states}}
    with serve(big_page(opts.rows)) as url, sync_playwright() as pw:
        for run in range(opts.runs):
            for state in results:
                got = one_run(pw, url, state, opts.events, opts.extension, opts.profile)
                results[state].append(got)
                print(
                    f"run {run + 1} {state or 'without'}: "
                    + ", ".join(f"{k}={v:.4f}" for k, v in got.items()),
                    file=sys.stderr,
                )
    print(f"after: {uptime()}")
    report(results, opts.events, opts.runs)


if __name__ == "__main__":
    main()
