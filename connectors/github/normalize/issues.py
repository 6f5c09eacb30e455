"""GitHub issues, their comments and events -> work_item, comment, work_item_transition rows
(pull requests listed among issues are skipped: the pulls stream reads them)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from connectors.errors import DataError
from connectors.streams import Row, StreamContext

from .base import Label, Model, Timestamp, User, number_from_url, numbered_id, person, repo_id, user_id


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
