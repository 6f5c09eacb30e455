"""What the dashboard pages show, read with a few aggregate queries per page.

Every function takes the caller's :class:`~headwater.api.auth.Principal` (or the tenant it
already checked) so a tenant token never sees another tenant's rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.registry import connector_meta
from headwater.api.auth import Principal
from headwater.cron import next_fire
from pipelines.tasklogs import read as read_task_logs
from pipelines.views import BadFilter, RunFilter, list_runs, next_cursor, run_document, run_summary
from storage.models import ACTIVE_STATES, Run, Source, State, TaskRun, Tenant, Trigger, utcnow

ACTIVE = [str(s) for s in ACTIVE_STATES]


@dataclass
class SourceHealth:
    id: int
    kind: str
    name: str
    scope: str
    enabled: bool
    credentials_status: str
    last_success_at: datetime | None
    stale: bool
    last_run_tasks: Counter[str] = field(default_factory=Counter)
    loaded_by_entity: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What to call it: its name, else what it reads (an org, a workspace …), else its kind."""
        named = self.name if self.name and self.name != self.kind else ""
        return named or self.scope or self.kind

    @property
    def health(self) -> str:
        """One word for the badge: ok, failing, stale, credentials, disabled or new."""
        if not self.enabled:
            return "disabled"
        if self.credentials_status == "invalid":
            return "credentials"
        if self.last_run_tasks.get("FAILED") or self.last_run_tasks.get("CRASHED"):
            return "failing"
        if self.last_success_at is None:
            return "new"
        return "stale" if self.stale else "ok"


@dataclass
class TenantHealth:
    id: int
    slug: str
    name: str
    sources: list[SourceHealth]
    last_run: dict[str, Any] | None
    active_runs: int
    runs_24h: Counter[str] = field(default_factory=Counter)

    @property
    def health(self) -> str:
        if self.active_runs:
            return "running"
        if self.last_run is None:
            return "new"
        if self.last_run["state"] != "COMPLETED" or any(s.health in ("failing", "credentials") for s in self.sources):
            return "failing"
        return "stale" if any(s.health == "stale" for s in self.sources) else "ok"


def visible_tenants(s: Session, who: Principal) -> list[Tenant]:
    q = select(Tenant).order_by(Tenant.slug)
    if not who.admin:
        q = q.where(Tenant.id == who.tenant_id)
    return list(s.execute(q).scalars())


def tenant_for(s: Session, who: Principal, slug: str) -> Tenant | None:
    t = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    return t if t is not None and who.can_see(t.id) else None


def _scope(kind: str, options: dict[str, Any]) -> str:
    """What part of the provider a source reads (its connector's ``scope_option``), e.g. the org."""
    key = connector_meta(kind).scope_option
    value = options.get(key) if key else None
    if not value:
        return ""
    return ", ".join(value) if isinstance(value, list) else str(value)


def _source_health(src: Source, stale_before: datetime) -> SourceHealth:
    return SourceHealth(
        id=src.id,
        kind=src.kind,
        name=src.name or "",
        scope=_scope(src.kind, src.options or {}),
        enabled=src.enabled,
        credentials_status=src.credentials_status,
        last_success_at=src.last_success_at,
        stale=src.last_success_at is not None and src.last_success_at < stale_before,
    )


def _last_finished_states(s: Session, by_id: dict[int, SourceHealth]) -> None:
    """Per source: its tasks' states in the latest finished run that touched it (2 queries)."""
    if not by_id:
        return
    last = dict(
        s.execute(
            select(TaskRun.source_id, func.max(TaskRun.run_id))
            .join(Run, Run.id == TaskRun.run_id)
            .where(TaskRun.source_id.in_(list(by_id)), Run.state.not_in(ACTIVE))
            .group_by(TaskRun.source_id)
        )
        .tuples()
        .all()
    )
    if not last:
        return
    for sid, run_id, state, n in s.execute(
        select(TaskRun.source_id, TaskRun.run_id, TaskRun.state, func.count())
        .where(TaskRun.run_id.in_(set(last.values())), TaskRun.source_id.in_(list(last)))
        .group_by(TaskRun.source_id, TaskRun.run_id, TaskRun.state)
    ).tuples():
        if last.get(sid) == run_id:
            by_id[sid].last_run_tasks[state] += n


def overview(s: Session, who: Principal, stale_after_hours: float) -> list[TenantHealth]:
    """Each visible tenant with its sources and the health of its latest run (6 queries)."""
    tenants = visible_tenants(s, who)
    ids = [t.id for t in tenants]
    if not ids:
        return []
    stale_before = utcnow() - timedelta(hours=stale_after_hours)
    sources: dict[int, list[SourceHealth]] = defaultdict(list)
    by_id: dict[int, SourceHealth] = {}
    for src in s.execute(select(Source).where(Source.tenant_id.in_(ids)).order_by(Source.id)).scalars():
        h = _source_health(src, stale_before)
        sources[src.tenant_id].append(h)
        by_id[src.id] = h
    last_ids = select(func.max(Run.id)).where(Run.tenant_id.in_(ids)).group_by(Run.tenant_id)
    last_runs = {r.tenant_id: r for r in s.execute(select(Run).where(Run.id.in_(last_ids))).scalars()}
    _last_finished_states(s, by_id)
    active = dict(
        s.execute(
            select(Run.tenant_id, func.count())
            .where(Run.tenant_id.in_(ids), Run.state.in_(ACTIVE))
            .group_by(Run.tenant_id)
        )
        .tuples()
        .all()
    )
    since = utcnow() - timedelta(hours=24)
    recent: dict[int, Counter[str]] = defaultdict(Counter)
    for tid, state, n in s.execute(
        select(Run.tenant_id, Run.state, func.count())
        .where(Run.tenant_id.in_(ids), Run.created_at >= since)
        .group_by(Run.tenant_id, Run.state)
    ).tuples():
        recent[tid][state] += n
    return [
        TenantHealth(
            id=t.id,
            slug=t.slug,
            name=t.name,
            sources=sources[t.id],
            last_run=run_summary(last_runs[t.id], t.slug) if t.id in last_runs else None,
            active_runs=active.get(t.id, 0),
            runs_24h=recent[t.id],
        )
        for t in tenants
    ]


