"""A fault-injecting HTTP proxy on 127.0.0.1, in front of any sandbox (or any HTTP server).

Every request not to a control path (``/__…``) is numbered (0, 1, 2 …) and counted; a
:class:`Plan` says which numbers get which :class:`Fault`: an answer of its own (a status, a
body, headers: 429s, 5xx, a provider's 401), a stall before answering (past the client's read
timeout), a body truncated to half (valid HTTP, broken JSON), or a connection reset in the
middle of the body. Other requests are forwarded unchanged, with their ``Host`` header, so the
sandbox's links point back at the proxy.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from connectors.sandbox import RunningServer

HOP_BY_HOP = {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"}


@dataclass(frozen=True)
class Fault:
    kind: str  # "answer" | "stall" | "truncate" | "reset"
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    stall_s: float = 0.0


@dataclass(frozen=True)
class Plan:
    """Which request numbers get a fault: ``at`` (a set), or every one from ``from_n`` on."""

    name: str
    fault: Fault
    at: frozenset[int] = frozenset()
    from_n: int | None = None

    def fault_for(self, n: int) -> Fault | None:
        if n in self.at or (self.from_n is not None and n >= self.from_n):
            return self.fault
        return None


@dataclass
class Seen:
    n: int
    method: str
    path: str
    outcome: str  # the upstream status, or the fault injected


@dataclass
class FaultProxy:
    upstream: str
    plan: Plan | None = None
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: httpx.AsyncClient | None = None

    # -- what tests read ------------------------------------------------------------------
    @property
    def requests(self) -> int:
        return len(self.seen)

    def injected(self) -> int:
        return sum(1 for s in self.seen if not s.outcome.isdigit())

    # -- the ASGI app ---------------------------------------------------------------------
    def _number(self) -> int:
        with self._lock:
            return len(self.seen)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode()
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        control = path.startswith("/__")
        fault: Fault | None = None
        record: Seen | None = None
        if not control:
            with self._lock:
                n = len(self.seen)
                fault = self.plan.fault_for(n) if self.plan else None
                record = Seen(n, scope["method"], path, fault.kind if fault else "?")
                self.seen.append(record)
        if fault is not None and fault.kind == "answer":
            record.outcome = f"answer {fault.status}"  # type: ignore[union-attr]
            await _respond(send, fault.status, list(fault.headers), fault.body)
            return
        if fault is not None and fault.kind == "stall":
            await asyncio.sleep(fault.stall_s)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30.0)
        url = f"{self.upstream}{path}" + (f"?{query}" if query else "")
        up = await self._client.request(scope["method"], url, headers=headers, content=body)
        out_headers = [(k, v) for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP]
        content = up.content
        if record is not None and fault is None:
            record.outcome = str(up.status_code)
        if fault is not None and fault.kind == "truncate":
            content = content[: len(content) // 2]
        if fault is not None and fault.kind == "reset":
            await send(
                {
                    "type": "http.response.start",
                    "status": up.status_code,
                    "headers": [(k.encode(), v.encode()) for k, v in out_headers]
                    + [(b"content-length", str(len(content)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": content[: len(content) // 2], "more_body": True})
            raise ConnectionResetError("fault proxy: connection reset mid-body")
        await _respond(send, up.status_code, out_headers, content)


async def _respond(send: Callable[..., Any], status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers] + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RunningProxy:
    """A :class:`FaultProxy` served by uvicorn in a thread on 127.0.0.1."""

    def __init__(self, upstream: str, plan: Plan | None = None) -> None:
        self.proxy = FaultProxy(upstream.rstrip("/"), plan)
        self.server = RunningServer(Starlette(routes=[Mount("/", app=self.proxy)])).start()
        self.url = self.server.url
        self.started = time.perf_counter()

    def arm(self, plan: Plan | None) -> None:
        """A new case: this plan, and request numbers from 0 again."""
        with self.proxy._lock:
            self.proxy.plan = plan
            self.proxy.seen = []

    def stop(self) -> None:
        self.server.stop()
