"""Connection pools kept across the tasks a worker thread runs, one pool per source.

Every task used to open its own ``httpx.AsyncClient`` (pool, TLS context, keep-alive
connections) inside its own ``asyncio.run`` loop and close it at the end: each task paid new
TCP and TLS handshakes. A pool is bound to the event loop its connections were opened on, so
a worker thread keeps ONE loop (:class:`ThreadLoop`) and runs its tasks on it one after the
other, with the pools of that loop (:class:`ClientPools`). Isolation: a pool is keyed by the
source, its credential and base URL; it carries no auth, headers or rate budget (those stay
per task: ``HttpClient`` sends its auth and headers with each request), and no source ever
gets another's pool.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class ClientPools:
    """The ``httpx.AsyncClient`` of each source on one event loop; the least recently used ones
    beyond ``max_pools`` are closed."""

    def __init__(self, max_pools: int = 16) -> None:
        self.max_pools = max_pools
        self._pools: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._evicted: list[httpx.AsyncClient] = []
        self.opened = 0  # pools created (tests, profiles)

    def client(self, key: str, make: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
        pool = self._pools.get(key)
        if pool is None or pool.is_closed:
            pool = self._pools[key] = make()
            self.opened += 1
        self._pools.move_to_end(key)
        while len(self._pools) > self.max_pools:
            _, old = self._pools.popitem(last=False)
            self._evicted.append(old)
        return pool

    async def close_evicted(self) -> None:
        evicted, self._evicted = self._evicted, []
        for pool in evicted:
            await pool.aclose()

    async def aclose(self) -> None:
        self._evicted.extend(self._pools.values())
        self._pools.clear()
        await self.close_evicted()


class ThreadLoop:
    """One event loop kept by a thread, running its coroutines one after another (what
    ``asyncio.run`` does per call, minus closing the loop and its connection pools)."""

    def __init__(self, max_pools: int = 16) -> None:
        self.loop = asyncio.new_event_loop()
        self.pools = ClientPools(max_pools)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.loop.is_running():  # re-entered from inside a coroutine of this loop: never
            raise RuntimeError("ThreadLoop.run called from its own running loop")
        asyncio.set_event_loop(self.loop)
        try:
            return self.loop.run_until_complete(coro)
        finally:
            self._cancel_leftovers()
            self.loop.run_until_complete(self.pools.close_evicted())
            asyncio.set_event_loop(None)

    def _cancel_leftovers(self) -> None:
        """Tasks the coroutine left behind are cancelled and awaited, as ``asyncio.run`` does."""
        leftovers = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for t in leftovers:
            t.cancel()
        if leftovers:
            self.loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))

    def close(self) -> None:
        self.loop.run_until_complete(self.pools.aclose())
        self.loop.close()


_local = threading.local()


def thread_loop() -> ThreadLoop:
    """This thread's loop and pools, made on first use (per-process cache, like the CA bundle)."""
    current: ThreadLoop | None = getattr(_local, "loop", None)
    if current is None or current.loop.is_closed():
        current = _local.loop = ThreadLoop()
    return current
