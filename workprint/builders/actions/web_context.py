"""The timeline join: an OS action gets the element and URL of the browser ``web_act`` that the
same gesture produced inside the page (docs/actions.md, "Browser context").

The rule. A ``web_act`` matches an action when it is in the same recording session, its ``act``
is one the action's kind produces in a page (``WEB_ACTS``), and its time lies in the action's
window widened by the tolerance: ``t_start - web_join_s <= t <= t_end + web_join_s``. Of several,
the latest in (t, seq, stream position) order wins: the page reports a gesture after the OS saw
it (a DOM click fires on release, ``input`` after the key), and for typing the last ``input``
carries the field's final state. A ``web_act`` may serve more than one action (a double click's
two DOM clicks and one OS action, or the other way round).

Implemented twice on purpose: ``attach_web_fast`` (vectorised, per session and kind class, a
binary search over the sorted web times) for the fast reducer, ``attach_web_reference`` (a
plain scan per action) for the reference one; the property and join tests compare them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workprint.events import Event, WebAct

if TYPE_CHECKING:
    from workprint.builders.actions.model import Action

# Action kind → the web_act kinds it produces in a page. Right/middle clicks and drags fire no
# DOM click the extension records, so they get none (rather than a neighbour's).
WEB_ACTS: Final[dict[str, frozenset[str]]] = {
    "click": frozenset({"click"}),
    "double_click": frozenset({"click"}),
    "triple_click": frozenset({"click"}),
    "long_press": frozenset({"click"}),
    "type": frozenset({"input"}),
    "key": frozenset({"input", "submit"}),
    "hotkey": frozenset({"copy", "cut", "paste", "input"}),
    "scroll": frozenset({"scroll"}),
}
# The descriptor's keys, in the order they are written (the web_act field is "el_" + key).
ELEMENT_KEYS: Final = ("tag", "role", "name", "id", "type", "autocomplete", "selector", "box")
_ENCODE: Final = msgspec.json.Encoder().encode


def element_descriptor(fields: dict[str, Any]) -> str | None:
    """The element of a web_act (its ``el_*`` fields) as compact JSON with the keys of
    ``ELEMENT_KEYS`` it has; None when it has none (a scroll of the page)."""
    out: dict[str, Any] = {}
    for key in ELEMENT_KEYS:
        value = fields.get("el_" + key)
        if value is not None and value != () and value != []:
            out[key] = list(value) if key == "box" else value
    return _ENCODE(out).decode() if out else None


def _seconds_ns(seconds: float) -> int:
    return round(seconds * 1e9)


# -- reference: one scan per action ----------------------------------------------------------


def attach_web_reference(
    actions: list[Action], events: Sequence[Event], tolerance_s: float
) -> list[Action]:
    """``actions`` with ``element``/``url`` set from the matching web_act (the rule above)."""
    tol = _seconds_ns(tolerance_s)
    webs = [(i, e) for i, e in enumerate(events) if isinstance(e, WebAct)]
    if not webs:
        return actions
    out: list[Action] = []
    for action in actions:
        acts = WEB_ACTS.get(action.kind, frozenset())
        best: tuple[int, int, int, WebAct] | None = None
        for index, web in webs:
            if web.session != action.session or web.act not in acts:
                continue
            if not action.t_start - tol <= web.t <= action.t_end + tol:
                continue
            key = (web.t, web.seq, index, web)
            if best is None or key[:3] > best[:3]:
                best = key
        if best is None:
            out.append(action)
            continue
        web = best[3]
        fields = {name: getattr(web, name) for name in web.__struct_fields__}
        element = element_descriptor(fields)
        out.append(msgspec.structs.replace(action, element=element, url=web.url))
    return out


# -- fast: a binary search per session and kind class -----------------------------------------


def attach_web_fast(actions: pa.Table, events: pa.Table, tolerance_s: float) -> pa.Table:
    """The same join on Arrow tables: ``actions`` (``ACTION_SCHEMA``) and the raw ``events``
    they were reduced from (``EVENT_SCHEMA``)."""
    if actions.num_rows == 0 or "act" not in events.column_names:
        return actions
    types = pc.cast(events.column("type"), pa.string())
    positions = np.flatnonzero(pc.equal(types, "web_act").to_numpy(zero_copy_only=False))
    if len(positions) == 0:
        return actions
    tol = _seconds_ns(tolerance_s)
    web = events.take(pa.array(positions))
    web_t = web.column("t").to_numpy()
    web_seq = web.column("seq").to_numpy()
    web_session = np.array(pc.cast(web.column("session"), pa.string()).to_pylist(), dtype=object)
    web_act = np.array(pc.cast(web.column("act"), pa.string()).to_pylist(), dtype=object)
    order = np.lexsort((positions, web_seq, web_t))  # (t, seq, stream position)

    kinds = np.array(actions.column("kind").to_pylist(), dtype=object)
    sessions = np.array(actions.column("session").to_pylist(), dtype=object)
    starts = actions.column("t_start").to_numpy()
    ends = actions.column("t_end").to_numpy()
    chosen = np.full(actions.num_rows, -1, dtype=np.int64)  # row of ``web`` per action
    for kind, acts in WEB_ACTS.items():
        of_kind = kinds == kind
        if not of_kind.any():
            continue
        act_ok = np.isin(web_act, list(acts))
        for session in np.unique(sessions[of_kind]):
            rows = np.flatnonzero(of_kind & (sessions == session))
            candidates = order[(act_ok & (web_session == session))[order]]
            if len(candidates) == 0:
                continue
            times = web_t[candidates]
            last = np.searchsorted(times, ends[rows] + tol, side="right") - 1
            hit = last >= 0
            hit[hit] &= times[last[hit]] >= starts[rows][hit] - tol
            chosen[rows[hit]] = candidates[last[hit]]
    if not (chosen >= 0).any():
        return actions
    descriptors = _descriptors(web)
    urls = web.column("url").to_pylist()
    element = [descriptors[c] if c >= 0 else None for c in chosen]
    url = [urls[c] if c >= 0 else None for c in chosen]
    for name, values in (("element", element), ("url", url)):
        index = actions.schema.get_field_index(name)
        actions = actions.set_column(
            index, actions.schema.field(name), pa.array(values, pa.string())
        )
    return actions


def _descriptors(web: pa.Table) -> list[str | None]:
    names = ["el_" + key for key in ELEMENT_KEYS if "el_" + key in web.column_names]
    columns = {name: web.column(name).to_pylist() for name in names}
    return [
        element_descriptor({name: columns[name][row] for name in names})
        for row in range(web.num_rows)
    ]
