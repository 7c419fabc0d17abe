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
  const { NAME_MAX, clip, implicitRole, accessibleName, cssPath, selectorGeneration, forgetSelectors } = globalThis.WPElement;
  const INTERACTIVE = "a,button,input,select,textarea,label,summary,option,[role],[contenteditable=''],[contenteditable=true],[onclick],[tabindex]";

  let cfg = null; // the recorder's state, from the service worker via storage
  let buffer = [];
  let flushTimer = null;
  let port = null; // one long-lived channel to the service worker, not a new one per batch

  // Every event a listener hears costs the page main-thread time, so the script listens to as
  // little as it can (docs/performance.md, "Browser extension"): no listener for high-rate events
  // (pointer moves, element scrolls, selection changes), one call per scroll burst, and a
  // keystroke in a field already described is a timestamp and a length pushed to the batch.
  const wasPassword = new WeakSet(); // fields that were ever type=password

  // The site test and the stripped URL are computed once per (URL, state): every event asks.
  // Reading the URL itself is not free in the isolated world (location.href ~30 µs, document.URL
  // ~10 µs per event on the benchmark page), so where the Navigation API tells when the URL
  // changes (same-document navigations: pushState, fragments) it is read only then. Such a
  // change never changes the origin, and so never whether the site is excluded.
  let siteFor = { href: null, cfg: null, excluded: true, url: "" };
  const navigationApi = globalThis.navigation;
  let urlKnown = false;
  if (navigationApi && typeof navigationApi.addEventListener === "function") {
    navigationApi.addEventListener("currententrychange", () => {
      urlKnown = false;
    });
  }
  function site() {
    if (urlKnown && siteFor.cfg === cfg) return siteFor;
    const href = document.URL;
    if (siteFor.href !== href || siteFor.cfg !== cfg) {
      siteFor = { href, cfg, excluded: WP.siteExcluded(href, cfg.exclude_sites), url: WP.stripUrl(href) };
    }
    urlKnown = navigationApi !== undefined;
    return siteFor;
  }

  function live() {
    return cfg !== null && cfg.state === "recording" && !site().excluded;
  }

  const TIME_ORIGIN = performance.timeOrigin; // read once: the getter is not free
  function now(e) {
    return e && e.timeStamp ? TIME_ORIGIN + e.timeStamp : Date.now();
  }

  function emit(ev) {
    const at = site();
    if (cfg === null || cfg.state !== "recording" || at.excluded) return;
    ev.url = at.url;
    buffer.push(ev);
    if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
  }

  // ``leaving``: the page is hidden or left; boxes not measured yet are read now.
  const flush = (leaving) => {
    flushTimer = null;
    if (!buffer.length) return;
    if (boxes.size && !leaving && performance.now() - boxesSince < BOX_WAIT_MS) {
      flushTimer = setTimeout(flush, FLUSH_MS / 2); // a box comes with the next frame
      return;
    }
    measureNow();
    measured = new Map();
    forgetSelectors();
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
      port.postMessage({ op: "events", events });
    } catch (e) {
      port = null; // the extension was reloaded: this page's script is orphaned, nothing to do
    }
  };

  // -- element boxes, measured after the frame's own layout -------------------------------------
  // getBoundingClientRect() inside an event handler forces a synchronous layout whenever the page
  // changed anything since the last frame; on a large page that mutates all the time this was
  // most of the script's cost. An IntersectionObserver reports the same rectangle from the
  // rendering step the browser does anyway. The event waits in the batch for it (a frame, at
  // most BOX_WAIT_MS; a page left or hidden, or without frames, is measured directly).
  const boxes = new Map(); // element → events waiting for its box
  let measured = new Map(); // element → its box, for the rest of the batch (typing: one per field)
  let boxesSince = 0;
  const boxWatch = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      boxWatch.unobserve(entry.target);
      const waiting = boxes.get(entry.target);
      if (!waiting) continue;
      boxes.delete(entry.target);
      const box = rounded(entry.boundingClientRect);
      measured.set(entry.target, box);
      for (const ev of waiting) ev.el_box = box;
    }
  });

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
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return el; // what closest() says
    return el.closest("input,textarea,select,[contenteditable]") || null;
  }

  // A field's verdict from its own attributes is kept until one of them changes (fieldAttrs
  // below counts the changes); the policy's selectors, which can depend on any ancestor, are
  // asked every time.
  const verdicts = new WeakMap(); // field → [sensitive by its attributes, fieldAttrs when judged]
  let fieldAttrs = 0;
  function sensitive(el) {
    const field = fieldOf(el);
    if (!field) return false;
    if (wasPassword.has(field)) return true;
    if (field.tagName === "INPUT" && field.type === "password") {
      wasPassword.add(field);
      return true;
    }
    let verdict = verdicts.get(field);
    if (!verdict || verdict[1] !== fieldAttrs) {
      const ac = field.getAttribute("autocomplete");
      const secret = !!(ac && WP.SENSITIVE_AUTOCOMPLETE.test(ac)) || WP.SENSITIVE_NAME.test(field.name || "") || WP.SENSITIVE_NAME.test(field.id || "");
      verdict = [secret, fieldAttrs];
      verdicts.set(field, verdict);
    }
    if (verdict[0]) return true;
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
  // The same observer tells when a field's other deciding attributes changed. It runs in a
  // microtask after the page's change, before any later event reaches a listener.
  new MutationObserver((records) => {
    fieldAttrs++;
    for (const r of records) {
      if (r.attributeName !== "type") continue;
      if (r.oldValue && r.oldValue.toLowerCase() === "password") wasPassword.add(r.target);
      if (r.target.type === "password") wasPassword.add(r.target);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["type", "autocomplete", "name", "id"], attributeOldValue: true });

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

  // Plain property copies (Object.assign from an object with deleted keys took ~40 µs).
  function copyDescriptor(ev, d) {
    ev.el_tag = d.el_tag;
    ev.el_selector = d.el_selector;
    ev.el_box = d.el_box;
    ev.vw = d.vw;
    ev.vh = d.vh;
    if (d.el_role !== undefined) ev.el_role = d.el_role;
    if (d.el_name !== undefined) ev.el_name = d.el_name;
    if (d.el_id !== undefined) ev.el_id = d.el_id;
    if (d.el_type !== undefined) ev.el_type = d.el_type;
    if (d.el_autocomplete !== undefined) ev.el_autocomplete = d.el_autocomplete;
    return ev;
  }

  function target(e) {
    let el = e.target;
    if (el && el.shadowRoot) el = e.composedPath()[0]; // inside an open shadow root
    if (!(el instanceof Element)) return null;
    return el.closest(INTERACTIVE) || el;
  }

  // -- listeners (capture phase, trusted events only) ----------------------------------------
  function on(type, handler) {
    window.addEventListener(type, (e) => {
      if (!e.isTrusted || cfg === null || cfg.state !== "recording") return;
      handler(e);
    }, { capture: true, passive: true });
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

  // A keystroke in the field the last one went to (same batch, no change on the selector's path
  // or to the field's attributes) copies that keystroke's descriptor instead of describing again.
  let typed = { field: null, ev: null, buffer: null, generation: -1, attrs: -1 };
  on("input", (e) => {
    // Nearly always the event's target is the field itself: no ancestor walk then.
    const raw = e.target;
    const tag = raw && raw.tagName;
    const el = (tag === "INPUT" || tag === "TEXTAREA") && !raw.shadowRoot ? raw : target(e);
    if (!el || sensitive(el)) return;
    const field = fieldOf(el) || el;
    const text = "value" in field ? String(field.value) : field.textContent || "";
    const ev = { type: "web_act", t_ms: now(e), act: "input", length: text.length };
    if (cfg.text) ev.value = text.slice(0, 4096);
    if (typed.field === field && typed.buffer === buffer && typed.generation === selectorGeneration() && typed.attrs === fieldAttrs) {
      copyDescriptor(ev, typed.ev);
      boxLater(ev, field);
      emit(ev);
      return;
    }
    emit(describe(ev, field));
    typed = { field, ev, buffer, generation: selectorGeneration(), attrs: fieldAttrs };
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
  // Only the viewport's scrolls are heard: a listener on the document that does not capture
  // (a text field or a list scrolling inside the page fires "scroll" on itself, which does not
  // bubble; capturing, the field scrolling its text heard every keystroke). Only the first
  // "scroll" of a burst reaches the script (a wheel notch fires several); a timer then reads the
  // position and listens again: a scroll that goes on is one event per SCROLL_IDLE_MS.
  // The position comes from the document element's box as an IntersectionObserver reports it
  // after the frame's layout: reading window.scrollY in a timer forces a layout of the page.
  let scrollOrigin = null; // [x, y] scroll offset at the end of the last burst
  let scrollT = null;
  const pageWatch = new IntersectionObserver((entries) => {
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
    armScroll();
  });
  function measureScroll() {
    if (document.documentElement) pageWatch.observe(document.documentElement);
  }
  function scrollStarts(e) {
    if (!e.isTrusted) return armScroll();
    if (cfg === null || cfg.state !== "recording") return; // re-armed when recording resumes
    scrollT = now(e);
    setTimeout(measureScroll, SCROLL_IDLE_MS);
  }
  let scrollArmed = false;
  function armScroll() {
    if (scrollArmed || scrollT !== null) return;
    scrollArmed = true;
    document.addEventListener("scroll", (e) => {
      scrollArmed = false;
      scrollStarts(e);
    }, { passive: true, once: true });
  }
  armScroll();

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
    emit({ type: "web_nav", t_ms: TIME_ORIGIN, title: clip(document.title) || undefined });
    search.start();
  }
  function onConfig(value) {
    cfg = value || null;
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
