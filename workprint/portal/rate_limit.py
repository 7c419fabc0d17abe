"""A sliding-window rate limit per client address, in memory: the first line against password
guessing from one place (the per-login lockout in accounts.py is the second)."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one attempt for ``key``; False if it is over the limit in the window."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= self.max_keys:
                self._hits.clear()  # bounded memory; an attacker rotating addresses gains nothing
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= moment - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(moment)
            return True
