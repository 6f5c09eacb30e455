"""Counters never go down: removing a source keeps its share of every counter and histogram."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenancy import get_tenant, remove_source
from tests.dashboard.fakes import Forge, refresh, running_forge
from tests.metrics.test_metrics import Samples, scrape

COUNTED = ("_total", "_count", "_sum", "_bucket")


@pytest.fixture(params=["sqlite", "postgres"])
def forge(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    settings = {"database_url": request.getfixturevalue("pg_url")} if request.param == "postgres" else {}
    with running_forge(tmp_path, monkeypatch, **settings) as f:
        yield f


def counted(m: Samples) -> Samples:
    return {k: v for k, v in m.items() if k[0].endswith(COUNTED)}


def test_removing_a_source_lowers_no_counter(forge: Forge) -> None:
    forge.fail("/repos/acme/repo0/branches")
    refresh(forge.app)
    before = counted(scrape(forge.app))
    errors = ("headwater_task_errors_total", frozenset({("connector", "forge"), ("error_kind", "transient")}))
    assert before[errors] == 1 and len(before) > 20
    responses = {k: v for k, v in before.items() if k[0] == "headwater_http_responses_total"}
    assert {dict(labels)["status"] for _, labels in responses} == {"200", "502"}, responses
    assert all(dict(labels)["tenant"] == "acme" for _, labels in responses)
    with forge.app.db.session() as s:
        remove_source(s, get_tenant(s, forge.tenant), forge.source_id)
    after = counted(scrape(forge.app))
    assert after == before  # nothing lowered, nothing counted twice
    # Counting goes on from there: a new source's runs add to the kept totals.
    from tests.dashboard.fakes import add_forge_tenant

    forge.fail()
    add_forge_tenant(forge.app, forge.server.url)
    refresh(forge.app)
    again = counted(scrape(forge.app))
    assert all(again.get(k, 0) >= v for k, v in before.items())
    assert again[errors] == 1
    assert all(again[k] > v for k, v in responses.items() if dict(k[1])["status"] == "200")  # counted on
