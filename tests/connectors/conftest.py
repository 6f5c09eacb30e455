"""Fixtures of the tests shared by every connector: ``provider`` (parametrized over the table in
:mod:`tests.connectors.providers`) and ``served``, its sandbox running in a thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.providers import PROVIDERS, Provider, served_sandbox
from tests.ingest_support import ServedSandbox


@pytest.fixture(params=PROVIDERS, ids=[p.kind for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def served(provider: Provider) -> Iterator[ServedSandbox]:
    yield from served_sandbox(provider)
