"""Fixed-window counters per token (spec 000 §3.5: N per minute, M per hour).

A window opens at its first request and resets whole, which is exactly what X-RateLimit-Reset
announces. Counters live in the storage Flask-Limiter was configured with (RATELIMIT_STORAGE_URI):
Redis shared by every worker and host, or, for the embedded memory:// default, a plain dict in
this process. (limits' own MemoryStorage starts a timer thread every few milliseconds to expire
keys, which costs more than the rest of the request on this hot path; here expiry is lazy.)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many


@dataclass(frozen=True)
class Window:
    limit: RateLimitItem
    count: int
    reset: float  # unix time at which the window starts over

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit.amount

    @property
    def remaining(self) -> int:
        return max(0, self.limit.amount - self.count)


class LocalCounters:
    """In-process counters for one worker (the embedded default; several workers need Redis)."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list] = {}  # key -> [count, window end]
        self._next_sweep = 0.0

    def incr(self, key: str, expiry: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:  # drop finished windows now and then, not on a timer thread
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._next_sweep = now + 60
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += 1
            return window[0], window[1]



class SharedCounters:
    """Counters in the limits storage (Redis ...): one INCR and one TTL per window."""

    def __init__(self, storage):
        self._storage = storage

    def incr(self, key: str, expiry: int) -> tuple[int, float]:
        count = self._storage.incr(key, expiry)
        return count, self._storage.get_expiry(key)



class FixedWindows:
    """A set of limits ("60/minute;1000/hour") applied together to one identity."""

    def __init__(self, counters, spec: str, prefix: str):
        self.counters, self.limits, self.prefix = counters, parse_many(spec), prefix

    def hit(self, identity: str) -> list[Window]:
        """Count one request in every window; stop at the first exhausted one (the others are not charged)."""
        windows = []
        for limit in self.limits:
            count, reset = self.counters.incr(f"{self.prefix}/{identity}/{limit.amount}/{limit.get_expiry()}",
                                              limit.get_expiry())
            windows.append(Window(limit, count, reset))
            if count > limit.amount:
                break
        return windows

    @staticmethod
    def retry_after(windows: list[Window]) -> int:
        waits = [w.reset - time.time() for w in windows if not w.allowed]
        return max(1, math.ceil(max(waits or [1])))
