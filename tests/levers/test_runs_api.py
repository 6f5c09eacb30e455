"""GET /api/runs: filters, keyset paging, tenant tokens see only their own runs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from headwater.app import App
from tests.api.conftest import ADMIN, Tenants, bearer
from tests.levers.runs_support import seed_runs

ADMIN_H = bearer(ADMIN)


def seed(hw: App) -> tuple[list[int], list[int]]:
    acme = seed_runs(
        hw.db,
        "acme",
        [
            ("COMPLETED", "refresh", 50),
            ("FAILED", "schedule", 30),
            ("COMPLETED", "schedule", 3),
            ("FAILED", "refresh", 1),
        ],
    )
    globex = seed_runs(hw.db, "globex", [("COMPLETED", "onboarding", 2), ("CRASHED", "refresh", 0.5)])
    return acme, globex


def ids(doc: dict[str, Any]) -> list[int]:
    return [r["id"] for r in doc["runs"]]


def test_filters_across_tenants(client: TestClient, hw: App, tenants: Tenants) -> None:
    acme, globex = seed(hw)
    every = client.get("/api/runs", headers=ADMIN_H).json()
    assert ids(every) == sorted(acme + globex, reverse=True) and every["next_cursor"] is None
    assert {r["tenant"] for r in every["runs"]} == {"acme", "globex"}

    failed = client.get("/api/runs", params={"state": "failed,crashed"}, headers=ADMIN_H).json()
    assert ids(failed) == [globex[1], acme[3], acme[1]]
    sched = client.get("/api/runs", params={"trigger": "schedule", "since": "24h"}, headers=ADMIN_H).json()
    assert ids(sched) == [acme[2]]
    one = client.get("/api/runs", params={"tenant": "globex"}, headers=ADMIN_H).json()
    assert ids(one) == sorted(globex, reverse=True)
    iso = client.get("/api/runs", params={"since": "2000-01-01T00:00:00"}, headers=ADMIN_H).json()
    assert len(iso["runs"]) == 6


def test_keyset_paging_with_next_cursor_and_link(client: TestClient, hw: App, tenants: Tenants) -> None:
    acme, globex = seed(hw)
    seen: list[int] = []
    page = client.get("/api/runs", params={"limit": 4}, headers=ADMIN_H)
    assert 'rel="next"' in page.headers["link"] and "cursor=" in page.headers["link"]
    doc = page.json()
    while True:
        seen += ids(doc)
        if doc["next_cursor"] is None:
            break
        doc = client.get("/api/runs", params={"limit": 4, "cursor": doc["next_cursor"]}, headers=ADMIN_H).json()
    assert seen == sorted(acme + globex, reverse=True)
    # the Link header is the next page itself
    nxt = page.headers["link"].split(">")[0].lstrip("<")
    assert ids(client.get(nxt, headers=ADMIN_H).json()) == seen[4:]


def test_a_tenant_token_sees_only_its_runs(client: TestClient, hw: App, tenants: Tenants) -> None:
    acme, _ = seed(hw)
    mine = client.get("/api/runs", headers=bearer(tenants.acme_token)).json()
    assert ids(mine) == sorted(acme, reverse=True)
    other = client.get("/api/runs", params={"tenant": "globex"}, headers=bearer(tenants.acme_token))
    assert other.status_code == 404
    assert client.get("/api/runs").status_code == 401


def test_bad_filters_answer_422_naming_the_field(client: TestClient, hw: App, tenants: Tenants) -> None:
    seed(hw)
    for params, field in (
        ({"state": "DONE"}, "state"),
        ({"trigger": "cron"}, "trigger"),
        ({"since": "yesterday"}, "since"),
        ({"cursor": "abc"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
    ):
        r = client.get("/api/runs", params=params, headers=ADMIN_H)
        assert r.status_code == 422, params
        assert field in str(r.json()["detail"]), r.json()


def test_tenant_runs_route_unchanged(client: TestClient, hw: App, tenants: Tenants) -> None:
    acme, _ = seed(hw)
    rows = client.get("/api/tenants/acme/runs", headers=ADMIN_H).json()
    assert isinstance(rows, list) and [r["id"] for r in rows] == sorted(acme, reverse=True)
