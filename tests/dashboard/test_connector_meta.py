"""The dashboard shows a connector as its ConnectorMeta says (name, badge colour, scope option):
a kind added to the registry shows up without an edit to the dashboard."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from connectors import registry
from connectors.connector import ConnectorMeta
from connectors.declarations import DeclarationError
from headwater.dashboard import dashboard_router
from headwater.dashboard.render import badge_color, provider
from tenancy import add_source, add_tenant
from tests.dashboard import fakes

ADMIN = "admin-token-for-tests-0123456789"
CONNECTOR = dataclasses.replace(
    fakes.CONNECTOR,
    kind="quarry",
    meta=ConnectorMeta(display_name="Quarry Cloud", scope_option="org", badge_color="#0a7e6e"),
)


def test_a_registered_kind_renders_with_its_own_name_colour_and_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.KINDS, "quarry", __name__)
    app = fakes.make_app(tmp_path, admin_token=SecretStr(ADMIN))
    with app.db.session() as s:
        tenant = add_tenant(s, "acme", "Acme")
        add_source(
            s,
            app.vault,
            tenant,
            "quarry",
            {"base_url": "http://127.0.0.1:9", "org": "stonecutters"},
            {"token": "t0k3n-for-tests"},
        )
    api = FastAPI()
    api.include_router(dashboard_router(app))
    client = TestClient(api, follow_redirects=False)
    auth = {"Authorization": f"Bearer {ADMIN}"}

    for path in ("/", "/tenants/acme"):
        page = client.get(path, headers=auth)
        assert page.status_code == 200
        assert 'class="kind kind-quarry" style="background: #0a7e6e">Quarry Cloud</span>' in page.text, path
    assert "stonecutters" in client.get("/tenants/acme", headers=auth).text
    app.close()


def test_the_five_kinds_keep_their_names_and_colours() -> None:
    assert [provider(k) for k in ("github", "bitbucket", "jira", "aha", "slack")] == [
        "GitHub",
        "Bitbucket",
        "Jira",
        "Aha!",
        "Slack",
    ]
    assert badge_color("github") == "#24292f" and badge_color("slack") == "#611f69"
    assert provider("retired-kind") == "retired-kind" and badge_color("retired-kind") == "#57606a"


def test_meta_is_checked_with_the_declarations() -> None:
    with pytest.raises(DeclarationError, match="scope_option 'team' is not an option"):
        dataclasses.replace(CONNECTOR, meta=ConnectorMeta(display_name="Q", scope_option="team"))
    with pytest.raises(DeclarationError, match="badge_color must be a hex colour"):
        dataclasses.replace(CONNECTOR, meta=ConnectorMeta(display_name="Q", badge_color="red; x: y"))
