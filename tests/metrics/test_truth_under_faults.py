"""/metrics under faults: failed tasks' HTTP counts, idle gauges at 0,
label values in one case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import ACTIVE_STATES, TaskRun, Tenant
from tenancy import add_tenant
from tests.dashboard.fakes import Forge, refresh, running_forge
from tests.metrics.test_metrics import scrape, value


@pytest.fixture(params=["sqlite", "postgres"])
def forge(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    settings = {"database_url": request.getfixturevalue("pg_url")} if request.param == "postgres" else {}
    with running_forge(tmp_path, monkeypatch, **settings) as f:
        yield f


def test_failed_tasks_record_their_http_counts(forge: Forge) -> None:
    forge.fail("/repos/acme/repo0/branches")
    _, state = refresh(forge.app)
    assert state == "FAILED"
    with forge.app.db.read() as s:
        failed = s.execute(select(TaskRun).where(TaskRun.state == "FAILED")).scalar_one()
        assert (failed.requests, failed.http_retries) == (2, 1)  # HEADWATER_HTTP_RETRY_ATTEMPTS=2
    m = scrape(forge.app)
    assert value(m, "headwater_http_requests_total", connector="forge") == len(forge.sandbox.api_requests())
    assert value(m, "headwater_http_retries_total", connector="forge") == 1


def test_idle_gauges_report_zero(forge: Forge) -> None:
    with forge.app.db.session() as s:
        add_tenant(s, "quiet")  # never ran anything
    _, state = refresh(forge.app)
    assert state == "COMPLETED"
    m = scrape(forge.app)
    for slug in ("acme", "quiet"):
        for st in ACTIVE_STATES:
            assert value(m, "headwater_runs_active", tenant=slug, state=str(st).lower()) == 0, (slug, st)
        assert value(m, "headwater_queue_depth", tenant=slug) == 0
    for st in ACTIVE_STATES:
        assert value(m, "headwater_tasks_active", connector="forge", state=str(st).lower()) == 0, st
    assert value(m, "headwater_alerts_undelivered") == 0


def test_label_values_use_one_case(forge: Forge) -> None:
    forge.fail("/repos/acme/repo0/branches")
    refresh(forge.app)
    with forge.app.db.session() as s:
        assert s.execute(select(Tenant).where(Tenant.slug == "acme")).scalar_one()
    m = scrape(forge.app)
    cased = {(name, k, v) for name, labels in m for k, v in labels if k in ("state", "error_kind") and v != v.lower()}
    assert cased == set()
    assert value(m, "headwater_task_errors_total", connector="forge", error_kind="transient") == 1
