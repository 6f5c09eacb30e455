"""With GraphQL on, a GitHub source gets no reviews or PR-commits tasks: the pull request
listing brings them (its REST fallback embeds them too). Off, or with a privacy option (which
asks for the REST shapes), the child tasks are planned as before."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.runtime import plan_tasks
from connectors.streams import Partition
from tests.conftest import MakeRuntime

CHILDREN = {"reviews", "pull_request_commits"}
REPO = Partition("acme/api", {"owner": "acme", "repo": "api", "external_id": "1"})


def planned(make_runtime: MakeRuntime, **options: Any) -> set[str]:
    rt = make_runtime("github", {"org": "acme", **options}, {"token": "t0ken"})
    return {p.stream for p in plan_tasks(rt, [REPO])}


def test_graphql_plans_no_child_tasks(make_runtime: MakeRuntime) -> None:
    streams = planned(make_runtime)
    assert "pull_requests" in streams
    assert not streams & CHILDREN


@pytest.mark.parametrize("options", [{"graphql": False}, {"redact_people": True}], ids=["rest", "privacy"])
def test_rest_shapes_plan_the_child_tasks(make_runtime: MakeRuntime, options: dict[str, Any]) -> None:
    assert planned(make_runtime, **options) >= CHILDREN
