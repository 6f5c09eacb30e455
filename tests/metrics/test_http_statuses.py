"""Every task records its HTTP responses by status (``task_run.http_statuses``), whatever its
end: shown per task and per run in ``run show --json`` / ``GET /api/runs/{id}``, compactly on the
dashboard's run page, and counted by ``headwater_http_responses_total``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from headwater.api.app import create_api
from pipelines import run_document
from tests.dashboard.fakes import Forge, refresh, running_forge
from tests.metrics.test_metrics import scrape, value

ADMIN = "admin-token-for-http-statuses-0123"


@pytest.fixture(params=["sqlite", "postgres"])
def forge(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    settings: dict[str, Any] = {"admin_token": SecretStr(ADMIN)}
    if request.param == "postgres":
        settings["database_url"] = request.getfixturevalue("pg_url")
    with running_forge(tmp_path, monkeypatch, **settings) as f:
        yield f


def served_statuses(forge: Forge) -> dict[str, int]:
    """What the sandbox answered, by status (its own log of every request)."""
    return {str(k): v for k, v in sorted(Counter(r.status for r in forge.sandbox.api_requests()).items())}


def test_tasks_record_their_responses_by_status_whatever_their_end(forge: Forge) -> None:
    forge.sandbox.faults.burst_429 = 1  # the first request is rate limited, then retried
    forge.fail("/repos/acme/repo0/branches")  # 5xx until the task fails (2 attempts)
    run_id, state = refresh(forge.app)
    assert state == "FAILED"
    with forge.app.db.read() as s:
        doc = run_document(s, run_id)
    assert doc is not None
    served = served_statuses(forge)
    assert served.get("429") == 1 and served.get("200", 0) > 0 and len(served) == 3, served

    # The run's responses are its tasks' and exactly what the provider answered.
    assert doc["http_statuses"] == served
    assert list(doc["http_statuses"]) == sorted(served, key=int)  # in status order
    by_task: Counter[str] = Counter()
    for t in doc["tasks"]:
        assert sum(t["http_statuses"].values()) == t["requests"], t  # no network errors here
        by_task.update(t["http_statuses"])
    assert dict(by_task) == served
    failed = [t for t in doc["tasks"] if t["state"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["stream"] == "branches"
    (code,) = set(failed[0]["http_statuses"])
    assert int(code) >= 500 and failed[0]["http_statuses"][code] == 2 == failed[0]["requests"]

    # GET /api/runs/{id} is the same document.
    api = TestClient(create_api(forge.app))
    got = api.get(f"/api/runs/{run_id}", headers={"Authorization": f"Bearer {ADMIN}"})
    assert got.status_code == 200 and got.json() == doc

    # /metrics counts the responses of finished tasks by tenant, connector and status.
    m = scrape(forge.app)
    for status, n in served.items():
        assert value(m, "headwater_http_responses_total", tenant="acme", connector="forge", status=status) == n
    responses = sum(v for (name, _), v in m.items() if name == "headwater_http_responses_total")
    assert responses == value(m, "headwater_http_requests_total", connector="forge")

    # The run page says it compactly, for the run and for each task.
    page = api.get(f"/runs/{run_id}", headers={"Authorization": f"Bearer {ADMIN}"}).text
    compact = " ".join(f"{k}\u00d7{v}" for k, v in served.items())
    assert f'<span class="mono small http-statuses">{compact}</span>' in page
    assert f'<dd class="mono small http-statuses">{code}\u00d72</dd>' in page
