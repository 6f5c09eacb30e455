"""GET /metrics after real runs: the counters match what the runs did, read from the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from headwater.api.app import create_api
from headwater.app import App
from pipelines import request_run, run_document
from storage import model_for
from storage.models import Tenant
from tests.dashboard.fakes import Forge, refresh, running_forge

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(params=["sqlite", "postgres"])
def forge(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    settings = {"database_url": request.getfixturevalue("pg_url")} if request.param == "postgres" else {}
    with running_forge(tmp_path, monkeypatch, **settings) as f:
        yield f


def scrape(app: App) -> Samples:
    response = TestClient(create_api(app)).get("/metrics")  # no token: scrapers have none
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_counters_match_the_run(forge: Forge) -> None:
    run_id, state = refresh(forge.app)
    assert state == "COMPLETED"
    m = scrape(forge.app)
    with forge.app.db.session() as s:
        doc = run_document(s, run_id)
        assert doc is not None
        table_rows = {
            e: s.execute(select(func.count()).select_from(model_for(e))).scalar_one()
            for e in ("repository", "commit", "branch", "person")
        }
    tasks = doc["tasks"]

    assert value(m, "headwater_runs_total", tenant="acme", state="completed") == 1
    assert value(m, "headwater_runs_total", tenant="acme", state="failed") is None

    loaded: dict[str, int] = {}
    for t in tasks:
        for entity, n in t["loaded_by_entity"].items():
            loaded[entity] = loaded.get(entity, 0) + n
    truth = forge.sandbox.truth()["counts"]
    for entity in ("repository", "commit", "branch"):  # each row loaded by exactly one task
        metric = value(m, "headwater_records_loaded_total", tenant="acme", connector="forge", entity=entity)
        assert metric == loaded[entity] == table_rows[entity] == truth[entity]
    # People are upserted by every repository's commits task: rows loaded, not distinct people.
    people = value(m, "headwater_records_loaded_total", tenant="acme", connector="forge", entity="person")
    assert people == loaded["person"] == 3 * len(forge.sandbox.repos)
    assert table_rows["person"] == truth["person"]

    assert value(m, "headwater_tasks_total", connector="forge", stream="commits", state="completed") == 3
    assert value(m, "headwater_tasks_total", connector="forge", stream="repositories", state="completed") == 1
    assert value(m, "headwater_http_requests_total", connector="forge") == sum(t["requests"] for t in tasks)
    assert value(m, "headwater_http_requests_total", connector="forge") == len(forge.sandbox.api_requests())

    count = value(m, "headwater_task_duration_seconds_count", connector="forge", stream="commits")
    total = value(m, "headwater_task_duration_seconds_sum", connector="forge", stream="commits")
    assert count == 3 and total == pytest.approx(sum(t["duration_s"] for t in tasks if t["stream"] == "commits"))
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in m.items()
        if name == "headwater_task_duration_seconds_bucket" and dict(labels)["stream"] == "commits"
    )
    assert [v for _, v in buckets] == sorted(v for _, v in buckets) and buckets[-1] == (float("inf"), 3)

    assert value(m, "headwater_queue_depth", tenant="acme") == 0
    last = value(
        m,
        "headwater_source_last_success_timestamp_seconds",
        tenant="acme",
        connector="forge",
        source_id=str(forge.source_id),
    )
    assert last is not None and last > 0


def test_failures_queue_and_runs_of_other_processes(forge: Forge, tmp_path: Path) -> None:
    forge.fail("/repos/acme/repo0/branches")
    _, state = refresh(forge.app)
    assert state == "FAILED"
    # The scrape is served by a different App (own engine and pool), as by another process.
    scraper = App.create(forge.app.settings)
    try:
        m = scrape(scraper)
        assert value(m, "headwater_runs_total", tenant="acme", state="failed") == 1
        assert value(m, "headwater_tasks_total", connector="forge", stream="branches", state="failed") == 1
        assert value(m, "headwater_task_errors_total", connector="forge", error_kind="transient") == 1
        assert value(m, "headwater_http_retries_total", connector="forge") is not None

        with forge.app.db.session() as s:
            tenant = s.execute(select(Tenant).where(Tenant.slug == "acme")).scalar_one()
        request_run(forge.app.db, tenant)  # queued, not started
        m = scrape(scraper)
        assert value(m, "headwater_queue_depth", tenant="acme") == 1
        assert value(m, "headwater_runs_active", tenant="acme", state="scheduled") == 1
        assert value(m, "headwater_runs_total", tenant="acme", state="scheduled") is None  # counters never go down
    finally:
        scraper.close()
