"""The dashboard's runs page (filters and keyset paging, tenant tokens see their own runs) and the
run page's task log lines."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.app import App
from headwater.dashboard import dashboard_router
from headwater.logs import redact
from pipelines.logcontext import log_context
from pipelines.tasklogs import captured, install
from tests.api.conftest import ADMIN, Tenants, bearer
from tests.levers.runs_support import seed_runs
from tests.levers.test_task_logs import make_task


def dashboard(hw: App) -> TestClient:
    api = FastAPI()
    api.include_router(dashboard_router(hw))
    return TestClient(api, follow_redirects=False)


def shown(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-run="(\d+)"', html)]


def test_runs_page_filters_and_pages(hw: App, tenants: Tenants) -> None:
    acme = seed_runs(hw.db, "acme", [("COMPLETED", "refresh", 50), ("FAILED", "schedule", 3), ("FAILED", "refresh", 1)])
    globex = seed_runs(hw.db, "globex", [("CRASHED", "onboarding", 2)])
    web = dashboard(hw)
    admin = bearer(ADMIN)
    page = web.get("/runs", headers=admin)
    assert page.status_code == 200 and shown(page.text) == sorted(acme + globex, reverse=True)
    assert shown(web.get("/runs?state=FAILED", headers=admin).text) == [acme[2], acme[1]]
    assert shown(web.get("/runs?tenant=globex", headers=admin).text) == globex
    assert shown(web.get("/runs?trigger=schedule&since=24h", headers=admin).text) == [acme[1]]
    # paging: follow "Older runs" until it is gone
    seen: list[int] = []
    url: str | None = "/runs?limit=2"
    while url:
        html = web.get(url, headers=admin).text
        seen += shown(html)
        m = re.search(r'rel="next" href="([^"]+)"', html)
        url = m.group(1).replace("&amp;", "&") if m else None
    assert seen == sorted(acme + globex, reverse=True)
    # a tenant token: its own runs only; bad filters: one message, no rows
    assert shown(web.get("/runs", headers=bearer(tenants.globex_token)).text) == globex
    bad = web.get("/runs?state=DONE", headers=admin)
    assert bad.status_code == 422 and "state: &#39;DONE&#39; is not one of" in bad.text and shown(bad.text) == []


def test_run_page_shows_task_log_lines(hw: App, tenants: Tenants) -> None:
    handler = install(redact=redact)
    # Independent of what earlier tests in this process left on the logging tree (levels, disabled loggers).
    logger = logging.getLogger("tests.page")
    logger.disabled, logger.propagate = False, True
    logger.setLevel(logging.INFO)
    try:
        run_id, task_id = make_task(hw)
        with log_context(task_id=task_id), captured(hw.db, run_id, task_id):
            logger.warning("rate limited, waiting 2s token=hwt_abcdefghijklmnopqrstuvwx")
    finally:
        logging.getLogger().removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    html = dashboard(hw).get(f"/runs/{run_id}", headers=bearer(ADMIN)).text
    assert "rate limited, waiting 2s token=***" in html and "hwt_abc" not in html


def test_tenant_page_shows_the_cron_schedule_and_next_refresh(hw: App, tenants: Tenants) -> None:
    from datetime import UTC, datetime

    from storage.models import Tenant

    with hw.db.session() as s:
        t = s.query(Tenant).filter(Tenant.slug == "acme").one()
        t.refresh_cron = "0 * * * *"
        t.created_at = datetime(2026, 12, 1, 10, 20, tzinfo=UTC)
    html = dashboard(hw).get("/tenants/acme", headers=bearer(ADMIN)).text
    assert "cron <code>0 * * * *</code>" in html and "next refresh 2026-12-01 11:00:00" in html