def tenant_page(s: Session, tenant: Tenant, stale_after_hours: float, limit: int = 50) -> dict[str, Any]:
    stale_before = utcnow() - timedelta(hours=stale_after_hours)
    srcs = [
        _source_health(x, stale_before)
        for x in s.execute(select(Source).where(Source.tenant_id == tenant.id).order_by(Source.id)).scalars()
    ]
    by_id = {x.id: x for x in srcs}
    _last_finished_states(s, by_id)
    # Rows loaded per entity by each source in the latest run where it completed tasks.
    last_ok = (
        select(func.max(TaskRun.run_id))
        .join(Run, Run.id == TaskRun.run_id)
        .where(Run.tenant_id == tenant.id, TaskRun.state == "COMPLETED")
        .group_by(TaskRun.source_id)
    )
    for sid, loaded in s.execute(
        select(TaskRun.source_id, TaskRun.loaded_by_entity).where(
            TaskRun.run_id.in_(last_ok), TaskRun.state == "COMPLETED"
        )
    ).tuples():
        if sid in by_id:
            for entity, n in (loaded or {}).items():
                by_id[sid].loaded_by_entity[entity] = by_id[sid].loaded_by_entity.get(entity, 0) + int(n)
    runs = list_runs(s, tenant, limit)
    last_run_at = s.execute(select(func.max(Run.created_at)).where(Run.tenant_id == tenant.id)).scalar()
    next_at = next_fire(
        interval_minutes=tenant.refresh_interval_minutes,
        cron=tenant.refresh_cron,
        last_run_at=last_run_at,
        created_at=tenant.created_at,
    )
    return {
        "tenant": tenant,
        "sources": srcs,
        "runs": runs,
        "active": any(r["state"] in ACTIVE for r in runs),
        "next_refresh_at": next_at,
    }


def run_page(s: Session, who: Principal, run_id: int, stale_after_hours: float) -> dict[str, Any] | None:
    run = s.get(Run, run_id)
    if run is None or not who.can_see(run.tenant_id):
        return None
    doc = run_document(s, run_id)
    if doc is None:
        return None
    stale_before = utcnow() - timedelta(hours=stale_after_hours)
    sources = {
        x.id: _source_health(x, stale_before)
        for x in s.execute(select(Source).where(Source.tenant_id == run.tenant_id)).scalars()
    }
    retries = list(s.execute(select(Run.id, Run.state).where(Run.parent_run_id == run_id).order_by(Run.id)).tuples())
    logs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in read_task_logs(s, run_id):
        logs[line["task_id"]].append(line)
    return {"run": doc, "sources": sources, "retries": retries, "active": doc["state"] in ACTIVE, "logs": logs}


SINCES = [("1h", "last hour"), ("24h", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days")]


def runs_page(s: Session, who: Principal, q: dict[str, str]) -> dict[str, Any]:
    """The runs page: ``GET /runs?tenant=&state=&trigger=&since=&limit=&cursor=`` (as /api/runs)."""
    f = {k: (q.get(k) or "").strip() for k in ("tenant", "state", "trigger", "since", "cursor")}
    limit_text = (q.get("limit") or "50").strip()
    ctx: dict[str, Any] = {
        "f": {**f, "limit": limit_text},
        "states": [str(x) for x in State],
        "triggers": [str(x) for x in Trigger],
        "sinces": SINCES,
        "tenants": [t.slug for t in visible_tenants(s, who)],
        "runs": [],
        "error": None,
        "next_page": None,
        "first_page": None,
    }
    try:
        limit = int(limit_text)
        if not 1 <= limit <= 500:
            raise ValueError
    except ValueError:
        ctx["error"] = f"limit: {limit_text!r} must be a number from 1 to 500"
        return ctx
    try:
        where = RunFilter.parse(
            tenant_ids=None if who.admin else (who.tenant_id or 0,),
            state=f["state"] or None,
            trigger=f["trigger"] or None,
            since=f["since"] or None,
            cursor=f["cursor"] or None,
        )
    except BadFilter as exc:
        ctx["error"] = str(exc)
        return ctx
    tenant = tenant_for(s, who, f["tenant"]) if f["tenant"] else None
    if f["tenant"] and tenant is None:
        ctx["error"] = f"tenant: no tenant {f['tenant']!r}"
        return ctx
    ctx["runs"] = list_runs(s, tenant, limit, where)
    keep = {k: v for k, v in {**f, "limit": str(limit)}.items() if v and k != "cursor"}
    after = next_cursor(ctx["runs"], limit)
    if after is not None:
        ctx["next_page"] = "/runs?" + urlencode({**keep, "cursor": after})
    if f["cursor"]:
        ctx["first_page"] = "/runs?" + urlencode(keep)
    return ctx
