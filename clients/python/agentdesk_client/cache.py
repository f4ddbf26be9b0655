"""A small thread-safe TTL cache (spec 000 §6.4)."""

from __future__ import annotations

import threading
import time


class LLMConfigCache:
    def __init__(self, ttl: float = 3600, clock=time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[dict, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, stored = entry
            if self._clock() - stored >= self.ttl:
                del self._entries[key]
                return None
            return value

    def set(self, key: str, value: dict) -> None:
        with self._lock:
            self._entries[key] = (value, self._clock())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
