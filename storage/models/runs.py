"""Runs and task runs: a current state plus an append-only state history (ARCHITECTURE.md §7)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class State(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    CANCELLED = "CANCELLED"


TERMINAL_STATES = frozenset({State.COMPLETED, State.FAILED, State.CRASHED, State.CANCELLED})
ACTIVE_STATES = frozenset({State.SCHEDULED, State.PENDING, State.RUNNING, State.RETRYING})


class Trigger(enum.StrEnum):
    REFRESH = "refresh"
    SCHEDULE = "schedule"
    ONBOARDING = "onboarding"
    RETRY = "retry"


class Run(Base):
    __tablename__ = "run"
    # Coalescing, enforced by the database: per (tenant, source scope) at most one run waiting
    # (queued_key set while SCHEDULED/PENDING) and one running (running_key set while RUNNING or
    # RETRYING). Keys are cleared on leaving those states; NULLs never collide.
    __table_args__ = (UniqueConstraint("queued_key"), UniqueConstraint("running_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"), nullable=True)
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=State.SCHEDULED)
    full: Mapped[bool] = mapped_column(default=False)
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), nullable=True)
    queued_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    running_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    driver: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    tasks_total: Mapped[int] = mapped_column(Integer, default=0)
    tasks_failed: Mapped[int] = mapped_column(Integer, default=0)
    records_loaded: Mapped[int] = mapped_column(Integer, default=0)
    celery_task_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class RunState(Base):
    __tablename__ = "run_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class TaskRun(Base):
    __tablename__ = "task_run"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1024))
    stream: Mapped[str] = mapped_column(String(128))
    partition: Mapped[str | None] = mapped_column(String(512), nullable=True)
    partition_values: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    depends_on: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default=State.SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    records_fetched: Mapped[int] = mapped_column(Integer, default=0)
    records_loaded: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    http_retries: Mapped[int] = mapped_column(Integer, default=0)
    http_statuses: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"200": 12, "429": 1}
    rate_wait_s: Mapped[float] = mapped_column(default=0.0)  # time spent waiting for rate budgets
    loaded_by_entity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_s: Mapped[float | None] = mapped_column(nullable=True)
    worker: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)


class TaskRunState(Base):
    __tablename__ = "task_run_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_run.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
