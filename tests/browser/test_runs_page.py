"""The runs page in a real browser: filter by state with the form, then page through with
"Older runs" until the last page."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.app import App
from tenancy import add_tenant
from tests.browser.test_dashboard import ADMIN, app, browser, server  # noqa: F401  (fixtures)
from tests.levers.runs_support import seed_runs

pytestmark = pytest.mark.browser


def test_filter_and_page_through_runs(app: App, server: str, browser: Any) -> None:  # noqa: F811
    with app.db.session() as s:
        add_tenant(s, "acme", "Acme Corp")
        add_tenant(s, "globex", "Globex")
    specs = [("FAILED" if i % 3 == 0 else "COMPLETED", "refresh", 10 - i * 0.5) for i in range(7)]
    acme = seed_runs(app.db, "acme", specs)
    globex = seed_runs(app.db, "globex", [("FAILED", "schedule", 1)])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(f"{server}/login?next=/runs")
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/runs")

    def shown() -> list[int]:
        return [int(x) for x in page.locator("tr[data-run]").evaluate_all("rows => rows.map(r => r.dataset.run)")]

    assert shown() == sorted(acme + globex, reverse=True)
    page.select_option("select[name=state]", "FAILED")
    page.fill("input[name=limit]", "2")
    page.click("#run-filters button[type=submit]")
    page.wait_for_url("**/runs?*state=FAILED*")
    failed = sorted([r for r, (st, _, _) in zip(acme, specs, strict=True) if st == "FAILED"] + globex, reverse=True)
    seen = shown()
    while page.locator("a[rel=next]").count():
        page.click("a[rel=next]")
        page.wait_for_load_state()
        seen += shown()
    assert seen == failed
    page.select_option("select[name=tenant]", "globex")
    page.click("#run-filters button[type=submit]")
    page.wait_for_url("**tenant=globex*")
    assert shown() == globex
