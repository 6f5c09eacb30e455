"""A tiny webhook receiver on 127.0.0.1 in a thread: records JSON bodies, can fail or hold."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []  # (path, body) of accepted posts
        self.requests = 0
        self.fail_next = 0  # answer this many posts with 503
        self.hold = threading.Event()  # cleared: block requests until set
        self.hold.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.arrived.set()
                receiver.hold.wait(timeout=30)
                with receiver._lock:
                    receiver.requests += 1
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.bodies.append((self.path, json.loads(body)))
                self.send_response(503 if failing else 200)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"down" if failing else b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def kinds(self, path: str | None = None) -> list[str]:
        return [b["kind"] for p, b in self.bodies if path is None or p == path]


def closed_port_url() -> str:
    """A URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
