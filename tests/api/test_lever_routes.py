"""The levers' remaining HTTP routes: a tenant's tokens (create, list, revoke), a source's reset,
renormalize and confirmed removal. Each: the happy path, 401 without a token, 404 for another
tenant, 422 for a bad body (one message, nothing changed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from connectors.sandbox import RunningServer, Sandbox
from headwater.app import App
from headwater.cli.sandboxes import source_settings, start
from headwater.dispatch import execute_inline
from pipelines import request_run
from storage.digest import data_digest
from storage.models import ApiToken, Cursor, HttpValidator, PullRequest, RawPage, Run, Source, TaskRun
from storage.models.base import utcnow
from tenancy import add_source, get_tenant
from tenancy.tokens import hash_token, issue_token
from tests.api.conftest import ADMIN, Tenants, bearer

ADMIN_H = bearer(ADMIN)


def count(hw: App, model: type, **where: Any) -> int:
    with hw.db.read() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.execute(q).scalar_one())


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


# -- tokens -----------------------------------------------------------------------------------
def test_admin_creates_lists_and_revokes_a_token(client: TestClient, hw: App, tenants: Tenants) -> None:
    r = client.post("/api/tenants/acme/tokens", json={"expires": "30d"}, headers=ADMIN_H)
    assert r.status_code == 201, r.text
    made = r.json()
    token, tid = made["token"], made["id"]
    assert set(made) == {"id", "token", "tenant", "prefix", "expires_at"} and token.startswith("hwt_")
    assert timedelta(days=29) < at(made["expires_at"]) - utcnow() <= timedelta(days=30)
    assert client.get("/api/tenants/acme/sources", headers=bearer(token)).status_code == 200

    listed = client.get("/api/tenants/acme/tokens", headers=ADMIN_H)
    assert listed.status_code == 200
    assert token not in listed.text and hash_token(token) not in listed.text  # never the token nor its hash
    rows = {t["id"]: t for t in listed.json()}
    assert set(rows[tid]) == {"id", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"}
    assert rows[tid]["last_used_at"] is not None and rows[tid]["revoked_at"] is None  # used just above

    gone = client.delete(f"/api/tenants/acme/tokens/{tid}", headers=ADMIN_H)
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None and token not in gone.text
    assert client.get("/api/tenants/acme/sources", headers=bearer(token)).status_code == 401
    again = client.delete(f"/api/tenants/acme/tokens/{tid}", headers=ADMIN_H)  # idempotent
    assert again.status_code == 200 and again.json()["revoked_at"] == gone.json()["revoked_at"]
    assert client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token)).status_code == 200


def test_a_tenant_rotates_its_own_token(client: TestClient, hw: App, tenants: Tenants) -> None:
    old = bearer(tenants.acme_token)
    made = client.post("/api/tenants/acme/tokens", headers=old)  # no body: no expiry
    assert made.status_code == 201 and made.json()["expires_at"] is None
    new = bearer(made.json()["token"])
    ids = [t["id"] for t in client.get("/api/tenants/acme/tokens", headers=new).json()]
    old_id = min(ids)
    assert client.delete(f"/api/tenants/acme/tokens/{old_id}", headers=new).status_code == 200
    assert client.get("/api/tenants/acme/tokens", headers=old).status_code == 401  # revoked: 401 from now on
    assert client.get("/api/tenants/acme/tokens", headers=new).status_code == 200
    # a tenant may revoke the very token it calls with
    me = made.json()["id"]
    assert client.delete(f"/api/tenants/acme/tokens/{me}", headers=new).status_code == 200
    assert client.get("/api/tenants/acme/tokens", headers=new).status_code == 401


def test_a_token_made_by_a_tenant_token_does_not_outlive_it(client: TestClient, hw: App, tenants: Tenants) -> None:
    with hw.db.session() as s:
        row, short = issue_token(s, get_tenant(s, "acme"), timedelta(hours=1))
        limit = row.expires_at
    assert limit is not None
    for body in ({"expires": "30d"}, None):
        r = client.post("/api/tenants/acme/tokens", json=body, headers=bearer(short))
        assert r.status_code == 201 and at(r.json()["expires_at"]) == limit
    shorter = client.post("/api/tenants/acme/tokens", json={"expires": "10m"}, headers=bearer(short)).json()
    assert at(shorter["expires_at"]) < limit
    # the admin is not capped
    assert client.post("/api/tenants/acme/tokens", headers=ADMIN_H).json()["expires_at"] is None


def test_tokens_of_another_tenant_are_404(client: TestClient, hw: App, tenants: Tenants) -> None:
    with hw.db.read() as s:
        acme_id = s.execute(select(ApiToken.id).where(ApiToken.tenant_id == get_tenant(s, "acme").id)).scalar_one()
    globex = bearer(tenants.globex_token)
    before = count(hw, ApiToken)
    assert client.post("/api/tenants/acme/tokens", headers=globex).status_code == 404
    assert client.get("/api/tenants/acme/tokens", headers=globex).status_code == 404
    assert client.delete(f"/api/tenants/acme/tokens/{acme_id}", headers=globex).status_code == 404
    # its own tenant's path with the other tenant's token id: 404 too, the token lives on
    assert client.delete(f"/api/tenants/globex/tokens/{acme_id}", headers=globex).status_code == 404
    assert client.delete(f"/api/tenants/globex/tokens/{acme_id}", headers=ADMIN_H).status_code == 404
    assert client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token)).status_code == 200
    assert count(hw, ApiToken) == before
    for method in ("POST", "GET"):
        assert client.request(method, "/api/tenants/acme/tokens").status_code == 401
    assert client.delete(f"/api/tenants/acme/tokens/{acme_id}").status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"expires": "-5d"}, "expires must be a positive duration"),
        ({"expires": "soon"}, "expires must be a positive duration"),
        ({"expires": "0d"}, "expires must be a positive duration"),
        ({"expires": "99999999999w"}, "expires must be at most 3650d"),
        ({"expires": 30}, "expires: Input should be a valid string"),
        ({"lifetime": "30d"}, "lifetime"),
    ],
)
def test_bad_token_bodies_are_422_and_make_nothing(
    client: TestClient, hw: App, tenants: Tenants, body: dict[str, Any], needle: str
) -> None:
    before = count(hw, ApiToken)
    r = client.post("/api/tenants/acme/tokens", json=body, headers=ADMIN_H)
    assert r.status_code == 422 and needle in r.text, r.text
    assert count(hw, ApiToken) == before
    assert client.delete("/api/tenants/acme/tokens/99999", headers=ADMIN_H).status_code == 404
    assert client.delete(f"/api/tenants/acme/tokens/{2**40}", headers=ADMIN_H).status_code == 422


# -- sources: reset, renormalize, remove --------------------------------------------------------
@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, RunningServer]]:
    monkeypatch.setenv("HEADWATER_HTTP_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("HEADWATER_HTTP_BACKOFF_MAX_S", "0.1")
    sandbox, server = start("github", seed=3, repos=1)
    yield sandbox, server
    server.stop()


def connect(hw: App, sandbox: Sandbox, server: RunningServer) -> int:
    options, secrets = source_settings(sandbox, server.url)
    with hw.db.session() as s:
        return add_source(s, hw.vault, get_tenant(s, "acme"), "github", options, secrets).id


def refresh(hw: App) -> None:
    with hw.db.session() as s:
        tenant = get_tenant(s, "acme")
    run, _ = request_run(hw.db, tenant)
    assert execute_inline(hw, run.id, serial=True) == "COMPLETED"


def state(hw: App, sid: int) -> tuple[int, int, int]:
    return count(hw, Cursor, source_id=sid), count(hw, HttpValidator, source_id=sid), count(hw, RawPage, source_id=sid)


def test_reset_makes_the_next_run_reread(
    client: TestClient, hw: App, tenants: Tenants, github: tuple[Sandbox, RunningServer]
) -> None:
    sandbox, server = github
    sid = connect(hw, sandbox, server)
    refresh(hw)
    sandbox.requests.clear()
    refresh(hw)  # without a reset the next run asks conditionally: some requests answer 304
    assert any(r.status == 304 for r in sandbox.requests)
    cursors, etags, _ = state(hw, sid)
    assert cursors and etags
    url = f"/api/tenants/acme/sources/{sid}/reset"

    # bad input, another tenant, no token: 422/404/401 and nothing cleared
    bad = client.post(url, json={"stream": "nope"}, headers=ADMIN_H)
    assert bad.status_code == 422 and "stream 'nope' is not a stream of this source" in bad.json()["detail"]
    assert client.post(url, json={"streams": ["commits"]}, headers=ADMIN_H).status_code == 422
    assert client.post(url, json={"stream": ""}, headers=ADMIN_H).status_code == 422
    assert client.post(url, headers=bearer(tenants.globex_token)).status_code == 404
    assert client.post(f"/api/tenants/globex/sources/{sid}/reset", headers=ADMIN_H).status_code == 404
    assert client.post(url).status_code == 401
    assert state(hw, sid)[:2] == (cursors, etags)

    in_prs = count(hw, Cursor, source_id=sid, stream="pull_requests")
    one = client.post(url, json={"stream": "pull_requests"}, headers=bearer(tenants.acme_token))
    assert one.status_code == 200, one.text
    assert one.json()["cursors_cleared"] == in_prs and count(hw, Cursor, source_id=sid) == cursors - in_prs
    every = client.post(url, headers=ADMIN_H).json()
    left = etags - one.json()["etags_cleared"]
    assert every == {"source_id": sid, "stream": None, "cursors_cleared": cursors - in_prs, "etags_cleared": left}
    assert state(hw, sid)[:2] == (0, 0)

    sandbox.requests.clear()
    refresh(hw)
    assert sandbox.requests and not any(r.status == 304 or r.conditional for r in sandbox.requests)
    assert count(hw, Cursor, source_id=sid) == cursors


def test_renormalize_rebuilds_rows_without_http(
    client: TestClient, hw: App, tenants: Tenants, github: tuple[Sandbox, RunningServer]
) -> None:
    sandbox, server = github
    sid = connect(hw, sandbox, server)
    url = f"/api/tenants/acme/sources/{sid}/renormalize"
    early = client.post(url, headers=ADMIN_H)  # nothing landed yet
    assert early.status_code == 409 and "no landed raw pages" in early.json()["detail"]
    refresh(hw)
    before = data_digest(hw.db)
    with hw.db.session() as s:
        s.execute(update(PullRequest).values(title="garbled", state="closed"))
    garbled = data_digest(hw.db)
    assert garbled != before
    requests = len(sandbox.requests)

    assert client.post(url, json={"stream": "nope"}, headers=ADMIN_H).status_code == 422
    assert client.post(url, headers=bearer(tenants.globex_token)).status_code == 404
    assert client.post(url).status_code == 401
    assert data_digest(hw.db) == garbled  # refused: nothing rewritten

    r = client.post(url, json={"stream": "pull_requests"}, headers=bearer(tenants.acme_token))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["source_id"] == sid and doc["stream"] == "pull_requests" and doc["pages"] > 0
    assert doc["rows"]["pull_request"] == before[1]["pull_request"]
    assert data_digest(hw.db) == before  # restored from the raw pages
    every = client.post(url, headers=ADMIN_H).json()
    assert every["stream"] is None and every["pages"] > doc["pages"]
    assert len(sandbox.requests) == requests  # and not one HTTP request made


def test_delete_needs_confirmation_and_says_what_it_deletes(
    client: TestClient, hw: App, tenants: Tenants, github: tuple[Sandbox, RunningServer]
) -> None:
    sandbox, server = github
    sid = connect(hw, sandbox, server)
    refresh(hw)
    url = f"/api/tenants/acme/sources/{sid}"
    rows, tasks, (cursors, etags, pages) = count(hw, PullRequest), count(hw, TaskRun, source_id=sid), state(hw, sid)
    assert rows and tasks and pages

    for query in ("", "?confirm=false"):
        r = client.delete(url + query, headers=bearer(tenants.acme_token))
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert f"removing source {sid} deletes" in detail and f"{tasks} tasks of run history" in detail
        assert "confirm=true" in detail
    assert client.delete(url + "?confirm=true", headers=bearer(tenants.globex_token)).status_code == 404
    assert client.delete(f"/api/tenants/globex/sources/{sid}?confirm=true", headers=ADMIN_H).status_code == 404
    assert client.delete(url + "?confirm=true").status_code == 401
    assert client.delete(url + "?confirm=maybe", headers=ADMIN_H).status_code == 422
    assert count(hw, Source) == 1 and count(hw, PullRequest) == rows and state(hw, sid) == (cursors, etags, pages)

    gone = client.delete(url + "?confirm=true", headers=bearer(tenants.acme_token))
    assert gone.status_code == 200, gone.text
    doc = gone.json()
    assert doc["removed"] == sid and doc["tasks"] == tasks and doc["raw_pages"] == pages
    assert doc["rows"]["pull_request"] == rows and doc["cursors"] == cursors
    assert count(hw, Source) == 0 and count(hw, PullRequest) == 0 and count(hw, TaskRun, source_id=sid) == 0
    assert client.get("/api/tenants/acme/sources", headers=ADMIN_H).json() == []
    assert client.delete(url + "?confirm=true", headers=ADMIN_H).status_code == 404


def test_ids_no_database_can_hold_are_422(client: TestClient, tenants: Tenants) -> None:
    huge = 2**40
    base = f"/api/tenants/acme/sources/{huge}"
    answers = {
        "reset": client.post(f"{base}/reset", headers=ADMIN_H).status_code,
        "renormalize": client.post(f"{base}/renormalize", headers=ADMIN_H).status_code,
        "delete": client.delete(f"{base}?confirm=true", headers=ADMIN_H).status_code,
        "patch": client.patch(base, json={"enabled": False}, headers=ADMIN_H).status_code,
    }
    assert answers == {"reset": 422, "renormalize": 422, "delete": 422, "patch": 422}


def busy_source(hw: App, run_state: str, task_state: str) -> tuple[int, int]:
    """A source with a cursor, and a run in ``run_state`` with one task of it in ``task_state``."""
    with hw.db.session() as s:
        tenant = get_tenant(s, "acme")
        src = add_source(s, hw.vault, tenant, "github", {"org": "acme"}, {"token": "ghp_acme_0000000000"})
        s.add(Cursor(tenant_id=tenant.id, source_id=src.id, stream="pull_requests", partition="p", value={"a": 1}))
        sid = src.id
    run, _ = request_run(hw.db, tenant)
    with hw.db.session() as s:
        s.execute(update(Run).where(Run.id == run.id).values(state=run_state))
        s.add(
            TaskRun(
                run_id=run.id, source_id=sid, key=f"{sid}:pull_requests:p", stream="pull_requests", state=task_state
            )
        )
    return sid, run.id


def test_reset_and_remove_wait_for_a_started_run(client: TestClient, hw: App, tenants: Tenants) -> None:
    sid, rid = busy_source(hw, "RUNNING", "RUNNING")
    url = f"/api/tenants/acme/sources/{sid}"
    for r in (client.post(f"{url}/reset", headers=ADMIN_H), client.delete(f"{url}?confirm=true", headers=ADMIN_H)):
        assert r.status_code == 409, r.text
        assert f"while run {rid} (RUNNING) reads it" in r.json()["detail"] and "run cancel" in r.json()["detail"]
    assert count(hw, Cursor, source_id=sid) == 1 and count(hw, Source) == 1  # nothing cleared, nothing deleted
    with hw.db.session() as s:
        s.execute(update(TaskRun).values(state="COMPLETED"))  # its task of this source is done
    assert client.post(f"{url}/reset", headers=ADMIN_H).status_code == 200
    assert client.delete(f"{url}?confirm=true", headers=ADMIN_H).status_code == 200


def test_a_waiting_run_does_not_block_a_reset(client: TestClient, hw: App, tenants: Tenants) -> None:
    sid, _ = busy_source(hw, "SCHEDULED", "SCHEDULED")  # its tasks read the cursors when they start
    r = client.post(f"/api/tenants/acme/sources/{sid}/reset", headers=ADMIN_H)
    assert r.status_code == 200 and r.json()["cursors_cleared"] == 1
