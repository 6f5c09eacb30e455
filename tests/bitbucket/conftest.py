"""Fixtures for the Bitbucket connector tests: the sandbox in a thread and runtimes pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.bitbucket.sandbox import make_sandbox
from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, serving
from tests.conftest import MakeRuntime

SMALL = {"repos": 3, "commits": 12, "pulls": 6, "members": 5}


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(**size)`` starts a Bitbucket sandbox (small by default) in a thread."""
    yield from serving(lambda **kw: make_sandbox(**{**SMALL, **kw}))


@pytest.fixture
def bitbucket_source(make_runtime: MakeRuntime) -> Callable[..., SourceRuntime]:
    """``bitbucket_source(served, secrets=None, basic=False, **options)`` -> a runtime on that sandbox."""

    def make(
        served: Served,
        secrets: dict[str, Any] | None = None,
        basic: bool = False,
        db: Database | None = None,
        **options: Any,
    ) -> SourceRuntime:
        truth = served.truth()
        opts = {"base_url": served.url + truth["base_path"], **truth["options"], **options}
        return make_runtime("bitbucket", opts, secrets or truth["basic_secrets" if basic else "secrets"], db=db)

    return make
