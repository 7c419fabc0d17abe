// The content script: turns trusted page events into workprint browser events. Everything a
// person must never have recorded is dropped here, before any message leaves the page:
// password, card and one-time-code fields (also after a "show password" toggle turned the field
// into type=text), fields the policy marks sensitive, excluded sites, and all of it while the
// recorder is paused, without the browsing scope, or not running. Field values only travel with
// the text-content scope; otherwise lengths and timing.
"use strict";

(function () {
  const api = globalThis.browser ?? globalThis.chrome;
  if (window.top !== window || globalThis.__workprintContent) return;
  if (api.extension && api.extension.inIncognitoContext) return; // private windows: nothing
  globalThis.__workprintContent = true;

  const FLUSH_MS = 500; // one message per batch costs more than the events in it; leaving flushes
  const SCROLL_IDLE_MS = 250;
  const DWELL_REPORT_MS = 5000;
  const BOX_WAIT_MS = 2000;
  const { NAME_MAX, clip, implicitRole, accessibleName, cssPath } = globalThis.WPElement;
  const INTERACTIVE = "a,button,input,select,textarea,label,summary,option,[role],[contenteditable=''],[contenteditable=true],[onclick],[tabindex]";

  let cfg = null; // the recorder's state, from the service worker via storage
  let buffer = [];
  let flushTimer = null;
  let port = null; // one long-lived channel to the service worker, not a new one per batch

  // The script's own main-thread time per part, kept only while a benchmark asks for it (the
  // "bench" flag in the extension's storage, which no page and no recorder sets); sent along
  // with each batch. Off, it costs one null check per call.
  let timing = null;
  function timed(part, fn) {
    return function (arg) {
      if (!timing) return fn(arg);
      const t0 = performance.now();
      try {
        return fn(arg);
      } finally {
        timing[part] = (timing[part] || 0) + performance.now() - t0;
      }
    };
  }
  const wasPassword = new WeakSet(); // fields that were ever type=password

  // The site test and the stripped URL are computed once per (URL, state): every event asks.
  let siteFor = { href: null, cfg: null, excluded: true, url: "" };
  function site() {
    const href = location.href;
    if (siteFor.href !== href || siteFor.cfg !== cfg) {
      siteFor = { href, cfg, excluded: WP.siteExcluded(href, cfg.exclude_sites), url: WP.stripUrl(href) };
    }
    return siteFor;
  }

  function live() {
    return cfg !== null && cfg.state === "recording" && !site().excluded;
  }

  function now(e) {
    return e && e.timeStamp ? performance.timeOrigin + e.timeStamp : Date.now();
  }

  function emit(ev) {
    if (!live()) return;
    ev.url = site().url;
    buffer.push(ev);
    if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
  }

  // ``leaving``: the page is hidden or left; boxes not measured yet are read now.
  const flush = timed("flush", (leaving) => {
    flushTimer = null;
    if (!buffer.length) return;
    if (boxes.size && !leaving && performance.now() - boxesSince < BOX_WAIT_MS) {
      flushTimer = setTimeout(flush, FLUSH_MS / 2); // a box comes with the next frame
      return;
    }
    measureNow();
    measured = new Map();
    const events = buffer;
    buffer = [];
    if (!live()) return;
    try {
      if (!port) {
        port = api.runtime.connect({ name: "wp-events" });
        port.onDisconnect.addListener(() => {
          port = null;
        });
      }
      port.postMessage(timing ? { op: "events", events, timing } : { op: "events", events });
    } catch (e) {
      port = null; // the extension was reloaded: this page's script is orphaned, nothing to do
    }
  });

  // -- element boxes, measured after the frame's own layout -------------------------------------
  // getBoundingClientRect() inside an event handler forces a synchronous layout whenever the page
  // changed anything since the last frame; on a large page that mutates all the time this was
  // most of the script's cost. An IntersectionObserver reports the same rectangle from the
  // rendering step the browser does anyway. The event waits in the batch for it (a frame, at
  // most BOX_WAIT_MS; a page left or hidden, or without frames, is measured directly).
  const boxes = new Map(); // element → events waiting for its box
  let measured = new Map(); // element → its box, for the rest of the batch (typing: one per field)
  let boxesSince = 0;
  const boxWatch = new IntersectionObserver(timed("boxes", (entries) => {
    for (const entry of entries) {
      boxWatch.unobserve(entry.target);
      const waiting = boxes.get(entry.target);
      if (!waiting) continue;
      boxes.delete(entry.target);
      const box = rounded(entry.boundingClientRect);
      measured.set(entry.target, box);
      for (const ev of waiting) ev.el_box = box;
    }
  }));

  function rounded(r) {
    return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)];
  }

  function boxLater(ev, el) {
    const known = measured.get(el);
    if (known) {
      ev.el_box = known;
      return;
    }
    let waiting = boxes.get(el);
    if (!waiting) {
      if (!boxes.size) boxesSince = performance.now();
      waiting = [];
      boxes.set(el, waiting);
      boxWatch.observe(el);
    }
    waiting.push(ev);
  }

  function measureNow() {
    for (const [el, waiting] of boxes) {
      boxWatch.unobserve(el);
      const box = rounded(el.getBoundingClientRect());
      for (const ev of waiting) ev.el_box = box;
    }
    boxes.clear();
  }

  // The viewport size, kept from resize events: window.innerWidth can force a layout too.
  let viewport = [window.innerWidth, window.innerHeight];
  window.addEventListener("resize", () => {
    viewport = [window.innerWidth, window.innerHeight];
  }, { passive: true });

  // -- sensitive fields ----------------------------------------------------------------------
  function fieldOf(el) {
    if (!(el instanceof Element)) return null;
    return el.closest("input,textarea,select,[contenteditable]") || null;
  }

  function sensitive(el) {
    const field = fieldOf(el);
    if (!field) return false;
    if (wasPassword.has(field)) return true;
    if (field.tagName === "INPUT" && field.type === "password") {
      wasPassword.add(field);
      return true;
    }
    const ac = field.getAttribute("autocomplete");
    if (ac && WP.SENSITIVE_AUTOCOMPLETE.test(ac)) return true;
    if (WP.SENSITIVE_NAME.test(field.name || "") || WP.SENSITIVE_NAME.test(field.id || "")) return true;
    for (const selector of (cfg && cfg.sensitive_selectors) || []) {
      try {
        if (field.matches(selector) || field.closest(selector)) return true;
      } catch (e) {
        return true; // a selector this browser cannot judge: keep nothing
      }
    }
    return false;
  }

  function markPasswords(root) {
    for (const input of root.querySelectorAll ? root.querySelectorAll("input[type=password]") : []) wasPassword.add(input);
  }

  // The show-password trap: a type switch away from "password" must not make the field readable.
  new MutationObserver(timed("observers", (records) => {
    for (const r of records) {
      if (r.oldValue && r.oldValue.toLowerCase() === "password") wasPassword.add(r.target);
      if (r.target.type === "password") wasPassword.add(r.target);
    }
  })).observe(document, { subtree: true, attributes: true, attributeFilter: ["type"], attributeOldValue: true });

  // -- element descriptors (element.js) ------------------------------------------------------
  // Adds the element's descriptor to ``ev``: everything now but the box (boxLater).
  function describe(ev, el) {
    const d = ev;
    d.el_tag = el.localName;
    d.el_selector = cssPath(el);
    d.el_box = [];
    d.vw = viewport[0];
    d.vh = viewport[1];
    boxLater(ev, el);
    const role = el.getAttribute("role") || implicitRole(el);
    if (role) d.el_role = role.slice(0, NAME_MAX);
    const name = accessibleName(el);
    if (name) d.el_name = name;
    if (el.id) d.el_id = el.id.slice(0, NAME_MAX);
    if (el.tagName === "INPUT") d.el_type = el.type;
    const ac = el.getAttribute("autocomplete");
    if (ac) d.el_autocomplete = ac.slice(0, NAME_MAX);
    return ev;
  }

  function target(e) {
    const el = e.composedPath ? e.composedPath()[0] : e.target;
    if (!(el instanceof Element)) return null;
    return el.closest(INTERACTIVE) || el;
  }

  // -- listeners (capture phase, trusted events only) ----------------------------------------
  function on(type, handler, where) {
    (where || window).addEventListener(type, timed(type, (e) => {
      if (!e.isTrusted || cfg === null || cfg.state !== "recording") return;
      handler(e);
    }), { capture: true, passive: true });
  }

  on("click", (e) => {
    const el = target(e);
    if (!el || sensitive(el)) return;
    emit(describe({ type: "web_act", t_ms: now(e), act: "click", x: Math.round(e.clientX), y: Math.round(e.clientY) }, el));
    search.onClick(el, e);
  });
  on("auxclick", (e) => {
    if (e.button === 1) search.onClick(target(e), e);
  });

  on("input", (e) => {
    const el = target(e);
    if (!el || sensitive(el)) return;
    const field = fieldOf(el) || el;
    const text = "value" in field ? String(field.value) : field.textContent || "";
    const ev = { type: "web_act", t_ms: now(e), act: "input", length: text.length };
    if (cfg.text) ev.value = text.slice(0, 4096);
    emit(describe(ev, field));
  });

  on("submit", (e) => {
    const form = e.target;
    if (!(form instanceof Element)) return;
    emit(describe({ type: "web_act", t_ms: now(e), act: "submit" }, form));
  });

  for (const kind of ["copy", "cut", "paste"]) {
    on(kind, (e) => {
      const el = target(e);
      if (el && sensitive(el)) return;
      const ev = { type: "web_act", t_ms: now(e), act: kind };
      if (el) describe(ev, el);
      if (kind === "paste" && e.clipboardData) {
        const text = e.clipboardData.getData("text/plain") || "";
        ev.length = text.length;
        if (cfg.text) ev.value = text.slice(0, 4096);
      }
      emit(ev);
    });
  }

  // Scrolls are coalesced: one event per burst, with the total movement since the last burst.
  // The position comes from the document element's box as an IntersectionObserver reports it
  // after the frame's layout: reading window.scrollY in a timer forces a layout of the page
  // (a whole 18,000-node table per burst on the benchmark page).
  let scrollOrigin = null; // [x, y] scroll offset at the end of the last burst
  let scrollT = null;
  let scrollLast = 0;
  let scrollTimer = null;
  const pageWatch = new IntersectionObserver(timed("boxes", (entries) => {
    pageWatch.unobserve(document.documentElement);
    const r = entries[entries.length - 1].boundingClientRect;
    const at = [-r.x, -r.y];
    const t = scrollT;
    scrollT = null;
    if (scrollOrigin !== null && t !== null) {
      const dx = Math.round(at[0] - scrollOrigin[0]);
      const dy = Math.round(at[1] - scrollOrigin[1]);
      if (dx || dy) emit({ type: "web_act", t_ms: t, act: "scroll", dx, dy, vw: viewport[0], vh: viewport[1] });
    }
    scrollOrigin = at;
  }));
  function measureScroll() {
    if (document.documentElement) pageWatch.observe(document.documentElement);
  }
  const scrollSettled = timed("settle", () => {
    const wait = scrollLast + SCROLL_IDLE_MS - performance.now();
    if (wait > 1) {
      scrollTimer = setTimeout(scrollSettled, wait); // one timer per burst, not one per event
      return;
    }
    scrollTimer = null;
    measureScroll();
    armScroll();
  });
  // A scroll fires a "scroll" event every frame (a smooth wheel notch: a dozen); only the first
  // of a burst is listened to, then "scrollend" (once per gesture) tells when it stopped.
  const scrollStarts = timed("scroll", (e) => {
    if (!e.isTrusted) return armScroll();
    if (cfg === null || cfg.state !== "recording") return; // re-armed when recording resumes
    if (scrollT === null) scrollT = now(e);
    scrollEnded(); // and if no "scrollend" comes, the burst still ends
  });
  function armScroll() {
    document.addEventListener("scroll", scrollStarts, { capture: true, passive: true, once: true });
  }
  armScroll();
  function scrollEnded() {
    scrollLast = performance.now();
    if (!scrollTimer) scrollTimer = setTimeout(scrollSettled, SCROLL_IDLE_MS);
  }
  on("scrollend", scrollEnded, document);

  // -- time on page: visible and focused, not wall time ---------------------------------------
  const dwell = { visible: 0, focused: 0, since: performance.now() };
  function accrue() {
    const t = performance.now();
    const span = t - dwell.since;
    dwell.since = t;
    if (document.visibilityState === "visible") {
      dwell.visible += span;
      if (document.hasFocus()) dwell.focused += span;
    }
  }
  function reportDwell() {
    accrue();
    if (dwell.visible < 1) return;
    emit({ type: "web_dwell", t_ms: Date.now(), visible_ms: Math.round(dwell.visible), focused_ms: Math.round(dwell.focused) });
    dwell.visible = 0;
    dwell.focused = 0;
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      reportDwell();
      flush(true);
    } else accrue();
  }, true);
  // The window's own focus changes only: not capturing, so a field's focus never calls here.
  window.addEventListener("focus", accrue, { passive: true });
  window.addEventListener("blur", accrue, { passive: true });
  // A navigation away: the batch leaves while the page is still alive (a message posted from
  // "pagehide" can be lost with the unloading page's port); pagehide remains the last chance.
  window.addEventListener("beforeunload", () => flush(true), { capture: true, passive: true });
  window.addEventListener("pagehide", () => {
    reportDwell();
    flush(true);
  }, true);
  setInterval(reportDwell, DWELL_REPORT_MS);

  // -- search result pages ----------------------------------------------------------------------
  const search = {
    page: null,
    query: null,
    start() {
      const page = WP.searchPage(location, cfg.search_sites);
      if (!page) return;
      const query = new URLSearchParams(location.search).get(page.param);
      if (!query) return;
      this.page = page;
      this.query = query.slice(0, 1024);
      emit({ type: "web_search", t_ms: Date.now(), engine: page.name, op: "query", query: this.query });
    },
    onClick(el, e) {
      if (!this.page || !el) return;
      const link = el.closest("a[href]");
      if (!link) return;
      let results;
      try {
        results = Array.from(document.querySelectorAll(this.page.results)).map((r) => r.closest("a[href]") || r);
      } catch (err) {
        return;
      }
      const rank = results.indexOf(link) + 1;
      if (rank < 1) return;
      let domain = null;
      try {
        domain = new URL(link.href).hostname;
      } catch (err) {
        return;
      }
      emit({ type: "web_search", t_ms: now(e), engine: this.page.name, op: "open", query: this.query, rank, domain });
    },
  };

  // -- start: only once the recorder's state is known -----------------------------------------
  let started = false;
  function start() {
    if (started || !live()) return;
    started = true;
    measureScroll(); // where the page is before the first scroll
    markPasswords(document);
    emit({ type: "web_nav", t_ms: performance.timeOrigin, title: clip(document.title) || undefined });
    search.start();
  }
  function onConfig(value) {
    cfg = value || null;
    timing = cfg && cfg.bench ? timing || {} : null;
    if (cfg !== null && cfg.state === "recording") armScroll(); // no-op if armed already
    if (!live()) {
      buffer = []; // paused or excluded while events waited: they never leave the page
      for (const el of boxes.keys()) boxWatch.unobserve(el);
      boxes.clear();
      return;
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
    else start();
  }
  api.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && changes.wp) onConfig(changes.wp.newValue);
  });
  api.storage.local.get("wp").then((r) => onConfig(r.wp), () => {});
})();
