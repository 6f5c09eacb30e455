"""The runner's "not found" of a partition's listing, request by request (httpx.MockTransport).

The GitHub connector on a fake API: what each answer of a repository's listing leads to, and
what the one direct check of the repository (``GET /repos/{owner}/{repo}``) decides.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.errors import ConfigError, ErrorKind, NotFoundError
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, open_http, partitions_of, run_task
from storage import Database
from storage.models import Cursor
from tests.conftest import MakeRuntime
from tests.ingest_support import rows

BASE = "http://gh.test"
REPO = {"id": 7, "name": "api", "full_name": "acme/api"}
NOT_FOUND = (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})


def commit(sha: str, day: int) -> dict[str, Any]:
    return {"sha": sha, "commit": {"committer": {"date": f"2026-01-{day:02d}T00:00:00Z"}}}


class FakeGitHub:
    """Answers by path (``path?page=N`` for later pages); anything else is GitHub's 404."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {"/orgs/acme/repos": (200, [REPO]), "/repos/acme/api": (200, REPO)}
        self.asked: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("page")
        key = request.url.path + (f"?page={page}" if page else "")
        self.asked.append(key)
        status, body = self.answers.get(key, NOT_FOUND)
        headers = {}
        if key == "/repos/acme/api/commits" and "/repos/acme/api/commits?page=2" in self.answers:
            headers["Link"] = f'<{BASE}/repos/acme/api/commits?page=2&per_page=100>; rel="next"'
        return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def fake() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def rt(make_runtime: MakeRuntime) -> SourceRuntime:
    # the REST path of pull requests (with GraphQL on, /graphql is asked first)
    return make_runtime("github", {"base_url": BASE, "org": "acme", "graphql": False}, {"token": "ghp_test"})


def task(rt: SourceRuntime, db: Database, fake: FakeGitHub, stream: str) -> StreamResult:
    """Discovery (the repository listing), then one task of ``stream`` for acme/api."""

    async def go() -> StreamResult:
        async with open_http(rt, transport=httpx.MockTransport(fake.handle)) as http:
            await run_task(rt, db, http, "repositories", None)
            (partition,) = partitions_of(rt, db)
            fake.asked.clear()
            return await run_task(rt, db, http, stream, partition)

    return asyncio.run(go())


def alive(db: Database, rt: SourceRuntime) -> bool:
    (repo,) = rows(db, rt.source_id, "repository")
    return repo["deleted_at"] is None


def test_issues_disabled_410_asks_the_repository_and_completes_with_a_note(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    fake.answers["/repos/acme/api/issues"] = (410, {"message": "Issues are disabled for this repo"})
    result = task(rt, sqlite_db, fake, "issues")
    assert fake.asked == ["/repos/acme/api/issues", "/repos/acme/api"]
    assert not result.partition_gone and result.records_loaded == 0 and alive(sqlite_db, rt)
    assert result.note is not None
    assert "410 (Issues are disabled for this repo)" in result.note and "still there" in result.note


def test_an_empty_repository_409_is_empty_without_asking(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    fake.answers["/repos/acme/api/commits"] = (409, {"message": "Git Repository is empty."})
    result = task(rt, sqlite_db, fake, "commits")
    assert fake.asked == ["/repos/acme/api/commits"]
    assert result.note is None and not result.partition_gone and alive(sqlite_db, rt)


def test_a_repository_that_answers_404_itself_is_tombstoned(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    del fake.answers["/repos/acme/api"]  # every listing of it and the repository: 404
    result = task(rt, sqlite_db, fake, "pull_requests")
    assert fake.asked == ["/repos/acme/api/pulls", "/repos/acme/api"]
    assert result.partition_gone and not alive(sqlite_db, rt)


def test_a_check_that_is_refused_fails_the_task_alone_and_tombstones_nothing(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    fake.answers["/repos/acme/api"] = (403, {"message": "Resource not accessible by integration"})
    with pytest.raises(ConfigError) as raised:
        task(rt, sqlite_db, fake, "pull_requests")
    assert not isinstance(raised.value, NotFoundError) and "lacks a permission" in str(raised.value)
    assert alive(sqlite_db, rt)


def test_a_source_level_listing_not_found_is_still_a_config_error(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    with pytest.raises(NotFoundError) as raised:
        task(rt, sqlite_db, fake, "members")  # /orgs/acme/members: 404
    assert raised.value.kind is ErrorKind.CONFIG and "/orgs/acme/members" in str(raised.value)
    assert fake.asked == ["/orgs/acme/members"]  # no partition to ask about
    assert alive(sqlite_db, rt)


def test_not_found_after_a_page_keeps_what_was_loaded_and_the_cursor(
    fake: FakeGitHub, rt: SourceRuntime, sqlite_db: Database
) -> None:
    fake.answers["/repos/acme/api/commits"] = (200, [commit("c1", 1)])
    task(rt, sqlite_db, fake, "commits")
    with sqlite_db.read() as s:
        (before,) = s.execute(select(Cursor.value).where(Cursor.stream == "commits")).scalars()
    assert before == {"value": "2026-01-01T00:00:00Z"}

    fake.answers["/repos/acme/api/commits"] = (200, [commit("c3", 3), commit("c2", 2)])
    fake.answers["/repos/acme/api/commits?page=2"] = NOT_FOUND
    result = task(rt, sqlite_db, fake, "commits")
    assert fake.asked == ["/repos/acme/api/commits", "/repos/acme/api/commits?page=2", "/repos/acme/api"]
    assert result.records_loaded >= 2 and not result.partition_gone and alive(sqlite_db, rt)
    assert result.note is not None and "after 1 page(s)" in result.note
    assert {c["sha"] for c in rows(sqlite_db, rt.source_id, "commit")} == {"c1", "c2", "c3"}
    with sqlite_db.read() as s:
        (after,) = s.execute(select(Cursor.value).where(Cursor.stream == "commits")).scalars()
    assert after == before  # the listing never completed: the next run reads c2 and c3 again
