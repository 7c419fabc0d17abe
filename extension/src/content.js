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

  const FLUSH_MS = 100;
  const SCROLL_IDLE_MS = 250;
  const DWELL_REPORT_MS = 5000;
  const NAME_MAX = 120;
  const INTERACTIVE = "a,button,input,select,textarea,label,summary,option,[role],[contenteditable=''],[contenteditable=true],[onclick],[tabindex]";

  let cfg = null; // the recorder's state, from the service worker via storage
  let buffer = [];
  let flushTimer = null;
  const wasPassword = new WeakSet(); // fields that were ever type=password

  function live() {
    return cfg !== null && cfg.state === "recording" && !WP.siteExcluded(location.href, cfg.exclude_sites);
  }

  function now(e) {
    return e && e.timeStamp ? performance.timeOrigin + e.timeStamp : Date.now();
  }

  function emit(ev) {
    if (!live()) return;
    ev.url = WP.stripUrl(location.href);
    buffer.push(ev);
    if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
  }

  function flush() {
    flushTimer = null;
    if (!buffer.length) return;
    const events = buffer;
    buffer = [];
    if (!live()) return;
    try {
      api.runtime.sendMessage({ op: "events", events }).catch(() => {});
    } catch (e) {
      // the extension was reloaded: this page's script is orphaned, nothing to do
    }
  }

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
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.oldValue && r.oldValue.toLowerCase() === "password") wasPassword.add(r.target);
      if (r.target.type === "password") wasPassword.add(r.target);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["type"], attributeOldValue: true });

  // -- element descriptors -------------------------------------------------------------------
  function implicitRole(el) {
    const tag = el.tagName;
    if (tag === "A" && el.hasAttribute("href")) return "link";
    if (tag === "BUTTON" || (tag === "INPUT" && /^(button|submit|reset|image)$/.test(el.type))) return "button";
    if (tag === "INPUT") return { checkbox: "checkbox", radio: "radio", search: "searchbox", range: "slider" }[el.type] || "textbox";
    if (tag === "TEXTAREA") return "textbox";
    if (tag === "SELECT") return "combobox";
    if (/^H[1-6]$/.test(tag)) return "heading";
    if (tag === "FORM") return "form";
    return null;
  }

  function clip(text) {
    if (!text) return null;
    const t = text.replace(/\s+/g, " ").trim();
    return t ? t.slice(0, NAME_MAX) : null;
  }

  function accessibleName(el) {
    const aria = el.getAttribute("aria-label");
    if (aria) return clip(aria);
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const text = by.split(/\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ");
      if (clip(text)) return clip(text);
    }
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (el.labels && el.labels.length) return clip(el.labels[0].textContent);
      if (tag === "INPUT" && /^(button|submit|reset)$/.test(el.type)) return clip(el.value);
      return clip(el.getAttribute("placeholder") || el.getAttribute("title") || el.name);
    }
    if (tag === "IMG") return clip(el.getAttribute("alt"));
    if (el.getAttribute("title")) return clip(el.getAttribute("title"));
    if (tag === "A" || tag === "BUTTON" || tag === "LABEL" || tag === "SUMMARY" || tag === "OPTION" || el.hasAttribute("role") || /^H[1-6]$/.test(tag)) {
      return clip(el.textContent);
    }
    return null;
  }

  function cssPath(el) {
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1 && parts.length < 8) {
      if (node.id && /^[A-Za-z][\w-]*$/.test(node.id)) {
        parts.unshift("#" + node.id);
        break;
      }
      let part = node.tagName.toLowerCase();
      const parent = node.parentElement;
      if (parent) {
        let index = 1;
        let same = 0;
        for (const sibling of parent.children) {
          if (sibling.tagName === node.tagName) {
            same++;
            if (sibling === node) index = same;
          }
        }
        if (same > 1) part += `:nth-of-type(${index})`;
      }
      parts.unshift(part);
      node = parent;
    }
    return parts.join(" > ");
  }

  function describe(el) {
    const r = el.getBoundingClientRect();
    const d = {
      el_tag: el.tagName.toLowerCase(),
      el_selector: cssPath(el),
      el_box: [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)],
      vw: window.innerWidth,
      vh: window.innerHeight,
    };
    const role = el.getAttribute("role") || implicitRole(el);
    if (role) d.el_role = role.slice(0, NAME_MAX);
    const name = accessibleName(el);
    if (name) d.el_name = name;
    if (el.id) d.el_id = el.id.slice(0, NAME_MAX);
    if (el.tagName === "INPUT") d.el_type = el.type;
    const ac = el.getAttribute("autocomplete");
    if (ac) d.el_autocomplete = ac.slice(0, NAME_MAX);
    return d;
  }

  function target(e) {
    const el = e.composedPath ? e.composedPath()[0] : e.target;
    if (!(el instanceof Element)) return null;
    return el.closest(INTERACTIVE) || el;
  }

  // -- listeners (capture phase, trusted events only) ----------------------------------------
  function on(type, handler, where) {
    (where || window).addEventListener(type, (e) => {
      if (!e.isTrusted || cfg === null || cfg.state !== "recording") return;
      handler(e);
    }, { capture: true, passive: true });
  }

  on("click", (e) => {
    const el = target(e);
    if (!el || sensitive(el)) return;
    emit(Object.assign({ type: "web_act", t_ms: now(e), act: "click", x: Math.round(e.clientX), y: Math.round(e.clientY) }, describe(el)));
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
    const ev = Object.assign({ type: "web_act", t_ms: now(e), act: "input", length: text.length }, describe(field));
    if (cfg.text) ev.value = text.slice(0, 4096);
    emit(ev);
  });

  on("submit", (e) => {
    const form = e.target;
    if (!(form instanceof Element)) return;
    emit(Object.assign({ type: "web_act", t_ms: now(e), act: "submit" }, describe(form)));
  });

  for (const kind of ["copy", "cut", "paste"]) {
    on(kind, (e) => {
      const el = target(e);
      if (el && sensitive(el)) return;
      const ev = { type: "web_act", t_ms: now(e), act: kind };
      if (el) Object.assign(ev, describe(el));
      if (kind === "paste" && e.clipboardData) {
        const text = e.clipboardData.getData("text/plain") || "";
        ev.length = text.length;
        if (cfg.text) ev.value = text.slice(0, 4096);
      }
      emit(ev);
    });
  }

  // Scrolls are coalesced: one event per burst, with the total movement since the last burst
  // (a scroll event fires after the position changed, so the origin is remembered).
  let scrollOrigin = { x: window.scrollX, y: window.scrollY };
  let scrollT = null;
  let scrollTimer = null;
  on("scroll", (e) => {
    if (scrollT === null) scrollT = now(e);
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(() => {
      const dx = Math.round(window.scrollX - scrollOrigin.x);
      const dy = Math.round(window.scrollY - scrollOrigin.y);
      const t = scrollT;
      scrollOrigin = { x: window.scrollX, y: window.scrollY };
      scrollT = null;
      if (dx || dy) emit({ type: "web_act", t_ms: t, act: "scroll", dx, dy, vw: window.innerWidth, vh: window.innerHeight });
    }, SCROLL_IDLE_MS);
  }, document);

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
      flush();
    } else accrue();
  }, true);
  window.addEventListener("focus", accrue, true);
  window.addEventListener("blur", accrue, true);
  window.addEventListener("pagehide", () => {
    reportDwell();
    flush();
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
    markPasswords(document);
    emit({ type: "web_nav", t_ms: performance.timeOrigin, title: clip(document.title) || undefined });
    search.start();
  }
  function onConfig(value) {
    cfg = value || null;
    if (!live()) {
      buffer = []; // paused or excluded while events waited: they never leave the page
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
