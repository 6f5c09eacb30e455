"""The dashboard's pages over real runs: sign-in, tenant isolation, the run page's content."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from headwater.api.auth import COOKIE
from headwater.dashboard import dashboard_router
from pipelines import request_run
from storage.models import TaskRun, Tenant
from tenancy import add_tenant, create_token
from tests.dashboard.fakes import Forge, refresh, running_forge

ADMIN = "admin-token-for-tests-0123456789"


@pytest.fixture
def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    with running_forge(tmp_path, monkeypatch, admin_token=SecretStr(ADMIN)) as f:
        yield f


@pytest.fixture
def client(forge: Forge) -> TestClient:
    api = FastAPI()
    api.include_router(dashboard_router(forge.app))
    return TestClient(api, follow_redirects=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tenant_token(forge: Forge, slug: str) -> str:
    with forge.app.db.session() as s:
        t = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none() or add_tenant(s, slug)
        return create_token(s, t)


def test_browsers_without_a_token_are_sent_to_sign_in(client: TestClient) -> None:
    for path, target in [
        ("/", "/login?next=/"),
        ("/runs/7", "/login?next=/runs/7"),
        ("/tenants/acme", "/login?next=/tenants/acme"),
    ]:
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == target
    assert client.get("/", headers=bearer("wrong")).status_code == 401  # an API client gets a plain 401
    page = client.get("/login?next=/runs/7")
    assert page.status_code == 200 and 'name="token"' in page.text and 'value="/runs/7"' in page.text


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_clears_it(client: TestClient, forge: Forge) -> None:
    bad = client.post("/login", data={"token": "nope", "next": "/"})
    assert bad.status_code == 401 and "not valid" in bad.text and COOKIE not in bad.headers.get("set-cookie", "")

    r = client.post("/login", data={"token": ADMIN, "next": "/tenants/acme"})
    assert r.status_code == 303 and r.headers["location"] == "/tenants/acme"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/tenants/acme").status_code == 200  # the client keeps the cookie
    assert client.get("/login").headers["location"] == "/"  # already signed in

    out = client.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.clear()  # (the browser drops it: Max-Age=0)
    assert "Max-Age=0" in out.headers["set-cookie"] or "expires" in out.headers["set-cookie"].lower()
    assert client.get("/").status_code == 303


def test_sign_in_never_redirects_off_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = client.post("/login", data={"token": ADMIN, "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_overview_lists_tenants_sources_and_last_run_health(client: TestClient, forge: Forge) -> None:
    forge.fail("/repos/acme/repo1/commits")
    run_id, _ = refresh(forge.app)
    page = client.get("/", headers=bearer(ADMIN))
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["Content-Security-Policy"]
    card = page.text[page.text.index('data-tenant="acme"') :]
    # 7 stream tasks + the run's derived task (linking)
    assert f'href="/runs/{run_id}"' in card and "state-failed" in card and "1/8 tasks failed" in card
    assert "kind-forge" in card and "health-failing" in card
    assert 'data-action="refresh" data-tenant="acme"' in card


def test_tenant_page_lists_runs_and_sources(client: TestClient, forge: Forge) -> None:
    ok_id, _ = refresh(forge.app)
    page = client.get("/tenants/acme", headers=bearer(ADMIN)).text
    assert f'href="/runs/{ok_id}"' in page and "state-completed" in page
    assert re.search(r"commit <b>12</b>", page) and re.search(r"repository <b>3</b>", page)
    assert "health-ok" in page and 'data-active="false"' in page


def test_tenant_tokens_see_only_their_tenant(client: TestClient, forge: Forge) -> None:
    run_id, _ = refresh(forge.app)
    globex = tenant_token(forge, "globex")
    page = client.get("/", headers=bearer(globex))
    assert page.status_code == 200 and 'data-tenant="globex"' in page.text and 'data-tenant="acme"' not in page.text
    assert client.get("/tenants/globex", headers=bearer(globex)).status_code == 200
    assert client.get("/tenants/acme", headers=bearer(globex)).status_code == 404
    assert client.get(f"/runs/{run_id}", headers=bearer(globex)).status_code == 404
    assert client.get("/runs/999999", headers=bearer(ADMIN)).status_code == 404
    acme = tenant_token(forge, "acme")
    assert client.get(f"/runs/{run_id}", headers=bearer(acme)).status_code == 200


def test_run_page_shows_timeline_failure_traceback_and_history(client: TestClient, forge: Forge) -> None:
    forge.fail("/repos/acme/repo1/commits")
    run_id, _ = refresh(forge.app)
    with forge.app.db.session() as s:
        failed = s.execute(select(TaskRun).where(TaskRun.run_id == run_id, TaskRun.state == "FAILED")).scalar_one()
        n_tasks = len(s.execute(select(TaskRun.id).where(TaskRun.run_id == run_id)).all())
    html = client.get(f"/runs/{run_id}", headers=bearer(ADMIN)).text
    # Timeline: one bar per task, the failed one red, lanes grouped by stream.
    assert len(re.findall(r'class="bar bar-', html)) == n_tasks
    assert len(re.findall(r'class="bar bar-failed"', html)) == 1
    lane = html[html.index(f'data-task="{failed.id}"') :]
    assert "acme/repo1" in lane[:400]
    for stream in ("repositories", "commits", "branches"):
        assert f'id="g-{forge.source_id}-{stream}"' in html
    for left, width in re.findall(r"left: ([\d.]+)%; width: ([\d.]+)%", html):
        assert 0 <= float(left) <= 100 and 0 < float(width) <= 100 and float(left) + float(width) <= 100.001
    # Failure: kind, message, traceback (collapsible), and the retry button.
    failure = html[html.index(f'id="failure-{failed.id}"') :]
    assert "TRANSIENT" in failure[:1500] and "502" in failure[:2000]
    assert '<details class="traceback"' in failure and "Traceback (most recent call last)" in failure
    assert f'data-action="retry" data-run="{run_id}"' in html
    # Each task's state history.
    task = html[html.index(f'id="task-{failed.id}"') :]
    history = task[task.index('<ol class="history">') : task.index("</ol>")]
    states = re.findall(r'class="h-state">(\w+)<', history)
    assert states[0] == "scheduled" and "running" in states and states[-1] == "failed"


def test_run_page_escapes_what_providers_said(client: TestClient, forge: Forge) -> None:
    run_id, _ = refresh(forge.app)
    with forge.app.db.session() as s:
        task = s.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars().first()
        assert task is not None
        task.message = "<script>alert(1)</script>"
    html = client.get(f"/runs/{run_id}", headers=bearer(ADMIN)).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_active_runs_refresh_themselves(client: TestClient, forge: Forge) -> None:
    with forge.app.db.session() as s:
        tenant = s.execute(select(Tenant).where(Tenant.slug == "acme")).scalar_one()
    run, _ = request_run(forge.app.db, tenant)
    html = client.get(f"/runs/{run.id}", headers=bearer(ADMIN)).text
    assert 'id="live" class="page" data-active="true"' in html and "state-scheduled" in html
    assert 'data-action="retry"' not in html  # nothing to retry yet
    assert 'data-active="true"' in client.get("/tenants/acme", headers=bearer(ADMIN)).text


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/dashboard.css")
    js = client.get("/static/dashboard.js")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ".bar-failed" in css.text
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "/retry" in js.text
    assert client.get("/static/../router.py").status_code == 404
    assert client.get("/static/missing.js").status_code == 404
    page = client.get("/login").text
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no CDN: every asset is served from here
