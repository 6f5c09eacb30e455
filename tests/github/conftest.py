"""Fixtures for the GitHub connector tests: the sandbox served in a thread, runtimes pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from connectors.github.sandbox import GitHubSandbox, make_sandbox
from connectors.http.client import HttpClient, RetryPolicy
from connectors.runtime import SourceRuntime
from connectors.sandbox import RunningServer, serve_in_thread
from tests.conftest import MakeRuntime

FAST_RETRY = RetryPolicy(
    attempts=3, max_elapsed_s=10, backoff_initial_s=0.01, backoff_max_s=0.05, max_retry_after_s=0.2
)


class Served:
    """A running sandbox: ``sandbox`` (the object), ``url``, and helpers for control endpoints."""

    def __init__(self, sandbox: GitHubSandbox, server: RunningServer) -> None:
        self.sandbox = sandbox
        self.server = server
        self.url = server.url

    def truth(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/__truth").json()  # type: ignore[no-any-return]

    def mutate(self, **change: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/__mutate", json=change)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def faults(self, **faults: Any) -> None:
        httpx.post(f"{self.url}/__faults", json=faults).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/__requests").json()  # type: ignore[no-any-return]

    def reset_log(self) -> None:
        httpx.post(f"{self.url}/__reset").raise_for_status()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(**size)`` starts a GitHub sandbox in a thread (stopped at teardown)."""
    running: list[RunningServer] = []

    def start(**kw: Any) -> Served:
        sandbox = make_sandbox(**kw)
        server = serve_in_thread(sandbox)
        running.append(server)
        return Served(sandbox, server)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def github_source(make_runtime: MakeRuntime) -> Callable[..., SourceRuntime]:
    """``github_source(served, base_suffix="", **options)`` -> a runtime reading that sandbox."""

    def make(
        served: Served, base_suffix: str = "", secrets: dict[str, Any] | None = None, **options: Any
    ) -> SourceRuntime:
        truth = served.truth()
        opts = {"base_url": served.url + base_suffix, **truth["options"], **options}
        return make_runtime("github", opts, secrets or truth["secrets"])

    return make


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer attempts and tiny waits in the retry layer for runs made through connectors.runtime."""
    monkeypatch.setattr("connectors.runtime.HttpClient", partial(HttpClient, retry=FAST_RETRY))
    monkeypatch.setattr("connectors.runtime.RetryPolicy", lambda: FAST_RETRY)
