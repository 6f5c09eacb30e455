"""Whole-source ingestion against the GitHub sandbox: exact counts, cheap refreshes, changes upstream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from connectors.runtime import SourceRuntime, partitions_of, run_source_sequentially
from storage import Database
from storage.models import Quarantine
from tests.github.conftest import Served
from tests.ingest_support import live_counts, rows

Serve = Callable[..., Served]
MakeSource = Callable[..., SourceRuntime]
SMALL = {"repos": 4, "commits": 10, "pulls": 4, "issues": 3}  # 2 ingested, 1 empty, 1 archived
# These tests read the REST path of pull requests (per-PR reviews and commits); test_graphql.py
# compares the GraphQL path (the default) with it row by row.
REST = {"graphql": False}


def run(rt: SourceRuntime, db: Database) -> Any:
    return asyncio.run(run_source_sequentially(rt, db))


def counts(db: Database, rt: SourceRuntime, truth: dict[str, Any]) -> dict[str, int]:
    return live_counts(db, rt.source_id, list(truth["counts"]))


def quarantined(db: Database, source_id: int) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count()).where(Quarantine.source_id == source_id)).scalar_one())


def test_full_refresh_loads_exactly_the_truth(serve: Serve, github_source: MakeSource, sqlite_db: Database) -> None:
    served = serve(repos=5)
    truth = served.truth()
    rt = github_source(served, **REST)
    report = run(rt, sqlite_db)
    assert counts(sqlite_db, rt, truth) == truth["counts"]
    assert quarantined(sqlite_db, rt.source_id) == 0
    assert report.requests == len(served.requests())
    prs = rows(sqlite_db, rt.source_id, "pull_request")
    assert {p["state"] for p in prs} == {"open", "closed", "merged"}
    people = rows(sqlite_db, rt.source_id, "person")
    assert [p["login"] for p in people if p["is_bot"]] == ["dependabot[bot]"]
    comments = rows(sqlite_db, rt.source_id, "comment")
    assert {c["parent_kind"] for c in comments} == {"pull_request", "work_item"}
    pr_ids = {p["external_id"] for p in prs}
    assert {c["parent_external_id"] for c in comments if c["parent_kind"] == "pull_request"} <= pr_ids
    assert {r["pull_request_external_id"] for r in rows(sqlite_db, rt.source_id, "review")} <= pr_ids
    # per_page=100 everywhere, and the Link header was followed past the first page
    log = served.requests()
    assert all("per_page=100" in x["query"] for x in log)
    assert any("page=2" in x["query"] for x in log)
    # per-PR requests only for reviews and PR commits (no repository-level listing on GitHub)
    per_pr = {
        x["path"].rsplit("/", 1)[-1] for x in log if "/pulls/" in x["path"] and "/pulls/comments" not in x["path"]
    }
    assert per_pr == {"reviews", "commits"}


def test_unchanged_refresh_makes_only_conditional_or_incremental_requests(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(**SMALL)
    truth = served.truth()
    rt = github_source(served, **REST)
    run(rt, sqlite_db)
    empty = next(r.name for r in served.sandbox.world.repos if r.empty)
    for _ in range(2):
        served.reset_log()
        run(rt, sqlite_db)
        log = served.requests()
        assert log
        for x in log:
            conditional = x["conditional"] and x["status"] == 304
            incremental = "since=" in x["query"] and x["status"] == 200
            empty_repo = x["status"] == 409 and f"/{empty}/commits" in x["path"]  # GitHub sends no ETag there
            assert conditional or incremental or empty_repo, x
        assert counts(sqlite_db, rt, truth) == truth["counts"]
    # the third run re-asks the same since= URLs: now they are conditional too
    assert all(x["status"] in (304, 409) for x in log)


def test_upstream_changes_are_picked_up_incrementally(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(**SMALL)
    rt = github_source(served, **REST)
    run(rt, sqlite_db)
    world = served.sandbox.world
    repo = next(r for r in world.repos if r.pulls and not r.archived)
    oldest_pr = min(repo.pulls)
    issue_number = min(n for n, i in repo.issues.items() if i.pull is None)
    served.mutate(touch_pr={"repo": repo.name, "number": oldest_pr})
    served.mutate(add_issue_comment={"repo": repo.name, "number": issue_number})
    served.mutate(add_commit=repo.name)
    truth = served.truth()
    served.reset_log()
    run(rt, sqlite_db)
    assert counts(sqlite_db, rt, truth) == truth["counts"]
    pr = next(
        p
        for p in rows(sqlite_db, rt.source_id, "pull_request")
        if p["number"] == oldest_pr and p["repository_external_id"] == str(repo.id)
    )
    assert str(pr["title"]).endswith("(edited)")
    reviews_fetched = [x for x in served.requests() if x["path"].endswith("/reviews") and x["status"] == 200]
    assert [x["path"] for x in reviews_fetched] == [f"/repos/{world.org}/{repo.name}/pulls/{oldest_pr}/reviews"]


def test_include_and_exclude_globs(serve: Serve, github_source: MakeSource, sqlite_db: Database) -> None:
    served = serve(repos=5, commits=10, pulls=3, issues=2)
    world = served.sandbox.world
    active = [r for r in world.repos if not r.archived and not r.empty]
    keep, drop = active[0], active[1]
    rt = github_source(served, include=f"{keep.name},{world.org}/{drop.name}", exclude=f"*/{drop.name}")
    run(rt, sqlite_db)
    assert [p.key for p in partitions_of(rt, sqlite_db)] == [f"{world.org}/{keep.name}"]
    assert {c["repository_external_id"] for c in rows(sqlite_db, rt.source_id, "commit")} == {str(keep.id)}
    touched = {x["path"].split("/")[3] for x in served.requests() if x["path"].startswith("/repos/")}
    assert touched == {keep.name}


def test_enterprise_server_base_url_and_archived_repositories(
    serve: Serve, github_source: MakeSource, sqlite_db: Database
) -> None:
    served = serve(**SMALL)
    rt = github_source(served, base_suffix="/api/v3", include_archived=True, **REST)
    run(rt, sqlite_db)
    expected = served.sandbox.world.counts(include_archived=True)
    assert live_counts(sqlite_db, rt.source_id, list(expected)) == expected
    assert all(x["path"].startswith("/api/v3/") for x in served.requests())
