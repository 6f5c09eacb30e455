"""The API fuzzed from its own OpenAPI document (schemathesis), and tenant isolation proven route
by route, on the API and on the dashboard.

Property: for any input the schema allows (and many it does not), with a tenant token and with
the admin token, no answer is a 5xx and every status is one the schema documents; a 2xx answer
to a tenant token never carries another tenant's data. Nothing executes: the dispatcher records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import status_code_conformance

from headwater.app import App
from headwater.dashboard.router import dashboard_router
from pipelines import request_run
from storage import Database
from storage.models import ApiToken, Run, Source, State
from tenancy import add_source, add_tenant, create_token, get_tenant
from tenancy.tokens import issue_token
from tests.api.conftest import ADMIN, RecordingDispatcher, api_for, make_app

OTHER = "globex"  # the tenant whose data a token of "acme" must never reach


@dataclass
class World:
    app: App
    api: FastAPI
    acme_token: str
    other_token: str
    other_run: int
    other_failed_run: int
    other_source: int
    other_token_id: int


def build(db: Database, home: Path) -> World:
    hw = make_app(db, home)
    with hw.db.session() as s:
        acme, other = add_tenant(s, "acme", "Acme"), add_tenant(s, OTHER, "Globex")
        acme_token = create_token(s, acme)
        other_row, other_token = issue_token(s, other)
        other_token_id = other_row.id
        for t in (acme, other):
            src = add_source(s, hw.vault, t, "github", {"org": t.slug}, {"token": f"ghp_{t.slug}_secret"})
        other_source = src.id
    with hw.db.session() as s:
        acme, other = get_tenant(s, "acme"), get_tenant(s, OTHER)
    request_run(hw.db, acme)
    other_run = request_run(hw.db, other)[0].id
    failed = request_run(hw.db, other, trigger="schedule", source_id=other_source)[0].id
    with hw.db.session() as s:
        run = s.get(Run, failed)
        assert run is not None
        run.state, run.queued_key = State.FAILED, None
    api = api_for(hw, RecordingDispatcher())
    api.include_router(dashboard_router(hw))
    return World(hw, api, acme_token, other_token, other_run, failed, other_source, other_token_id)


@pytest.fixture
def world(sqlite_db: Database, tmp_path: Path) -> World:
    return build(sqlite_db, tmp_path)


FUZZ = settings(
    max_examples=15,  # per operation and token: ~15 operations x 3 tokens in well under a minute
    deadline=None,
    derandomize=True,  # the same inputs every run: a failure is reproducible
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
)


def fuzz(world: World, token: str | None) -> int:
    """Every operation of the served document, hypothesis-generated cases; returns the count."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.api)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    calls = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the served document is valid
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance])
            if token == world.acme_token and response.status_code < 300:
                assert not leaks(response.text, world), f"{case.method} {case.formatted_path} leaked {OTHER}'s data"

        check()
    return calls


@pytest.mark.parametrize("who", ["tenant", "admin", "none"])
def test_no_5xx_and_every_status_documented(world: World, who: str) -> None:
    token = {"tenant": world.acme_token, "admin": ADMIN, "none": None}[who]
    assert fuzz(world, token) >= 5 * len(world.api.openapi()["paths"])


def leaks(text: str, world: World) -> bool:
    return bool(re.search(rf"\b{OTHER}\b|ghp_{OTHER}|{re.escape(world.other_token)}", text))


# -- isolation, route by route ----------------------------------------------------------------
@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(world.api, follow_redirects=False) as c:
        yield c


DASHBOARD = [("GET", "/tenants/{slug}"), ("GET", "/runs/{run_id}")]


def other_paths(world: World) -> list[tuple[str, str]]:
    """Every operation of the served schema that names a tenant, run or source, and the dashboard
    pages that do, aimed at the other tenant's."""
    ops = [(m.upper(), path) for path, item in world.api.openapi()["paths"].items() for m in item]
    out = []
    for method, path in ops + DASHBOARD:
        if not re.search(r"\{(slug|run_id|source_id|token_id)\}", path):
            continue
        run = world.other_failed_run if path.endswith("/retry") else world.other_run
        concrete = path.replace("{slug}", OTHER).replace("{run_id}", str(run))
        concrete = concrete.replace("{token_id}", str(world.other_token_id))
        out.append((method, concrete.replace("{source_id}", str(world.other_source))))
    return out


