"""Fixed-window limits per caller (spec 000 §3.5: N per minute and M per hour), all windows at once.

A window opens at its first request and resets whole, which is exactly what X-RateLimit-Reset
announces. A request is counted in every window only if every window has room; a refused one
is counted nowhere, so a client that waits as told is not punished for having asked. The check
and the count are one atomic step: one Lua script on Redis (one round trip for all windows,
shared by every worker and host), or one lock in this process for the embedded memory://
default. (limits' own MemoryStorage starts a timer thread every few milliseconds to expire
keys, which costs more than the rest of the request on this hot path; here expiry is lazy.)
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from dataclasses import dataclass

import redis
from limits import RateLimitItem, parse_many

SUFFIXES = {"minute": "", "hour": "-Hour", "day": "-Day", "second": "-Second"}


@dataclass(frozen=True)
class Window:
    limit: RateLimitItem
    count: int  # requests counted in this window, this one included when allowed
    reset: float  # unix time at which the window starts over

    @property
    def remaining(self) -> int:
        return max(0, self.limit.amount - self.count)

    @property
    def suffix(self) -> str:
        name = self.limit.GRANULARITY.name
        return SUFFIXES.get(name, f"-{name.title()}")


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    windows: list[Window]
    cost: int = 1  # what the request asked to count (log lines in a batch)
    generation: int | None = None  # of the agents' data, read in the same step (webapp/db/read_cache.py)

    @property
    def blocking(self) -> Window | None:
        """The window that refused the request: the one that frees up last."""
        full = [w for w in self.windows if w.count + self.cost > w.limit.amount] if not self.allowed else []
        return max(full, key=lambda w: w.reset) if full else None

    def retry_after(self) -> int:
        blocking = self.blocking
        return max(1, math.ceil(blocking.reset - time.time())) if blocking else 1

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* per window (minute unsuffixed, hour -Hour ...; without a minute window the
        first window is also unsuffixed). When a longer window refused
        the request, the unsuffixed three describe that window (a client reading only the spec's
        three headers must see Remaining: 0), and the minute moves to -Minute."""
        headers = {}
        for window in self.windows:
            headers.update(_window_headers(window, window.suffix))
        if self.windows and all(window.suffix for window in self.windows):
            headers.update(_window_headers(self.windows[0], ""))  # no minute window (spec 004: per hour)
        blocking = self.blocking
        if blocking is not None and blocking.suffix:
            minute = next((w for w in self.windows if not w.suffix), None)
            if minute is not None:
                headers.update(_window_headers(minute, "-Minute"))
            headers.update(_window_headers(blocking, ""))
        return headers


def _window_headers(window: Window, suffix: str) -> dict[str, str]:
    return {f"X-RateLimit-Limit{suffix}": str(window.limit.amount),
            f"X-RateLimit-Remaining{suffix}": str(window.remaining),
            f"X-RateLimit-Reset{suffix}": str(math.ceil(window.reset))}


class LocalCounters:
    """In-process counters for one worker (the embedded default; several workers need Redis)."""

    reachable = staticmethod(lambda: True)

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list] = {}  # key -> [count, window end]
        self._next_sweep = 0.0

    def hit(self, keys: list[str], amounts: list[int], expiries: list[int],
            cost: int = 1) -> tuple[bool, list[tuple[int, float]], None]:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:  # drop finished windows now and then, not on a timer thread
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._next_sweep = now + 60
            current = []
            for key, expiry in zip(keys, expiries):
                window = self._windows.get(key)
                if window is None or window[1] <= now:
                    window = [0, now + expiry]
                current.append(window)
            allowed = all(window[0] + cost <= amount for window, amount in zip(current, amounts))
            if allowed:
                for key, window in zip(keys, current):
                    window[0] += cost
                    self._windows[key] = window
            return allowed, [(window[0], window[1]) for window in current], None  # no shared generation

    def bump(self) -> None:
        """Nothing to tell: without Redis no process keeps the agents' data (no ReadCache)."""


# KEYS: one per window, then the generation key; ARGV: amount and expiry (seconds) of each window,
# the cost of this request (1, or a batch's log lines), then a seed for a missing generation.
# Counts all windows only if every one has room; returns allowed, count and milliseconds to reset
# for each window, then the generation of the agents' data (bumped by every commit that changes
# it: webapp/db/read_cache.py), read in the same round trip.
# A window without a key (-2) reports its whole length; a key that lost its expiry (-1) gets one
# back, so no counter can lock a caller out for good.
_SCRIPT = """
local counts, ttls, allowed = {}, {}, 1
local windows = #KEYS - 1
local cost = tonumber(ARGV[#ARGV - 1])
for i = 1, windows do
  local key = KEYS[i]
  counts[i] = tonumber(redis.call('GET', key) or '0')
  ttls[i] = redis.call('PTTL', key)
  if ttls[i] == -1 then
    ttls[i] = tonumber(ARGV[2 * i]) * 1000
    redis.call('PEXPIRE', key, ttls[i])
  end
  if counts[i] + cost > tonumber(ARGV[2 * i - 1]) then allowed = 0 end
end
for i = 1, windows do
  local key = KEYS[i]
  if allowed == 1 then
    counts[i] = redis.call('INCRBY', key, cost)
    if ttls[i] < 0 then
      ttls[i] = tonumber(ARGV[2 * i]) * 1000
      redis.call('PEXPIRE', key, ttls[i])
    end
  elseif ttls[i] < 0 then
    ttls[i] = tonumber(ARGV[2 * i]) * 1000
  end
end
local result = {allowed}
for i = 1, windows do
  result[#result + 1] = counts[i]
  result[#result + 1] = math.max(ttls[i], 0)
end
local generation = redis.call('GET', KEYS[#KEYS])
if not generation then
  generation = ARGV[#ARGV]
  redis.call('SET', KEYS[#KEYS], generation)
end
result[#result + 1] = generation
return result
"""


