"""``check``: token, scopes (classic tokens), organization access — and what is missing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connectors.connector import CheckResult
from connectors.github import CONNECTOR
from connectors.github.check import scope_problems
from connectors.runtime import SourceRuntime, open_http
from tests.github.conftest import Served

Serve = Callable[..., Served]
MakeSource = Callable[..., SourceRuntime]


def check(rt: SourceRuntime) -> CheckResult:
    async def go() -> CheckResult:
        assert CONNECTOR.check is not None
        async with open_http(rt) as http:
            result: CheckResult = await CONNECTOR.check(http, rt.options)
            return result

    return asyncio.run(go())


def test_a_good_classic_token(serve: Serve, github_source: MakeSource) -> None:
    served = serve(repos=2)
    result = check(github_source(served))
    assert result.ok, result.problems
    assert result.identity == served.sandbox.world.members[0].login
    assert result.details["token_type"] == "classic"
    assert result.details["scopes"] == ["read:org", "repo"]


def test_missing_scopes_are_listed(serve: Serve, github_source: MakeSource) -> None:
    served = serve(repos=2, scopes="public_repo, gist")
    result = check(github_source(served))
    assert not result.ok
    assert len(result.problems) == 2
    assert "'repo' scope" in result.problems[0] and "'read:org' scope" in result.problems[1]
    assert scope_problems("repo, admin:org") == []


def test_fine_grained_tokens_have_no_scope_header(serve: Serve, github_source: MakeSource) -> None:
    result = check(github_source(serve(repos=2, scopes=None)))
    assert result.ok and result.details["token_type"].startswith("fine-grained")
