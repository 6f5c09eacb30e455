"""Repositories that change under the connector: deleted, gone mid-run, empty, renamed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from connectors.runtime import open_http, partitions_of, run_task
from storage import Database
from tests.github.test_ingest import SMALL, MakeSource, Serve, run
from tests.ingest_support import rows


def test_deleted_repository_is_tombstoned(serve: Serve, github_source: MakeSource, sqlite_db: Database) -> None:
    served = serve(**SMALL)
    rt = github_source(served)
    run(rt, sqlite_db)
    victim = next(r for r in served.sandbox.world.repos if r.pulls and not r.archived)
    served.mutate(delete_repo=victim.name)
    served.reset_log()
    run(rt, sqlite_db)
    repos = {r["external_id"]: r for r in rows(sqlite_db, rt.source_id, "repository")}
    assert repos[str(victim.id)]["deleted_at"] is not None
    assert sum(1 for r in repos.values() if r["deleted_at"] is None) == served.truth()["counts"]["repository"]
    assert not any(f"/{victim.name}/" in x["path"] for x in served.requests())


def test_repository_gone_between_discovery_and_task_is_tombstoned(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(**SMALL)
    rt = github_source(served)
    run(rt, sqlite_db)
    victim = next(r for r in served.sandbox.world.repos if r.pulls and not r.archived)
    partition = next(p for p in partitions_of(rt, sqlite_db) if p.names == (victim.name,))
    served.mutate(delete_repo=victim.name)

    async def commits_task() -> Any:
        async with open_http(rt) as http:
            return await run_task(rt, sqlite_db, http, "commits", partition)

    result = asyncio.run(commits_task())
    assert result.partition_gone
    gone = next(r for r in rows(sqlite_db, rt.source_id, "repository") if r["external_id"] == str(victim.id))
    assert gone["deleted_at"] is not None
    assert victim.name not in [p.names[0] for p in partitions_of(rt, sqlite_db)]


def test_empty_repository_is_not_an_error(serve: Serve, github_source: MakeSource, sqlite_db: Database) -> None:
    served = serve(**SMALL)
    rt = github_source(served)
    report = run(rt, sqlite_db)
    empty = next(r for r in served.sandbox.world.repos if r.empty)
    key = next(k for k in report.results if k.endswith(f":commits:{served.sandbox.world.org}/{empty.name}"))
    assert report.results[key].records_loaded == 0 and not report.results[key].partition_gone


def test_renamed_repository_is_followed(serve: Serve, github_source: MakeSource, sqlite_db: Database) -> None:
    served = serve(**SMALL)
    rt = github_source(served)
    run(rt, sqlite_db)
    repo = next(r for r in served.sandbox.world.repos if r.pulls and not r.archived)
    old_name = repo.name
    partition = next(p for p in partitions_of(rt, sqlite_db) if p.names == (old_name,))
    served.mutate(rename_repo={"from": old_name, "to": f"{old_name}-renamed"})
    served.reset_log()

    async def full_commits() -> Any:
        async with open_http(rt) as http:
            return await run_task(rt, sqlite_db, http, "commits", partition, full=True)

    result = asyncio.run(full_commits())
    assert result.loaded_by_entity["commit"] == len(repo.commits) and not result.partition_gone
    statuses = [(x["status"], x["path"]) for x in served.requests()]
    assert statuses[0] == (301, f"/repos/{served.sandbox.world.org}/{old_name}/commits")
    assert statuses[1] == (200, f"/repositories/{repo.id}/commits")


class TouchAfterFirstPage(httpx.AsyncBaseTransport):
    """Calls ``touch()`` once, right after the first page of ``path`` was served (an upstream edit
    that lands while the connector is paging)."""

    def __init__(self, path: str, touch: Callable[[], None]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.path = path
        self.touch: Callable[[], None] | None = touch

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.touch is not None and request.url.path == self.path and "page" not in request.url.params:
            self.touch()
            self.touch = None
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_an_issue_updated_while_paging_is_not_lost(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(repos=1, commits=3, pulls=0, issues=150)
    world = served.sandbox.world
    repo = world.repos[0]
    oldest = min((i for i in repo.issues.values()), key=lambda i: i.updated_at)
    rt = github_source(served)

    def touch() -> None:
        with served.sandbox._state:  # as POST /__mutate does
            world.add_issue_comment(repo, oldest.number)

    async def issues(transport: httpx.AsyncBaseTransport | None) -> None:
        async with open_http(rt, transport=transport) as http:
            await run_task(rt, sqlite_db, http, "repositories", None)
            (partition,) = partitions_of(rt, sqlite_db)
            await run_task(rt, sqlite_db, http, "issues", partition)

    asyncio.run(issues(TouchAfterFirstPage(f"/repos/{world.org}/{repo.name}/issues", touch)))
    asyncio.run(issues(None))  # the next refresh
    loaded = {r["key"]: r["updated_at"] for r in rows(sqlite_db, rt.source_id, "work_item")}
    assert loaded == {f"{world.org}/{repo.name}#{i.number}": i.updated_at for i in repo.issues.values()}
