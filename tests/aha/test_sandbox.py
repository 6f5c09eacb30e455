"""The Aha! connector against its sandbox: exact counts, incremental runs, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from connectors.aha import CONNECTOR
from connectors.aha.sandbox import AhaSandbox, make_sandbox
from connectors.http.client import HttpClient
from connectors.sandbox.kit import RunningServer, serve_in_thread
from storage import Database
from tests.conftest import MakeRuntime
from tests.connectors.providers import first_refresh, runtime_of, sandbox_and_server
from tests.connectors.providers import run_sequentially as run
from tests.ingest_support import FastClock, live_counts, rows

ENTITIES = ["project", "release", "work_item", "person", "comment"]


@pytest.fixture
def sandbox() -> Iterator[tuple[AhaSandbox, RunningServer]]:
    yield from sandbox_and_server("aha")  # the sandbox of the shared provider table


runtime = partial(runtime_of, "aha")


def test_full_refresh_loads_exactly_the_truth_then_reads_incrementally(
    sandbox: tuple[AhaSandbox, RunningServer], make_runtime: MakeRuntime, any_db: Database
) -> None:
    sb, server = sandbox
    rt, first = first_refresh("aha", make_runtime, sb, server, any_db, ENTITIES)
    feature_calls = [r for r in sb.api_requests() if r.path.endswith("/features")]
    assert feature_calls and all("fields=" in r.query and "updated_since" not in r.query for r in feature_calls)

    # Mark a feature shipped in Aha!: the next run asks only for what changed since the cursor.
    target = sb.account.products[0].features[3]
    asyncio.run(_post(server, "/__mutate", {"op": "update_feature", "id": target["id"], "status": "Shipped"}))
    sb.requests.clear()
    second = run(rt, any_db)
    assert second.requests < first.requests
    feature_calls = [r for r in sb.api_requests() if r.path.endswith("/features")]
    assert all("updated_since=" in r.query for r in feature_calls)
    requirement_calls = [r for r in sb.api_requests() if r.path.endswith("/requirements")]
    assert any(target["id"] in r.path for r in requirement_calls)
    assert len(requirement_calls) < sum(len(p.features) for p in sb.account.products)
    [row] = [r for r in rows(any_db, rt.source_id, "work_item") if r["external_id"] == target["id"]]
    assert row["status"] == "Shipped" and row["status_category"] == "done"
    assert live_counts(any_db, rt.source_id, ENTITIES) == sb.truth()["counts"]


def test_products_option_selects_partitions_by_prefix(
    sandbox: tuple[AhaSandbox, RunningServer], make_runtime: MakeRuntime, sqlite_db: Database
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server, products="prj2")
    run(rt, sqlite_db)
    wanted = sb.account.product("PRJ2")
    assert wanted is not None
    projects = {r["project_external_id"] for r in rows(sqlite_db, rt.source_id, "work_item")}
    assert projects == {wanted.full["id"]}
    assert live_counts(sqlite_db, rt.source_id, ["project"])["project"] == len(sb.account.products)


def test_listings_page_through_total_pages(make_runtime: MakeRuntime, sqlite_db: Database) -> None:
    sb = make_sandbox(seed=3, minute_s=0.03, products=1, features=1, requirements=0, ideas=230, comments=0)
    server = serve_in_thread(sb)
    try:
        rt = runtime(make_runtime, sb, server)
        run(rt, sqlite_db)
        pages = sorted(r.query for r in sb.api_requests() if r.path.endswith("/ideas"))
    finally:
        server.stop()
    assert len(pages) == 2 and "page=2" in pages[1]
    assert live_counts(sqlite_db, rt.source_id, ENTITIES) == sb.truth()["counts"]


def test_check_names_the_user_and_the_products(
    sandbox: tuple[AhaSandbox, RunningServer], make_runtime: MakeRuntime
) -> None:
    sb, server = sandbox
    rt = runtime(make_runtime, sb, server, products="PRJ1,NOPE*")

    async def go() -> Any:
        async with HttpClient(
            rt.options.base_url, auth=CONNECTOR.auth(rt.secrets), budget=FastClock().budget()
        ) as http:
            assert CONNECTOR.check is not None
            return await CONNECTOR.check(http, rt.options)

    result = asyncio.run(go())
    assert result.ok and result.identity == "ada@acme.example" and result.details["products"] == ["PRJ1"]


async def _post(server: RunningServer, path: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(server.url + path, json=body)
        response.raise_for_status()


def test_the_sandbox_speaks_aha() -> None:
    """Bearer keys, compact lists unless ``fields``, pagination object, per-second limit with headers."""
    sb = make_sandbox(seed=2, products=1, features=3, minute_s=600)  # a "second" lasts 10 s here
    server = serve_in_thread(sb)
    auth = {"Authorization": f"Bearer {sb.truth()['secrets']['token']}"}
    try:
        with httpx.Client(base_url=server.url + "/api/v1", headers=auth) as api:
            assert httpx.get(server.url + "/api/v1/products").status_code == 401
            compact = api.get("/products/PRJ1/features").json()
            assert set(compact["features"][0]) == {
                "id",
                "reference_num",
                "name",
                "created_at",
                "url",
                "resource",
                "product_id",
            }
            assert compact["pagination"] == {"total_records": 3, "total_pages": 1, "current_page": 1}
            full = api.get("/products/PRJ1/features", params={"fields": "workflow_status,updated_at", "per_page": 2})
            assert set(full.json()["features"][0]) == {"id", "workflow_status", "updated_at"}
            assert full.json()["pagination"]["total_pages"] == 2 and full.headers["X-Ratelimit-Limit"] == "300"
            answers = [api.get("/products") for _ in range(25)]
            limited = [a for a in answers if a.status_code == 429]
            assert limited and int(limited[0].headers["Retry-After"]) >= 1
            assert limited[0].json() == {"error": "Rate limit exceeded"}
    finally:
        server.stop()
