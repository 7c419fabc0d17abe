"""Thresholds and switches of the writing-process builder, one frozen struct so a record can say
exactly which settings produced it."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

# Chenoweth & Hayes (2001) and most keystroke-logging studies since segment at 2 s: long enough
# to skip ordinary inter-key hesitation, short enough to catch planning pauses.
DEFAULT_PAUSE_S: Final = 2.0


class WritingConfig(msgspec.Struct, frozen=True, kw_only=True):
    """``pause_s``: an inter-key interval at least this long is a pause (and ends a P-burst).
    ``clipboard``: replay Ctrl+C/X/V through a per-session clipboard (off: every paste is
    unmodelled, which is what "text typed" wants). ``burst_text``: keep the full text after
    each burst (costs one string reference per burst, but O(length) memory when exported)."""

    pause_s: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = DEFAULT_PAUSE_S
    clipboard: bool = True
    burst_text: bool = True

    @property
    def pause_ns(self) -> int:
        return round(self.pause_s * 1e9)
