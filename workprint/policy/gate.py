"""The edge gate: the last step before the spool, deciding event by event what may be kept.

Pure and deterministic (no I/O, no clock): the same input always gives the same output, which
is what makes it testable against arbitrary event streams. State changes travel *in* the
stream (ConsentChange, Pause/Resume, WindowFocus), so every event is judged by the state in
force at its own position, however the recorder batches them. docs/policy.md has the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from workprint.events import (
    NAMED_KEY_CLASSES,
    SCOPES,
    ConsentChange,
    EditorEdit,
    Event,
    Gap,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseUp,
    Pause,
    Resume,
    Scroll,
    SessionStart,
    SessionStop,
    WebAct,
    WebDwell,
    WebNav,
    WebSearch,
    WebTab,
    WindowFocus,
)
from workprint.policy.browser_gate import WebEvent, reduce_web, web_drop_reason
from workprint.policy.consent import canonical, effective_scopes
from workprint.policy.policy_file import Policy

GAP_EXCLUDED: Final = "excluded"


class EdgePolicy:
    """Filters and reduces a time-ordered event stream by consent, pause and exclusions.

    ``admit`` may modify the events it keeps (stripping text, titles) and replaces the focus
    event of an excluded window by a ``Gap``. ``dropped`` counts the events it did not keep,
    per reason (``no-consent:<scope>``, ``no-consent``, ``paused``, ``excluded``, ``hotkey``).
    """

    __slots__ = (
        "_apps",
        "_browsing",
        "_effective",
        "_excluded",
        "_gap",
        "_gap_open",
        "_hotkey",
        "_hotkey_held",
        "_keys",
        "_mouse",
        "_paused",
        "_scopes",
        "_sites",
        "_text",
        "_titles",
        "dropped",
        "policy",
    )

    def __init__(
        self,
        policy: Policy,
        scopes: frozenset[str],
        *,
        paused: bool = False,
        excluded_sites: tuple[str, ...] = (),
    ) -> None:
        unknown = set(scopes).difference(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        self.policy = policy
        self.dropped: dict[str, int] = {}
        self._hotkey = policy.capture.hotkey
        self._hotkey_held = False
        self._paused = paused
        self._excluded = False
        self._gap_open = False  # a Gap was kept for the excluded window now focused
        self._gap: Gap | None = None  # that Gap, while it is in the batch being built
        self._sites = excluded_sites  # beyond the policy's (the enrolled collector's portal)
        self._set_scopes(scopes)

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes granted, as of the last event admitted."""
        return self._scopes

    @property
    def effective_scopes(self) -> frozenset[str]:
        """The scopes actually in force (text-content needs input-timing, window-titles needs
        app-usage)."""
        return self._effective

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def excluded(self) -> bool:
        """True while the focused window falls under an exclusion rule."""
        return self._excluded

    def admit(self, events: Sequence[Event]) -> list[Event]:
        """The events of this batch that may be kept, in order."""
        out: list[Event] = []
        for event in events:
            self._admit(event, out)
        self._gap = None  # handed over with the batch: never modified after this
        return out

    def _admit(self, event: Event, out: list[Event]) -> None:
        match event:
            case KeyDown() | KeyUp():
                self._key(event, out)
            case MouseMove() | MouseDown() | MouseUp() | Scroll():
                if not self._mouse:
                    self._drop("no-consent:mouse")
                elif self._paused:
                    self._drop("paused")
                elif self._excluded:
                    self._drop("excluded")
                else:
                    out.append(event)
            case WindowFocus():
                self._focus(event, out)
            case ConsentChange():
                had_any = bool(self._effective)
                self._set_scopes(s for s in event.scopes if s in SCOPES)
                if not self._effective:
                    self._close_gap(event.t)
                if had_any or self._effective:
                    out.append(event)
                else:
                    self._drop("no-consent")
            case Pause():
                self._paused = True
                self._close_gap(event.t)
                self._marker(event, out)
            case Resume():
                self._paused = False
                self._marker(event, out)
            case SessionStart():
                event.scopes = canonical(self._effective)
                self._marker(event, out)
            case SessionStop():
                self._close_gap(event.t)
                self._marker(event, out)
            case Gap():
                self._marker(event, out)
            case EditorEdit():  # an editor's own log holds the text itself
                if not self._text:
                    self._drop("no-consent:text-content")
                elif self._paused:
                    self._drop("paused")
                elif self._excluded:
                    self._drop("excluded")
                else:
                    out.append(event)
            case WebNav() | WebTab() | WebAct() | WebDwell() | WebSearch():
                self._web(event, out)
            case _:  # a type this gate does not know: never let it through unexamined
                self._drop("unknown-type")

    def _key(self, event: KeyDown | KeyUp, out: list[Event]) -> None:
        if self._is_hotkey(event):
            self._drop("hotkey")
        elif not self._keys:
            self._drop("no-consent:input-timing")
        elif self._paused:
            self._drop("paused")
        elif self._excluded:
            self._drop("excluded")
        else:
            if not self._text:
                key = event.key
                if event.cls not in NAMED_KEY_CLASSES or key is None or len(key) < 2:
                    event.key = None  # a one-character "name" is text whatever its class
                event.char = None
                event.keycode = None
            out.append(event)

    def _web(self, event: WebEvent, out: list[Event]) -> None:
        """Browser events: the browsing scope, pause, an excluded window, then the browser
        rules (excluded sites, sensitive fields, values without text-content)."""
        if not self._browsing:
            self._drop("no-consent:browsing")
        elif self._paused:
            self._drop("paused")
        elif self._excluded:
            self._drop("excluded")
        else:
            reason = web_drop_reason(event, self.policy.browser, self._sites)
            if reason is not None:
                self._drop(reason)
            else:
                reduce_web(event, text=self._text)  # typed values need text-content
                out.append(event)

    def _is_hotkey(self, event: KeyDown | KeyUp) -> bool:
        """The pause hotkey's own key: its press (and repeats) and the matching release."""
        hotkey = self._hotkey
        if hotkey is None:
            return False
        if isinstance(event, KeyDown):
            if hotkey.matches(event.key, event.mods):
                self._hotkey_held = True
                return True
            return False
        if event.key is None or event.key.lower() != hotkey.key:
            return False
        if self._hotkey_held or hotkey.matches(event.key, event.mods):
            self._hotkey_held = False
            return True
        return False

    def _focus(self, event: WindowFocus, out: list[Event]) -> None:
        # The exclusion is judged on the real title, before any title is stripped.
        if self.policy.matches_exclusion(event.app, event.title) is not None:
            self._excluded = True
            if self._paused:
                self._drop("paused")
                return
            self._drop("excluded")
            if self._gap_open or not self._effective:
                return
            gap = Gap(t=event.t, session=event.session, seq=event.seq, reason=GAP_EXCLUDED)
            out.append(gap)
            self._gap = gap
            self._gap_open = True
            return
        self._excluded = False
        self._close_gap(event.t)
        if not self._apps:
            self._drop("no-consent:app-usage")
        elif self._paused:
            self._drop("paused")
        else:
            if not self._titles:
                event.title = None
            out.append(event)

    def _marker(self, event: Event, out: list[Event]) -> None:
        if self._effective:
            out.append(event)
        else:
            self._drop("no-consent")

    def _close_gap(self, t: int) -> None:
        """The excluded span ends at ``t``; note it on the Gap if it is still in this batch."""
        if self._gap is not None and self._gap.t_end is None and t >= self._gap.t:
            self._gap.t_end = t
        self._gap = None
        self._gap_open = False

    def _set_scopes(self, scopes: Iterable[str]) -> None:
        self._scopes = frozenset(scopes)
        effective = effective_scopes(self._scopes)
        self._effective = effective
        self._keys = "input-timing" in effective
        self._text = "text-content" in effective
        self._mouse = "mouse" in effective
        self._apps = "app-usage" in effective
        self._titles = "window-titles" in effective
        self._browsing = "browsing" in effective

    def _drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
