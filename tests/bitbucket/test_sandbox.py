"""The Bitbucket connector against the sandbox: exact loads, cheap incremental runs, PR state changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, all_counts, quarantined, run
from tests.ingest_support import rows

Serve = Callable[..., Served]
Source = Callable[..., SourceRuntime]


@pytest.mark.parametrize("basic", [False, True], ids=["access-token", "email+api-token"])
def test_a_full_run_loads_exactly_the_truth(
    serve: Serve, bitbucket_source: Source, sqlite_db: Database, basic: bool
) -> None:
    served = serve()
    rt = bitbucket_source(served, basic=basic)
    run(rt, sqlite_db)
    truth = served.truth()["counts"]
    assert all_counts(sqlite_db, rt.source_id, list(truth)) == truth
    assert quarantined(sqlite_db, rt.source_id) == []
    prs = rows(sqlite_db, rt.source_id, "pull_request")
    assert {p["state"] for p in prs} == {"open", "merged", "declined", "closed"}
    merged = [p for p in prs if p["state"] == "merged"]
    assert merged and all(p["merged_at"] is not None and p["merge_commit_sha"] for p in merged)
    assert all(p["merged_at"] is None for p in prs if p["state"] != "merged")
    reviews = rows(sqlite_db, rt.source_id, "review")
    assert {r["state"] for r in reviews} <= {"approved", "changes_requested"} and reviews
    commits = rows(sqlite_db, rt.source_id, "commit")
    assert any(c["pull_request_external_id"] for c in commits)
    assert all(c["author_email"] and c["author_external_id"] for c in commits)


def test_requests_honour_the_api_contract(serve: Serve, bitbucket_source: Source, sqlite_db: Database) -> None:
    served = serve()
    run(bitbucket_source(served), sqlite_db)
    pulls = [r for r in served.requests() if r["path"].endswith("/pullrequests")]
    assert pulls and all(
        "state=OPEN" in r["query"] and "state=MERGED" in r["query"] and "state=DECLINED" in r["query"]
        and "state=SUPERSEDED" in r["query"] and "pagelen=50" in r["query"] and "sort=-updated_on" in r["query"]
        for r in pulls
    )  # fmt: skip
    assert all(r["status"] == 200 for r in served.requests())


def test_a_second_run_is_incremental(serve: Serve, bitbucket_source: Source, sqlite_db: Database) -> None:
    served = serve()
    rt = bitbucket_source(served)
    first = run(rt, sqlite_db)
    served.reset_log()
    second = run(rt, sqlite_db)
    assert second.requests < first.requests / 2
    log = served.requests()
    assert all("q=updated_on" in r["query"] for r in log if r["path"].endswith("/pullrequests"))
    commit_pages = [r for r in log if r["path"].endswith("/commits") and "/pullrequests/" not in r["path"]]
    assert len(commit_pages) == 3  # one page per repository: stops at the hash seen last time
    commits = [res for key, res in second.results.items() if ":commits:" in key]
    assert sum(r.records_loaded for r in commits) == 0


def test_pr_state_changes_and_new_commits_are_reflected(
    serve: Serve, bitbucket_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    rt = bitbucket_source(served)
    run(rt, sqlite_db)
    served.mutate(
        {"op": "decline_pr", "repo": "api", "id": 1},
        {"op": "merge_pr", "repo": "web", "id": 6},
        {"op": "supersede_pr", "repo": "infra", "id": 1},
        {"op": "approve_pr", "repo": "infra", "id": 6},
        {"op": "comment_pr", "repo": "api", "id": 6},
        {"op": "push", "repo": "api", "commits": 3},
        {"op": "open_pr", "repo": "web"},
    )
    run(rt, sqlite_db)
    truth = served.truth()["counts"]
    assert all_counts(sqlite_db, rt.source_id, list(truth)) == truth
    repos = {r["name"]: r["external_id"] for r in rows(sqlite_db, rt.source_id, "repository")}
    prs = {p["external_id"]: p for p in rows(sqlite_db, rt.source_id, "pull_request")}
    declined = prs[f"{repos['api']}#1"]
    assert declined["state"] == "declined" and declined["closed_at"] is not None and declined["merged_at"] is None
    merged = prs[f"{repos['web']}#6"]
    assert merged["state"] == "merged" and merged["merged_at"] is not None and merged["merge_commit_sha"]
    assert prs[f"{repos['infra']}#1"]["state"] == "closed"
    assert prs[f"{repos['web']}#7"]["state"] == "open"


def test_deleted_repositories_are_tombstoned_and_globs_select_repositories(
    serve: Serve, bitbucket_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    rt = bitbucket_source(served, exclude="infra")
    out = run(rt, sqlite_db)
    assert {k.split(":")[2] for k in out.results} - {"-"} == {"acme/api", "acme/web"}
    served.mutate({"op": "delete_repo", "repo": "web"})
    out = run(rt, sqlite_db)
    assert {k.split(":")[2] for k in out.results} - {"-"} == {"acme/api"}
    gone = [r for r in rows(sqlite_db, rt.source_id, "repository") if r["name"] == "web"]
    assert gone and gone[0]["deleted_at"] is not None


@pytest.mark.postgres
def test_full_and_incremental_runs_on_postgres(serve: Serve, bitbucket_source: Source, pg_db: Database) -> None:
    served = serve()
    rt = bitbucket_source(served, db=pg_db)
    run(rt, pg_db)
    served.mutate({"op": "decline_pr", "repo": "api", "id": 1}, {"op": "push", "repo": "web", "commits": 2})
    run(rt, pg_db)
    truth = served.truth()["counts"]
    assert all_counts(pg_db, rt.source_id, list(truth)) == truth
    declined = [p for p in rows(pg_db, rt.source_id, "pull_request") if p["number"] == 1 and p["state"] == "declined"]
    assert declined and declined[0]["closed_at"] is not None
