"""Reconnecting a failing source from the dashboard, in a real browser (Chromium + Playwright):
a wrong token is refused by the check with nothing stored; the right one is stored and the
source's credentials read "valid"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from connectors.sandbox import RunningServer, Sandbox
from headwater.app import App
from headwater.cli.sandboxes import source_settings
from storage.models import Source
from tenancy import add_source, add_tenant
from tenancy.privacy_salt import split_salt
from tests.browser.test_dashboard import ARTIFACTS, app, browser, github, server, signed_in

__all__ = ["app", "browser", "github", "server"]

pytestmark = pytest.mark.browser


def test_reconnect_a_failing_source(app: App, github: tuple[Sandbox, RunningServer], server: str, browser: Any) -> None:
    sandbox, sandbox_server = github
    options, secrets = source_settings(sandbox, sandbox_server.url)
    with app.db.session() as s:
        tenant = add_tenant(s, "acme", "Acme Corp")
        src = add_source(s, app.vault, tenant, "github", options, {"token": "ghp_revoked_000000000000"})
        s.execute(update(Source).where(Source.id == src.id).values(credentials_status="invalid"))
        sid, before = src.id, src.secrets_encrypted

    page = signed_in(browser, server, "/tenants/acme")
    form = page.locator(f'form[data-action=reconnect][data-source="{sid}"]')
    assert form.is_visible()  # open by itself: the credentials were rejected

    form.locator("input[name=token]").fill("ghp_still_wrong_0000000000")
    form.locator("button[type=submit]").click()
    toast = page.locator("#toast.toast-error")
    toast.wait_for()
    assert "not updated" in toast.inner_text() and "ghp_still_wrong" not in toast.inner_text()
    with app.db.read() as s:
        row = s.get(Source, sid)
        assert row is not None and row.secrets_encrypted == before and row.credentials_status == "invalid"

    form.locator("input[name=token]").fill(str(secrets["token"]))
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".cred-valid")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-reconnect.png"), full_page=True)
    with app.db.read() as s:
        row = s.get(Source, sid)
        assert row is not None and row.credentials_status == "valid" and row.id == sid
        assert split_salt(app.vault.decrypt(row.secrets_encrypted))[0] == {"token": secrets["token"]}
