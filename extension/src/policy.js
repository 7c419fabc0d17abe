// Shared by the service worker and the content script: which sites are excluded, which fields
// are never read, which pages are search result pages. Mirrors workprint/policy/browser_policy.py;
// the recorder re-applies the same rules to every event it receives.
"use strict";

(function (root) {
  const SENSITIVE_AUTOCOMPLETE = /(^|\s)(current-password|new-password|one-time-code|cc-[a-z-]+)(\s|$)/i;
  // Names that say "secret" even when the page forgot type=password or autocomplete.
  const SENSITIVE_NAME = /pass(word|wd|phrase)?$|^pass|pwd|passcode|otp|one.?time|cvv|cvc|csc|card.?(number|num|no)|cc.?(num|number|csc|exp)|iban|ssn|security.?code/i;

  // Built-in search sites: host test, path prefix, query parameter, result links in rank order.
  const ENGINES = [
    { name: "google", host: /^(www\.)?google\.[a-z.]+$/, path: "/search", param: "q", results: "#search a:has(h3)" },
    { name: "bing", host: /^(www\.)?bing\.com$/, path: "/search", param: "q", results: "#b_results > li.b_algo h2 a" },
    { name: "duckduckgo", host: /^(html\.)?duckduckgo\.com$/, path: "/", param: "q", results: "a[data-testid=result-title-a], a.result__a" },
    { name: "wikipedia", host: /(^|\.)wikipedia\.org$/, path: "/w/index.php", param: "search", results: ".mw-search-result-heading a" },
    { name: "wikipedia", host: /(^|\.)wikipedia\.org$/, path: "/wiki/Special:Search", param: "search", results: ".mw-search-result-heading a" },
    { name: "linkedin", host: /^(www\.)?linkedin\.com$/, path: "/search/results/", param: "keywords", results: "main a[href*='/in/'], main a[href*='/company/']" },
  ];

  function siteMatches(pattern, host, port) {
    pattern = pattern.toLowerCase();
    let wantPort = null;
    if (pattern.startsWith("[")) {
      const end = pattern.indexOf("]");
      const rest = pattern.slice(end + 1);
      if (rest.startsWith(":")) wantPort = Number(rest.slice(1));
      pattern = pattern.slice(1, end);
    } else if (pattern.split(":").length === 2) {
      const [h, p] = pattern.split(":");
      pattern = h;
      wantPort = /^\d+$/.test(p) ? Number(p) : null;
    }
    if (wantPort !== null && port !== wantPort) return false;
    if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1));
    return host === pattern || host.endsWith("." + pattern);
  }

  function siteExcluded(href, patterns) {
    let url;
    try {
      url = new URL(href);
    } catch (e) {
      return true; // when in doubt, keep nothing
    }
    if (!url.hostname) return false;
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    const port = url.port ? Number(url.port) : (url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : null);
    return (patterns || []).some((p) => siteMatches(p, host, port));
  }

  function stripUrl(href) {
    try {
      const url = new URL(href);
      return url.origin + url.pathname;
    } catch (e) {
      return "";
    }
  }

  function searchPage(loc, sites) {
    for (const site of sites || []) {
      if (loc.host === site.host && loc.pathname.startsWith(site.path)) {
        return { name: site.name, param: site.param, results: site.results };
      }
    }
    for (const engine of ENGINES) {
      if (engine.host.test(loc.hostname) && loc.pathname.startsWith(engine.path)) return engine;
    }
    return null;
  }

  root.WP = { SENSITIVE_AUTOCOMPLETE, SENSITIVE_NAME, siteExcluded, stripUrl, searchPage };
})(globalThis);
