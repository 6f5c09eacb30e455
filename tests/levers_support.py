"""A GitHub sandbox served in a thread, for the source levers' tests (update runs a real check)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from connectors.github.sandbox import make_sandbox
from connectors.sandbox import serve_in_thread

BAD_TOKEN = "ghp_revoked_0000000000000000000"


@dataclass(frozen=True)
class Sandbox:
    url: str
    org: str
    token: str


@pytest.fixture
def github_sandbox() -> Iterator[Sandbox]:
    sandbox = make_sandbox(repos=1)
    server = serve_in_thread(sandbox)
    truth = sandbox.truth()
    try:
        yield Sandbox(server.url, str(truth["options"]["org"]), str(truth["secrets"]["token"]))
    finally:
        server.stop()
