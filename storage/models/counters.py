"""Counter samples kept when the rows they were derived from are deleted (a source removed).

``/metrics`` derives its counters from task runs; removing a source deletes them (cascade), which
would lower counters that must never go down. Before a source is deleted, its share of every
counter sample is written here, and the scrape adds these rows back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class RetiredSample(Base):
    __tablename__ = "metric_retired"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample: Mapped[str] = mapped_column(String(128))  # e.g. headwater_task_errors_total
    labels: Mapped[str] = mapped_column(Text)  # JSON of the sorted (name, value) pairs
    value: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
