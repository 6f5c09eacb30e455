"""Log lines of a task run, kept with its run: the last lines of each task, already redacted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class TaskLog(Base):
    __tablename__ = "task_log"
    __table_args__ = (Index("ix_task_log_run_id_task_run_id", "run_id", "task_run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_run.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(16))
    logger: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text)
