"""Runs written straight into the database: states, triggers and ages to filter on."""

from __future__ import annotations

from datetime import timedelta

from storage import Database
from storage.models import Run, Tenant, utcnow


def seed_runs(db: Database, slug: str, specs: list[tuple[str, str, float]]) -> list[int]:
    """One run per (state, trigger, hours ago) of tenant ``slug``; their ids in order."""
    ids = []
    with db.session() as s:
        tenant = s.query(Tenant).filter(Tenant.slug == slug).one()
        for state, trigger, hours in specs:
            run = Run(tenant_id=tenant.id, trigger=trigger, state=state, created_at=utcnow() - timedelta(hours=hours))
            s.add(run)
            s.flush()
            ids.append(run.id)
    return ids
