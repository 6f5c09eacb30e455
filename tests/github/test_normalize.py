"""Unit tests: GitHub payloads -> shared-schema rows, options, auth, partitions, classification."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.connector import matches
from connectors.errors import DataError, ErrorKind
from connectors.github import CONNECTOR, partition_of
from connectors.github import normalize as n
from connectors.github.classify import classify_github
from connectors.github.options import BearerAuth, GitHubOptions, GitHubSecrets
from connectors.streams import Partition, Row, StreamContext

OPTIONS = GitHubOptions(org="acme")
REPO = Partition(key="acme/api", values={"owner": "acme", "repo": "api", "external_id": "42"}, names=("api",))


def ctx(parent: dict[str, Any] | None = None) -> StreamContext:
    return StreamContext(tenant_id=1, source_id=1, options=OPTIONS, partition=REPO, parent=parent)


def user(uid: int = 7, login: str = "octocat", kind: str = "User") -> dict[str, Any]:
    return {
        "login": login,
        "id": uid,
        "type": kind,
        "site_admin": False,
        "url": f"https://api.github.com/users/{login}",
    }


def only(rows: list[Row], entity: str) -> list[dict[str, Any]]:
    return [r.data for r in rows if r.entity == entity]


def test_member_is_a_person_and_bots_are_flagged() -> None:
    (human,) = n.member(user(), ctx())
    (bot,) = n.member(user(99, "dependabot[bot]", "Bot"), ctx())
    assert human.data == {"external_id": "7", "login": "octocat", "is_bot": False, "extra": {"type": "User"}}
    assert bot.data["is_bot"] is True


def test_repository_row() -> None:
    record = {
        "id": 42,
        "name": "api",
        "full_name": "acme/api",
        "private": True,
        "archived": False,
        "html_url": "https://github.com/acme/api",
        "default_branch": "main",
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2024-02-03T04:05:06Z",
        "pushed_at": "2024-02-03T04:05:07Z",
        "owner": user(1, "acme", "Organization"),
        "surprise_new_field": {"nested": True},
    }
    (row,) = n.repository(record, ctx())
    assert row.entity == "repository"
    assert row.data["external_id"] == "42"
    assert row.data["full_name"] == "acme/api"
    assert row.data["updated_at"] == datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert row.data["extra"]["pushed_at"] == "2024-02-03T04:05:07+00:00"


def commit_record(author: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "sha": "abc123",
        "commit": {
            "author": {"name": "Mona", "email": "mona@example.com", "date": "2024-01-02T03:04:05Z"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": "2024-01-02T03:05:00Z"},
            "message": "Fix it",
        },
        "author": author,
        "committer": None,
        "parents": [{"sha": "p1", "url": "…"}, {"sha": "p2", "url": "…"}],
        "stats": {"additions": 3, "deletions": 1, "total": 4},
    }


def test_commit_is_keyed_by_repository_and_sha_and_links_its_author() -> None:
    rows = list(n.commit(commit_record(user()), ctx()))
    (c,) = only(rows, "commit")
    assert c["external_id"] == "42:abc123"
    assert c["author_external_id"] == "7"
    assert c["parents"] == ["p1", "p2"]
    assert (c["additions"], c["deletions"]) == (3, 1)
    assert c["committed_at"] == datetime(2024, 1, 2, 3, 5, tzinfo=UTC)
    assert "pull_request_external_id" not in c  # the default-branch listing never clears a PR link
    assert only(rows, "person")[0]["external_id"] == "7"


def test_commit_without_a_github_account_has_no_person() -> None:
    rows = list(n.commit(commit_record(None), ctx()))
    assert only(rows, "person") == []
    assert only(rows, "commit")[0]["author_external_id"] is None


def test_pull_request_commit_links_the_pull_request() -> None:
    rows = list(n.pull_request_commit(commit_record(user()), ctx({"external_id": "42#5", "number": 5})))
    assert only(rows, "commit")[0]["pull_request_external_id"] == "42#5"


def pull_record(**over: Any) -> dict[str, Any]:
    base = {
        "id": 1001,
        "number": 5,
        "state": "closed",
        "title": "Add cache",
        "user": user(),
        "head": {"ref": "feature/cache", "sha": "h1", "repo": None},
        "base": {"ref": "main", "sha": "b1"},
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-03T00:00:00Z",
        "closed_at": "2024-01-03T00:00:00Z",
        "merged_at": "2024-01-03T00:00:00Z",
        "merge_commit_sha": "m1",
        "labels": [{"name": "perf"}],
    }
    return {**base, **over}


def test_pull_request_states_and_keys() -> None:
    (merged,) = only(list(n.pull_request(pull_record(), ctx())), "pull_request")
    (closed,) = only(list(n.pull_request(pull_record(merged_at=None), ctx())), "pull_request")
    (opened,) = only(
        list(n.pull_request(pull_record(state="open", closed_at=None, merged_at=None), ctx())), "pull_request"
    )
    assert (merged["state"], closed["state"], opened["state"]) == ("merged", "closed", "open")
    assert merged["external_id"] == "42#5"
    assert merged["extra"]["id"] == 1001
    assert (merged["source_branch"], merged["target_branch"]) == ("feature/cache", "main")


def test_review_belongs_to_its_parent_pull_request() -> None:
    record = {"id": 9, "state": "CHANGES_REQUESTED", "user": user(), "submitted_at": "2024-01-02T00:00:00Z"}
    (r,) = only(list(n.review(record, ctx({"external_id": "42#5", "number": 5}))), "review")
    assert r["pull_request_external_id"] == "42#5"
    assert r["state"] == "changes_requested"
    with pytest.raises(DataError):
        list(n.review(record, ctx()))


def test_review_comment_parent_from_url_or_links() -> None:
    modern = {
        "id": 3,
        "user": user(),
        "body": "nit",
        "pull_request_url": "https://api.github.com/repos/acme/api/pulls/5",
    }
    old = {"id": 4, "user": user(), "body": "nit", "_links": {"pull_request": {"href": "https://x/repos/a/b/pulls/6"}}}
    (a,) = only(list(n.review_comment(modern, ctx())), "comment")
    (b,) = only(list(n.review_comment(old, ctx())), "comment")
    assert (a["external_id"], a["parent_kind"], a["parent_external_id"]) == ("review_comment:3", "pull_request", "42#5")
    assert b["parent_external_id"] == "42#6"
    with pytest.raises(DataError):
        list(n.review_comment({"id": 5, "user": None}, ctx()))


def test_issue_comment_on_an_issue_or_a_pull_request() -> None:
    base = {"id": 3, "user": user(), "body": "hi", "issue_url": "https://api.github.com/repos/acme/api/issues/8"}
    on_pr = {**base, "html_url": "https://github.com/acme/api/pull/8#issuecomment-3"}
    on_issue = {**base, "html_url": "https://github.com/acme/api/issues/8#issuecomment-3"}
    (a,) = only(list(n.issue_comment(on_pr, ctx())), "comment")
    (b,) = only(list(n.issue_comment(on_issue, ctx())), "comment")
    assert (a["parent_kind"], b["parent_kind"]) == ("pull_request", "work_item")
    assert a["parent_external_id"] == b["parent_external_id"] == "42#8"
    assert a["external_id"] == "issue_comment:3"  # never collides with review_comment:3


def issue_record(**over: Any) -> dict[str, Any]:
    base = {
        "id": 555,
        "number": 8,
        "state": "closed",
        "title": "Broken",
        "user": user(),
        "assignee": user(8, "hubot"),
        "assignees": [user(8, "hubot")],
        "labels": [{"name": "bug"}, {"name": "p1"}],
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-05T00:00:00Z",
        "closed_at": "2024-01-04T00:00:00Z",
    }
    return {**base, **over}


def test_issue_becomes_a_work_item() -> None:
    rows = list(n.issue(issue_record(), ctx()))
    (w,) = only(rows, "work_item")
    assert w["external_id"] == "42#8"
    assert w["key"] == "acme/api#8"
    assert (w["status"], w["status_category"]) == ("closed", "done")
    assert w["assignee_external_id"] == "8"
    assert w["labels"] == ["bug", "p1"]
    assert w["resolved_at"] == datetime(2024, 1, 4, tzinfo=UTC)
    assert {p["external_id"] for p in only(rows, "person")} == {"7", "8"}


def test_pull_requests_listed_as_issues_are_skipped_but_old_null_markers_are_not() -> None:
    as_pr = issue_record(pull_request={"url": "https://api.github.com/repos/acme/api/pulls/8", "html_url": "h"})
    old_issue = issue_record(pull_request={"html_url": None, "diff_url": None, "patch_url": None})
    assert list(n.issue(as_pr, ctx())) == []
    assert len(only(list(n.issue(old_issue, ctx())), "work_item")) == 1


@pytest.mark.parametrize(
    ("event", "extra", "expected"),
    [
        ("closed", {}, ("status", "open", "closed")),
        ("reopened", {}, ("status", "closed", "open")),
        ("labeled", {"label": {"name": "bug", "color": "f00"}}, ("label", None, "bug")),
        ("unlabeled", {"label": {"name": "bug"}}, ("label", "bug", None)),
        ("assigned", {"assignee": user(8, "hubot")}, ("assignee", None, "hubot")),
        ("renamed", {"rename": {"from": "Old", "to": "New"}}, ("title", "Old", "New")),
        ("referenced", {"commit_id": "c1"}, ("referenced", None, "c1")),
    ],
)
def test_issue_events_become_transitions(event: str, extra: dict[str, Any], expected: tuple[Any, ...]) -> None:
    record = {"id": 77, "event": event, "actor": user(), "created_at": "2024-01-02T00:00:00Z", "issue": issue_record()}
    (t,) = only(list(n.issue_event({**record, **extra}, ctx())), "work_item_transition")
    assert (t["field"], t["from_value"], t["to_value"]) == expected
    assert t["work_item_external_id"] == "42#8"
    assert t["at"] == datetime(2024, 1, 2, tzinfo=UTC)


def test_events_of_pull_requests_are_skipped_and_an_event_needs_its_issue() -> None:
    pr_issue = issue_record(pull_request={"url": "https://api.github.com/repos/acme/api/pulls/8"})
    assert list(n.issue_event({"id": 1, "event": "merged", "issue": pr_issue}, ctx())) == []
    with pytest.raises(DataError):
        list(n.issue_event({"id": 1, "event": "closed"}, ctx()))


def test_garbled_timestamps_are_salvaged_not_fatal() -> None:
    record = {"id": 9, "state": "COMMENTED", "user": user(), "submitted_at": "2016-11-29T17:59:replayappZ"}
    (r,) = only(list(n.review(record, ctx({"external_id": "1#1"}))), "review")
    assert r["submitted_at"] == datetime(2016, 11, 29, 17, 59, tzinfo=UTC)
    assert n.lenient_datetime("not a date") is None


def test_missing_required_fields_are_data_errors() -> None:
    with pytest.raises(ValidationError):
        list(n.pull_request({"title": "no id or number"}, ctx()))


def test_options_secrets_and_auth() -> None:
    ghes = GitHubOptions(org="acme", base_url="https://ghe.example.com/api/v3/")
    assert ghes.base_url == "https://ghe.example.com/api/v3"
    assert GitHubOptions(org="acme").base_url == "https://api.github.com"
    assert GitHubOptions(org="acme").include_archived is False
    with pytest.raises(ValidationError):
        GitHubOptions(org="acme/api")
    with pytest.raises(ValidationError):
        GitHubOptions.model_validate({"org": "acme", "unknown": 1})
    secrets = GitHubSecrets.model_validate({"token": "ghp_secret"})
    assert "ghp_secret" not in repr(secrets) and "ghp_secret" not in secrets.model_dump_json()
    auth = BearerAuth(secrets.token)
    request = next(auth.auth_flow(httpx.Request("GET", "https://api.github.com/user")))
    assert request.headers["Authorization"] == "Bearer ghp_secret"
    assert "ghp_secret" not in repr(auth)
    assert CONNECTOR.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert CONNECTOR.headers["Accept"] == "application/vnd.github+json"


def test_partitions_skip_archived_unless_asked_and_match_globs() -> None:
    row = {"full_name": "acme/api", "external_id": "42", "archived": False}
    archived = {"full_name": "acme/old", "external_id": "43", "archived": True}
    p = partition_of(row, OPTIONS)
    assert p is not None and p.key == "acme/api" and p.names == ("api",)
    assert p.values == {"owner": "acme", "repo": "api", "external_id": "42", "full_name": "acme/api"}
    assert partition_of(archived, OPTIONS) is None
    assert partition_of(archived, GitHubOptions(org="acme", include_archived=True)) is not None
    assert matches(p, ["api"], []) and matches(p, ["acme/*"], []) and not matches(p, [], ["a*"])


def response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def test_classify_secondary_rate_limits() -> None:
    msg = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
    without = classify_github(response(403, msg, **{"x-ratelimit-remaining": "4000"}))
    with_header = classify_github(response(403, msg, **{"retry-after": "7"}))
    as_429 = classify_github(response(429, msg))
    assert without.kind is ErrorKind.TRANSIENT and without.retry_after == 60.0
    assert with_header.kind is ErrorKind.TRANSIENT and with_header.retry_after == 7.0
    assert as_429.kind is ErrorKind.TRANSIENT


def test_classify_primary_limit_and_config_errors() -> None:
    reset = str(int(datetime.now(UTC).timestamp()) + 30)
    primary = classify_github(
        response(
            403, {"message": "API rate limit exceeded"}, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        )
    )
    assert primary.kind is ErrorKind.TRANSIENT and primary.retry_after is not None and 0 < primary.retry_after <= 30
    bad = classify_github(response(401, {"message": "Bad credentials"}))
    assert bad.kind is ErrorKind.CONFIG and "reconnect" in bad.reason
    saml = classify_github(response(403, {"message": "Resource protected by organization SAML enforcement."}))
    assert saml.kind is ErrorKind.CONFIG and "SAML" in saml.reason
    app = classify_github(response(403, {"message": "Resource not accessible by integration"}))
    assert app.kind is ErrorKind.CONFIG and "permission" in app.reason
    assert classify_github(response(502, {"message": "Server Error"})).kind is ErrorKind.TRANSIENT
    assert classify_github(response(200, [])).ok
