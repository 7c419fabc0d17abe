"""The raw event model, schema v1.

One tagged union of msgspec structs. Every event carries ``t`` (wall-clock nanoseconds since the
Unix epoch, set once at capture and never rewritten), ``session`` (the recording session id) and
``seq`` (a per-device sequence number that only grows, across restarts too). The JSON Lines
interchange form is documented in docs/events.md; ``codec`` reads and writes it.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1

# Key classes: what a key event keeps when the text-content scope is not granted.
KeyClass = Literal[
    "letter",
    "digit",
    "space",
    "punctuation",
    "navigation",
    "editing",
    "modifier",
    "function",
    "other",
]
KEY_CLASSES: Final[tuple[str, ...]] = (
    "letter",
    "digit",
    "space",
    "punctuation",
    "navigation",
    "editing",
    "modifier",
    "function",
    "other",
)

# Key classes whose key name says nothing of the text typed: without the text-content scope these
# keep ``key`` (e.g. "BackSpace"); every other class keeps only ``cls``.
NAMED_KEY_CLASSES: Final = frozenset({"navigation", "editing", "modifier", "function"})

# Modifier names, in the fixed order used in ``mods`` tuples.
Modifier = Literal["shift", "ctrl", "alt", "meta", "altgr", "capslock"]
MODIFIERS: Final[tuple[str, ...]] = ("shift", "ctrl", "alt", "meta", "altgr", "capslock")

Scope = Literal["input-timing", "text-content", "mouse", "app-usage", "window-titles", "browsing"]
SCOPES: Final[tuple[str, ...]] = (
    "input-timing",
    "text-content",
    "mouse",
    "app-usage",
    "window-titles",
    "browsing",
)


# Bounds keep every integer within the column types of the Arrow form (events/columnar.py).
Timestamp = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 2)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
WindowId = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
Coord = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Button = Annotated[int, msgspec.Meta(ge=1, le=32)]
SessionId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class EventBase(msgspec.Struct, kw_only=True, tag_field="type", omit_defaults=True, gc=False):
    """``gc=False``: an event holds only numbers, strings and tuples of strings, so it can never
    be part of a reference cycle. Untracked, the thousands a batch decodes do not set off the
    garbage collector, which otherwise took ~18% of the collector's decode time and paused it
    for up to ~60 ms in a full collection (decoding 100 batches of 2,000 events in process)."""

    t: Timestamp
    session: SessionId
    seq: Seq = 0


class KeyDown(EventBase, tag="key_down", kw_only=True):
    """A key went down. ``key``/``char``/``keycode`` are None when text content is out of scope
    for a printable key: only ``cls``, ``mods`` and the timing remain."""

    cls: KeyClass
    key: str | None = None
    char: str | None = None
    keycode: Annotated[int, msgspec.Meta(ge=0, le=255)] | None = None
    mods: tuple[Modifier, ...] = ()


class KeyUp(EventBase, tag="key_up", kw_only=True):
    cls: KeyClass
    key: str | None = None
    char: str | None = None
    keycode: Annotated[int, msgspec.Meta(ge=0, le=255)] | None = None
    mods: tuple[Modifier, ...] = ()


class MouseMove(EventBase, tag="mouse_move", kw_only=True):
    x: Coord
    y: Coord


class MouseDown(EventBase, tag="mouse_down", kw_only=True):
    x: Coord
    y: Coord
    button: Button  # 1 left, 2 middle, 3 right, 8/9 back/forward


class MouseUp(EventBase, tag="mouse_up", kw_only=True):
    x: Coord
    y: Coord
    button: Button


class Scroll(EventBase, tag="scroll", kw_only=True):
    """One wheel notch or more. dy > 0 scrolls up, dx > 0 scrolls right (pynput's convention)."""

    x: Coord
    y: Coord
    dx: Coord = 0
    dy: Coord = 0


class WindowFocus(EventBase, tag="window_focus", kw_only=True):
    """The active window changed (or its title did). ``title`` is None without window-titles."""

    app: str
    title: str | None = None
    pid: Count | None = None
    window: WindowId = 0


class SessionStart(EventBase, tag="session_start", kw_only=True):
    device: str
    host: str = ""
    schema: Annotated[int, msgspec.Meta(ge=1, le=32767)] = SCHEMA_VERSION
    screen_w: Count = 0
    screen_h: Count = 0
    source: str = "x11"
    scopes: tuple[Scope, ...] = ()


class SessionStop(EventBase, tag="session_stop", kw_only=True):
    reason: str = "stopped"


class Pause(EventBase, tag="pause", kw_only=True):
    reason: str = "user"


class Resume(EventBase, tag="resume", kw_only=True):
    reason: str = "user"


class ConsentChange(EventBase, tag="consent_change", kw_only=True):
    scopes: tuple[Scope, ...]
    policy_version: Count = 0


class Gap(EventBase, tag="gap", kw_only=True):
    """Capture stopped for a span that must not be recorded; deliberately says nothing of why
    beyond a coarse reason ("excluded")."""

    reason: str
    t_end: Timestamp | None = None


class EditorEdit(EventBase, tag="editor_edit", kw_only=True):
    """What an editor itself reported (imported editor-level logs, e.g. IDFX wordlog): the caret
    and text length before a key, and the change it really made (``start``/``end`` replaced by
    ``text``). ``ref_seq`` is the seq of the key-down it annotates; None for an edit no key
    caused (a paste from a menu), applied where its own ``seq`` falls. Needs text-content."""

    ref_seq: Seq | None = None
    caret: Seq | None = None
    doc_len: Seq | None = None
    start: Seq | None = None
    end: Seq | None = None
    text: str | None = None


# -- the browser (extension → native host → recorder; docs/browser.md) ------------------------
TabId = Annotated[int, msgspec.Meta(ge=-1, le=2**31 - 1)]  # -1: no tab (a window-level event)
Url = Annotated[str, msgspec.Meta(max_length=2048)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
Selector = Annotated[str, msgspec.Meta(max_length=1024)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
WebTransition = Literal["link", "typed", "reload", "back_forward", "form_submit", "auto", "other"]
WebTabOp = Literal["create", "switch", "close"]
WebActKind = Literal["click", "input", "submit", "scroll", "copy", "cut", "paste"]
WebSearchOp = Literal["query", "open"]


class WebNav(EventBase, tag="web_nav", kw_only=True):
    """A tab's top frame committed a page. ``url`` has no query string or fragment."""

    tab: TabId
    url: Url
    title: ShortText | None = None
    transition: WebTransition | None = None


class WebTab(EventBase, tag="web_tab", kw_only=True):
    """A tab was created, became the active one, or was closed."""

    tab: TabId
    op: WebTabOp
    url: Url | None = None


class WebAct(EventBase, tag="web_act", kw_only=True):
    """An action on a page element, with a descriptor of that element (``el_*``), the point
    (``x``/``y``, CSS pixels in the viewport) and the viewport size. ``value`` (the field's text
    after an input, or pasted text) only with the text-content scope; otherwise ``length`` (its
    length) and the timing are all that remain. Never produced for a password, card or
    one-time-code field: those are dropped inside the page."""

    tab: TabId
    url: Url
    act: WebActKind
    el_tag: ShortText | None = None
    el_role: ShortText | None = None
    el_name: ShortText | None = None
    el_id: ShortText | None = None
    el_type: ShortText | None = None
    el_autocomplete: ShortText | None = None
    el_selector: Selector | None = None
    el_box: tuple[Coord, ...] = ()  # x, y, width, height in viewport CSS pixels
    x: Coord | None = None
    y: Coord | None = None
    vw: Count | None = None
    vh: Count | None = None
    dx: Coord | None = None  # scroll: coalesced pixels, dy > 0 down (the DOM's convention)
    dy: Coord | None = None
    value: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    length: Count | None = None


class WebDwell(EventBase, tag="web_dwell", kw_only=True):
    """Time spent on a page since the last report: visible (tab shown) and focused (window
    focused and tab shown), not wall time. Sent when the page is left or hidden."""

    tab: TabId
    url: Url
    visible_ms: Millis
    focused_ms: Millis


class WebSearch(EventBase, tag="web_search", kw_only=True):
    """A search results page showed ``query`` (op "query"), or a result on it was opened (op
    "open": its 1-based ``rank`` and ``domain``). ``engine`` names the search site."""

    tab: TabId
    url: Url
    engine: ShortText
    op: WebSearchOp
    query: Annotated[str, msgspec.Meta(max_length=1024)]
    rank: Count | None = None
    domain: ShortText | None = None


Event = (
    KeyDown
    | KeyUp
    | MouseMove
    | MouseDown
    | MouseUp
    | Scroll
    | WindowFocus
    | SessionStart
    | SessionStop
    | Pause
    | Resume
    | ConsentChange
    | Gap
    | EditorEdit
    | WebNav
    | WebTab
    | WebAct
    | WebDwell
    | WebSearch
)

EVENT_TYPES: Final[tuple[type[EventBase], ...]] = (
    KeyDown,
    KeyUp,
    MouseMove,
    MouseDown,
    MouseUp,
    Scroll,
    WindowFocus,
    SessionStart,
    SessionStop,
    Pause,
    Resume,
    ConsentChange,
    Gap,
    EditorEdit,
    WebNav,
    WebTab,
    WebAct,
    WebDwell,
    WebSearch,
)

# Which consent scope an event type needs before it may be kept (None: lifecycle markers).
KEY_EVENTS: Final = (KeyDown, KeyUp)
MOUSE_EVENTS: Final = (MouseMove, MouseDown, MouseUp, Scroll)
WEB_EVENTS: Final = (WebNav, WebTab, WebAct, WebDwell, WebSearch)  # need the browsing scope
