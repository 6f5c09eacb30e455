"""``headwater source check`` for Bitbucket against the sandbox."""

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


def test_both_credential_forms_pass(
    serve: Callable[..., Served], bitbucket_source: Callable[..., SourceRuntime]
) -> None:
    served = serve()
    assert check(bitbucket_source(served)).ok
    assert check(bitbucket_source(served, basic=True)).ok


def test_problems_are_named(serve: Callable[..., Served], bitbucket_source: Callable[..., SourceRuntime]) -> None:
    served = serve()
    retired = check(bitbucket_source(served, secrets={"username": "dev0", "api_token": "old-app-password"}))
    assert not retired.ok and "API token" in retired.problems[0]
    elsewhere = check(bitbucket_source(served, workspace="other"))
    assert not elsewhere.ok and "'other'" in elsewhere.problems[0]
