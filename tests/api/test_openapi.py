"""The served application: OpenAPI document, health check, dispatcher choice."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from headwater.api import create_api
from headwater.app import App
from headwater.dispatch import BrokerDispatcher, DetachedDispatcher, LocalDispatcher, make_dispatcher
from storage import Database
from tests.api.conftest import make_app

PATHS = {
    "/api/tenants": {"get", "post"},
    "/api/tenants/{slug}/refresh": {"post"},
    "/api/tenants/{slug}/runs": {"get"},
    "/api/tenants/{slug}/sources": {"get", "post"},
    "/api/runs/{run_id}": {"get"},
    "/api/runs/{run_id}/retry": {"post"},
    "/healthz": {"get"},
}


def test_openapi_document_describes_the_api(hw: App) -> None:
    with TestClient(create_api(hw)) as client:
        r = client.get("/openapi.json")
        assert r.status_code == 200
        doc = r.json()
        assert doc["info"]["title"] == "Headwater"
        for path, methods in PATHS.items():
            assert path in doc["paths"], path
            assert methods <= set(doc["paths"][path]), path
        refresh = doc["paths"]["/api/tenants/{slug}/refresh"]["post"]
        assert "202" in refresh["responses"] and "401" in refresh["responses"] and "404" in refresh["responses"]
        assert refresh["requestBody"]["content"]["application/json"]
        schemas = doc["components"]["schemas"]
        assert set(schemas["RunAccepted"]["required"]) >= {"run_id", "state", "coalesced"}
        assert schemas["RefreshRequest"].get("additionalProperties") is False
        assert any(s.get("scheme") == "bearer" for s in doc["components"]["securitySchemes"].values())
        assert client.get("/docs").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}


def test_dispatcher_follows_the_broker_setting(sqlite_db: Database, tmp_path: Path) -> None:
    assert isinstance(make_dispatcher(make_app(sqlite_db, tmp_path), in_process=True), LocalDispatcher)
    assert isinstance(make_dispatcher(make_app(sqlite_db, tmp_path)), DetachedDispatcher)
    queued = make_dispatcher(make_app(sqlite_db, tmp_path, broker_url="redis://127.0.0.1:6379/15"))
    assert isinstance(queued, BrokerDispatcher)
