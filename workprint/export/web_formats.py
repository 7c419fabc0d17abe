"""Browser actions → the record formats web-agent trainers consume (docs/browser.md, "Web-agent
exports").

A ``WebRecord`` is one step on a page: the action, the element descriptor (the extension's
``el_*`` fields), the URL and the value typed. Records come from an actions dataset (OS actions
that the timeline join gave an element and URL: docs/actions.md, "Browser context") or straight
from raw browser events (``web_act``/``web_nav``). Two renderings:

- ``to_weblinx``: WebLINX's action strings, ``click(uid="…")``, ``text_input(text="…",
  uid="…")``, ``submit(uid="…")``, ``scroll(x=…, y=…)``, ``load(url="…")``; the uid is the
  element's stable CSS selector (WebLINX's own uid is an attribute its recorder injects).
- ``to_mind2web``: Mind2Web's ``operation`` (``op`` CLICK/TYPE/SELECT, ``original_op``,
  ``value``) with the target element (tag and attributes, ``bounding_box_rect`` "x,y,w,h") and
  the URL.

A step a format cannot express (a hotkey; a scroll in Mind2Web; an action outside the browser)
renders as None. A scroll's amounts are pixels when they come from raw events and wheel notches
when they come from OS actions; both in the DOM's direction (dy > 0 scrolls down).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final, Literal

import msgspec
import pyarrow as pa

from workprint.builders.actions import table_to_actions
from workprint.errors import WorkprintError
from workprint.events import Event, WebAct, WebNav

WebFormat = Literal["weblinx", "mind2web"]
WEB_FORMATS: Final[tuple[str, ...]] = ("weblinx", "mind2web")
WebAction = Literal["click", "type", "submit", "scroll", "key", "copy", "cut", "paste", "load"]
_CLICKS: Final = frozenset({"click", "double_click", "triple_click", "long_press"})
_ELEMENT_KEYS: Final = ("tag", "role", "name", "id", "type", "autocomplete", "selector", "box")


class WebFormatError(WorkprintError):
    """A record cannot be read or rendered as asked."""


class WebRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    session: str
    t: int
    action: WebAction
    url: str
    element: dict[str, Any] | None = None
    value: str | None = None
    dx: int | None = None
    dy: int | None = None


def _element(descriptor: str | None, where: str) -> dict[str, Any] | None:
    if descriptor is None:
        return None
    try:
        element = json.loads(descriptor)
    except json.JSONDecodeError as exc:
        raise WebFormatError(f"{where}: element is not JSON: {exc}") from None
    if not isinstance(element, dict) or not set(element) <= set(_ELEMENT_KEYS):
        raise WebFormatError(f"{where}: element is not an element descriptor: {descriptor[:80]}")
    return element


def from_actions(actions: pa.Table) -> list[WebRecord | None]:
    """One entry per action of an actions batch: its web record, None when the action has no
    URL (it was not in a browser) or no web counterpart (a drag, a right click)."""
    out: list[WebRecord | None] = []
    for row, action in enumerate(table_to_actions(actions)):
        if action.url is None:
            out.append(None)
            continue
        element = _element(action.element, f"action {row}")
        base: dict[str, Any] = {
            "session": action.session,
            "t": action.t_start,
            "url": action.url,
            "element": element,
        }
        if action.kind in _CLICKS:
            out.append(WebRecord(action="click", **base))
        elif action.kind == "type":
            out.append(WebRecord(action="type", value=action.text, **base))
        elif action.kind == "scroll":  # wheel notches, turned to the DOM's direction
            dx = None if action.dx is None else action.dx
            dy = None if action.dy is None else -action.dy
            out.append(WebRecord(action="scroll", dx=dx, dy=dy, **base))
        elif action.kind in ("key", "hotkey"):
            keys = "+".join([*action.mods, *action.keys])
            name: WebAction = "submit" if keys == "enter" else "key"
            out.append(WebRecord(action=name, value=keys, **base))
        else:
            out.append(None)
    return out


def from_events(events: Iterable[Event]) -> list[WebRecord]:
    """The web records of raw browser events: every ``web_act`` and each page load."""
    out: list[WebRecord] = []
    for event in events:
        if isinstance(event, WebNav):
            out.append(WebRecord(session=event.session, t=event.t, action="load", url=event.url))
        elif isinstance(event, WebAct):
            fields = {k: getattr(event, "el_" + k) for k in _ELEMENT_KEYS}
            element = {k: list(v) if k == "box" else v for k, v in fields.items() if v}
            action: WebAction = "type" if event.act == "input" else event.act
            out.append(
                WebRecord(
                    session=event.session,
                    t=event.t,
                    action=action,
                    url=event.url,
                    element=element or None,
                    value=event.value,
                    dx=event.dx,
                    dy=event.dy,
                )
            )
    return out


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_weblinx(record: WebRecord) -> str | None:
    """The WebLINX action string of a record (None: not expressible)."""
    uid = (record.element or {}).get("selector")
    if record.action == "load":
        return f"load(url={_quoted(record.url)})"
    if record.action == "scroll":
        return f"scroll(x={record.dx or 0}, y={record.dy or 0})"
    if uid is None:
        return None
    if record.action == "click":
        return f"click(uid={_quoted(uid)})"
    if record.action == "submit":
        return f"submit(uid={_quoted(uid)})"
    if record.action == "type" and record.value is not None:
        return f"text_input(text={_quoted(record.value)}, uid={_quoted(uid)})"
    return None


def to_mind2web(record: WebRecord) -> dict[str, Any] | None:
    """The Mind2Web action of a record (None: not expressible)."""
    element = record.element
    if element is None:
        return None
    if record.action == "click":
        op, original, value = "CLICK", "CLICK", ""
    elif record.action == "submit":
        op, original, value = "CLICK", "ENTER", ""
    elif record.action == "type" and record.value is not None:
        select = element.get("tag") == "select"
        op = original = "SELECT" if select else "TYPE"
        value = record.value
    else:
        return None
    attributes = {
        name: element[key]
        for key, name in (("id", "id"), ("role", "role"), ("type", "type"), ("name", "aria_label"))
        if key in element
    }
    if "box" in element:
        attributes["bounding_box_rect"] = ",".join(str(v) for v in element["box"])
    return {
        "operation": {"op": op, "original_op": original, "value": value},
        "target": {
            "tag": element.get("tag"),
            "selector": element.get("selector"),
            "attributes": attributes,
        },
        "url": record.url,
    }


def with_web_format(actions: pa.Table, fmt: WebFormat) -> pa.Table:
    """Add an ``action`` column to an actions batch: the WebLINX string or the Mind2Web action
    as JSON, null when the action is not a web step the format can express."""
    if fmt not in WEB_FORMATS:
        raise WebFormatError(f"unknown web format {fmt!r} (one of: {', '.join(WEB_FORMATS)})")
    column: list[str | None] = []
    for record in from_actions(actions):
        if record is None:
            column.append(None)
        elif fmt == "weblinx":
            column.append(to_weblinx(record))
        else:
            rendered = to_mind2web(record)
            column.append(None if rendered is None else json.dumps(rendered, ensure_ascii=False))
    return actions.append_column(pa.field("action", pa.string()), pa.array(column, pa.string()))
