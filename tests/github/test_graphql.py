"""Pull requests through GraphQL (reviews and PR commits in the same query) vs the REST path.

Both paths read the same sandbox into their own database and must load identical rows, row by
row: pull requests, reviews, commits (PR commits) and people. Small page sizes make every
nested connection and the pull request listing itself page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.github import graphql
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, open_http, partitions_of, run_source_sequentially, run_task
from storage import Database, upgrade
from tests.conftest import MakeRuntime
from tests.github.conftest import Served
from tests.ingest_support import live_counts, rows

Serve = Callable[..., Served]
Side = tuple[Database, SourceRuntime]
TwoSources = Callable[..., tuple[Side, Side]]
SIZE = {"repos": 4, "commits": 10, "pulls": 6, "issues": 2}  # 2 ingested, 1 empty, 1 archived
ENTITIES = ("pull_request", "review", "commit", "person")
VOLATILE = {"id", "ingested_at", "tenant_id", "source_id"}


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """2 pull requests, 1 review and 1 commit per page: every connection has more pages."""
    monkeypatch.setattr(graphql, "SIZES", graphql.Sizes(pulls=2, reviews=1, commits=1, labels=5, parents=5))


@pytest.fixture
def second_db(tmp_path: Path) -> Any:
    db = Database(f"sqlite:///{tmp_path}/second.db")
    upgrade(db)
    yield db
    db.dispose()


def run(rt: SourceRuntime, db: Database) -> Any:
    return asyncio.run(run_source_sequentially(rt, db))


def run_both(served: Served, rest: Side, gql: Side) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Refresh the REST source, then the GraphQL one: the requests each made."""
    run(rest[1], rest[0])
    rest_log = served.requests()
    served.reset_log()
    run(gql[1], gql[0])
    return rest_log, served.requests()


def table(db: Database, rt: SourceRuntime, entity: str) -> list[dict[str, Any]]:
    got = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows(db, rt.source_id, entity)]
    return sorted(got, key=lambda r: str(r["external_id"]))


def assert_same_rows(a: Side, b: Side) -> None:
    for entity in ENTITIES:
        left, right = table(*a, entity), table(*b, entity)
        assert len(left) == len(right), entity
        for x, y in zip(left, right, strict=True):
            assert x == y, entity


def per_pr_requests(log: list[dict[str, Any]]) -> list[str]:
    return [x["path"] for x in log if "/pulls/" in x["path"] and "/pulls/comments" not in x["path"]]


def graphql_posts(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for x in log if x["path"].endswith("/graphql")]


@pytest.fixture
def two_sources(make_runtime: MakeRuntime, sqlite_db: Database, second_db: Database) -> TwoSources:
    """``two_sources(served, **options)``: a REST source in one database, a GraphQL one in another."""

    def make(served: Served, base_suffix: str = "", **options: Any) -> tuple[Side, Side]:
        truth = served.truth()
        opts = {"base_url": served.url + base_suffix, **truth["options"], **options}
        rest = make_runtime("github", {**opts, "graphql": False}, truth["secrets"])
        gql = make_runtime("github", {**opts, "graphql": True}, truth["secrets"], db=second_db)
        return (sqlite_db, rest), (second_db, gql)

    return make


def test_graphql_and_rest_load_identical_rows_with_far_fewer_requests(
    serve: Serve, two_sources: TwoSources, small_pages: None
) -> None:
    served = serve(**SIZE)
    rest, gql = two_sources(served)
    rest_log, gql_log = run_both(served, rest, gql)

    assert_same_rows(rest, gql)
    assert table(*gql, "review"), "the sandbox has reviews"
    assert per_pr_requests(gql_log) == []  # no request per pull request for reviews or commits
    assert len(per_pr_requests(rest_log)) == 2 * len(table(*rest, "pull_request"))
    posts = graphql_posts(gql_log)
    assert posts and all(x["method"] == "POST" and x["status"] == 200 for x in posts)
    assert len(gql_log) < len(rest_log)


def test_graphql_loads_exactly_the_truth_and_its_own_rate_limit(
    serve: Serve, two_sources: TwoSources, small_pages: None
) -> None:
    served = serve(**SIZE)
    truth = served.truth()
    _, (db, rt) = two_sources(served)
    run(rt, db)
    assert live_counts(db, rt.source_id, list(truth["counts"])) == truth["counts"]
    # GraphQL has a budget of its own on GitHub: the REST one is not spent by the queries
    assert served.sandbox.graphql_rate.used == len(graphql_posts(served.requests()))


