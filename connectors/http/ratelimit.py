"""Rate budgets per credential, fed by the provider's own headers.

A budget is consulted before every request (``acquire``) and told about every response
(``observe``). It slows down *before* the limit: when the remaining quota falls under a low
watermark, requests are spread evenly over the time left until the reset; after a 429 or a
``Retry-After`` every request of that credential waits. A bucket may also have a fixed pace
(Slack's per-method tiers): at most ``n`` requests per ``per`` seconds.

Two implementations share the logic: :class:`InMemoryRateBudget` (one process) and
:class:`RedisRateBudget` (every worker process of the deployment, via Redis).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from connectors.http.classify import is_rate_limited, retry_after_seconds

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Pace:
    """At most ``requests`` per ``per`` seconds (a provider's documented tier)."""

    requests: int
    per: float

    @property
    def interval(self) -> float:
        return self.per / self.requests


@dataclass
class RateState:
    remaining: int | None = None
    reset_at: float | None = None
    blocked_until: float = 0.0
    next_slot: float = 0.0


class RateBudget(Protocol):
    """What the HTTP client needs from a budget; ``key`` identifies credential and bucket."""

    async def acquire(self, key: str, pace: Pace | None = None) -> float:
        """Wait until a request may be sent; returns the seconds waited."""
        ...

    async def observe(self, key: str, response: httpx.Response) -> None: ...


def parse_limits(response: httpx.Response, now: float) -> tuple[int | None, float | None, float | None]:
    """(remaining, reset epoch, blocked-until epoch) from a response's headers."""
    h = response.headers
    remaining: int | None = None
    reset_at: float | None = None
    raw_remaining = h.get("x-ratelimit-remaining") or h.get("ratelimit-remaining")
    if raw_remaining is not None:
        try:
            remaining = int(float(raw_remaining))
        except ValueError:
            remaining = None
    raw_reset = h.get("x-ratelimit-reset") or h.get("ratelimit-reset")
    if raw_reset:
        try:
            r = float(raw_reset)
            reset_at = r if r > 1e9 else now + r
        except ValueError:
            reset_at = None
    blocked: float | None = None
    if is_rate_limited(response):
        wait = retry_after_seconds(response, now)
        blocked = now + (wait if wait is not None else 1.0)
    return remaining, reset_at, blocked


def delay_for(state: RateState, now: float, low_watermark: int, max_spread_wait: float) -> float:
    """Seconds to wait before the next request, given the known quota state."""
    delay = max(0.0, state.blocked_until - now)
    if state.remaining is not None and state.reset_at is not None and state.reset_at > now:
        if state.remaining <= 0:
            delay = max(delay, state.reset_at - now)
        elif state.remaining < low_watermark:
            # Spread what is left over the window instead of bursting into the wall.
            delay = max(delay, min(max_spread_wait, (state.reset_at - now) / state.remaining))
    return delay


class InMemoryRateBudget:
    """Budget for one process; pass the same instance to every client of a credential."""

    def __init__(
        self,
        *,
        low_watermark: int = 50,
        max_spread_wait: float = 30.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.low_watermark = low_watermark
        self.max_spread_wait = max_spread_wait
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, RateState] = {}
        self.waited_s = 0.0

    def state(self, key: str) -> RateState:
        return self._states.setdefault(key, RateState())

    async def acquire(self, key: str, pace: Pace | None = None) -> float:
        now = self._clock()
        st = self.state(key)
        delay = delay_for(st, now, self.low_watermark, self.max_spread_wait)
        if pace is not None:
            slot = max(now + delay, st.next_slot)
            st.next_slot = slot + pace.interval
            delay = slot - now
        if st.remaining is not None and st.remaining > 0:
            st.remaining -= 1  # optimistic: concurrent requests see the budget shrink
        if delay > 0:
            self.waited_s += delay
            await self._sleep(delay)
        return delay

    async def observe(self, key: str, response: httpx.Response) -> None:
        now = self._clock()
        remaining, reset_at, blocked = parse_limits(response, now)
        st = self.state(key)
        if remaining is not None:
            st.remaining = remaining
        if reset_at is not None:
            st.reset_at = reset_at
        if blocked is not None:
            st.blocked_until = max(st.blocked_until, blocked)


_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
local low = tonumber(ARGV[2])
local max_spread = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
local remaining = redis.call('HGET', KEYS[1], 'remaining')
local reset_at = redis.call('HGET', KEYS[1], 'reset_at')
local delay = math.max(0, blocked - now)
if remaining and reset_at then
  remaining = tonumber(remaining)
  reset_at = tonumber(reset_at)
  if reset_at > now then
    if remaining <= 0 then
      delay = math.max(delay, reset_at - now)
    elseif remaining < low then
      delay = math.max(delay, math.min(max_spread, (reset_at - now) / remaining))
    end
  end
  if remaining > 0 then redis.call('HSET', KEYS[1], 'remaining', remaining - 1) end
end
if interval > 0 then
  local next_slot = tonumber(redis.call('HGET', KEYS[1], 'next_slot') or '0')
  local slot = math.max(now + delay, next_slot)
  redis.call('HSET', KEYS[1], 'next_slot', tostring(slot + interval))
  delay = slot - now
end
redis.call('EXPIRE', KEYS[1], 7200)
return tostring(delay)
"""

_OBSERVE_LUA = """
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'remaining', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'reset_at', ARGV[2]) end
if ARGV[3] ~= '' then
  local cur = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
  if tonumber(ARGV[3]) > cur then redis.call('HSET', KEYS[1], 'blocked_until', ARGV[3]) end
end
redis.call('EXPIRE', KEYS[1], 7200)
return 1
"""


@dataclass
class RedisRateBudget:
    """Budget shared by every process through Redis; the decisions are atomic Lua scripts."""

    redis: Any  # redis.asyncio.Redis
    prefix: str = "headwater:rate:"
    low_watermark: int = 50
    max_spread_wait: float = 30.0
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    waited_s: float = field(default=0.0)

    async def acquire(self, key: str, pace: Pace | None = None) -> float:
        delay = float(
            await self.redis.eval(
                _ACQUIRE_LUA,
                1,
                self.prefix + key,
                repr(self.clock()),
                str(self.low_watermark),
                str(self.max_spread_wait),
                repr(pace.interval if pace else 0.0),
            )
        )
        if delay > 0:
            self.waited_s += delay
            await self.sleep(delay)
        return delay

    async def observe(self, key: str, response: httpx.Response) -> None:
        remaining, reset_at, blocked = parse_limits(response, self.clock())
        await self.redis.eval(
            _OBSERVE_LUA,
            1,
            self.prefix + key,
            "" if remaining is None else str(remaining),
            "" if reset_at is None else repr(reset_at),
            "" if blocked is None else repr(blocked),
        )
