// The service worker: the only part that talks to the recorder (native messaging host
// "org.workprint.agent"). It keeps the recorder's state in storage for the content scripts,
// adds tab ids, navigation transitions and tab events, drops anything from incognito tabs or
// excluded sites a second time, and shows the state on the toolbar badge (one click pauses).
"use strict";

const api = globalThis.browser ?? globalThis.chrome;
if (typeof importScripts === "function" && !globalThis.WP) importScripts("policy.js");

const HOST = "org.workprint.agent";
const FLUSH_MS = 100;
const POLL_MS = 1000;
const BADGES = {
  recording: { text: "REC", color: "#c62828" },
  paused: { text: "II", color: "#757575" },
  excluded: { text: "OFF", color: "#2e7d32" },
  off: { text: "", color: "#757575" },
};

let port = null;
let nextId = 1;
let config = { state: "no-agent", text: false, exclude_sites: [], sensitive_selectors: [], search_sites: [] };
let queue = [];
let flushTimer = null;
const transitions = new Map(); // tab id → transition of its last committed navigation
const knownTabs = new Set(); // tabs seen outside incognito: only those may report a close

function connect() {
  if (port) return port;
  try {
    port = api.runtime.connectNative(HOST);
  } catch (e) {
    port = null;
    return null;
  }
  port.onMessage.addListener(onReply);
  port.onDisconnect.addListener(() => {
    port = null;
    queue = []; // undelivered events are dropped, never kept in the browser
    setConfig({ state: "no-agent" });
  });
  return port;
}

function send(message) {
  const p = connect();
  if (!p) return;
  message.id = nextId++;
  p.postMessage(message);
}

function onReply(reply) {
  if (reply && typeof reply.state === "string") setConfig(reply);
}

function setConfig(reply) {
  const fresh = {
    state: reply.state,
    text: reply.text === true,
    exclude_sites: reply.exclude_sites ?? config.exclude_sites,
    sensitive_selectors: reply.sensitive_selectors ?? config.sensitive_selectors,
    search_sites: reply.search_sites ?? config.search_sites,
  };
  const changed = JSON.stringify(fresh) !== JSON.stringify(config);
  config = fresh;
  if (changed) {
    api.storage.local.set({ wp: config });
    refreshBadges();
  }
}

function recording(url) {
  return config.state === "recording" && !(url && WP.siteExcluded(url, config.exclude_sites));
}

function enqueue(events) {
  for (const ev of events) queue.push(ev);
  if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
}

function flush() {
  flushTimer = null;
  if (!queue.length) return;
  const events = queue.splice(0, 200);
  send({ op: "events", events });
  if (queue.length) flushTimer = setTimeout(flush, FLUSH_MS);
}

// -- from the content scripts (a long-lived port per page; one-off messages are accepted too) --
api.runtime.onConnect.addListener((p) => {
  if (p.name !== "wp-events") return;
  p.onMessage.addListener((message) => fromPage(message, p.sender));
});
api.runtime.onMessage.addListener((message, sender) => fromPage(message, sender));

function fromPage(message, sender) {
  const tab = sender && sender.tab;
  if (!tab || sender.id !== api.runtime.id || !tab || tab.incognito || sender.frameId !== 0) return;
  if (!message || message.op !== "events" || !Array.isArray(message.events)) return;
  knownTabs.add(tab.id);
  const kept = [];
  for (const ev of message.events) {
    if (!ev || typeof ev !== "object" || !recording(ev.url)) continue;
    ev.tab = tab.id;
    if (ev.type === "web_nav" && transitions.has(tab.id)) ev.transition = transitions.get(tab.id);
    kept.push(ev);
  }
  if (kept.length) enqueue(kept);
}

// -- navigation and tabs ----------------------------------------------------------------------
const TRANSITIONS = { link: "link", typed: "typed", reload: "reload", form_submit: "form_submit", auto_bookmark: "other", auto_subframe: "auto", manual_subframe: "auto", generated: "typed", auto_toplevel: "auto", keyword: "typed", keyword_generated: "typed", start_page: "auto" };

api.webNavigation.onCommitted.addListener((details) => {
  if (details.frameId !== 0) return;
  const qualifiers = details.transitionQualifiers || [];
  const kind = qualifiers.includes("forward_back") ? "back_forward" : TRANSITIONS[details.transitionType] || "other";
  transitions.set(details.tabId, kind);
});

function tabEvent(tab, op) {
  if (!tab || tab.incognito) return;
  knownTabs.add(tab.id);
  const url = tab.url || tab.pendingUrl || "";
  if (!recording(url)) return;
  const ev = { type: "web_tab", t_ms: Date.now(), tab: tab.id, op };
  if (url.startsWith("http")) ev.url = WP.stripUrl(url);
  enqueue([ev]);
}

api.tabs.onCreated.addListener((tab) => tabEvent(tab, "create"));
api.tabs.onActivated.addListener(({ tabId }) => {
  api.tabs.get(tabId).then((tab) => {
    tabEvent(tab, "switch");
    badge(tab);
  }, () => {});
});
api.tabs.onRemoved.addListener((tabId) => {
  transitions.delete(tabId);
  if (!knownTabs.delete(tabId) || config.state !== "recording") return;
  enqueue([{ type: "web_tab", t_ms: Date.now(), tab: tabId, op: "close" }]);
});
api.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.url || change.status === "complete") badge(tab);
});

// -- the badge --------------------------------------------------------------------------------
function badgeFor(tab) {
  if (config.state === "paused") return BADGES.paused;
  if (config.state !== "recording") return BADGES.off;
  if (tab.incognito || (tab.url && WP.siteExcluded(tab.url, config.exclude_sites))) return BADGES.excluded;
  return BADGES.recording;
}

function badge(tab) {
  if (!tab || tab.id === undefined) return;
  const b = badgeFor(tab);
  api.action.setBadgeText({ tabId: tab.id, text: b.text }).catch(() => {});
  api.action.setBadgeBackgroundColor({ tabId: tab.id, color: b.color }).catch(() => {});
  const title = config.state === "recording" ? (b === BADGES.excluded ? "not recorded here (excluded)" : "recording — click to pause") : `workprint: ${config.state}${config.state === "paused" ? " — click to resume" : ""}`;
  api.action.setTitle({ tabId: tab.id, title }).catch(() => {});
}

function refreshBadges() {
  api.tabs.query({}).then((tabs) => tabs.forEach(badge), () => {});
}

api.action.onClicked.addListener(() => {
  if (config.state === "recording") {
    setConfig({ state: "paused", text: config.text }); // stop at once, before the reply
    send({ op: "pause" });
  } else if (config.state === "paused") {
    send({ op: "resume" });
  }
});

// -- keep the state fresh (the native port also keeps this worker alive) ----------------------
api.storage.local.set({ wp: config });
send({ op: "state" });
setInterval(() => send({ op: "state" }), POLL_MS);
globalThis.wpDebug = { config: () => config, queued: () => queue.length };
