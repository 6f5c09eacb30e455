"""The shared, normalized schema (ARCHITECTURE.md §6).

Every row carries tenant_id, source_id, the provider's stable ``external_id``, provider
timestamps (UTC), ``ingested_at`` and ``deleted_at`` (tombstone; rows are never hard
deleted). References between entities are the provider's external ids (``*_external_id``)
rather than foreign keys, so that parallel tasks can load in any order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from storage.models.base import Base, utcnow

Ref = String(255)


class EntityMixin:
    """Columns and upsert key shared by every normalized entity."""

    __entity__: str

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))

    @declared_attr
    def source_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("source.id", ondelete="CASCADE"))

    external_id: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            UniqueConstraint("tenant_id", "source_id", "external_id", name=f"uq_{name}_key"),
            Index(f"ix_{name}_tenant_source", "tenant_id", "source_id"),
        )


class Person(EntityMixin, Base):
    __tablename__ = "person"
    __entity__ = "person"
    login: Mapped[str | None] = mapped_column(Ref, nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    email: Mapped[str | None] = mapped_column(String(512), nullable=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Repository(EntityMixin, Base):
    __tablename__ = "repository"
    __entity__ = "repository"
    full_name: Mapped[str] = mapped_column(String(512))
    name: Mapped[str | None] = mapped_column(Ref, nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    default_branch: Mapped[str | None] = mapped_column(Ref, nullable=True)
    private: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    archived: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    project_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)


class Branch(EntityMixin, Base):
    __tablename__ = "branch"
    __entity__ = "branch"
    repository_external_id: Mapped[str] = mapped_column(Ref)
    name: Mapped[str] = mapped_column(String(512))
    head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Commit(EntityMixin, Base):
    __tablename__ = "commit"
    __entity__ = "commit"
    repository_external_id: Mapped[str] = mapped_column(Ref)
    sha: Mapped[str] = mapped_column(String(64))
    author_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    author_name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    author_email: Mapped[str | None] = mapped_column(String(512), nullable=True)
    authored_at: Mapped[datetime | None] = mapped_column(nullable=True)
    committed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    parents: Mapped[list[Any]] = mapped_column(default=list)
    additions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deletions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pull_request_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)


class PullRequest(EntityMixin, Base):
    __tablename__ = "pull_request"
    __entity__ = "pull_request"
    repository_external_id: Mapped[str] = mapped_column(Ref)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    author_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    source_branch: Mapped[str | None] = mapped_column(String(512), nullable=True)
    target_branch: Mapped[str | None] = mapped_column(String(512), nullable=True)
    merged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    merge_commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Review(EntityMixin, Base):
    __tablename__ = "review"
    __entity__ = "review"
    pull_request_external_id: Mapped[str] = mapped_column(Ref)
    reviewer_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    state: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Comment(EntityMixin, Base):
    __tablename__ = "comment"
    __entity__ = "comment"
    parent_kind: Mapped[str] = mapped_column(String(32))
    parent_external_id: Mapped[str] = mapped_column(Ref)
    author_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)


class Project(EntityMixin, Base):
    __tablename__ = "project"
    __entity__ = "project"
    key: Mapped[str | None] = mapped_column(Ref, nullable=True)
    name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)


class WorkItem(EntityMixin, Base):
    __tablename__ = "work_item"
    __entity__ = "work_item"
    key: Mapped[str | None] = mapped_column(Ref, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignee_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    reporter_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    parent_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    project_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    release_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    story_points: Mapped[float | None] = mapped_column(nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WorkItemTransition(EntityMixin, Base):
    __tablename__ = "work_item_transition"
    __entity__ = "work_item_transition"
    work_item_external_id: Mapped[str] = mapped_column(Ref)
    field: Mapped[str] = mapped_column(String(128))
    from_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime | None] = mapped_column(nullable=True)
    author_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)


class Sprint(EntityMixin, Base):
    __tablename__ = "sprint"
    __entity__ = "sprint"
    board_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    name: Mapped[str] = mapped_column(String(512))
    state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    start_at: Mapped[datetime | None] = mapped_column(nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(nullable=True)
    complete_at: Mapped[datetime | None] = mapped_column(nullable=True)
    work_item_external_ids: Mapped[list[Any]] = mapped_column(default=list)


class Release(EntityMixin, Base):
    __tablename__ = "release"
    __entity__ = "release"
    project_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    name: Mapped[str] = mapped_column(String(512))
    release_date: Mapped[datetime | None] = mapped_column(nullable=True)
    released: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Channel(EntityMixin, Base):
    __tablename__ = "channel"
    __entity__ = "channel"
    name: Mapped[str | None] = mapped_column(Ref, nullable=True)
    private: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    archived: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Message(EntityMixin, Base):
    """Keyed by external_id = "<channel id>:<ts>"."""

    __tablename__ = "message"
    __entity__ = "message"
    channel_external_id: Mapped[str] = mapped_column(Ref)
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    author_external_id: Mapped[str | None] = mapped_column(Ref, nullable=True)
    reply_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)


ENTITY_MODELS: dict[str, type[EntityMixin]] = {
    m.__entity__: m
    for m in (
        Person,
        Repository,
        Branch,
        Commit,
        PullRequest,
        Review,
        Comment,
        Project,
        WorkItem,
        WorkItemTransition,
        Sprint,
        Release,
        Channel,
        Message,
    )
}
