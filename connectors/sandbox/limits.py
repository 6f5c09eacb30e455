"""Rate limits for sandboxes: sliding windows per (credential, bucket), on a scalable clock.

``minute_s`` lets tests shrink a provider's "per minute" to milliseconds while the client
keeps its real pace on a fake clock, so tier limits are exercised without waiting minutes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the oldest request leaves the window
    retry_after_s: int  # whole seconds, as providers send Retry-After


class SlidingWindow:
    """At most ``limit`` requests per ``window_s`` seconds for each key."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> Verdict:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                reset_at = hits[0] + self.window_s
                return Verdict(False, self.limit, 0, reset_at, max(1, math.ceil(reset_at - now)))
            hits.append(now)
            reset_at = hits[0] + self.window_s
            return Verdict(True, self.limit, self.limit - len(hits), reset_at, 0)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
