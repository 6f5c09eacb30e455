"""connectors/http/ratelimit.py: the in-memory and the Redis rate budgets, one set of cases for both.

A fake clock and sleep make every wait exact and instant. The Redis budget runs against the
real Redis on 127.0.0.1:6379 (db 15, a prefix of its own per test): skipped when Redis is not
running, a failure under HEADWATER_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.http.ratelimit import InMemoryRateBudget, Pace, RateBudget, RedisRateBudget, parse_limits
from tests.conftest import REDIS_URL, require_service

T0 = 1_800_000_000.0


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = T0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class Kit:
    """Makes budgets of one kind and plays a scenario in one event loop (Redis clients are bound to it)."""

    def __init__(self, kind: str, prefix: str = "") -> None:
        self.kind = kind
        self.prefix = prefix
        self.clients: list[Any] = []

    def make(self, t: FakeTime, **kw: Any) -> RateBudget:
        if self.kind == "memory":
            return InMemoryRateBudget(clock=t.clock, sleep=t.sleep, **kw)
        import redis.asyncio as aioredis

        # A client per budget, as every worker process has its own; the state is shared in Redis.
        client = aioredis.from_url(REDIS_URL)
        self.clients.append(client)
        return RedisRateBudget(client, prefix=self.prefix, clock=t.clock, sleep=t.sleep, **kw)

    def play(self, steps: Callable[[], Awaitable[list[float]]]) -> list[float]:
        async def main() -> list[float]:
            try:
                return await steps()
            finally:
                for c in self.clients:
                    await c.aclose()

        return asyncio.run(main())


@pytest.fixture(params=["memory", "redis"])
def kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    if request.param == "memory":
        yield Kit("memory")
        return
    require_service("redis")
    import redis

    prefix = f"headwater:test:rate:{uuid.uuid4().hex[:8]}:"
    yield Kit("redis", prefix)
    with redis.Redis.from_url(REDIS_URL) as r:
        keys = list(r.scan_iter(match=prefix + "*"))
        if keys:
            r.delete(*keys)


def limits(
    remaining: int | None = None, reset_in: float | None = None, status: int = 200, **extra: str
) -> httpx.Response:
    headers = dict(extra)
    if remaining is not None:
        headers["X-RateLimit-Remaining"] = str(remaining)
    if reset_in is not None:
        headers["X-RateLimit-Reset"] = str(int(T0 + reset_in))
    return httpx.Response(status, headers=headers)


def test_no_limits_known_means_no_wait(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)

    async def steps() -> list[float]:
        waited = [await budget.acquire("tok:core")]
        await budget.observe("tok:core", limits())
        waited.append(await budget.acquire("tok:core"))
        return waited

    assert kit.play(steps) == [0.0, 0.0] and t.waits == []


def test_an_exhausted_quota_waits_until_the_reset(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)

    async def steps() -> list[float]:
        await budget.observe("tok:core", limits(remaining=0, reset_in=30))
        return [await budget.acquire("tok:core"), await budget.acquire("tok:other")]

    assert kit.play(steps) == [pytest.approx(30.0), 0.0]  # another bucket is not held up
    assert t.waits == [pytest.approx(30.0)]


@pytest.mark.parametrize(
    ("remaining", "wait"),
    [(10, 10.0), (2, 30.0)],  # 100 s left / 10 requests left; 50 s would be the even spread, capped at 30 s
    ids=["spread", "capped"],
)
def test_under_the_low_watermark_requests_are_spread_over_the_window(kit: Kit, remaining: int, wait: float) -> None:
    t = FakeTime()
    budget = kit.make(t, low_watermark=50, max_spread_wait=30.0)

    async def steps() -> list[float]:
        await budget.observe("k", limits(remaining=remaining, reset_in=100))
        return [await budget.acquire("k")]

    assert kit.play(steps) == [pytest.approx(wait)]


def test_acquire_spends_the_quota_before_the_next_response_tells(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t, low_watermark=2, max_spread_wait=30.0)

    async def steps() -> list[float]:
        await budget.observe("k", limits(remaining=3, reset_in=300))
        return [await budget.acquire("k") for _ in range(3)]

    # 3 left (no wait) -> 2 left (no wait) -> 1 left, under the watermark: spread (capped at 30 s).
    assert kit.play(steps) == [0.0, 0.0, pytest.approx(30.0)]


def test_a_reset_in_the_past_does_not_wait(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)

    async def steps() -> list[float]:
        await budget.observe("k", limits(remaining=0, reset_in=-5))
        return [await budget.acquire("k")]

    assert kit.play(steps) == [0.0]


def test_retry_after_blocks_the_credential_and_a_shorter_one_does_not_shorten_it(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)

    async def steps() -> list[float]:
        await budget.observe("k", httpx.Response(429, headers={"Retry-After": "9"}))
        await budget.observe("k", httpx.Response(429, headers={"Retry-After": "2"}))
        return [await budget.acquire("k"), await budget.acquire("k")]

    assert kit.play(steps) == [pytest.approx(9.0), 0.0]


def test_a_429_without_retry_after_blocks_one_second(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)

    async def steps() -> list[float]:
        await budget.observe("k", httpx.Response(429))
        return [await budget.acquire("k")]

    assert kit.play(steps) == [pytest.approx(1.0)]


def test_a_pace_spaces_requests_evenly(kit: Kit) -> None:
    t = FakeTime()
    budget = kit.make(t)
    tier = Pace(requests=2, per=10.0)  # one every 5 s

    async def steps() -> list[float]:
        waited = []
        for _ in range(3):
            waited.append(await budget.acquire("slack:conversations.history", tier))
        return waited

    assert kit.play(steps) == [0.0, pytest.approx(5.0), pytest.approx(5.0)]
    assert t.now == pytest.approx(T0 + 10.0)


def test_two_budgets_share_the_state_only_through_redis(kit: Kit) -> None:
    t = FakeTime()
    first, second = kit.make(t), kit.make(t)

    async def steps() -> list[float]:
        await first.observe("tok:core", limits(remaining=0, reset_in=20))
        return [await second.acquire("tok:core")]

    waited = kit.play(steps)
    if isinstance(first, RedisRateBudget):
        assert waited == [pytest.approx(20.0)]  # another process's budget sees the exhausted quota
    else:
        assert waited == [0.0]  # separate in-memory budgets know nothing of each other


def test_parse_limits_reads_both_header_spellings() -> None:
    assert parse_limits(limits(remaining=7, reset_in=60), T0) == (7, T0 + 60, None)
    ietf = httpx.Response(200, headers={"RateLimit-Remaining": "4", "RateLimit-Reset": "15"})
    assert parse_limits(ietf, T0) == (4, T0 + 15, None)
    assert parse_limits(httpx.Response(200, headers={"X-RateLimit-Remaining": "many"}), T0) == (None, None, None)
    assert parse_limits(httpx.Response(429, headers={"Retry-After": "3"}), T0)[2] == T0 + 3
