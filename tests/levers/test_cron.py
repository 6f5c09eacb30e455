"""Cron schedules beside intervals: `tenant set --cron`, the next fire time in `tenant list`, the
scheduler firing them, invalid expressions refused in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from headwater.app import App
from headwater.cron import BadCron, check_cron, next_fire
from headwater.schedule import due_tenants
from storage.models import Run, Tenant
from tests.api.conftest import ADMIN, Tenants, bearer
from tests.cli.conftest import Invoke, as_json

T0 = datetime(2026, 12, 1, 10, 20, tzinfo=UTC)


def test_next_fire_of_cron_interval_and_both() -> None:
    assert next_fire(interval_minutes=None, cron="0 * * * *", last_run_at=None, created_at=T0) == T0.replace(
        hour=11, minute=0
    )
    last = T0 + timedelta(minutes=50)  # 11:10
    assert next_fire(interval_minutes=None, cron="0 * * * *", last_run_at=last, created_at=T0) == T0.replace(
        hour=12, minute=0
    )
    assert next_fire(interval_minutes=30, cron="0 * * * *", last_run_at=last, created_at=T0) == last + timedelta(
        minutes=30
    )
    assert next_fire(interval_minutes=None, cron=None, last_run_at=last, created_at=T0) is None
    for bad in ("* * *", "61 * * * *", "every hour x y", "* * * * * *"):
        try:
            check_cron(bad)
        except BadCron as exc:
            assert "--cron" in str(exc) and "\n" not in str(exc)
        else:
            raise AssertionError(bad)


def test_scheduler_fires_cron_tenants_once_per_fire_time(hw: App, tenants: Tenants) -> None:
    with hw.db.session() as s:
        acme = s.query(Tenant).filter(Tenant.slug == "acme").one()
        acme.created_at = T0
        acme.refresh_cron = "0 * * * *"
        acme_id = acme.id
    assert [t.slug for t in due_tenants(hw, T0 + timedelta(minutes=30))] == []  # 10:50: not yet
    assert [t.slug for t in due_tenants(hw, T0 + timedelta(minutes=41))] == ["acme"]  # 11:01
    with hw.db.session() as s:
        s.add(Run(tenant_id=acme_id, trigger="schedule", state="COMPLETED", created_at=T0 + timedelta(minutes=41)))
    assert due_tenants(hw, T0 + timedelta(minutes=90)) == []  # 11:50: already ran for 11:00
    assert [t.slug for t in due_tenants(hw, T0 + timedelta(minutes=101))] == ["acme"]  # 12:01


def test_tenant_set_cron_and_list_next_fire(cli: Invoke) -> None:
    cli("tenant", "add", "acme")
    doc = as_json(cli("tenant", "set", "acme", "--cron", "0  * * * *", "--json"))
    assert doc["refresh_cron"] == "0 * * * *"
    at = datetime.fromisoformat(doc["next_refresh_at"])
    assert at.minute == 0 and at.second == 0 and at > datetime.now(UTC) - timedelta(hours=1)
    listed = as_json(cli("tenant", "list", "--json"))
    assert listed[0]["refresh_cron"] == "0 * * * *" and listed[0]["next_refresh_at"] == doc["next_refresh_at"]
    human = cli("tenant", "list", env={"COLUMNS": "120"}).stdout
    assert "0 * * * *" in human and at.strftime("%Y-%m-%d %H:%M:%S") in human

    bad = cli("tenant", "set", "acme", "--cron", "61 * * * *", ok=False)
    assert bad.exit_code == 1 and "--cron '61 * * * *'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert as_json(cli("tenant", "list", "--json"))[0]["refresh_cron"] == "0 * * * *"  # unchanged

    gone = as_json(cli("tenant", "set", "acme", "--cron", "", "--json"))
    assert gone["refresh_cron"] is None and gone["next_refresh_at"] is None


def test_cron_through_the_api_and_tenant_add(client: TestClient, tenants: Tenants, cli: Invoke) -> None:
    bad = client.post("/api/tenants", headers=bearer(ADMIN), json={"slug": "hooli", "refresh_cron": "61 * * * *"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("refresh_cron '61 * * * *'")
    assert all(t["slug"] != "hooli" for t in client.get("/api/tenants", headers=bearer(ADMIN)).json())
    ok = client.post("/api/tenants", headers=bearer(ADMIN), json={"slug": "hooli", "refresh_cron": "0  6 * * 1-5"})
    assert ok.status_code == 201
    doc = ok.json()
    assert doc["refresh_cron"] == "0 6 * * 1-5" and doc["next_refresh_at"].endswith("06:00:00+00:00")
    listed = {t["slug"]: t for t in client.get("/api/tenants", headers=bearer(ADMIN)).json()}
    assert listed["hooli"]["next_refresh_at"] == doc["next_refresh_at"] and listed["acme"]["refresh_cron"] is None

    refused = cli("tenant", "add", "initech", "--cron", "* * *", ok=False)
    assert refused.exit_code == 1 and "--cron '* * *'" in refused.stderr
    cli("tenant", "add", "initech", "--cron", "30 * * * *")
    (row,) = [t for t in as_json(cli("tenant", "list", "--json")) if t["slug"] == "initech"]
    assert row["refresh_cron"] == "30 * * * *" and row["next_refresh_at"]
