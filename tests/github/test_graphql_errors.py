"""GraphQL errors (200 with ``errors``) classified by who must act; the sandbox's spent budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.errors import ErrorKind, TransientError
from connectors.github.classify import classify_github
from connectors.github.sandbox.app import RateWindow
from connectors.runtime import SourceRuntime, run_source_sequentially
from storage import Database
from tests.github.conftest import Served

GRAPHQL = "https://api.github.com/graphql"


def answer(body: Any, url: str = GRAPHQL, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {}, request=httpx.Request("POST", url))


def test_rate_limited_is_transient_until_the_reset() -> None:
    reset = str(int(time.time()) + 40)
    for kind in ("RATE_LIMITED", "RATE_LIMIT"):  # GitHub has answered both spellings
        body = {"errors": [{"type": kind, "message": "API rate limit exceeded for user ID 1."}]}
        verdict = classify_github(answer(body, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
        assert verdict.kind is ErrorKind.TRANSIENT
        assert verdict.retry_after is not None and 30 < verdict.retry_after <= 40


def test_scopes_and_forbidden_need_the_customer() -> None:
    scopes = {
        "errors": [
            {
                "type": "INSUFFICIENT_SCOPES",
                "message": "Your token has not been granted the required scopes to execute this query.",
            }
        ]
    }
    verdict = classify_github(answer(scopes))
    assert verdict.kind is ErrorKind.CONFIG and "read:org" in verdict.reason and "graphql=false" in verdict.reason
    saml = {"data": {"repository": None}, "errors": [{"type": "FORBIDDEN", "message": "Resource protected by SAML"}]}
    verdict = classify_github(answer(saml))
    assert verdict.kind is ErrorKind.CONFIG and "SAML" in verdict.reason


def test_not_found_is_a_not_found_and_other_errors_are_ours() -> None:
    gone = {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": "Could not resolve"}]}
    verdict = classify_github(answer(gone))
    assert verdict.kind is ErrorKind.CONFIG and verdict.not_found
    other = {"data": {"x": None}, "errors": [{"type": "UNPROCESSABLE", "message": "not allowed"}]}
    assert classify_github(answer(other)).kind is ErrorKind.BUG  # a query we got wrong
    # an "errors" key in a REST body is not read as GraphQL
    assert classify_github(answer({"errors": [{"type": "NOT_FOUND"}]}, "https://api.github.com/repos/a/b")).ok


def test_a_spent_graphql_budget_is_retried_then_transient(
    serve: Callable[..., Served],
    github_source: Callable[..., SourceRuntime],
    sqlite_db: Database,
    fast_retries: None,
) -> None:
    served = serve(repos=2, commits=5, pulls=2, issues=1)
    served.sandbox.graphql_rate = RateWindow(0, 0.5)  # spent, and reset every half second
    rt = github_source(served)
    with pytest.raises(TransientError) as err:
        asyncio.run(run_source_sequentially(rt, sqlite_db))
    assert "rate limit" in str(err.value)
    posts = [x for x in served.requests() if x["path"] == "/graphql"]
    assert len(posts) == 3 and {x["status"] for x in posts} == {200}  # FAST_RETRY: 3 attempts
    assert any(x["path"].startswith("/repos/") for x in served.requests())  # REST's budget is its own
