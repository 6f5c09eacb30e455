"""The HTTP API: auth, tenants, refresh, runs, retry, sources (dispatch recorded, not executed)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from headwater.app import App
from pipelines import set_run_state, set_task_state
from storage.models import Run, State, TaskRun, Tenant
from tenancy import add_source
from tests.api.conftest import ADMIN, RecordingDispatcher, Tenants, bearer

SECRET = "ghp_" + "s3cr3t" * 6


# -- auth -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/tenants"),
        ("post", "/api/tenants/acme/refresh"),
        ("get", "/api/tenants/acme/runs"),
        ("get", "/api/tenants/acme/sources"),
        ("get", "/api/runs/1"),
        ("post", "/api/runs/1/retry"),
        ("post", "/api/runs/1/cancel"),
    ],
)
def test_no_or_bad_token_is_401(client: TestClient, tenants: Tenants, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 401
    r = client.request(method, path, headers=bearer("hwt_not-a-real-token-at-all-000000000"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "token" in r.json()["detail"]


def test_tenant_token_sees_only_its_tenant(client: TestClient, tenants: Tenants) -> None:
    own = bearer(tenants.acme_token)
    assert [t["slug"] for t in client.get("/api/tenants", headers=own).json()] == ["acme"]
    assert [t["slug"] for t in client.get("/api/tenants", headers=bearer(ADMIN)).json()] == ["acme", "globex"]
    for path in ("/api/tenants/globex/runs", "/api/tenants/globex/sources", "/api/tenants/nope/runs"):
        r = client.get(path, headers=own)
        assert r.status_code == 404, path
    # The same 404 for another tenant's and for an unknown tenant: existence is not revealed.
    other = client.post("/api/tenants/globex/refresh", headers=own)
    unknown = client.post("/api/tenants/nope/refresh", headers=own)
    assert other.status_code == unknown.status_code == 404
    assert "not found" in other.json()["detail"]


def test_other_tenants_run_is_404(client: TestClient, tenants: Tenants) -> None:
    run_id = client.post("/api/tenants/globex/refresh", headers=bearer(tenants.globex_token)).json()["run_id"]
    assert client.get(f"/api/runs/{run_id}", headers=bearer(tenants.acme_token)).status_code == 404
    assert client.post(f"/api/runs/{run_id}/retry", headers=bearer(tenants.acme_token)).status_code == 404
    assert client.get(f"/api/runs/{run_id}", headers=bearer(tenants.globex_token)).status_code == 200
    assert client.get("/api/runs/999999", headers=bearer(ADMIN)).status_code == 404


# -- tenants ----------------------------------------------------------------------------
def test_admin_creates_tenants(client: TestClient, tenants: Tenants) -> None:
    r = client.post("/api/tenants", json={"slug": "initech", "name": "Initech"}, headers=bearer(ADMIN))
    assert r.status_code == 201
    assert r.json()["slug"] == "initech" and r.json()["name"] == "Initech"
    assert client.post("/api/tenants", json={"slug": "initech"}, headers=bearer(ADMIN)).status_code == 409
    bad = client.post("/api/tenants", json={"slug": "Not A Slug"}, headers=bearer(ADMIN))
    assert bad.status_code == 422 and "slug" in bad.json()["detail"]
    assert client.post("/api/tenants", json={"slug": "x1"}, headers=bearer(tenants.acme_token)).status_code == 403


# -- refresh ----------------------------------------------------------------------------
def test_refresh_is_202_and_dispatched_once_then_coalesced(
    client: TestClient, tenants: Tenants, dispatcher: RecordingDispatcher
) -> None:
    first = client.post("/api/tenants/acme/refresh", headers=bearer(tenants.acme_token))
    assert first.status_code == 202
    body = first.json()
    assert body["state"] == "SCHEDULED" and body["coalesced"] is False and body["trigger"] == "refresh"
    assert body["dispatched"] == "recorded"
    second = client.post("/api/tenants/acme/refresh", json={}, headers=bearer(ADMIN))
    assert second.status_code == 202
    assert second.json()["run_id"] == body["run_id"] and second.json()["coalesced"] is True
    assert dispatcher.calls == [(body["run_id"], "refresh", 0)]  # refresh clicks have priority 0
    # Another tenant is another scope.
    other = client.post("/api/tenants/globex/refresh", headers=bearer(ADMIN)).json()
    assert other["run_id"] != body["run_id"] and other["coalesced"] is False


def test_refresh_of_one_source_is_its_own_scope(client: TestClient, hw: App, tenants: Tenants) -> None:
    src = client.post(
        "/api/tenants/acme/sources",
        json={"kind": "github", "options": {"org": "acme"}, "secrets": {"token": SECRET}, "backfill": False},
        headers=bearer(ADMIN),
    ).json()["source"]
    whole = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()
    one = client.post("/api/tenants/acme/refresh", json={"source_id": src["id"]}, headers=bearer(ADMIN)).json()
    assert one["run_id"] != whole["run_id"] and not one["coalesced"]
    with hw.db.session() as s:
        run = s.get(Run, one["run_id"])
        assert run is not None and run.source_id == src["id"]
    missing = client.post("/api/tenants/acme/refresh", json={"source_id": 4242}, headers=bearer(ADMIN))
    assert missing.status_code == 404


def test_full_refresh_joining_a_waiting_run_makes_it_full(client: TestClient, hw: App, tenants: Tenants) -> None:
    first = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()
    joined = client.post("/api/tenants/acme/refresh", json={"full": True}, headers=bearer(ADMIN)).json()
    assert joined["coalesced"] and joined["run_id"] == first["run_id"]
    with hw.db.session() as s:
        run = s.get(Run, first["run_id"])
        assert run is not None and run.full is True


def test_queue_down_is_503_and_the_run_is_not_left_waiting(
    client: TestClient, hw: App, tenants: Tenants, dispatcher: RecordingDispatcher
) -> None:
    dispatcher.fail = True
    r = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN))
    assert r.status_code == 503 and "queue" in r.json()["detail"]
    with hw.db.session() as s:
        (run,) = s.query(Run).all()
        # FAILED with what is down, and its coalescing key released.
        assert run.state == "FAILED" and run.queued_key is None
        assert run.message is not None and run.message.startswith("could not be queued: ")
    # Once the queue is back, the next click creates a fresh run (nothing to coalesce into).
    dispatcher.fail = False
    again = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()
    assert again["coalesced"] is False and again["run_id"] != run.id


# -- runs -------------------------------------------------------------------------------
def _fail_run(hw: App, run_id: int) -> None:
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        set_run_state(s, run, State.PENDING)
        set_run_state(s, run, State.RUNNING)
        tenant = s.get(Tenant, run.tenant_id)
        assert tenant is not None
        src = add_source(s, hw.vault, tenant, "github", {"org": "acme"}, {"token": SECRET})
        task = TaskRun(run_id=run_id, source_id=src.id, key="1:repositories:-", stream="repositories", depends_on=[])
        s.add(task)
        s.flush()
        set_task_state(s, task, State.FAILED, "boom", error_kind="TRANSIENT")
        set_run_state(s, run, State.FAILED, "1 of 1 tasks did not complete")


def test_runs_listing_and_run_document_match_the_cli(
    client: TestClient, hw: App, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()["run_id"]
    _fail_run(hw, run_id)
    rows = client.get("/api/tenants/acme/runs", headers=bearer(tenants.acme_token)).json()
    assert [r["id"] for r in rows] == [run_id] and rows[0]["state"] == "FAILED"
    doc = client.get(f"/api/runs/{run_id}", headers=bearer(tenants.acme_token)).json()
    assert doc["tasks"][0]["history"][-1]["state"] == "FAILED"
    assert {"id", "source_id", "stream", "partition", "state", "attempts", "records_fetched", "records_loaded"} <= set(
        doc["tasks"][0]
    )
    # The same document as `headwater run show --json`.
    from headwater.cli import app as cli_app

    monkeypatch.setenv("HEADWATER_DATABASE_URL", hw.db.url)
    monkeypatch.setenv("HEADWATER_HOME", str(hw.settings.home))
    out = CliRunner().invoke(cli_app, ["run", "show", str(run_id), "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == doc


def test_retry_only_failed_runs(client: TestClient, hw: App, tenants: Tenants, dispatcher: RecordingDispatcher) -> None:
    run_id = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()["run_id"]
    busy = client.post(f"/api/runs/{run_id}/retry", headers=bearer(tenants.acme_token))
    assert busy.status_code == 409 and "SCHEDULED" in busy.json()["detail"]
    _fail_run(hw, run_id)
    r = client.post(f"/api/runs/{run_id}/retry", headers=bearer(tenants.acme_token))
    assert r.status_code == 202
    retry = r.json()
    assert retry["trigger"] == "retry" and retry["state"] == "SCHEDULED" and not retry["coalesced"]
    assert dispatcher.calls[-1] == (retry["run_id"], "retry", 0)
    doc = client.get(f"/api/runs/{retry['run_id']}", headers=bearer(ADMIN)).json()
    assert doc["parent_run_id"] == run_id


# -- sources ----------------------------------------------------------------------------
def test_add_source_queues_onboarding_and_never_shows_secrets(
    client: TestClient, tenants: Tenants, dispatcher: RecordingDispatcher
) -> None:
    r = client.post(
        "/api/tenants/acme/sources",
        json={"kind": "github", "options": {"org": "acme", "include": "api-*"}, "secrets": {"token": SECRET}},
        headers=bearer(tenants.acme_token),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert SECRET not in r.text
    assert body["source"]["kind"] == "github" and body["source"]["include"] == ["api-*"]
    assert body["run"]["trigger"] == "onboarding" and body["run"]["coalesced"] is False
    # Onboarding backfills have a lower priority (larger number) than refresh clicks.
    assert dispatcher.calls == [(body["run"]["run_id"], "onboarding", 9)]
    listing = client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token))
    assert listing.status_code == 200 and SECRET not in listing.text
    assert [s["id"] for s in listing.json()] == [body["source"]["id"]]
    assert "secrets" not in listing.json()[0] and "secrets_encrypted" not in listing.json()[0]
    # Another tenant's token cannot add sources here.
    other = client.post(
        "/api/tenants/acme/sources",
        json={"kind": "github", "options": {"org": "x"}, "secrets": {"token": SECRET}},
        headers=bearer(tenants.globex_token),
    )
    assert other.status_code == 404


def test_bad_source_is_422_naming_the_field_without_echoing_secrets(client: TestClient, tenants: Tenants) -> None:
    r = client.post(
        "/api/tenants/acme/sources",
        json={"kind": "github", "options": {}, "secrets": {"token": SECRET}},
        headers=bearer(ADMIN),
    )
    assert r.status_code == 422 and "org" in r.json()["detail"] and SECRET not in r.text
    r = client.post("/api/tenants/acme/sources", json={"kind": "gitlab", "secrets": {}}, headers=bearer(ADMIN))
    assert r.status_code == 422 and "gitlab" in r.json()["detail"]
    assert client.get("/api/tenants/acme/sources", headers=bearer(ADMIN)).json() == []


# -- cancel ------------------------------------------------------------------------------
def test_api_cancel_for_the_runs_own_tenant_only(client: TestClient, tenants: Tenants) -> None:
    r = client.post("/api/tenants/acme/refresh", headers=bearer(tenants.acme_token))
    run_id = r.json()["run_id"]
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 401
    assert client.post(f"/api/runs/{run_id}/cancel", headers=bearer(tenants.globex_token)).status_code == 404
    assert client.post("/api/runs/999/cancel", headers=bearer(ADMIN)).status_code == 404
    bad = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(ADMIN), json={"reason": 5})
    assert bad.status_code == 422
    ok = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(tenants.acme_token), json={"reason": "oops"})
    assert ok.status_code == 200
    doc = ok.json()
    assert doc["state"] == "CANCELLED" and doc["message"].startswith("cancelled by api:tenant:")
    again = client.post(f"/api/runs/{run_id}/cancel", headers=bearer(ADMIN))
    assert again.status_code == 409 and "already CANCELLED" in again.json()["detail"]
    # The cancelled run holds no key: the next click is a fresh run.
    nxt = client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()
    assert nxt["coalesced"] is False and nxt["run_id"] != run_id
