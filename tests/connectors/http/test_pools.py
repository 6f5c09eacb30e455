"""A worker thread's tasks reuse their source's keep-alive connections (connectors.http.pools),
and a source never gets another source's pool, auth or headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors.http.client import HttpClient, RetryPolicy, make_pool
from connectors.http.pools import ClientPools, ThreadLoop
from connectors.runtime import open_http
from tests.conftest import MakeRuntime


class Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    auth_seen: list[str | None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.server, Server)
        self.server.connections += 1

    def do_GET(self) -> None:
        assert isinstance(self.server, Server)
        self.server.auth_seen.append(self.headers.get("Authorization"))
        body = json.dumps([{"id": 1}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.auth_seen = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


async def one_task(base: str, pools: ClientPools | None) -> None:
    """What a task does: its own HttpClient (own stats, semaphore), a few requests, closed."""
    pool = pools.client("source-1", lambda: make_pool(base, RetryPolicy(), 2)) if pools is not None else None
    async with HttpClient(base, max_in_flight=2, pool=pool) as http:
        for _ in range(3):
            await http.get_json("/items")


def test_tasks_on_one_thread_loop_share_their_sources_connections(server: Server) -> None:
    runner = ThreadLoop()
    try:
        for _ in range(4):
            runner.run(one_task(url(server), runner.pools))
    finally:
        runner.close()
    assert server.connections == 1
    assert runner.pools.opened == 1


def test_without_a_pool_every_task_opens_its_own_connections(server: Server) -> None:
    import asyncio

    for _ in range(4):
        asyncio.run(one_task(url(server), None))
    assert server.connections == 4


def test_sources_never_share_a_pool_and_send_their_own_auth(server: Server, make_runtime: MakeRuntime) -> None:
    a = make_runtime("github", {"base_url": url(server), "org": "one"}, {"token": "ghp_token_of_a"}, tenant="a")
    b = make_runtime("github", {"base_url": url(server), "org": "two"}, {"token": "ghp_token_of_b"}, tenant="b")
    runner = ThreadLoop()

    async def task(rt: Any) -> None:
        async with open_http(rt, pools=runner.pools) as http:
            await http.get_json("/items")

    try:
        for rt in (a, b, a, b):
            runner.run(task(rt))
    finally:
        runner.close()
    assert runner.pools.opened == 2  # one per source, reused by its second task
    assert server.connections == 2
    tokens = [x.split()[-1] if x else None for x in server.auth_seen]
    assert tokens == ["ghp_token_of_a", "ghp_token_of_b", "ghp_token_of_a", "ghp_token_of_b"]


def test_the_least_recently_used_pool_is_closed_beyond_the_cap(server: Server) -> None:
    runner = ThreadLoop(max_pools=1)
    base = url(server)
    first = runner.pools.client("s1", lambda: make_pool(base, RetryPolicy(), 1))
    runner.pools.client("s2", lambda: make_pool(base, RetryPolicy(), 1))

    async def nothing() -> None:
        pass

    runner.run(nothing())  # evicted pools are closed on the loop after the task
    assert first.is_closed
    runner.close()