def test_incremental_runs_stop_at_the_cursor_and_stay_identical(
    serve: Serve, two_sources: TwoSources, small_pages: None
) -> None:
    served = serve(**SIZE)
    rest, gql = two_sources(served)
    first_posts = len(graphql_posts(run_both(served, rest, gql)[1]))
    world = served.sandbox.world
    repo = next(r for r in world.repos if r.pulls and not r.archived)
    oldest = min(repo.pulls)
    for _ in range(3):  # three more reviews: more than one page of them, on the oldest pull request
        served.mutate(touch_pr={"repo": repo.name, "number": oldest})
    _, log = run_both(served, rest, gql)

    assert_same_rows(rest, gql)
    pr = next(p for p in table(*gql, "pull_request") if p["external_id"] == f"{repo.id}#{oldest}")
    assert str(pr["title"]).endswith("(edited)")
    assert per_pr_requests(log) == []
    # the listing stops at the cursor: one page per repository, plus the next pages of the nested
    # connections of what was read (the touched pull request's reviews), far from a full re-read
    posts = graphql_posts(log)
    active = [r for r in world.repos if not r.archived]
    assert len(active) + len(repo.pulls[oldest].reviews) - 1 <= len(posts) < first_posts


def test_a_server_without_graphql_falls_back_to_rest_with_identical_rows(
    serve: Serve, two_sources: TwoSources, small_pages: None
) -> None:
    served = serve(**SIZE, graphql=False)
    rest, gql = two_sources(served)
    rest_log, log = run_both(served, rest, gql)

    assert_same_rows(rest, gql)
    posts = graphql_posts(log)
    active = [r for r in served.sandbox.world.repos if not r.archived]
    assert len(posts) == len(active) and {x["status"] for x in posts} == {404}  # one try per repository
    # then the same REST requests as the REST path (the sub-listings asked by the pull request task)
    key = sorted((x["method"], x["path"], x["query"]) for x in log if x not in posts)
    assert key == sorted((x["method"], x["path"], x["query"]) for x in rest_log)


def test_graphql_disabled_by_option_reads_rest_only(serve: Serve, two_sources: TwoSources) -> None:
    served = serve(**SIZE)
    rest, _ = two_sources(served)
    run(rest[1], rest[0])
    assert graphql_posts(served.requests()) == []


def test_enterprise_server_graphql_endpoint(serve: Serve, two_sources: TwoSources) -> None:
    served = serve(**SIZE)
    rest, gql = two_sources(served, base_suffix="/api/v3")
    run_both(served, rest, gql)
    assert_same_rows(rest, gql)
    paths = {x["path"] for x in served.requests()}
    assert "/api/graphql" in paths and all(p.startswith("/api/") for p in paths)


@pytest.mark.parametrize("graphql_on", [False, True], ids=["rest", "graphql"])
def test_every_rest_listing_stays_conditional(serve: Serve, two_sources: TwoSources, graphql_on: bool) -> None:
    """Unchanged refreshes: each REST listing's first request carries If-None-Match once the
    previous run stored its ETag (a since= URL is new once, then conditional too)."""
    served = serve(**SIZE)
    rest, gql = two_sources(served)
    db, rt = gql if graphql_on else rest
    run(rt, db)
    run(rt, db)
    served.reset_log()
    run(rt, db)
    log = served.requests()
    empty = next(r.name for r in served.sandbox.world.repos if r.empty)
    gets = [x for x in log if x["method"] == "GET" and not (x["status"] == 409 and f"/{empty}/" in x["path"])]
    assert gets and all(x["conditional"] and x["status"] == 304 for x in gets), gets
    assert all(x["status"] == 200 for x in graphql_posts(log))  # GraphQL: POSTs, no ETags
    assert bool(graphql_posts(log)) is graphql_on


def test_a_repository_gone_answers_not_found_in_graphql_then_rest_and_is_tombstoned(
    serve: Serve, two_sources: TwoSources
) -> None:
    served = serve(**SIZE)
    _, (db, rt) = two_sources(served)
    run(rt, db)
    (partition, *_) = partitions_of(rt, db)
    served.mutate(delete_repo=partition.values["repo"])
    served.reset_log()

    async def one_task() -> StreamResult:
        async with open_http(rt) as http:
            return await run_task(rt, db, http, "pull_requests", partition)

    result = asyncio.run(one_task())
    asked = [(x["method"], x["path"], x["status"]) for x in served.requests()]
    full_name = partition.key
    assert asked == [
        ("POST", "/graphql", 200),  # errors: [{"type": "NOT_FOUND", ...}]
        ("GET", f"/repos/{full_name}/pulls", 404),
        ("GET", f"/repos/{full_name}", 404),
    ]
    assert result.partition_gone
    (repo,) = [r for r in rows(db, rt.source_id, "repository") if r["full_name"] == full_name]
    assert repo["deleted_at"] is not None
