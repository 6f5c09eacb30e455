"""Unit tests of the Bitbucket normalization, secrets, auth and classifier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest

from connectors.bitbucket import normalize as n
from connectors.bitbucket import partition_of
from connectors.bitbucket.classify import classify_bitbucket
from connectors.bitbucket.options import BearerAuth, BitbucketOptions, BitbucketSecrets, auth_for
from connectors.bitbucket.streams import _pulls
from connectors.errors import DataError, ErrorKind
from connectors.streams import Partition, StreamContext

OPTIONS = BitbucketOptions(workspace="acme")
REPO = "{0b1d}"


def ctx(**kw: Any) -> StreamContext:
    partition = Partition("acme/api", {"full_name": "acme/api", "repo_slug": "api", "external_id": REPO}, ("api",))
    return StreamContext(1, 1, OPTIONS, partition=partition, **kw)


def pr(**kw: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "title": "Add cache",
        "state": "OPEN",
        "author": {"uuid": "{u1}", "account_id": "557058:1", "type": "user"},
        "source": {"branch": {"name": "feature/cache"}, "commit": {"hash": "abc"}},
        "destination": {"branch": {"name": "main"}},
        "merge_commit": None,
        "created_on": "2026-02-01T10:00:00.123456+00:00",
        "updated_on": "2026-02-02T11:00:00.000000+00:00",
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    ("state", "expected"), [("OPEN", "open"), ("MERGED", "merged"), ("DECLINED", "declined"), ("SUPERSEDED", "closed")]
)
def test_pull_request_states(state: str, expected: str) -> None:
    (row,) = n.pull_request(pr(state=state), ctx())
    assert row.data["state"] == expected
    assert row.data["external_id"] == f"{REPO}#7" and row.data["repository_external_id"] == REPO
    assert (row.data["source_branch"], row.data["target_branch"]) == ("feature/cache", "main")
    assert "merged_at" not in row.data  # set from the activity's state update, never overwritten here


def test_unknown_pull_request_state_is_a_data_error() -> None:
    with pytest.raises(DataError):
        list(n.pull_request(pr(state="WEIRD"), ctx()))


def test_commits_parse_the_raw_author_and_parents() -> None:
    record = {
        "hash": "251fce2",
        "date": "2025-04-26T09:50:59+00:00",
        "message": "Fix\n",
        "author": {"raw": "Nikolas Falco <nf@example.com>", "user": {"uuid": "{7d3a}"}},
        "parents": [{"hash": "aaa"}, {"hash": "bbb"}],
    }
    (row,) = n.commit(record, ctx())
    d = row.data
    assert d["external_id"] == f"{REPO}:251fce2" and d["sha"] == "251fce2"
    assert (d["author_name"], d["author_email"], d["author_external_id"]) == (
        "Nikolas Falco",
        "nf@example.com",
        "{7d3a}",
    )
    assert d["parents"] == ["aaa", "bbb"] and d["authored_at"] == datetime(2025, 4, 26, 9, 50, 59, tzinfo=UTC)
    assert "pull_request_external_id" not in d
    (from_pr,) = n.pr_commit({"hash": "x", "author": {"raw": "Builder"}}, ctx(parent={"external_id": f"{REPO}#7"}))
    assert from_pr.data["pull_request_external_id"] == f"{REPO}#7" and from_pr.data["author_name"] == "Builder"


def test_activity_becomes_reviews_comments_and_close_dates() -> None:
    parent = {"external_id": f"{REPO}#7", "number": 7, "repository_external_id": REPO, "state": "merged",
              "updated_at": datetime(2026, 2, 3, tzinfo=UTC)}  # fmt: skip
    c = ctx(parent=parent)
    (approval,) = n.activity({"approval": {"date": "2026-02-02T12:00:00+00:00", "user": {"uuid": "{u2}"}}}, c)
    assert approval.entity == "review" and approval.data["state"] == "approved"
    assert approval.data["external_id"] == f"{REPO}#7:approved:{{u2}}"
    (changes,) = n.activity({"changes_requested": {"date": "2026-02-02T12:00:00+00:00", "user": {"uuid": "{u3}"}}}, c)
    assert changes.data["state"] == "changes_requested"
    comment = {"id": 55, "content": {"raw": "LGTM"}, "user": {"uuid": "{u2}"}, "created_on": "2026-02-02T12:00:00+00:00",
               "inline": {"path": "app.py", "to": 3}, "deleted": False}  # fmt: skip
    (row,) = n.activity({"comment": comment}, c)
    assert (row.entity, row.data["external_id"], row.data["body"], row.data["parent_kind"]) == (
        "comment",
        "55",
        "LGTM",
        "pull_request",
    )
    assert row.data["extra"]["path"] == "app.py"
    (merged,) = n.activity({"update": {"state": "MERGED", "date": "2026-02-03T00:00:00+00:00"}}, c)
    assert merged.entity == "pull_request" and merged.data["merged_at"] == datetime(2026, 2, 3, tzinfo=UTC)
    assert merged.data["updated_at"] == parent["updated_at"] and merged.data["state"] == "merged"
    assert list(n.activity({"update": {"state": "OPEN", "date": "2026-02-01T00:00:00+00:00"}}, c)) == []
    still_open = ctx(parent={**parent, "state": "open"})
    assert list(n.activity({"update": {"state": "DECLINED", "date": "2026-02-01T00:00:00+00:00"}}, still_open)) == []


def test_members_projects_repositories_branches() -> None:
    (p,) = n.person(
        {"type": "workspace_membership", "user": {"uuid": "{u1}", "nickname": "dev", "type": "user"}}, ctx()
    )
    assert (p.data["external_id"], p.data["login"], p.data["is_bot"]) == ("{u1}", "dev", False)
    (bot,) = n.person({"user": {"uuid": "{b}", "type": "app_user"}}, ctx())
    assert bot.data["is_bot"] is True
    (proj,) = n.project({"uuid": "{p}", "key": "CORE", "name": "Core"}, ctx())
    assert proj.data["kind"] == "bitbucket"
    repo = {"uuid": "{r}", "full_name": "acme/api", "slug": "api", "is_private": True, "mainbranch": {"name": "main"},
            "project": {"uuid": "{p}"}, "links": {"html": {"href": "https://bitbucket.org/acme/api"}}}  # fmt: skip
    (r,) = n.repository(repo, ctx())
    assert (r.data["default_branch"], r.data["project_external_id"], r.data["private"]) == ("main", "{p}", True)
    (b,) = n.branch({"name": "feature/x", "target": {"hash": "abc", "date": "2026-01-01T00:00:00+00:00"}}, ctx())
    assert b.data["external_id"] == f"{REPO}:feature/x" and b.data["head_sha"] == "abc"
    part = partition_of({"full_name": "acme/api", "external_id": "{r}", "name": "api"}, OPTIONS)
    assert part == Partition("acme/api", {"full_name": "acme/api", "repo_slug": "api", "external_id": "{r}"}, ("api",))


def test_pull_request_listing_asks_for_every_state_and_the_watermark() -> None:
    params = _pulls(ctx())
    assert params["state"] == ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"] and params["pagelen"] <= 50
    assert params["sort"] == "-updated_on" and "q" not in params
    later = _pulls(ctx(cursor={"value": "2026-02-02T11:00:00.000000+00:00"}))
    assert later["q"] == 'updated_on > "2026-02-02T11:00:00.000000+00:00"'


def test_exactly_one_credential_form() -> None:
    token = BitbucketSecrets(token="t0k")  # type: ignore[arg-type]
    assert isinstance(auth_for(token), BearerAuth) and "t0k" not in repr(auth_for(token))
    basic = BitbucketSecrets(username="me@acme.example", api_token="s3cret")  # type: ignore[arg-type]
    assert isinstance(auth_for(basic), httpx.BasicAuth) and "s3cret" not in repr(basic)
    for bad in ({}, {"token": "a", "username": "b", "api_token": "c"}, {"username": "me@acme.example"}):
        with pytest.raises(pydantic.ValidationError):
            BitbucketSecrets.model_validate(bad)
    with pytest.raises(pydantic.ValidationError) as err:
        BitbucketSecrets.model_validate({"username": "me", "app_password": "ATBB-old"})
    assert "API token" in str(err.value) and "ATBB-old" not in str(err.value)


def _resp(status: int, text: str = "", auth: str = "Bearer x", headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://api.bitbucket.org/2.0/user", headers={"Authorization": auth})
    return httpx.Response(status, text=text, headers=headers, request=request)


def test_classifier() -> None:
    recorded = "Bitbucket Cloud recently stopped supporting account passwords for API authentication.\nApp passwords are recommended"
    basic = classify_bitbucket(_resp(401, recorded, auth="Basic Zm9vOmJhcg=="))
    assert basic.kind is ErrorKind.CONFIG and "API token" in basic.reason
    bearer = classify_bitbucket(_resp(401, '{"type": "error"}'))
    assert bearer.kind is ErrorKind.CONFIG and "access token" in bearer.reason
    limited = classify_bitbucket(_resp(429, "Rate limit for this resource has been exceeded"))
    assert limited.kind is ErrorKind.TRANSIENT and limited.retry_after is None
    assert classify_bitbucket(_resp(403, "{}")).kind is ErrorKind.CONFIG
    assert classify_bitbucket(_resp(410, "{}")).kind is ErrorKind.BUG
    assert classify_bitbucket(_resp(502, "")).kind is ErrorKind.TRANSIENT


def test_options() -> None:
    assert OPTIONS.base_url == "https://api.bitbucket.org/2.0"
    with pytest.raises(pydantic.ValidationError):
        BitbucketOptions(workspace="acme/api")
