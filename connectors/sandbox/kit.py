"""Shared machinery of the fake provider APIs ("sandboxes").

Each provider's sandbox subclasses :class:`Sandbox`: it generates deterministic data from a
seed, declares its routes, and says what a full refresh must load (``truth``). The kit adds,
for every provider alike:

* per-request latency (``latency_ms``);
* fault injection, settable at runtime through ``POST /__faults``: a 5xx rate, a burst of
  429s, provider-specific secondary limits, malformed JSON, a revoked token, paths that
  always fail (to break one partition) and paths the provider answers "not found" (one
  sub-listing of a partition, or the partition itself);
* a request log (``GET /__requests``) and ``GET /__truth``; ``POST /__reset`` clears the log.

Sandboxes serve demos, tests and benchmarks; connectors never rely on anything only a
sandbox does.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


@dataclass
class Faults:
    error_rate: float = 0.0  # fraction of API requests answered with a 5xx
    burst_429: int = 0  # the next N API requests get 429 with Retry-After
    secondary_limit: int = 0  # the next N get the provider's secondary limit (GitHub: 403)
    malformed: int = 0  # the next N get a truncated JSON body
    revoked: bool = False  # every API request gets the provider's "bad credentials"
    fail_paths: list[str] = field(default_factory=list)  # substrings of paths that always 500
    # substrings of "path?query" answered with the provider's "not found" (404; Slack: channel_not_found)
    missing_paths: list[str] = field(default_factory=list)
    retry_after_s: float = 1.0


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    conditional: bool
    at: float


class Sandbox:
    """Base class of a fake API. Subclasses implement ``routes`` and ``truth``."""

    provider = "sandbox"

    def __init__(self, *, seed: int = 7, latency_ms: float = 0.0, **_: Any) -> None:
        self.seed = seed
        self.latency_ms = latency_ms
        self.faults = Faults()
        self.requests: list[LoggedRequest] = []
        self.rng = random.Random(seed)
        self._lock = threading.Lock()

    # -- to implement ------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def truth(self) -> dict[str, Any]:
        """``{"options": {...}, "secrets": {...}, "counts": {entity: n}}``."""
        raise NotImplementedError

    def error_response(self, kind: str, request: Request) -> Response:
        """The provider's own body and headers for an injected fault."""
        status = {"server": 502, "rate": 429, "secondary": 429, "revoked": 401, "missing": 404}[kind]
        headers = {"Retry-After": str(int(self.faults.retry_after_s))} if kind in ("rate", "secondary") else {}
        return JSONResponse({"message": kind}, status_code=status, headers=headers)

    def is_api_path(self, path: str) -> bool:
        return not path.startswith("/__")

    # -- the app -----------------------------------------------------------------------------
    def app(self) -> Starlette:
        control = [
            Route("/__truth", lambda r: JSONResponse(self.truth())),
            Route("/__requests", lambda r: JSONResponse([asdict(x) for x in self.requests])),
            Route("/__reset", self._reset, methods=["POST"]),
            Route("/__faults", self._set_faults, methods=["POST", "GET"]),
        ]
        app = Starlette(routes=[*control, *self.routes()])

        async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            path = request.url.path
            if not self.is_api_path(path):
                return await call_next(request)
            if self.latency_ms:
                await asyncio.sleep(self.latency_ms / 1000)
            response = self._inject(request) or await call_next(request)
            with self._lock:
                self.requests.append(
                    LoggedRequest(
                        request.method,
                        path,
                        request.url.query,
                        response.status_code,
                        "if-none-match" in request.headers or "if-modified-since" in request.headers,
                        time.time(),
                    )
                )
            return response

        app.add_middleware(BaseHTTPMiddleware, dispatch=middleware)
        return app

    def _inject(self, request: Request) -> Response | None:
        f = self.faults
        with self._lock:
            if f.revoked:
                return self.error_response("revoked", request)
            if any(p in request.url.path for p in f.fail_paths):
                return self.error_response("server", request)
            target = f"{request.url.path}?{request.url.query}"
            if any(p in target for p in f.missing_paths):
                return self.error_response("missing", request)
            if f.burst_429 > 0:
                f.burst_429 -= 1
                return self.error_response("rate", request)
            if f.secondary_limit > 0:
                f.secondary_limit -= 1
                return self.error_response("secondary", request)
            if f.malformed > 0:
                f.malformed -= 1
                return Response('{"truncated": [1, 2', media_type="application/json")
            if f.error_rate and self.rng.random() < f.error_rate:
                return self.error_response("server", request)
        return None

    async def _reset(self, request: Request) -> Response:
        with self._lock:
            self.requests.clear()
        return JSONResponse({"ok": True})

    async def _set_faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            with self._lock:
                self.faults = Faults(**{**asdict(Faults()), **body})
        return JSONResponse(asdict(self.faults))

    def api_requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self.requests)


class RunningServer:
    """A sandbox served by uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, app: Starlette, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(sandbox: Sandbox, port: int = 0) -> RunningServer:
    return RunningServer(sandbox.app(), port).start()
