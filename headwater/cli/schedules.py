"""What `tenant add|set --cron` and `tenant list` say about a tenant's schedule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from headwater.cron import BadCron, check_cron, next_fire
from storage.models import Run, Tenant
from tenancy import TenancyError

CRON_HELP = "Cron schedule, five fields in UTC (e.g. '0 * * * *': hourly), beside --refresh-every; '' removes it."


def cron_value(value: str) -> str | None:
    """A checked expression, or None for '' (no cron schedule); a one-line error otherwise."""
    if not value.strip():
        return None
    try:
        return check_cron(value)
    except BadCron as exc:
        raise TenancyError(str(exc)) from None


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
