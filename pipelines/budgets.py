"""The rate budget a worker's tasks share: in Redis (every worker process sees the same
budget), falling back to this process's own budget while Redis is unreachable, so a Redis
restart slows nobody down and fails no task. The provider's own rate-limit answers (429,
Retry-After) still hold in that window; the fallback only loses sharing across processes."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import httpx

from connectors.http.ratelimit import InMemoryRateBudget, Pace, RateBudget

log = logging.getLogger(__name__)

RETRY_SHARED_AFTER_S = 5.0


@dataclass
class ResilientBudget:
    shared: RateBudget
    local: RateBudget = field(default_factory=InMemoryRateBudget)
    retry_after_s: float = RETRY_SHARED_AFTER_S
    _down_until: float = 0.0

    def _use_shared(self) -> bool:
        return time.monotonic() >= self._down_until

    def _shared_failed(self, exc: Exception) -> None:
        if self._use_shared():
            log.warning(
                "the shared rate budget (Redis) is unreachable (%s); using this process's own for %.0f s",
                type(exc).__name__,
                self.retry_after_s,
            )
        self._down_until = time.monotonic() + self.retry_after_s

    async def acquire(self, key: str, pace: Pace | None = None) -> float:
        if self._use_shared():
            try:
                return await self.shared.acquire(key, pace)
            except Exception as exc:
                if not unreachable(exc):
                    raise
                self._shared_failed(exc)
        return await self.local.acquire(key, pace)

    async def observe(self, key: str, response: httpx.Response) -> None:
        await self.local.observe(key, response)
        if not self._use_shared():
            return
        try:
            await self.shared.observe(key, response)
        except Exception as exc:
            if not unreachable(exc):
                raise
            self._shared_failed(exc)


def unreachable(exc: BaseException) -> bool:
    """Redis is down or restarting (refused, reset, timed out, still loading its data)."""
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, OSError | RedisConnectionError | RedisTimeoutError | BusyLoadingError)
