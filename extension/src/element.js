// Element descriptors for the content script (loaded before it, in the same isolated world):
// role, accessible name and a stable CSS selector, each computed so that a click or a keystroke
// on a large, constantly changing page costs microseconds — names read only as much text as
// they keep, a field's label lookup kept 2 s, sibling positions counted once per parent.
"use strict";

(function (root) {
  const NAME_MAX = 120;
  const NAME_KEEP_MS = 2000;

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
    const t = text.slice(0, 4 * NAME_MAX).replace(/\s+/g, " ").trim();
    return t ? t.slice(0, NAME_MAX) : null;
  }

  // An element's text, read only as far as a name needs: textContent of a big container (a
  // clicked row of a table, a [role] wrapper) would copy all of it on every click.
  function textOf(el) {
    if (!el) return "";
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let text = "";
    while (text.length < 2 * NAME_MAX && walker.nextNode()) text += walker.currentNode.data;
    return text;
  }

  // A field's name comes from its <label>s; el.labels walks the whole document each time (18,000
  // nodes on the benchmark page, once per keystroke before), so a field's name is kept 2 s.
  const fieldNames = new WeakMap(); // field → [name, performance.now() when computed]
  function accessibleName(el) {
    const tag = el.tagName;
    if (tag !== "INPUT" && tag !== "TEXTAREA" && tag !== "SELECT") return nameOf(el);
    const t = performance.now();
    const kept = fieldNames.get(el);
    if (kept && t - kept[1] < NAME_KEEP_MS) return kept[0];
    const name = nameOf(el);
    fieldNames.set(el, [name, t]);
    return name;
  }

  function nameOf(el) {
    const aria = el.getAttribute("aria-label");
    if (aria) return clip(aria);
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const text = by.split(/\s+/).slice(0, 8).map((id) => textOf(document.getElementById(id))).join(" ");
      if (clip(text)) return clip(text);
    }
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (el.labels && el.labels.length) return clip(textOf(el.labels[0]));
      if (tag === "INPUT" && /^(button|submit|reset)$/.test(el.type)) return clip(el.value);
      return clip(el.getAttribute("placeholder") || el.getAttribute("title") || el.name);
    }
    if (tag === "IMG") return clip(el.getAttribute("alt"));
    if (el.getAttribute("title")) return clip(el.getAttribute("title"));
    if (tag === "A" || tag === "BUTTON" || tag === "LABEL" || tag === "SUMMARY" || tag === "OPTION" || el.hasAttribute("role") || /^H[1-6]$/.test(tag)) {
      return clip(textOf(el));
    }
    return null;
  }

  // -- stable selectors, cached -------------------------------------------------------------------
  // The ":nth-of-type" walk was most of the script's cost on a large page (a click in a 2,000-row
  // table counted all 2,000 rows). Positions are counted once per parent and kept until that
  // parent's children change (watched only on the parents a selector used: no subtree observer,
  // so a page that rewrites text all the time pays nothing for it). A selector is kept until
  // such a change or until the content script's batch leaves (forgetSelectors): an id changed on
  // its path is seen by the next batch. Watching ids too cost a MutationObserver registration per
  // node per new element, most of a click's cost.
  let positions = new WeakMap(); // parent → Map(child → [index among same-tag siblings, same-tag count])
  let selectors = new WeakMap(); // element → [selector, generation]
  let generation = 0;
  const childWatch = new MutationObserver((records) => {
    for (const r of records) positions.delete(r.target);
    generation++;
  });

  function position(node, parent) {
    let table = positions.get(parent);
    if (!table) {
      table = new Map();
      const counts = new Map();
      for (let s = parent.firstElementChild; s; s = s.nextElementSibling) {
        const n = (counts.get(s.localName) || 0) + 1;
        counts.set(s.localName, n);
        table.set(s, n);
      }
      for (const [child, n] of table) table.set(child, [n, counts.get(child.localName)]);
      positions.set(parent, table);
      childWatch.observe(parent, { childList: true });
    }
    return table.get(node) || [1, 1];
  }

  const SIMPLE_ID = /^[A-Za-z][\w-]*$/;
  function cssPath(el) {
    const cached = selectors.get(el);
    if (cached && cached[1] === generation) return cached[0];
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1 && parts.length < 8) {
      if (node.id && SIMPLE_ID.test(node.id)) {
        parts.unshift("#" + node.id);
        break;
      }
      let part = node.localName;
      const parent = node.parentElement;
      if (parent) {
        const [index, same] = position(node, parent);
        if (same > 1) part += `:nth-of-type(${index})`;
      }
      parts.unshift(part);
      node = parent;
    }
    const selector = parts.join(" > ");
    selectors.set(el, [selector, generation]);
    return selector;
  }
  root.WPElement = { NAME_MAX, clip, implicitRole, accessibleName, cssPath, selectorGeneration: () => generation, forgetSelectors: () => generation++ };
})(globalThis);
