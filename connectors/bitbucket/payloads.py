"""Pydantic models of the Bitbucket Cloud 2.0 payloads Headwater reads.

They name only what normalization needs and ignore everything else, so new, missing or
trimmed (``fields=``) attributes never break a load.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Href(Payload):
    href: str | None = None


class Links(Payload):
    html: Href | None = None
    self_: Href | None = Field(None, alias="self")


class Account(Payload):
    uuid: str | None = None
    account_id: str | None = None
    nickname: str | None = None
    display_name: str | None = None
    type: str | None = None


class Member(Payload):
    user: Account


class ProjectRef(Payload):
    uuid: str | None = None
    key: str | None = None
    name: str | None = None


class Project(Payload):
    uuid: str
    key: str | None = None
    name: str | None = None
    is_private: bool | None = None
    created_on: str | None = None
    updated_on: str | None = None


class BranchRef(Payload):
    name: str | None = None


class Repository(Payload):
    uuid: str
    full_name: str
    name: str | None = None
    slug: str | None = None
    is_private: bool | None = None
    mainbranch: BranchRef | None = None
    project: ProjectRef | None = None
    links: Links | None = None
    language: str | None = None
    created_on: str | None = None
    updated_on: str | None = None


class CommitRef(Payload):
    hash: str | None = None
    date: str | None = None


class Branch(Payload):
    name: str
    target: CommitRef | None = None


class Author(Payload):
    raw: str | None = None
    user: Account | None = None


class Commit(Payload):
    hash: str
    date: str | None = None
    message: str | None = None
    author: Author | None = None
    parents: list[CommitRef] = Field(default_factory=list)


class Endpoint(Payload):
    branch: BranchRef | None = None
    commit: CommitRef | None = None


class PullRequest(Payload):
    id: int
    title: str | None = None
    state: str | None = None
    author: Account | None = None
    source: Endpoint | None = None
    destination: Endpoint | None = None
    merge_commit: CommitRef | None = None
    closed_by: Account | None = None
    created_on: str | None = None
    updated_on: str | None = None
    reason: str | None = None
    comment_count: int | None = None
    task_count: int | None = None
    draft: bool | None = None
    links: Links | None = None


class Content(Payload):
    raw: str | None = None


class Inline(Payload):
    path: str | None = None
    from_: int | None = Field(None, alias="from")
    to: int | None = None


class CommentParent(Payload):
    id: int | None = None


class Comment(Payload):
    id: int
    content: Content | None = None
    user: Account | None = None
    created_on: str | None = None
    updated_on: str | None = None
    deleted: bool | None = None
    inline: Inline | None = None
    parent: CommentParent | None = None


class Approval(Payload):
    date: str | None = None
    user: Account | None = None


class Update(Payload):
    state: str | None = None
    date: str | None = None
    author: Account | None = None
    title: str | None = None


class Activity(Payload):
    update: Update | None = None
    approval: Approval | None = None
    changes_requested: Approval | None = None
    comment: Comment | None = None
    pull_request: dict[str, Any] | None = None