def test_a_tenant_token_never_reaches_another_tenant(world: World, client: TestClient) -> None:
    paths = other_paths(world)
    # reads, refresh, retry, cancel, sources, logs, dashboard pages: all of them
    assert {"POST /api/tenants/globex/refresh", f"POST /api/runs/{world.other_failed_run}/retry"} <= {
        f"{m} {p}" for m, p in paths
    }
    assert f"POST /api/runs/{world.other_run}/cancel" in {f"{m} {p}" for m, p in paths}
    assert f"GET /runs/{world.other_run}" in {f"{m} {p}" for m, p in paths}  # the dashboard
    # tokens, reset, renormalize, remove (with confirm=true below)
    src = f"/api/tenants/{OTHER}/sources/{world.other_source}"
    assert {
        f"POST /api/tenants/{OTHER}/tokens",
        f"GET /api/tenants/{OTHER}/tokens",
        f"DELETE /api/tenants/{OTHER}/tokens/{world.other_token_id}",
        f"POST {src}/reset",
        f"POST {src}/renormalize",
        f"DELETE {src}",
    } <= {f"{m} {p}" for m, p in paths}
    # Valid bodies, so that only isolation can refuse them.
    source = {"kind": "github", "options": {"org": "acme"}, "secrets": {"token": "t"}}
    bodies = {"PATCH": {"enabled": False}, "POST": source}
    answered = {}
    for method, path in paths:
        body = bodies.get(method) if path.endswith(("/sources", "/sources/" + str(world.other_source))) else None
        params = {"confirm": "true"} if method == "DELETE" else None  # confirmed: only isolation refuses it
        r = client.request(
            method, path, headers={"Authorization": f"Bearer {world.acme_token}"}, json=body, params=params
        )
        answered[f"{method} {path}"] = r.status_code
        assert not (r.status_code < 300 and leaks(r.text, world)), (method, path)
    assert {k: v for k, v in answered.items() if v != 404} == {}
    # The other tenant's run is untouched: still waiting, not cancelled, no retry created; its
    # source and token are still there, the token live.
    with world.app.db.read() as s:
        assert s.get(Source, world.other_source) is not None
        assert s.get(ApiToken, world.other_token_id).revoked_at is None  # type: ignore[union-attr]
        assert s.get(Run, world.other_run).state == State.SCHEDULED  # type: ignore[union-attr]
        assert s.query(Run).filter(Run.parent_run_id == world.other_failed_run).count() == 0
    # Lists only show the token's own tenant; filtering by the other one is a 404.
    auth = {"Authorization": f"Bearer {world.acme_token}"}
    for path in ("/api/tenants", "/api/runs", "/"):
        r = client.get(path, headers=auth)
        assert r.status_code == 200 and not leaks(r.text, world), path
    assert client.get(f"/api/runs?tenant={OTHER}", headers=auth).status_code == 404
    # The same paths with the other tenant's own token do exist (the 404s above are isolation).
    own = {"Authorization": f"Bearer {world.other_token}"}
    assert client.get(f"/api/runs/{world.other_run}", headers=own).status_code == 200
    assert client.get(f"/tenants/{OTHER}", headers=own).status_code == 200


def test_ids_no_database_can_hold_are_refused_not_500(world: World) -> None:
    """Found by the fuzz: an id past the database's INTEGER overflowed the driver (500)."""
    huge = 945727208637417184995311616
    auth = {"Authorization": f"Bearer {world.acme_token}"}
    with TestClient(world.api, raise_server_exceptions=False) as c:
        answers = {
            "api run": c.get(f"/api/runs/{huge}", headers=auth).status_code,
            "api logs": c.get(f"/api/runs/{world.other_run}/logs?task={huge}", headers=auth).status_code,
            "refresh source": c.post("/api/tenants/acme/refresh", json={"source_id": huge}, headers=auth).status_code,
            "dashboard run": c.get(f"/runs/{huge}", headers=auth).status_code,
        }
    assert answers == {"api run": 422, "api logs": 422, "refresh source": 422, "dashboard run": 404}
