"""Malformed requests: 422 with a readable body, never 500, never echoing what was sent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, RecordingDispatcher, Tenants, bearer

SECRET = "xoxb-" + "9" * 30
JSON = {**bearer(ADMIN), "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/api/tenants/acme/refresh", b"{not json"),
        ("/api/tenants/acme/refresh", b'{"full": true,}'),
        ("/api/tenants", b"[1, 2"),
    ],
)
def test_bad_json_is_422(client: TestClient, tenants: Tenants, path: str, raw: bytes) -> None:
    r = client.post(path, content=raw, headers=JSON)
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["type"] == "json_invalid" and err["field"] == "body" and "not valid JSON" in err["msg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"full": "yes"}, "full"),
        ({"full": 1}, "full"),
        ({"source_id": "3"}, "source_id"),
        ({"source_id": 1.5}, "source_id"),
        ({"source_id": [1]}, "source_id"),
        ({"sources": 1}, "sources"),
        ({"full": True, "priority": "high"}, "priority"),
        ([], "body"),
        ("refresh", "body"),
    ],
)
def test_refresh_wrong_types_and_unknown_fields_are_422(
    client: TestClient, tenants: Tenants, dispatcher: RecordingDispatcher, body: Any, field: str
) -> None:
    r = client.post("/api/tenants/acme/refresh", json=body, headers=bearer(ADMIN))
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert any(e["field"] == field for e in errors), errors
    assert all(e["msg"].startswith(e["field"]) for e in errors)  # each message names its field
    assert dispatcher.calls == []  # nothing was created or queued


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no slug"},
        {"slug": 42},
        {"slug": "ok", "refresh_interval_minutes": 0},
        {"slug": "ok", "refresh_interval_minutes": "10"},
        {"slug": "ok", "owner": "me"},
    ],
)
def test_tenant_body_errors_are_422(client: TestClient, tenants: Tenants, body: dict[str, Any]) -> None:
    r = client.post("/api/tenants", json=body, headers=bearer(ADMIN))
    assert r.status_code == 422, r.text
    assert client.get("/api/tenants", headers=bearer(ADMIN)).json()[-1]["slug"] == "globex"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "slack", "secrets": {"token": 12345}, "options": {"channels": "general"}},
        {"kind": "slack", "secrets": [SECRET]},
        {"kind": "slack", "secrets": {"token": SECRET}, "password": SECRET},
        {"kind": "slack", "secrets": {"token": SECRET}, "options": {"channels": {"nested": SECRET}}},
    ],
)
def test_source_body_errors_never_echo_secrets(client: TestClient, tenants: Tenants, body: dict[str, Any]) -> None:
    r = client.post("/api/tenants/acme/sources", json=body, headers=bearer(ADMIN))
    assert r.status_code == 422, r.text
    assert SECRET not in r.text and "12345" not in r.text
    assert r.json()["detail"]


def test_path_and_query_types_are_422(client: TestClient, tenants: Tenants) -> None:
    assert client.get("/api/runs/abc", headers=bearer(ADMIN)).status_code == 422
    assert client.get("/api/tenants/acme/runs?limit=0", headers=bearer(ADMIN)).status_code == 422
    assert client.get("/api/tenants/acme/runs?limit=lots", headers=bearer(ADMIN)).status_code == 422


def test_refresh_accepts_no_body_or_an_empty_one(client: TestClient, tenants: Tenants) -> None:
    assert client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).status_code == 202
    assert client.post("/api/tenants/acme/refresh", json={}, headers=bearer(ADMIN)).status_code == 202
    assert client.post("/api/tenants/acme/refresh", json=None, headers=bearer(ADMIN)).status_code == 202
