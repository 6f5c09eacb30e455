"""The dashboard in a real browser (Debian's Chromium, driven by Playwright).

A refresh of a tenant reading the GitHub sandbox fails on one injected fault; signed in through
the form, the run page shows the failed task on the timeline with its traceback; after the
fault is removed, "Retry failed tasks" queues a retry run through the JSON API and the page
follows it until it completes. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox import RunningServer, Sandbox
from headwater.api.metrics import metrics_router
from headwater.api.routes import api_router
from headwater.app import App
from headwater.cli.sandboxes import source_settings, start
from headwater.dashboard import dashboard_router
from headwater.dispatch import LocalDispatcher, RunService
from headwater.queue import RunExecutor
from headwater.settings import Settings
from pipelines import SerialRunner
from storage.models import Run, TaskRun
from tenancy import add_source, add_tenant

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = "browser-admin-token-0123456789"


def signed_in(browser: Any, server: str, path: str) -> Any:
    """A new page (1440x1000) signed in with the admin token through the form, showing ``path``."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{server}/login?next={path}")
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{path}")
    return page


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        msg = "Chromium is missing: run scripts/install-browser.sh"
        if os.environ.get("HEADWATER_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def github() -> Iterator[tuple[Sandbox, RunningServer]]:
    sandbox, server = start("github", seed=5, repos=3)
    yield sandbox, server
    server.stop()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    from cryptography.fernet import Fernet

    settings = Settings(
        home=tmp_path,
        secret_key=SecretStr(Fernet.generate_key().decode()),
        admin_token=SecretStr(ADMIN),
        database_url=None,
        broker_url=None,
        http_retry_attempts=2,
        http_backoff_max_s=0.05,
    )
    hw = App.create(settings)
    yield hw
    hw.close()


@pytest.fixture
def server(app: App) -> Iterator[str]:
    """The API, /metrics and the dashboard as `headwater serve` composes them; runs are executed
    by the server's in-process queue, one task at a time (no Dask cluster in this test)."""
    dispatcher = LocalDispatcher(app, RunExecutor(app, runner_factory=SerialRunner, alerts=False), concurrency=1)
    api = FastAPI()
    api.include_router(api_router(app, dispatcher), prefix="/api")
    api.include_router(metrics_router(app))
    api.include_router(dashboard_router(app))
    running = RunningServer(api).start()
    yield running.url
    running.stop()
    dispatcher.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def test_failed_run_traceback_then_retry_completes(
    app: App, github: tuple[Sandbox, RunningServer], server: str, browser: Any
) -> None:
    sandbox, sandbox_server = github
    options, secrets = source_settings(sandbox, sandbox_server.url)
    org, repo = options["org"], sandbox.truth()["repositories"][0]
    with app.db.session() as s:
        tenant = add_tenant(s, "acme", "Acme Corp")
        add_source(s, app.vault, tenant, "github", options, secrets)
    sandbox.faults.fail_paths = [f"/repos/{org}/{repo}/commits"]
    # A refresh through the API, executed by the server (Playwright owns this thread's event loop).
    accepted = httpx.post(f"{server}/api/tenants/acme/refresh", headers={"Authorization": f"Bearer {ADMIN}"})
    assert accepted.status_code == 202
    run_id = accepted.json()["run_id"]
    assert RunService(app).wait(run_id, poll_s=0.2) == "FAILED"
    with app.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        (failed,) = s.execute(select(TaskRun).where(TaskRun.run_id == run.id, TaskRun.state == "FAILED")).scalars()

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(30_000)
    # Signed out: the dashboard sends the browser to the sign-in form, which comes back here.
    page.goto(f"{server}/runs/{run.id}")
    assert "/login" in page.url
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/runs/{run.id}")

    # The timeline shows the failed task on its repository's lane.
    lane = page.locator(f'.lane-task[data-task="{failed.id}"]')
    assert lane.locator(".bar-failed").count() == 1
    assert f"{org}/{repo}" in lane.inner_text()
    assert page.locator(".bar-completed").count() > 5
    # Its traceback is collapsed, and opens.
    failure = page.locator(f"#failure-{failed.id}")
    assert "commits" in failure.inner_text() and "TRANSIENT" in failure.inner_text()
    traceback = failure.locator("details.traceback pre")
    assert not traceback.is_visible()
    failure.locator("details.traceback summary").click()
    assert traceback.is_visible() and "Traceback (most recent call last)" in traceback.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Fixed at the provider: retry just the failed tasks from the page.
    sandbox.faults.fail_paths = []
    page.click("button[data-action=retry]")
    page.wait_for_url(re.compile(rf"{re.escape(server)}/runs/(?!{run.id}$)\d+$"))
    retry_id = int(page.url.rsplit("/", 1)[1])
    # The page follows the run by itself (live refresh) until it completes.
    page.wait_for_selector(".pagehead .state-completed", timeout=60_000)
    assert f"retry of #{run.id}" in page.locator(".pagehead").inner_text()
    assert page.locator(".bar-failed").count() == 0
    assert page.locator(f'.lane-task:has-text("{org}/{repo}")').count() >= 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-retry.png"), full_page=True)
    with app.db.session() as s:
        retried = s.get(Run, retry_id)
        assert retried is not None and retried.state == "COMPLETED" and retried.parent_run_id == run.id
        assert retried.trigger == "retry" and retried.tasks_total >= 1

    # The tenant overview now reads healthy again; the first run's page links to its retry.
    page.goto(f"{server}/")
    card = page.locator('[data-tenant="acme"]').first
    assert "completed" in card.locator(".lastrun").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)
    page.goto(f"{server}/runs/{run.id}")
    assert f"#{retry_id}" in page.locator(".alert-info").inner_text()


def test_cancel_a_running_run_from_its_page(app: App, server: str, browser: Any) -> None:
    sandbox, sandbox_server = start("github", seed=5, repos=3, latency_ms=300)
    try:
        options, secrets = source_settings(sandbox, sandbox_server.url)
        with app.db.session() as s:
            tenant = add_tenant(s, "acme", "Acme Corp")
            add_source(s, app.vault, tenant, "github", options, secrets)
        accepted = httpx.post(f"{server}/api/tenants/acme/refresh", headers={"Authorization": f"Bearer {ADMIN}"})
        run_id = accepted.json()["run_id"]
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{server}/login?next=/runs/{run_id}")
        page.fill("#token", ADMIN)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/runs/{run_id}")
        page.wait_for_selector(".pagehead .state-running")
        page.click("button[data-action=cancel]")
        page.wait_for_selector(".pagehead .state-cancelled", timeout=15_000)
        assert "cancelled by api:admin" in page.locator(".alert-error").inner_text()
        assert page.locator("button[data-action=cancel]").count() == 0
        assert page.locator("button[data-action=retry]").count() == 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-cancelled.png"), full_page=True)
        with app.db.session() as s:
            states = set(s.execute(select(TaskRun.state).where(TaskRun.run_id == run_id)).scalars())
        assert states <= {"COMPLETED", "CANCELLED"} and "CANCELLED" in states
    finally:
        sandbox_server.stop()
