"""Fixtures for the Jira connector tests: the sandbox in a thread and runtimes pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.jira.sandbox import make_sandbox
from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, serving
from tests.conftest import MakeRuntime

SMALL = {"projects": 2, "issues": 10, "users": 4, "sprints": 3, "versions": 2}


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(**size)`` starts a Jira sandbox (small by default) in a thread."""
    yield from serving(lambda **kw: make_sandbox(**{**SMALL, **kw}))


@pytest.fixture
def jira_source(make_runtime: MakeRuntime) -> Callable[..., SourceRuntime]:
    """``jira_source(served, secrets=None, **options)`` -> a runtime reading that sandbox."""

    def make(
        served: Served, secrets: dict[str, Any] | None = None, db: Database | None = None, **options: Any
    ) -> SourceRuntime:
        truth = served.truth()
        opts = {"base_url": served.url, **truth["options"], **options}
        return make_runtime("jira", opts, secrets or truth["secrets"], db=db)

    return make
