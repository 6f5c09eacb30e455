"""GitHub payloads (pydantic, tolerant of extra and missing optional fields) -> shared-schema rows.

Keys (``external_id``):

* person: the account's numeric id; repository: the repository's numeric id;
* commit: ``<repository id>:<sha>``; branch: ``<repository id>:<name>``;
* pull_request and work_item: ``<repository id>#<number>`` — pull requests and issues share one
  number space per repository, and comments and events only carry the number (``issue_url``,
  ``pull_request_url``), so this key lets them reference their parent without a lookup. The
  provider's numeric id is kept in ``extra["id"]``;
* review, work_item_transition: the numeric id; comment: ``issue_comment:<id>`` or
  ``review_comment:<id>`` (the two kinds have separate id sequences).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from connectors.errors import DataError
from connectors.streams import Row, StreamContext

_DATETIME = TypeAdapter(datetime)
_MINUTE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")


def lenient_datetime(value: Any) -> datetime | None:
    """A provider timestamp; a garbled one (seen in the wild: ``2016-11-29T17:59:<placeholder>Z``)
    keeps what can be read (down to the minute) or becomes None rather than losing the record."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        m = _MINUTE.match(str(value))
        if m is None:
            return None
        year, month, day, hour, minute = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, tzinfo=UTC)


