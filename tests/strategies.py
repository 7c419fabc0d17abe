"""Hypothesis strategies for the event model, derived from its msgspec type information.

``events()`` draws any valid event of any type in ``EVENT_TYPES``; a type added to the model
is covered without touching this file, and a field type it cannot generate fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Final, cast

import msgspec
from hypothesis import strategies as st

from workprint.events import EVENT_TYPES, Event, EventBase

# msgspec encodes integers from -2**63 up to 2**64 - 1.
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**64 - 1

# Any Unicode scalar value (no lone surrogates: they are not representable in UTF-8).
TEXT_CHARS: Final = st.characters(codec="utf-8")


def _for_type(info: msgspec.inspect.Type) -> st.SearchStrategy[Any]:
    inspect = msgspec.inspect
    if isinstance(info, inspect.IntType):
        low = INT_MIN if info.ge is None else info.ge
        high = INT_MAX if info.le is None else info.le
        if info.gt is not None:
            low = info.gt + 1
        if info.lt is not None:
            high = info.lt - 1
        return st.integers(min_value=max(low, INT_MIN), max_value=min(high, INT_MAX))
    if isinstance(info, inspect.StrType):
        if info.pattern is not None:
            return st.from_regex(info.pattern, fullmatch=True)
        return st.text(TEXT_CHARS, min_size=info.min_length or 0, max_size=info.max_length or 40)
    if isinstance(info, inspect.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, inspect.NoneType):
        return st.none()
    if isinstance(info, inspect.UnionType):
        return st.one_of(*(_for_type(member) for member in info.types))
    if isinstance(info, inspect.VarTupleType | inspect.ListType):
        items = st.lists(
            _for_type(info.item_type),
            min_size=info.min_length or 0,
            max_size=info.max_length if info.max_length is not None else 6,
        )
        return items.map(tuple) if isinstance(info, inspect.VarTupleType) else items
    if isinstance(info, inspect.BoolType):
        return st.booleans()
    raise NotImplementedError(f"no strategy for field type {info!r}: extend tests/strategies.py")


@cache
def event_of(cls: type[EventBase]) -> st.SearchStrategy[Event]:
    """Any valid event of type ``cls``: required fields always, optional ones sometimes."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    required = {f.name: _for_type(f.type) for f in info.fields if f.required}
    optional = {f.name: _for_type(f.type) for f in info.fields if not f.required}
    build = cast("Callable[..., Event]", cls)
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: build(**kw))


def events(types: tuple[type[EventBase], ...] = EVENT_TYPES) -> st.SearchStrategy[Event]:
    """Any valid event of any of ``types``."""
    return st.one_of(*(event_of(cls) for cls in types))


def event_lists(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[list[Event]]:
    return st.lists(events(), min_size=min_size, max_size=max_size)
