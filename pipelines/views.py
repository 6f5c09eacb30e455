"""Documents describing runs and tasks: one shape for the CLI (--json), the API and the dashboard."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Run, RunState, Source, TaskRun, TaskRunState, Tenant


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
    return doc


def list_runs(session: Session, tenant: Tenant, limit: int = 50) -> list[dict[str, Any]]:
    runs = session.execute(select(Run).where(Run.tenant_id == tenant.id).order_by(Run.id.desc()).limit(limit)).scalars()
    return [run_summary(r, tenant.slug) for r in runs]
