"""The dashboard's "Reset cursors" button, in a real browser (Chromium + Playwright): dismissing
its confirmation changes nothing; accepting it clears that source's cursors and ETags (not
another source's) through POST /api/tenants/{slug}/sources/{id}/reset and says how many."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from headwater.app import App
from storage.models import Cursor, HttpValidator
from tenancy import add_source, add_tenant
from tests.browser.test_dashboard import app, browser, server, signed_in

__all__ = ["app", "browser", "server"]

pytestmark = pytest.mark.browser


def kept(app: App, sid: int) -> tuple[int, int]:
    with app.db.read() as s:
        cursors = s.execute(select(func.count()).where(Cursor.source_id == sid)).scalar_one()
        etags = s.execute(select(func.count()).where(HttpValidator.source_id == sid)).scalar_one()
    return int(cursors), int(etags)


def test_reset_cursors_button(app: App, server: str, browser: Any) -> None:
    with app.db.session() as s:
        tenant = add_tenant(s, "acme", "Acme Corp")
        ids = []
        for org in ("one", "two"):
            src = add_source(s, app.vault, tenant, "github", {"org": org}, {"token": f"ghp_{org}_0000000000"})
            for stream in ("repositories", "pull_requests"):
                s.add(Cursor(tenant_id=tenant.id, source_id=src.id, stream=stream, partition="p", value={"a": 1}))
            url = f"https://api.github.com/orgs/{org}/repos"
            s.add(
                HttpValidator(source_id=src.id, url=url, url_hash=hashlib.sha256(url.encode()).hexdigest(), etag='"x"')
            )
            ids.append(src.id)
    sid, other = ids

    page = signed_in(browser, server, "/tenants/acme")
    button = page.locator(f'button[data-action=reset][data-source="{sid}"]')

    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    button.click()
    page.wait_for_timeout(300)
    assert asked and f"#{sid}" in asked[0] and "reads everything again" in asked[0]
    assert kept(app, sid) == (2, 1)  # dismissed: nothing cleared

    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    toast = page.locator("#toast:not(.toast-error)")
    toast.wait_for()
    assert f"Source #{sid}: 2 cursors and 1 ETags cleared" in toast.inner_text()
    assert kept(app, sid) == (0, 0) and kept(app, other) == (2, 1)
    assert button.is_enabled() and button.inner_text() == "Reset cursors"  # ready again
