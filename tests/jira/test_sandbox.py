"""The Jira connector against the sandbox: exact full loads, cheap incremental runs, deletions and moves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.runtime import SourceRuntime
from storage import Database
from tests.atlassian_support import Served, all_counts, quarantined, run
from tests.ingest_support import rows

Serve = Callable[..., Served]
Source = Callable[..., SourceRuntime]


def test_a_full_run_loads_exactly_the_truth(serve: Serve, jira_source: Source, sqlite_db: Database) -> None:
    served = serve()
    rt = jira_source(served)
    run(rt, sqlite_db)
    truth = served.truth()["counts"]
    assert all_counts(sqlite_db, rt.source_id, list(truth)) == truth
    assert quarantined(sqlite_db, rt.source_id) == []
    issues = rows(sqlite_db, rt.source_id, "work_item")
    # Story points come from the field named "Story Points" (customfield_10031 here, not 10016).
    assert any(i["story_points"] for i in issues)
    assert {i["status_category"] for i in issues} <= {"todo", "in_progress", "done"}
    assert any(i["extra"]["sprint_ids"] for i in issues)
    sprints = rows(sqlite_db, rt.source_id, "sprint")
    open_sprints = [s for s in sprints if s["state"] in ("active", "future")]
    assert open_sprints and all(isinstance(s["work_item_external_ids"], list) for s in open_sprints)
    member_of_active = {
        i["external_id"]
        for i in issues
        for sid in i["extra"]["sprint_ids"]
        if sid in {s["external_id"] for s in sprints if s["state"] == "active"}
    }
    assert member_of_active == {x for s in sprints if s["state"] == "active" for x in s["work_item_external_ids"]}


def test_busy_issues_get_their_full_changelog_comments_and_worklogs(
    serve: Serve, jira_source: Source, sqlite_db: Database
) -> None:
    served = serve()
    rt = jira_source(served)
    run(rt, sqlite_db)
    paths = [r["path"] for r in served.requests()]
    # Only the truncated issues are read one by one (120 histories: two pages of 100).
    assert sum(p.endswith("/changelog") for p in paths) == 2
    assert len({p for p in paths if p.endswith("/changelog")}) == 1
    assert sum(p.endswith("/comment") for p in paths) == 1
    assert sum(p.endswith("/worklog") for p in paths) == 1
    busy = max(rows(sqlite_db, rt.source_id, "work_item"), key=lambda i: i["updated_at"])
    transitions = [t for t in rows(sqlite_db, rt.source_id, "work_item_transition") if t["field"] == "labels"]
    assert len(transitions) == 120 and busy is not None


def test_a_second_run_is_incremental(serve: Serve, jira_source: Source, sqlite_db: Database) -> None:
    served = serve()
    rt = jira_source(served)
    first = run(rt, sqlite_db)
    served.reset_log()
    second = run(rt, sqlite_db)
    assert second.requests < first.requests
    searches = [r for r in served.requests() if r["path"] == "/rest/api/3/search/jql"]
    assert len(searches) == 2 * 2  # per project: one incremental page, one id listing
    issue_pages = [r for r in second.results.items() if ":issues:" in r[0]]
    # The one-minute overlap re-reads at most the newest issue of each project.
    assert all(res.records_fetched <= 1 for _, res in issue_pages)
    assert not any(r["path"].endswith(("/changelog", "/comment", "/worklog")) for r in served.requests())


def test_new_work_is_picked_up(serve: Serve, jira_source: Source, sqlite_db: Database) -> None:
    served = serve()
    rt = jira_source(served)
    run(rt, sqlite_db)
    added = served.mutate({"op": "add_issue", "project": "BETA"}, {"op": "touch_issue", "issue": "ALPHA-2"})
    run(rt, sqlite_db)
    truth = served.truth()["counts"]
    assert all_counts(sqlite_db, rt.source_id, list(truth)) == truth
    keys = {i["key"] for i in rows(sqlite_db, rt.source_id, "work_item")}
    assert added["done"][0]["added"] in keys


def test_deleted_and_moved_issues(serve: Serve, jira_source: Source, sqlite_db: Database) -> None:
    served = serve()
    rt = jira_source(served)
    run(rt, sqlite_db)
    done = served.mutate(
        {"op": "delete_issue", "issue": "ALPHA-3"},
        {"op": "move_issue", "issue": "ALPHA-4", "to": "BETA"},
        {"op": "move_issue", "issue": "BETA-2", "to": "ALPHA"},
    )["done"]
    run(rt, sqlite_db)
    by_id = {i["external_id"]: i for i in rows(sqlite_db, rt.source_id, "work_item")}
    projects = {p["key"]: p["external_id"] for p in rows(sqlite_db, rt.source_id, "project")}
    deleted = by_id[done[0]["id"]]
    assert deleted["deleted_at"] is not None
    moved = by_id[done[1]["id"]]
    assert (
        moved["deleted_at"] is None
        and moved["key"] == done[1]["to"]
        and moved["project_external_id"] == projects["BETA"]
    )
    back = by_id[done[2]["id"]]
    assert (
        back["deleted_at"] is None and back["key"] == done[2]["to"] and back["project_external_id"] == projects["ALPHA"]
    )
    live = all_counts(sqlite_db, rt.source_id, ["work_item"])["work_item"]
    assert live == served.truth()["counts"]["work_item"]
    moves = [t for t in rows(sqlite_db, rt.source_id, "work_item_transition") if t["field"] == "Key"]
    assert {(t["from_value"], t["to_value"]) for t in moves} == {("ALPHA-4", done[1]["to"]), ("BETA-2", done[2]["to"])}


def test_projects_option_and_include_exclude_select_partitions(
    serve: Serve, jira_source: Source, sqlite_db: Database
) -> None:
    served = serve(projects=3)
    rt = jira_source(served, projects="AL*,GAMMA", exclude="GAMMA")
    out = run(rt, sqlite_db)
    partitions = {key.split(":")[2] for key in out.results} - {"-"}
    assert partitions == {"ALPHA"}
    keys = {i["key"].split("-")[0] for i in rows(sqlite_db, rt.source_id, "work_item")}
    assert keys == {"ALPHA"}


@pytest.mark.postgres
def test_full_run_then_deletions_and_moves_on_postgres(serve: Serve, jira_source: Source, pg_db: Database) -> None:
    served = serve()
    rt = jira_source(served, db=pg_db)
    run(rt, pg_db)
    truth = served.truth()["counts"]
    assert all_counts(pg_db, rt.source_id, list(truth)) == truth
    done = served.mutate(
        {"op": "delete_issue", "issue": "ALPHA-1"}, {"op": "move_issue", "issue": "ALPHA-2", "to": "BETA"}
    )
    run(rt, pg_db)
    by_id = {i["external_id"]: i for i in rows(pg_db, rt.source_id, "work_item")}
    assert by_id[done["done"][0]["id"]]["deleted_at"] is not None
    assert by_id[done["done"][1]["id"]]["key"] == done["done"][1]["to"]
    assert all_counts(pg_db, rt.source_id, ["work_item"])["work_item"] == served.truth()["counts"]["work_item"]
