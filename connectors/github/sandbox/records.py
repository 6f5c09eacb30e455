"""The records of the GitHub sandbox's world (:mod:`.world`): people, repositories, commits,
pull requests with their reviews and comments, issues with their comments and events; plain
dataclasses the payload builders (:mod:`.payloads`, :mod:`.graphql`) render as GitHub does."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

START = datetime(2024, 1, 1, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha_of(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


@dataclass
class User:
    id: int
    login: str
    type: str = "User"
    name: str | None = None
    email: str | None = None


@dataclass
class Commit:
    sha: str
    message: str
    author: User | None  # the GitHub account, when the e-mail matches one
    author_name: str
    author_email: str
    at: datetime
    parents: list[str] = field(default_factory=list)


@dataclass
class Review:
    id: int
    user: User
    state: str
    at: datetime
    commit_id: str


@dataclass
class ReviewComment:
    id: int
    user: User
    body: str
    created_at: datetime
    updated_at: datetime
    review_id: int
    path: str
    commit_id: str


@dataclass
class Comment:
    id: int
    user: User
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Event:
    id: int
    actor: User
    event: str
    at: datetime
    label: str | None = None
    assignee: User | None = None
    rename: tuple[str, str] | None = None
    commit_id: str | None = None


@dataclass
class Pull:
    id: int
    number: int
    title: str
    user: User
    state: str  # open | closed (merged ones are closed with merged_at)
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    head_ref: str
    base_ref: str
    commits: list[Commit]
    reviews: list[Review]
    review_comments: list[ReviewComment]
    from_fork: bool = False

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha

    @property
    def merge_commit_sha(self) -> str:
        return sha_of("merge", self.id)


@dataclass
class Issue:
    """An issue, or the issue twin of a pull request (``pull`` set; same number)."""

    id: int
    number: int
    title: str
    user: User
    state: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    labels: list[str]
    assignee: User | None
    comments: list[Comment]
    events: list[Event]
    pull: Pull | None = None


@dataclass
class Repo:
    id: int
    name: str
    private: bool
    archived: bool
    empty: bool
    created_at: datetime
    updated_at: datetime
    commits: list[Commit]  # default branch, newest first
    branches: list[tuple[str, str]]
    pulls: dict[int, Pull]
    issues: dict[int, Issue]
    default_branch: str = "main"
    deleted: bool = False
    old_names: list[str] = field(default_factory=list)

    @property
    def pushed_at(self) -> datetime:
        return self.commits[0].at if self.commits else self.created_at
