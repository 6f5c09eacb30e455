"""The levers through the HTTP API: PATCH a source (reconnect, enable/disable), the connector
catalogue, and tenant tokens that expire, are revoked, and record their last use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from headwater.app import App
from storage.models import ApiToken, Cursor, Source
from storage.models.base import utcnow
from tenancy import add_source, get_tenant
from tenancy.privacy_salt import split_salt
from tenancy.tokens import issue_token, revoke_token
from tests.api.conftest import ADMIN, Tenants, bearer
from tests.levers_support import BAD_TOKEN, Sandbox, github_sandbox

__all__ = ["github_sandbox"]


def make_source(hw: App, box: Sandbox, token: str, slug: str = "acme") -> int:
    with hw.db.session() as s:
        src = add_source(
            s, hw.vault, get_tenant(s, slug), "github", {"base_url": box.url, "org": box.org}, {"token": token}
        )
        s.add(Cursor(tenant_id=src.tenant_id, source_id=src.id, stream="commits", partition="p", value={"a": 1}))
        s.flush()
        return src.id


def stored(hw: App, sid: int) -> tuple[Any, ...]:
    with hw.db.read() as s:
        src = s.get(Source, sid)
        assert src is not None
        return (src.secrets_encrypted, src.credentials_status, src.enabled, dict(src.options))


def test_patch_reconnects_with_a_check(client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox) -> None:
    sid = make_source(hw, github_sandbox, BAD_TOKEN)
    with hw.db.session() as s:
        s.execute(update(Source).where(Source.id == sid).values(credentials_status="invalid"))
    url = f"/api/tenants/acme/sources/{sid}"
    r = client.patch(url, json={"secrets": {"token": github_sandbox.token}}, headers=bearer(tenants.acme_token))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["source"]["id"] == sid and doc["source"]["credentials_status"] == "valid"
    assert doc["check"]["ok"] is True and github_sandbox.token not in r.text
    with hw.db.read() as s:
        assert s.execute(select(Cursor.value).where(Cursor.source_id == sid)).scalar_one() == {"a": 1}
        sealed = s.get(Source, sid).secrets_encrypted  # type: ignore[union-attr]
        assert split_salt(hw.vault.decrypt(sealed))[0] == {"token": github_sandbox.token}  # the salt kept beside


def test_a_failing_check_is_409_and_stores_nothing_unless_forced(
    client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox
) -> None:
    sid = make_source(hw, github_sandbox, github_sandbox.token)
    before = stored(hw, sid)
    url = f"/api/tenants/acme/sources/{sid}"
    r = client.patch(url, json={"secrets": {"token": BAD_TOKEN}}, headers=bearer(ADMIN))
    assert r.status_code == 409 and "not updated" in r.json()["detail"] and BAD_TOKEN not in r.text
    assert stored(hw, sid) == before
    r = client.patch(url, json={"secrets": {"token": BAD_TOKEN}, "force": True}, headers=bearer(ADMIN))
    assert r.status_code == 200 and r.json()["check"]["ok"] is False
    assert r.json()["source"]["credentials_status"] == "unknown"
    assert stored(hw, sid)[0] != before[0]


def test_patch_enabled(client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox) -> None:
    sid = make_source(hw, github_sandbox, github_sandbox.token)
    url = f"/api/tenants/acme/sources/{sid}"
    r = client.patch(url, json={"enabled": False}, headers=bearer(tenants.acme_token))
    assert r.status_code == 200 and r.json()["source"]["enabled"] is False and r.json()["check"] is None
    assert stored(hw, sid)[2] is False
    assert client.patch(url, json={"enabled": True}, headers=bearer(ADMIN)).json()["source"]["enabled"] is True


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"colour": "blue"}, "colour"),
        ({"enabled": "no"}, "enabled"),
        ({"secrets": {"token": ""}}, "secret 'token' is empty"),
        ({"secrets": {"token": "ghp_x\n"}}, "secret 'token'"),
        ({"secrets": {"token": 5}}, "secrets.token"),
        ({"options": {"colour": "blue"}}, "unknown option 'colour'"),
    ],
)
def test_bad_patch_bodies_are_422_and_change_nothing(
    client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox, body: dict[str, Any], needle: str
) -> None:
    sid = make_source(hw, github_sandbox, github_sandbox.token)
    before = stored(hw, sid)
    r = client.patch(f"/api/tenants/acme/sources/{sid}", json=body, headers=bearer(ADMIN))
    assert r.status_code == 422 and needle in r.text, r.text
    assert "ghp_x" not in r.text
    assert stored(hw, sid) == before


def test_other_tenants_sources_are_404(client: TestClient, hw: App, tenants: Tenants, github_sandbox: Sandbox) -> None:
    sid = make_source(hw, github_sandbox, github_sandbox.token)
    for url in (f"/api/tenants/acme/sources/{sid}", f"/api/tenants/globex/sources/{sid}"):
        assert client.patch(url, json={"enabled": False}, headers=bearer(tenants.globex_token)).status_code == 404
    assert client.patch(f"/api/tenants/acme/sources/{sid}", json={"enabled": False}).status_code == 401
    assert stored(hw, sid)[2] is True


def test_empty_secret_on_create_is_422(client: TestClient, hw: App, tenants: Tenants) -> None:
    body = {"kind": "github", "options": {"org": "acme"}, "secrets": {"token": ""}, "backfill": False}
    r = client.post("/api/tenants/acme/sources", json=body, headers=bearer(ADMIN))
    assert r.status_code == 422 and "secret 'token' is empty" in r.text
    with hw.db.read() as s:
        assert s.execute(select(Source)).first() is None


def test_connectors_catalogue(client: TestClient, tenants: Tenants) -> None:
    r = client.get("/api/connectors", headers=bearer(tenants.acme_token))
    assert r.status_code == 200 and [c["kind"] for c in r.json()][:2] == ["github", "bitbucket"]
    one = client.get("/api/connectors/jira", headers=bearer(tenants.acme_token)).json()
    assert one["secrets"]["required"] == ["email", "api_token"]
    assert one["options"]["properties"]["projects"]["default"] == "*"
    assert any(s["name"] == "changelogs" and s["entities"] == ["work_item_transition"] for s in one["streams"])
    assert client.get("/api/connectors/gitlab", headers=bearer(ADMIN)).status_code == 404
    assert client.get("/api/connectors").status_code == 401


def test_expired_and_revoked_tokens_are_401(client: TestClient, hw: App, tenants: Tenants) -> None:
    with hw.db.session() as s:
        acme = get_tenant(s, "acme")
        expired, expired_token = issue_token(s, acme, timedelta(days=1))
        s.execute(update(ApiToken).where(ApiToken.id == expired.id).values(expires_at=utcnow() - timedelta(seconds=1)))
        live, live_token = issue_token(s, acme, timedelta(days=1))
        live_id = live.id
    assert client.get("/api/tenants/acme/sources", headers=bearer(live_token)).status_code == 200
    assert client.get("/api/tenants/acme/sources", headers=bearer(expired_token)).status_code == 401
    with hw.db.session() as s:
        revoke_token(s, get_tenant(s, "acme"), live_id)
    assert client.get("/api/tenants/acme/sources", headers=bearer(live_token)).status_code == 401
    assert client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token)).status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(client: TestClient, hw: App, tenants: Tenants) -> None:
    def last_used() -> Any:
        with hw.db.read() as s:
            return s.execute(select(ApiToken.last_used_at).where(ApiToken.tenant_id == 1)).scalar_one()

    assert last_used() is None
    client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token))
    first = last_used()
    assert first is not None
    client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token))
    assert last_used() == first  # under a minute: no write
    with hw.db.session() as s:
        s.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
    client.get("/api/tenants/acme/sources", headers=bearer(tenants.acme_token))
    assert last_used() > first
