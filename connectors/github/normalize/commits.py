"""GitHub commits (of the default branch and of pull requests) -> commit and person rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connectors.streams import Row, StreamContext

from .base import Model, Timestamp, User, person, repo_id, user_id


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
