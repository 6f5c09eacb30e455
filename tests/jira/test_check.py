"""``headwater source check`` for Jira against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connectors.connector import CheckResult
from connectors.runtime import SourceRuntime, open_http
from tests.atlassian_support import Served


def check(rt: SourceRuntime) -> CheckResult:
    async def go() -> CheckResult:
        assert rt.connector.check is not None
        async with open_http(rt) as http:
            result: CheckResult = await rt.connector.check(http, rt.options)
            return result

    return asyncio.run(go())


def test_a_good_token_sees_its_projects(
    serve: Callable[..., Served], jira_source: Callable[..., SourceRuntime]
) -> None:
    result = check(jira_source(serve()))
    assert result.ok and result.identity == "ingest@acme.example"
    assert result.details["projects_visible"] == ["ALPHA", "BETA"]


def test_problems_are_named(serve: Callable[..., Served], jira_source: Callable[..., SourceRuntime]) -> None:
    served = serve()
    wrong = check(jira_source(served, secrets={"email": "ingest@acme.example", "api_token": "nope"}))
    assert not wrong.ok and "API token" in wrong.problems[0]
    nothing = check(jira_source(served, projects="OPS*"))
    assert not nothing.ok and "OPS*" in nothing.problems[0]
