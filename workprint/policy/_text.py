"""Error messages for files people edit: one line, and saying where before what."""

from __future__ import annotations

import re

_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F)} | {
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    0x85: "\\x85",
}


def one_line(text: str) -> str:
    """Escape control and line-separator characters so a message stays on one line."""
    return text.translate(_ESCAPES)


_MSGSPEC_AT = re.compile(r"(.*) - at `\$(.*)`", re.S)
_FIELD_PREFIX = re.compile(r"([a-z_]+): (.*)", re.S)


def validation_message(message: str) -> str:
    """msgspec's ``what - at `$.a[0].b` `` → ``a[0].b: what``. A ``field: ...`` message raised
    by a struct's own ``__post_init__`` check names the field inside that struct."""
    match = _MSGSPEC_AT.fullmatch(message)
    if match is None:
        return message
    what, where = match[1], match[2].lstrip(".")
    field = _FIELD_PREFIX.fullmatch(what)
    if field is not None:
        where, what = (f"{where}.{field[1]}" if where else field[1]), field[2]
    return f"{where}: {what}" if where else what
