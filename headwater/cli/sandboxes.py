"""Starting the built-in sandbox APIs (for `headwater sandbox` and `headwater demo`)."""

from __future__ import annotations

import importlib
from typing import Any

from connectors.registry import get_connector
from connectors.sandbox import RunningServer, Sandbox


def make_sandbox(kind: str, **kwargs: Any) -> Sandbox:
    connector = get_connector(kind)
    if not connector.sandbox:
        raise LookupError(f"the {kind} connector has no sandbox")
    module, _, factory = connector.sandbox.partition(":")
    sandbox: Sandbox = getattr(importlib.import_module(module), factory)(**kwargs)
    return sandbox


def source_settings(sandbox: Sandbox, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options (with base_url) and secrets that read ``sandbox`` served at ``url``."""
    return settings_from_truth(sandbox.truth(), url)


def start(kind: str, **kwargs: Any) -> tuple[Sandbox, RunningServer]:
    sandbox = make_sandbox(kind, **kwargs)
    server = RunningServer(sandbox.app()).start()
    return sandbox, server


class SandboxProcess:
    """A sandbox in its own process (`headwater sandbox`), as a remote API would be: no GIL shared
    with the code under measurement. ``truth()`` and ``api_requests()`` ask it over HTTP."""

    def __init__(self, kind: str, *, seed: int = 7, latency_ms: float = 0.0, repos: int | None = None) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "headwater", "sandbox", "--provider", kind, "--port", str(self.port)]
        cmd += ["--seed", str(seed), "--latency-ms", str(latency_ms)]
        if repos is not None:
            cmd += ["--repos", str(repos)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_up()

    def _wait_up(self, timeout: float = 30.0) -> None:
        import time

        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox process exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/__truth", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sandbox process did not start")

    def truth(self) -> dict[str, Any]:
        import httpx

        doc: dict[str, Any] = httpx.get(self.url + "/__truth", timeout=10).json()
        return doc

    def api_requests(self) -> list[dict[str, Any]]:
        import httpx

        doc: list[dict[str, Any]] = httpx.get(self.url + "/__requests", timeout=30).json()
        return doc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def settings_from_truth(truth: dict[str, Any], url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    options = dict(truth.get("options", {}))
    suffix = options.pop("base_url", "") or ""
    options["base_url"] = url + suffix if suffix.startswith("/") or not suffix else suffix
    return options, dict(truth.get("secrets", {}))
