"""Unit tests of the Jira normalization, catalog, JQL windows, paginators and classifier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.errors import DataError, ErrorKind
from connectors.http.pagination import PageRequest
from connectors.jira import normalize as n
from connectors.jira import partition_of
from connectors.jira.catalog import Catalog, find_fields, status_categories
from connectors.jira.classify import classify_jira
from connectors.jira.options import JiraOptions, JiraSecrets, auth_for
from connectors.jira.paging import BoardSprintsPaginator, OffsetPaginator
from connectors.jira.streams import issues_jql, jql_time
from connectors.streams import Partition, StreamContext

OPTIONS = JiraOptions(base_url="https://acme.atlassian.net", projects="*")
CATALOG = Catalog(
    story_points=("customfield_10031",),
    sprint=("customfield_10027",),
    status_category={"10005": "indeterminate", "blocked": "indeterminate"},
)


def ctx(**kw: Any) -> StreamContext:
    c = StreamContext(1, 1, OPTIONS, partition=Partition("ALPHA", {"external_id": "10000"}), **kw)
    c.state["catalog"] = CATALOG
    return c


def issue(**fields: Any) -> dict[str, Any]:
    base = {
        "summary": "Fix login",
        "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
        "issuetype": {"id": "10001", "name": "Story"},
        "project": {"id": "10000", "key": "ALPHA"},
        "assignee": {"accountId": "acc-1", "displayName": "Ada"},
        "reporter": {"accountId": "acc-2"},
        "labels": ["backend"],
        "fixVersions": [{"id": "10101", "name": "1.0"}],
        "created": "2026-01-05T09:00:00.000-0700",
        "updated": "2026-01-06T10:30:00.000-0700",
        "resolutiondate": None,
        "customfield_10031": 5,
        "customfield_10016": 99,  # a different, unnamed field: ignored
        "customfield_10027": [{"id": 101, "name": "S1", "state": "active", "boardId": 1}],
    }
    base.update(fields)
    return {"id": "10042", "key": "ALPHA-42", "fields": base}


def test_parse_dt_reads_jira_offsets_and_dates() -> None:
    assert n.parse_dt("2022-06-09T16:29:31.871-0700") == datetime(2022, 6, 9, 23, 29, 31, 871000, tzinfo=UTC)
    assert n.parse_dt("2022-05-17T11:25:59.072Z") == datetime(2022, 5, 17, 11, 25, 59, 72000, tzinfo=UTC)
    assert n.parse_dt("2012-01-12") == datetime(2012, 1, 12, tzinfo=UTC)
    assert n.parse_dt(None) is None
    with pytest.raises(DataError):
        n.parse_dt("12/Jan/12")


def test_adf_bodies_become_plain_text() -> None:
    doc = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Hi "}, {"type": "mention", "attrs": {"text": "@Ada"}}]}]}  # fmt: skip
    assert n.adf_text(doc) == "Hi @Ada"
    assert n.adf_text("plain v2 body") == "plain v2 body"


def test_an_issue_becomes_a_work_item_with_story_points_and_sprints_found_by_name() -> None:
    rows = list(n.issue(issue(), ctx()))
    (item,) = [r.data for r in rows if r.entity == "work_item"]
    assert item["external_id"] == "10042" and item["key"] == "ALPHA-42"
    assert item["status_category"] == "in_progress"
    assert item["story_points"] == 5.0
    assert item["extra"]["sprint_ids"] == ["101"]
    assert item["release_external_id"] == "10101"
    assert item["assignee_external_id"] == "acc-1" and item["project_external_id"] == "10000"
    assert item["updated_at"] == datetime(2026, 1, 6, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"name": "To Do", "statusCategory": {"key": "new"}}, "todo"),
        ({"name": "Done", "statusCategory": {"key": "done"}}, "done"),
        ({"id": "10005", "name": "Waiting"}, "in_progress"),  # category from GET /status by id
        ({"name": "Blocked"}, "in_progress"),  # ... or by name
        ({"name": "Mystery", "statusCategory": {"key": "undefined"}}, None),
    ],
)
def test_status_categories(status: dict[str, Any], expected: str | None) -> None:
    (item,) = [r.data for r in n.issue(issue(status=status), ctx()) if r.entity == "work_item"]
    assert item["status_category"] == expected


def test_embedded_changelog_and_comments_and_their_truncation_flags() -> None:
    record = issue(
        comment={"comments": [{"id": "7", "author": {"accountId": "acc-2"}, "body": "ok",
                               "created": "2026-01-06T10:00:00.000-0700"}], "total": 3, "maxResults": 1},
        worklog={"worklogs": [], "total": 0},
    )  # fmt: skip
    record["changelog"] = {
        "startAt": 0, "maxResults": 1, "total": 1,
        "histories": [{"id": "900", "author": {"accountId": "acc-1"}, "created": "2026-01-06T10:30:00.000-0700",
                       "items": [{"field": "status", "from": "10000", "fromString": "To Do", "to": "3",
                                  "toString": "In Progress"}]}],
    }  # fmt: skip
    rows = list(n.issue(record, ctx()))
    (t,) = [r.data for r in rows if r.entity == "work_item_transition"]
    assert t["external_id"] == "10042:900:0" and (t["field"], t["from_value"], t["to_value"]) == (
        "status",
        "To Do",
        "In Progress",
    )
    (c,) = [r.data for r in rows if r.entity == "comment"]
    assert (c["parent_kind"], c["parent_external_id"], c["body"]) == ("work_item", "10042", "ok")
    (item,) = [r.data for r in rows if r.entity == "work_item"]
    assert item["extra"]["comment_truncated"] is True
    assert item["extra"]["changelog_truncated"] is False and item["extra"]["worklog_truncated"] is False


def test_an_issue_without_id_falls_back_to_its_key_and_one_without_both_is_data() -> None:
    (item, *_) = n.issue({"key": "TEST-1", "fields": {"summary": "x"}}, ctx())
    assert item.data["external_id"] == "TEST-1" and item.data["project_external_id"] == "10000"
    with pytest.raises(DataError):
        list(n.issue({"fields": {}}, ctx()))


def test_people_releases_sprints_and_members() -> None:
    (bot,) = n.person({"accountId": "app-1", "displayName": "Automation", "accountType": "app", "active": True}, ctx())
    assert bot.data["is_bot"] is True and bot.data["email"] is None
    (rel,) = n.release(
        {"id": "5", "name": "1.0", "released": True, "releaseDate": "2026-03-01", "projectId": 10000}, ctx()
    )
    assert rel.data["project_external_id"] == "10000" and rel.data["release_date"] == datetime(2026, 3, 1, tzinfo=UTC)
    assert list(n.sprint_or_board({"id": 4, "name": "Board", "type": "scrum"}, ctx())) == []
    (sprint,) = n.sprint_or_board({"id": 7, "name": "S7", "state": "closed", "originBoardId": 4,
                                   "completeDate": "2026-01-20T10:00:00.000Z"}, ctx())  # fmt: skip
    assert sprint.data["board_external_id"] == "4" and sprint.data["extra"]["project_id"] == "10000"
    members = ctx(parent={"external_id": "7", "name": "S7"})
    (row,) = n.sprint_members([{"id": "11"}, {"id": "3"}, {"key": "X-1"}], members)
    assert row.data["work_item_external_ids"] == ["3", "11", "X-1"]


def test_field_ids_are_found_by_name_not_by_number() -> None:
    fields = [
        {"id": "customfield_10016", "name": "Rank", "schema": {"custom": "com.pyxis.greenhopper.jira:gh-lexo-rank"}},
        {"id": "customfield_10099", "name": "Story Points", "schema": {"type": "number"}},
        {"id": "customfield_10100", "name": "Story point estimate", "schema": {"type": "number"}},
        {"id": "customfield_10200", "name": "Sprint", "schema": {"custom": "com.pyxis.greenhopper.jira:gh-sprint"}},
    ]
    assert find_fields(fields) == (("customfield_10099", "customfield_10100"), ("customfield_10200",))
    cats = status_categories([{"id": "1", "name": "Open", "statusCategory": {"key": "new"}}, {"id": "2", "name": "X"}])
    assert cats == {"1": "new", "open": "new"}


def test_jql_window_overlaps_one_minute_in_the_accounts_zone() -> None:
    assert jql_time("2026-03-01T10:15:30.123-0700") == "2026-03-01 10:14"
    assert jql_time("2026-03-01T00:00:10.000+0000") == "2026-02-28 23:59"
    c = ctx(cursor={"value": "2026-03-01T10:15:30.123-0700"})
    assert issues_jql(c) == 'project = 10000 AND updated >= "2026-03-01 10:14" ORDER BY updated ASC'
    assert issues_jql(ctx()) == "project = 10000 ORDER BY updated ASC"


def test_partitions_follow_the_projects_option() -> None:
    row = {"external_id": "10000", "key": "ALPHA", "name": "Alpha team"}
    some = JiraOptions(base_url="https://acme.atlassian.net", projects="AL*, ops")
    assert partition_of(row, some) == Partition(
        "ALPHA", {"project_key": "ALPHA", "external_id": "10000"}, ("Alpha team",)
    )
    assert partition_of({**row, "key": "BETA"}, some) is None
    assert partition_of({**row, "key": "OPS"}, some) is not None
    with pytest.raises(ValueError):
        JiraOptions(base_url="https://acme.atlassian.net", projects=" , ")


def test_secrets_are_never_shown() -> None:
    secrets = JiraSecrets(email="a@b.example", api_token="s3cret")  # type: ignore[arg-type]
    assert "s3cret" not in repr(secrets) and "s3cret" not in secrets.model_dump_json()
    assert isinstance(auth_for(secrets), httpx.BasicAuth)


def test_offset_and_board_paginators() -> None:
    first = PageRequest("rest/api/3/issue/1/changelog", {"maxResults": 2})
    resp = httpx.Response(200)
    page = {"startAt": 0, "maxResults": 2, "total": 3, "isLast": False, "values": [1, 2]}
    p = OffsetPaginator("values")
    nxt = p.next_request(first, resp, page)
    assert nxt is not None and nxt.params["startAt"] == 2
    assert p.next_request(nxt, resp, {**page, "startAt": 2, "isLast": True, "values": [3]}) is None
    users = OffsetPaginator()
    assert users.next_request(PageRequest("u", {}), resp, [{"accountId": "1"}]) is not None
    assert users.next_request(PageRequest("u", {"startAt": 1}), resp, []) is None
    boards = BoardSprintsPaginator()
    req = PageRequest("rest/agile/1.0/board", {"projectKeyOrId": "ALPHA"})
    body = {
        "isLast": True,
        "values": [{"id": 1, "type": "scrum"}, {"id": 2, "type": "kanban"}, {"id": 3, "type": "scrum"}],
    }
    s1 = boards.next_request(req, resp, body)
    assert s1 is not None and s1.url == "rest/agile/1.0/board/1/sprint" and s1.params["maxResults"] <= 50
    s3 = boards.next_request(s1, resp, {"isLast": True, "values": [{"id": 10, "state": "active"}]})
    assert s3 is not None and s3.url == "rest/agile/1.0/board/3/sprint"
    assert boards.next_request(s3, resp, {"isLast": True, "values": []}) is None


def _resp(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=httpx.Request("GET", "https://x/rest"))


def test_classifier() -> None:
    assert classify_jira(_resp(401, {"errorMessages": []})).kind is ErrorKind.CONFIG
    hidden = {"errorMessages": ["The value '10001' does not exist for the field 'project'."], "errors": {}}
    assert classify_jira(_resp(400, hidden)).kind is ErrorKind.CONFIG
    assert classify_jira(_resp(400, {"errorMessages": ["Error in the JQL Query"]})).kind is ErrorKind.BUG
    gone = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."]}
    assert classify_jira(_resp(410, gone)).kind is ErrorKind.BUG
    limited = classify_jira(_resp(429, None, {"Retry-After": "5", "RateLimit-Reason": "jira-burst-based"}))
    assert limited.kind is ErrorKind.TRANSIENT and limited.retry_after == 5 and "jira-burst-based" in limited.reason
    iso = classify_jira(_resp(429, None, {"X-RateLimit-Reset": "2000-01-01T00:00Z"}))
    assert iso.kind is ErrorKind.TRANSIENT and iso.retry_after == 0
    assert classify_jira(_resp(503, None, {"Retry-After": "2"})).retry_after == 2
