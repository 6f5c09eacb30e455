"""GitHub pull requests, their reviews and review comments -> pull_request, review, comment rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from connectors.errors import DataError
from connectors.streams import Row, StreamContext

from .base import Label, Model, Timestamp, User, number_from_url, numbered_id, person, repo_id, user_id


class Ref(Model):
    ref: str | None = None
    sha: str | None = None


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
