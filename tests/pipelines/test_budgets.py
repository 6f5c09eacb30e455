"""A Redis outage costs the shared rate budget its sharing, never a task."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from connectors.http.ratelimit import InMemoryRateBudget, Pace, RedisRateBudget
from pipelines.budgets import ResilientBudget


class Flaky:
    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    async def acquire(self, key: str, pace: Pace | None = None) -> float:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("redis restarting")
        return 0.25

    async def observe(self, key: str, response: httpx.Response) -> None:
        if self.down:
            raise ConnectionRefusedError("redis restarting")


def test_falls_back_while_redis_is_down_and_returns_to_it() -> None:
    shared = Flaky()
    local = InMemoryRateBudget()
    budget = ResilientBudget(shared, local, retry_after_s=0.05)

    async def scenario() -> list[float]:
        waited = [await budget.acquire("k"), await budget.acquire("k")]  # down: local, shared not retried at once
        await budget.observe("k", httpx.Response(200, headers={"x-ratelimit-remaining": "10"}))
        shared.down = False
        await asyncio.sleep(0.06)
        waited.append(await budget.acquire("k"))  # back: shared again
        return waited

    assert asyncio.run(scenario()) == [0.0, 0.0, 0.25]
    assert shared.calls == 2  # once when it failed, once after the pause


def test_a_real_redis_client_on_a_closed_port_does_not_fail_requests() -> None:
    async def scenario() -> float:
        client: Any = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
        try:
            return await ResilientBudget(RedisRateBudget(client)).acquire("github:tok", Pace(requests=10, per=1.0))
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == 0.0


def test_other_errors_are_not_hidden() -> None:
    class Broken(Flaky):
        async def acquire(self, key: str, pace: Pace | None = None) -> float:
            raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        asyncio.run(ResilientBudget(Broken()).acquire("k"))