# A generation that went missing (a restarted or flushed Redis) starts again from a random value,
# never from one a process may have tagged its kept rows with before. It must never go back to an
# earlier value: a Redis restored from a snapshot, or a replica promoted before it had the last
# bump, needs the workers restarted (or AGENT_READ_CACHE_SECONDS to pass); the shipped
# docker-compose.yml runs Redis without persistence.
_BUMP = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])
"""
GENERATION_KEY = "agentdesk/reads-generation"


class RedisCounters:
    """Counters in Redis, shared by every worker and host: one EVALSHA per request.

    The script is sent on redis-py connections this class keeps itself: redis.Redis's client,
    connection pool and retry wrapper poll the socket before every command and cost more than the
    round trip on this path. When a kept connection fails (a restarted Redis closed them all), the
    kept ones are dropped and the call is tried once more on a new one; a new connection that fails
    is not tried again (Redis is down). One a caller abandoned mid-call (a timeout) is never reused."""

    def __init__(self, url: str):
        self._pool = redis.ConnectionPool.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._idle: list = []  # list.pop and append are atomic: no lock
        self._sha = hashlib.sha1(_SCRIPT.encode()).hexdigest()
        self._bump_owed = False  # a bump that failed: made before the next count

    def reachable(self) -> bool:
        try:
            return self._call("PING") in (True, b"PONG", "PONG")
        except redis.RedisError:
            return False

    def _call(self, *command):
        for attempt in (1, 2):
            try:
                connection, kept = self._idle.pop(), True
            except IndexError:
                connection, kept = self._pool.make_connection(), False
            try:
                connection.send_command(*command)
                result = connection.read_response()
            except redis.ConnectionError:
                connection.disconnect()
                if not kept or attempt == 2:
                    raise  # a new connection failed: Redis is down (and callers should not wait twice)
                stale, self._idle = self._idle, []  # a restarted Redis closed them all: start afresh
                for other in stale:
                    other.disconnect()
                continue
            except redis.ResponseError:
                self._idle.append(connection)  # the server answered: the connection is in step
                raise
            except BaseException:
                connection.disconnect()
                raise
            self._idle.append(connection)
            return result
        raise AssertionError("unreachable")

    def hit(self, keys: list[str], amounts: list[int], expiries: list[int],
            cost: int = 1) -> tuple[bool, list[tuple[int, float]], int]:
        args = [value for pair in zip(amounts, expiries) for value in pair] + [cost, _seed()]
        if self._bump_owed:
            self.bump()
        try:
            result = self._call("EVALSHA", self._sha, len(keys) + 1, *keys, GENERATION_KEY, *args)
        except redis.exceptions.NoScriptError:  # a restarted or flushed Redis: load it once more
            self._call("SCRIPT", "LOAD", _SCRIPT)
            result = self._call("EVALSHA", self._sha, len(keys) + 1, *keys, GENERATION_KEY, *args)
        now = time.time()
        windows = [(int(result[i]), now + int(result[i + 1]) / 1000) for i in range(1, len(result) - 1, 2)]
        return bool(result[0]), windows, int(result[-1])

    def bump(self) -> None:
        """A commit changed the agents' data: every process's kept rows are stale from now on."""
        self._bump_owed = True
        self._call("EVAL", _BUMP, 1, GENERATION_KEY, _seed())
        self._bump_owed = False


def _seed() -> int:
    return random.getrandbits(52)  # not a secret: only never the same twice in a row matters


def counters_for(storage_uri: str):
    """The counters for RATELIMIT_STORAGE_URI: in this process for memory://, else Redis."""
    if storage_uri.startswith("memory://"):
        return LocalCounters()
    if storage_uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisCounters(storage_uri)
    # config.load refuses any other scheme at start-up
    raise ValueError("the machine APIs count requests in memory:// or redis:// storage only")


class FixedWindows:
    """A set of limits ("60/minute;1000/hour") applied together to one identity."""

    def __init__(self, counters, spec: str, prefix: str):
        self.counters, self.limits, self.prefix = counters, parse_many(spec), prefix
        self._amounts = [limit.amount for limit in self.limits]
        self._expiries = [limit.get_expiry() for limit in self.limits]

    def hit(self, identity: str, cost: int = 1) -> Outcome:
        # One hash tag per caller keeps a call's windows together; the generation key is shared by all
        # callers, so the script needs a plain Redis (RATELIMIT_STORAGE_URI refuses Redis Cluster).
        keys = [f"{self.prefix}/{{{identity}}}/{amount}/{expiry}"
                for amount, expiry in zip(self._amounts, self._expiries)]
        allowed, counted, generation = self.counters.hit(keys, self._amounts, self._expiries, cost)
        return Outcome(allowed, [Window(limit, count, reset) for limit, (count, reset) in zip(self.limits, counted)],
                       cost, generation)


STORAGE_ERRORS = (redis.RedisError,)
