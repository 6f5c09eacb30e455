"""Bitbucket Cloud payloads -> shared-schema rows.

Keys: people by account ``uuid``; repositories and projects by ``uuid``; branches
"<repo uuid>:<name>"; commits "<repo uuid>:<hash>"; pull requests "<repo uuid>#<id>" (ids are per
repository); reviews "<pull request>:<approved|changes_requested>:<user uuid>"; comments by id.
States: OPEN -> open, MERGED -> merged, DECLINED -> declined, SUPERSEDED -> closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.bitbucket.payloads import (
    Account,
    Activity,
    Branch,
    Comment,
    Commit,
    Member,
    Project,
    PullRequest,
    Repository,
)
from connectors.errors import DataError
from connectors.streams import Row, StreamContext

STATES = {"OPEN": "open", "MERGED": "merged", "DECLINED": "declined", "SUPERSEDED": "closed"}
TERMINAL = {"MERGED", "DECLINED", "SUPERSEDED"}
_RAW_AUTHOR = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^>]*)>\s*$")


def parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"unreadable timestamp {value!r}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _repo_id(ctx: StreamContext) -> str:
    if ctx.partition is None:
        raise DataError("a repository-level record outside a repository partition")
    return str(ctx.partition.values["external_id"])


def pr_key(repo_id: str, number: int | str) -> str:
    return f"{repo_id}#{number}"


def _who(account: Account | None) -> str | None:
    return account.uuid or account.account_id if account else None


def person(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """A workspace membership (``{"user": {...}, "workspace": {...}}``) or a bare user."""
    user = Member.model_validate(record).user if "user" in record else Account.model_validate(record)
    if not (user.uuid or user.account_id):
        raise DataError("workspace member without uuid")
    yield Row(
        "person",
        {
            "external_id": user.uuid or user.account_id,
            "login": user.nickname,
            "display_name": user.display_name,
            "is_bot": user.type not in (None, "user"),
            "extra": {"account_id": user.account_id} if user.account_id else {},
        },
    )


def project(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    p = Project.model_validate(record)
    yield Row(
        "project",
        {
            "external_id": p.uuid,
            "key": p.key,
            "name": p.name,
            "kind": "bitbucket",
            "created_at": parse_dt(p.created_on),
            "updated_at": parse_dt(p.updated_on),
            "extra": {"private": p.is_private} if p.is_private is not None else {},
        },
    )


def repository(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    r = Repository.model_validate(record)
    yield Row(
        "repository",
        {
            "external_id": r.uuid,
            "full_name": r.full_name,
            "name": r.name or r.slug,
            "url": r.links.html.href if r.links and r.links.html else None,
            "default_branch": r.mainbranch.name if r.mainbranch else None,
            "private": r.is_private,
            "project_external_id": r.project.uuid if r.project else None,
            "created_at": parse_dt(r.created_on),
            "updated_at": parse_dt(r.updated_on),
            "extra": {"slug": r.slug or r.full_name.split("/")[-1], "language": r.language or None},
        },
    )


def branch(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    b = Branch.model_validate(record)
    repo = _repo_id(ctx)
    yield Row(
        "branch",
        {
            "external_id": f"{repo}:{b.name}",
            "repository_external_id": repo,
            "name": b.name,
            "head_sha": b.target.hash if b.target else None,
            "updated_at": parse_dt(b.target.date) if b.target else None,
        },
    )


def _commit_data(c: Commit, repo: str) -> dict[str, Any]:
    raw = c.author.raw if c.author else None
    m = _RAW_AUTHOR.match(raw or "")
    at = parse_dt(c.date)
    return {
        "external_id": f"{repo}:{c.hash}",
        "repository_external_id": repo,
        "sha": c.hash,
        "author_external_id": _who(c.author.user if c.author else None),
        "author_name": m.group("name") if m else raw,
        "author_email": m.group("email") if m else None,
        "authored_at": at,
        "committed_at": at,
        "message": c.message,
        "parents": [p.hash for p in c.parents if p.hash],
        "created_at": at,
        "updated_at": at,
    }


def commit(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    yield Row("commit", _commit_data(Commit.model_validate(record), _repo_id(ctx)))


def pr_commit(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    assert ctx.parent is not None
    data = _commit_data(Commit.model_validate(record), _repo_id(ctx))
    data["pull_request_external_id"] = str(ctx.parent["external_id"])
    yield Row("commit", data)


def pull_request(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    p = PullRequest.model_validate(record)
    repo = _repo_id(ctx)
    state = STATES.get((p.state or "").upper())
    if state is None:
        raise DataError(f"unknown pull request state {p.state!r}")
    extra = {
        "reason": p.reason or None,
        "comment_count": p.comment_count,
        "task_count": p.task_count,
        "draft": p.draft,
        "closed_by": _who(p.closed_by),
        "url": p.links.html.href if p.links and p.links.html else None,
    }
    yield Row(
        "pull_request",
        {
            "external_id": pr_key(repo, p.id),
            "repository_external_id": repo,
            "number": p.id,
            "title": p.title,
            "state": state,
            "author_external_id": _who(p.author),
            "source_branch": p.source.branch.name if p.source and p.source.branch else None,
            "target_branch": p.destination.branch.name if p.destination and p.destination.branch else None,
            "merge_commit_sha": p.merge_commit.hash if p.merge_commit else None,
            "created_at": parse_dt(p.created_on),
            "updated_at": parse_dt(p.updated_on),
            "extra": {k: v for k, v in extra.items() if v is not None},
        },
    )


def _comment_row(c: Comment, pr: str) -> Row:
    extra: dict[str, Any] = {}
    if c.inline and c.inline.path:
        extra["path"] = c.inline.path
    if c.parent and c.parent.id is not None:
        extra["in_reply_to"] = str(c.parent.id)
    if c.deleted:
        extra["deleted"] = True
    return Row(
        "comment",
        {
            "external_id": str(c.id),
            "parent_kind": "pull_request",
            "parent_external_id": pr,
            "author_external_id": _who(c.user),
            "body": c.content.raw if c.content else None,
            "created_at": parse_dt(c.created_on),
            "updated_at": parse_dt(c.updated_on) or parse_dt(c.created_on),
            "extra": extra,
        },
    )


def pr_comment(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    assert ctx.parent is not None
    yield _comment_row(Comment.model_validate(record), str(ctx.parent["external_id"]))


def activity(record: Mapping[str, Any], ctx: StreamContext) -> Iterable[Row]:
    """One entry of a pull request's activity: an approval or a change request (review rows), a
    comment, or an update (the date of the merge, decline or supersede)."""
    assert ctx.parent is not None
    a = Activity.model_validate(record)
    pr = str(ctx.parent["external_id"])
    for kind, entry in (("approved", a.approval), ("changes_requested", a.changes_requested)):
        if entry is None:
            continue
        who = _who(entry.user)
        at = parse_dt(entry.date)
        yield Row(
            "review",
            {
                "external_id": f"{pr}:{kind}:{who}",
                "pull_request_external_id": pr,
                "reviewer_external_id": who,
                "state": kind,
                "submitted_at": at,
                "created_at": at,
                "updated_at": at,
            },
        )
    if a.comment is not None:
        yield _comment_row(a.comment, pr)
    closed = ctx.parent.get("state") not in (None, "open")
    if closed and a.update is not None and (a.update.state or "").upper() in TERMINAL:
        at = parse_dt(a.update.date)
        merged = (a.update.state or "").upper() == "MERGED"
        yield Row(
            "pull_request",
            {
                "external_id": pr,
                "repository_external_id": ctx.parent["repository_external_id"],
                "number": ctx.parent["number"],
                "state": ctx.parent["state"],
                "updated_at": ctx.parent["updated_at"],
                "merged_at": at if merged else None,
                "closed_at": at,
            },
        )
