"""Refresh schedules: an interval in minutes and/or a cron expression (five fields, UTC).

A tenant is due when a fire time of its schedule has passed since its last run (or since it was
created, when it never ran). With both, whichever comes first fires.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import CroniterError, croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Run, Tenant


class BadCron(ValueError):
    """A cron expression that cannot be used; the message says what to write instead."""


def check_cron(expr: str) -> str:
    """The expression, normalized (single spaces), or :class:`BadCron` naming the problem."""
    text = " ".join(expr.split())
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise BadCron(
            f"--cron {expr!r}: need five fields 'minute hour day-of-month month day-of-week' (UTC), "
            f"such as '0 * * * *' (hourly); got {len(fields)}"
        )
    try:
        croniter(text, datetime(2026, 1, 1, tzinfo=UTC)).get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        raise BadCron(f"--cron {expr!r}: {exc}; for example '0 * * * *' (hourly) or '30 6 * * 1-5'") from None
    return text


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def next_cron(expr: str, after: datetime) -> datetime:
    at: datetime = croniter(expr, _aware(after).astimezone(UTC)).get_next(datetime)
    return _aware(at)


def next_fire(
    *, interval_minutes: int | None, cron: str | None, last_run_at: datetime | None, created_at: datetime
) -> datetime | None:
    """When the schedule next fires: may be in the past (due now); None without a schedule."""
    base = _aware(last_run_at or created_at)
    times = []
    if interval_minutes and interval_minutes > 0:
        times.append(base + timedelta(minutes=interval_minutes) if last_run_at else base)
    if cron:
        times.append(next_cron(cron, base))
    return min(times) if times else None


def is_due(
    now: datetime, *, interval_minutes: int | None, cron: str | None, last_run_at: datetime | None, created_at: datetime
) -> bool:
    at = next_fire(interval_minutes=interval_minutes, cron=cron, last_run_at=last_run_at, created_at=created_at)
    return at is not None and at <= _aware(now)


def next_refreshes(s: Session, tenants: Iterable[Tenant]) -> dict[int, dict[str, Any]]:
    """Per tenant id: its cron expression and when its schedule fires next (ISO, or None)."""
    tenants = list(tenants)
    last = dict(
        s.execute(
            select(Run.tenant_id, func.max(Run.created_at))
            .where(Run.tenant_id.in_([t.id for t in tenants]))
            .group_by(Run.tenant_id)
        )
        .tuples()
        .all()
    )
    out: dict[int, dict[str, Any]] = {}
    for t in tenants:
        at = next_fire(
            interval_minutes=t.refresh_interval_minutes,
            cron=t.refresh_cron,
            last_run_at=last.get(t.id),
            created_at=t.created_at,
        )
        out[t.id] = {"refresh_cron": t.refresh_cron, "next_refresh_at": at.isoformat() if at else None}
    return out
