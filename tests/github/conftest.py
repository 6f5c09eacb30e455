"""Fixtures for the GitHub connector tests: the sandbox served in a thread, runtimes pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from connectors.github.sandbox import make_sandbox
from connectors.http.client import HttpClient, RetryPolicy
from connectors.runtime import SourceRuntime
from tests.conftest import MakeRuntime
from tests.ingest_support import ServedSandbox, serve_sandboxes

FAST_RETRY = RetryPolicy(
    attempts=3, max_elapsed_s=10, backoff_initial_s=0.01, backoff_max_s=0.05, max_retry_after_s=0.2
)


class Served(ServedSandbox):
    """A running GitHub sandbox; ``mutate`` takes one change as keywords."""

    def mutate(self, **change: Any) -> dict[str, Any]:
        return self.post_mutate(change)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(**size)`` starts a GitHub sandbox in a thread (stopped at teardown)."""
    yield from serve_sandboxes(make_sandbox, Served)


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
