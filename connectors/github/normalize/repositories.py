"""GitHub organisation members, repositories and branches -> person, repository, branch rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.streams import Row, StreamContext

from .base import Model, Timestamp, User, iso, person, repo_id


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
            "extra": {"fork": r.fork, "visibility": r.visibility, "pushed_at": iso(r.pushed_at)},
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
