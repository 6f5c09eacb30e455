"""Documents describing runs and tasks: one shape for the CLI (--json), the API and the dashboard."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Run, RunState, Source, State, TaskRun, TaskRunState, Tenant, Trigger


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def run_summary(run: Run, tenant_slug: str | None = None) -> dict[str, Any]:
    duration = (run.ended_at - run.started_at).total_seconds() if run.started_at and run.ended_at else None
    return {
        "id": run.id,
        "run_id": run.id,
        "tenant_id": run.tenant_id,
        "tenant": tenant_slug,
        "source_id": run.source_id,
        "trigger": run.trigger,
        "requested_by": run.requested_by,
        "state": run.state,
        "full": run.full,
        "parent_run_id": run.parent_run_id,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "duration_s": duration,
        "tasks_total": run.tasks_total,
        "tasks_failed": run.tasks_failed,
        "records_loaded": run.records_loaded,
        "message": run.message,
    }


def task_document(task: TaskRun, history: list[TaskRunState], kind: str | None = None) -> dict[str, Any]:
    return {
        "id": task.id,
        "source_id": task.source_id,
        "connector": kind,
        "key": task.key,
        "stream": task.stream,
        "partition": task.partition,
        "depends_on": task.depends_on,
        "state": task.state,
        "attempts": task.attempts,
        "records_fetched": task.records_fetched,
        "records_loaded": task.records_loaded,
        "loaded_by_entity": task.loaded_by_entity,
        "requests": task.requests,
        "http_retries": task.http_retries,
        "http_statuses": status_counts(task.http_statuses),
        "rate_wait_s": task.rate_wait_s,
        "started_at": iso(task.started_at),
        "ended_at": iso(task.ended_at),
        "duration_s": task.duration_s,
        "worker": task.worker,
        "error_kind": task.error_kind,
        "message": task.message,
        "note": task.note,
        "traceback": task.traceback,
        "history": [{"state": h.state, "at": iso(h.at), "message": h.message} for h in history],
    }


def status_counts(stored: dict[str, Any] | None) -> dict[str, int]:
    """Responses by HTTP status, in status order: ``{"200": 12, "429": 1}``."""
    return {code: int(n) for code, n in sorted((stored or {}).items(), key=lambda kv: (len(kv[0]), kv[0]))}


def run_document(session: Session, run_id: int) -> dict[str, Any] | None:
    """The whole run as one document (``headwater run show --json`` and ``GET /api/runs/{id}``)."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    tenant = session.get(Tenant, run.tenant_id)
    tasks = list(session.execute(select(TaskRun).where(TaskRun.run_id == run_id).order_by(TaskRun.id)).scalars())
    kinds = dict(
        session.execute(select(Source.id, Source.kind).where(Source.tenant_id == run.tenant_id)).tuples().all()
    )
    histories: dict[int, list[TaskRunState]] = defaultdict(list)
    if tasks:
        for h in session.execute(
            select(TaskRunState)
            .where(TaskRunState.task_run_id.in_([t.id for t in tasks]))
            .order_by(TaskRunState.at, TaskRunState.id)
        ).scalars():
            histories[h.task_run_id].append(h)
    run_history = session.execute(
        select(RunState).where(RunState.run_id == run_id).order_by(RunState.at, RunState.id)
    ).scalars()
    doc = run_summary(run, tenant.slug if tenant else None)
    doc["history"] = [{"state": h.state, "at": iso(h.at), "message": h.message} for h in run_history]
    doc["tasks"] = [task_document(t, histories[t.id], kinds.get(t.source_id)) for t in tasks]
    statuses: dict[str, int] = {}
    for t in doc["tasks"]:
        for code, n in t["http_statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    doc["http_statuses"] = status_counts(statuses)  # every task's, attempts and crashes included
    return doc


class BadFilter(ValueError):
    """A run filter that cannot be understood; its message names the field and what to write."""


_SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``24h``, ``30m``, ``7d``, ``2w``, ``90s`` ago, or an ISO 8601 date/time (UTC when naive)."""
    text = value.strip()
    unit = text[-1:].lower()
    if unit in _SINCE_UNITS and text[:-1].isdigit():
        return (now or datetime.now(UTC)) - timedelta(seconds=int(text[:-1]) * _SINCE_UNITS[unit])
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"since: {value!r} is neither a duration like 24h, 30m, 7d nor an ISO date") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RunFilter:
    """Which runs to list, newest first; ``before_id`` is the keyset cursor (ids below it)."""

    tenant_ids: tuple[int, ...] | None = None  # None: every tenant (the admin)
    states: tuple[str, ...] = ()
    trigger: str | None = None
    since: datetime | None = None
    before_id: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        tenant_ids: tuple[int, ...] | None = None,
        state: str | None = None,
        trigger: str | None = None,
        since: str | None = None,
        cursor: str | int | None = None,
    ) -> RunFilter:
        states: tuple[str, ...] = ()
        if state:
            states = tuple(x.strip().upper() for x in state.split(",") if x.strip())
            bad = [x for x in states if x not in State.__members__]
            if bad:
                raise BadFilter(f"state: {bad[0]!r} is not one of {', '.join(State.__members__)}")
        if trigger:
            trigger = trigger.strip().lower()
            if trigger not in {str(t) for t in Trigger}:
                raise BadFilter(f"trigger: {trigger!r} is not one of {', '.join(str(t) for t in Trigger)}")
        before: int | None = None
        if cursor is not None and cursor != "":
            if not str(cursor).isdigit() or int(cursor) < 1:
                raise BadFilter(f"cursor: {cursor!r} is not a cursor from a previous page (a positive run id)")
            before = int(cursor)
        return cls(tenant_ids, states, trigger or None, parse_since(since) if since else None, before)


def list_runs(
    session: Session, tenant: Tenant | None = None, limit: int = 50, where: RunFilter | None = None
) -> list[dict[str, Any]]:
    """Runs newest first (by id): one tenant's, or those ``where`` selects (all tenants when it
    names none). Page on with ``RunFilter(before_id=<the last id>)``."""
    where = where or RunFilter()
    if limit < 1:
        raise BadFilter(f"limit: {limit} must be at least 1")
    q = select(Run, Tenant.slug).join(Tenant, Tenant.id == Run.tenant_id)
    if tenant is not None:
        q = q.where(Run.tenant_id == tenant.id)
    if where.tenant_ids is not None:
        q = q.where(Run.tenant_id.in_(where.tenant_ids))
    if where.states:
        q = q.where(Run.state.in_(where.states))
    if where.trigger:
        q = q.where(Run.trigger == where.trigger)
    if where.since is not None:
        q = q.where(Run.created_at >= where.since)
    if where.before_id is not None:
        q = q.where(Run.id < where.before_id)
    rows = session.execute(q.order_by(Run.id.desc()).limit(limit)).tuples()
    return [run_summary(r, slug) for r, slug in rows]


def next_cursor(rows: list[dict[str, Any]], limit: int) -> str | None:
    """The cursor of the page after ``rows`` (None when this page was not full: nothing older)."""
    return str(rows[-1]["id"]) if len(rows) >= limit and rows else None