Timestamp = Annotated[datetime | None, BeforeValidator(lenient_datetime)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(Model):
    id: int
    login: str
    type: str | None = None
    html_url: str | None = None


class Repo(Model):
    id: int
    name: str
    full_name: str
    html_url: str | None = None
    default_branch: str | None = None
    private: bool | None = None
    archived: bool | None = None
    fork: bool | None = None
    visibility: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    pushed_at: Timestamp = None


class BranchCommit(Model):
    sha: str


class Branch(Model):
    name: str
    commit: BranchCommit | None = None
    protected: bool | None = None


class GitActor(Model):
    name: str | None = None
    email: str | None = None
    date: Timestamp = None


class GitCommit(Model):
    author: GitActor | None = None
    committer: GitActor | None = None
    message: str | None = None


class Parent(Model):
    sha: str


class Stats(Model):
    additions: int | None = None
    deletions: int | None = None


class Commit(Model):
    sha: str
    commit: GitCommit
    author: User | None = None
    committer: User | None = None
    parents: list[Parent] = []
    stats: Stats | None = None
    html_url: str | None = None


class Ref(Model):
    ref: str | None = None
    sha: str | None = None


class Label(Model):
    name: str


class PullRequest(Model):
    id: int
    number: int
    state: str
    title: str | None = None
    user: User | None = None
    head: Ref | None = None
    base: Ref | None = None
    draft: bool | None = None
    html_url: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    closed_at: Timestamp = None
    merged_at: Timestamp = None
    merge_commit_sha: str | None = None
    labels: list[Label] = []


class Review(Model):
    id: int
    state: str
    user: User | None = None
    submitted_at: Timestamp = None
    commit_id: str | None = None


class Link(Model):
    href: str | None = None


class ReviewLinks(Model):
    pull_request: Link | None = None


class ReviewComment(Model):
    id: int
    user: User | None = None
    body: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    pull_request_url: str | None = None
    pull_request_review_id: int | None = None
    in_reply_to_id: int | None = None
    path: str | None = None
    commit_id: str | None = None
    links: ReviewLinks | None = Field(default=None, alias="_links")


class IssuePullRequest(Model):
    url: str | None = None
    html_url: str | None = None


class Milestone(Model):
    title: str | None = None


class IssueType(Model):
    name: str | None = None


class Issue(Model):
    id: int
    number: int
    state: str
    title: str | None = None
    user: User | None = None
    assignee: User | None = None
    assignees: list[User] = []
    labels: list[Label | str] = []
    milestone: Milestone | None = None
    state_reason: str | None = None
    type: IssueType | None = None
    pull_request: IssuePullRequest | None = None
    html_url: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    closed_at: Timestamp = None

    @property
    def is_pull_request(self) -> bool:
        # Old payloads carry "pull_request": {"html_url": null, ...} on every issue.
        pr = self.pull_request
        return pr is not None and bool(pr.url or pr.html_url)


class IssueComment(Model):
    id: int
    user: User | None = None
    body: str | None = None
    issue_url: str | None = None
    html_url: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class Rename(Model):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class IssueEvent(Model):
    id: int
    event: str
    actor: User | None = None
    created_at: Timestamp = None
    commit_id: str | None = None
    label: Label | None = None
    assignee: User | None = None
    milestone: Milestone | None = None
    rename: Rename | None = None
    issue: Issue | None = None


# -- helpers -----------------------------------------------------------------------------------
def person(user: User | None) -> Iterator[Row]:
    """One person row per account seen; the same columns every time (no partial overwrites)."""
    if user is None:
        return
    yield Row(
        "person",
        {
            "external_id": str(user.id),
            "login": user.login,
            "is_bot": user.type == "Bot",
            "extra": {"type": user.type},
        },
    )


def user_id(user: User | None) -> str | None:
    return str(user.id) if user is not None else None


def repo_id(ctx: StreamContext) -> str:
    if ctx.partition is None or "external_id" not in ctx.partition.values:
        raise DataError("a repository-level record was read without its repository partition")
    return str(ctx.partition.values["external_id"])


def number_from_url(url: str | None) -> int:
    """``…/pulls/12`` or ``…/issues/12`` -> 12."""
    tail = (url or "").rstrip("/").rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise DataError(f"cannot read an issue or pull request number from {url!r}")
    return int(tail)


def numbered_id(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- normalizers (record, ctx) -> rows -----------------------------------------------------------
def member(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    yield from person(User.model_validate(record))


def repository(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    r = Repo.model_validate(record)
    yield Row(
        "repository",
        {
            "external_id": str(r.id),
            "full_name": r.full_name,
            "name": r.name,
            "url": r.html_url,
            "default_branch": r.default_branch,
            "private": r.private,
            "archived": bool(r.archived),
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "extra": {"fork": r.fork, "visibility": r.visibility, "pushed_at": _iso(r.pushed_at)},
        },
    )


def branch(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    b = Branch.model_validate(record)
    repo = repo_id(ctx)
    yield Row(
        "branch",
        {
            "external_id": f"{repo}:{b.name}",
            "repository_external_id": repo,
            "name": b.name,
            "head_sha": b.commit.sha if b.commit else None,
            "extra": {"protected": b.protected},
        },
    )


def _commit_rows(record: Mapping[str, Any], ctx: StreamContext, pull_request: str | None) -> Iterator[Row]:
    c = Commit.model_validate(record)
    repo = repo_id(ctx)
    git = c.commit
    author = git.author or GitActor()
    committer = git.committer or GitActor()
    data: dict[str, Any] = {
        "external_id": f"{repo}:{c.sha}",
        "repository_external_id": repo,
        "sha": c.sha,
        "author_external_id": user_id(c.author),
        "author_name": author.name,
        "author_email": author.email,
        "authored_at": author.date,
        "committed_at": committer.date,
        "message": git.message,
        "parents": [p.sha for p in c.parents],
        "created_at": author.date,
        "updated_at": committer.date,
        "extra": {"committer_external_id": user_id(c.committer), "committer_name": committer.name},
    }
    if c.stats is not None:
        data["additions"] = c.stats.additions
        data["deletions"] = c.stats.deletions
    if pull_request is not None:
        # Only PR commit listings set the link, so the default-branch listing never clears it.
        data["pull_request_external_id"] = pull_request
    yield Row("commit", data)
    yield from person(c.author)


def commit(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    yield from _commit_rows(record, ctx, None)


def pull_request_commit(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    parent = ctx.parent or {}
    yield from _commit_rows(record, ctx, str(parent["external_id"]) if parent.get("external_id") else None)


def pull_request(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    pr = PullRequest.model_validate(record)
    repo = repo_id(ctx)
    state = "merged" if pr.merged_at is not None else pr.state
    yield Row(
        "pull_request",
        {
            "external_id": numbered_id(repo, pr.number),
            "repository_external_id": repo,
            "number": pr.number,
            "title": pr.title,
            "state": state,
            "author_external_id": user_id(pr.user),
            "source_branch": pr.head.ref if pr.head else None,
            "target_branch": pr.base.ref if pr.base else None,
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "merged_at": pr.merged_at,
            "closed_at": pr.closed_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "extra": {
                "id": pr.id,
                "draft": pr.draft,
                "url": pr.html_url,
                "head_sha": pr.head.sha if pr.head else None,
                "labels": [lb.name for lb in pr.labels],
            },
        },
    )
    yield from person(pr.user)


REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}


def review(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    rv = Review.model_validate(record)
    parent = ctx.parent or {}
    if not parent.get("external_id"):
        raise DataError("a review was read without its pull request")
    state = rv.state.upper()
    yield Row(
        "review",
        {
            "external_id": str(rv.id),
            "pull_request_external_id": str(parent["external_id"]),
            "reviewer_external_id": user_id(rv.user),
            "state": state.lower() if state in REVIEW_STATES else rv.state.lower(),
            "submitted_at": rv.submitted_at,
            "created_at": rv.submitted_at,
            "updated_at": rv.submitted_at,
            "extra": {"commit_id": rv.commit_id},
        },
    )
    yield from person(rv.user)


def review_comment(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    rc = ReviewComment.model_validate(record)
    repo = repo_id(ctx)
    pr_url = rc.pull_request_url or (rc.links.pull_request.href if rc.links and rc.links.pull_request else None)
    yield Row(
        "comment",
        {
            "external_id": f"review_comment:{rc.id}",
            "parent_kind": "pull_request",
            "parent_external_id": numbered_id(repo, number_from_url(pr_url)),
            "author_external_id": user_id(rc.user),
            "body": rc.body,
            "created_at": rc.created_at,
            "updated_at": rc.updated_at,
            "extra": {
                "kind": "review_comment",
                "review_id": rc.pull_request_review_id,
                "in_reply_to_id": rc.in_reply_to_id,
                "path": rc.path,
                "commit_id": rc.commit_id,
            },
        },
    )
    yield from person(rc.user)


def issue_comment(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    ic = IssueComment.model_validate(record)
    repo = repo_id(ctx)
    on_pull = "/pull/" in (ic.html_url or "")
    yield Row(
        "comment",
        {
            "external_id": f"issue_comment:{ic.id}",
            "parent_kind": "pull_request" if on_pull else "work_item",
            "parent_external_id": numbered_id(repo, number_from_url(ic.issue_url)),
            "author_external_id": user_id(ic.user),
            "body": ic.body,
            "created_at": ic.created_at,
            "updated_at": ic.updated_at,
            "extra": {"kind": "issue_comment"},
        },
    )
    yield from person(ic.user)


def _labels(labels: list[Label | str]) -> list[str]:
    return [lb.name if isinstance(lb, Label) else str(lb) for lb in labels]


def issue(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    """Issues become work items; pull requests listed by /issues are skipped (see pull_requests)."""
    it = Issue.model_validate(record)
    if it.is_pull_request:
        return
    repo = repo_id(ctx)
    full_name = ctx.partition.key if ctx.partition else repo
    yield Row(
        "work_item",
        {
            "external_id": numbered_id(repo, it.number),
            "key": f"{full_name}#{it.number}",
            "title": it.title,
            "type": (it.type.name or "issue").lower() if it.type else "issue",
            "status": it.state,
            "status_category": "done" if it.state == "closed" else "todo",
            "assignee_external_id": user_id(it.assignee or (it.assignees[0] if it.assignees else None)),
            "reporter_external_id": user_id(it.user),
            "labels": _labels(it.labels),
            "created_at": it.created_at,
            "updated_at": it.updated_at,
            "resolved_at": it.closed_at,
            "extra": {
                "id": it.id,
                "repository_external_id": repo,
                "state_reason": it.state_reason,
                "milestone": it.milestone.title if it.milestone else None,
                "assignees": [str(a.id) for a in it.assignees],
                "url": it.html_url,
            },
        },
    )
    yield from person(it.user)
    seen = set()
    for a in [it.assignee, *it.assignees]:
        if a is not None and a.id not in seen:
            seen.add(a.id)
            yield from person(a)


def _transition(ev: IssueEvent) -> tuple[str, str | None, str | None]:
    """(field, from, to) of an issue event."""
    e = ev.event
    if e == "closed":
        return "status", "open", "closed"
    if e == "reopened":
        return "status", "closed", "open"
    if e in ("labeled", "unlabeled"):
        name = ev.label.name if ev.label else None
        return ("label", None, name) if e == "labeled" else ("label", name, None)
    if e in ("assigned", "unassigned"):
        login = ev.assignee.login if ev.assignee else None
        return ("assignee", None, login) if e == "assigned" else ("assignee", login, None)
    if e in ("milestoned", "demilestoned"):
        title = ev.milestone.title if ev.milestone else None
        return ("milestone", None, title) if e == "milestoned" else ("milestone", title, None)
    if e == "renamed" and ev.rename is not None:
        return "title", ev.rename.from_, ev.rename.to
    return e, None, ev.commit_id


def issue_event(record: Mapping[str, Any], ctx: StreamContext) -> Iterator[Row]:
    """Events of issues become work item transitions; events of pull requests are skipped."""
    ev = IssueEvent.model_validate(record)
    if ev.issue is None:
        raise DataError("an issue event without its issue")
    if ev.issue.is_pull_request:
        return
    repo = repo_id(ctx)
    field, before, after = _transition(ev)
    yield Row(
        "work_item_transition",
        {
            "external_id": str(ev.id),
            "work_item_external_id": numbered_id(repo, ev.issue.number),
            "field": field,
            "from_value": before,
            "to_value": after,
            "at": ev.created_at,
            "author_external_id": user_id(ev.actor),
            "created_at": ev.created_at,
            "updated_at": ev.created_at,
            "extra": {"event": ev.event},
        },
    )
    yield from person(ev.actor)
