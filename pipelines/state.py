"""The run and task state machine, with append-only history (ARCHITECTURE.md §7).

The current state lives on the row; every transition is also appended to ``run_state`` /
``task_run_state``. Terminal states are final. Coalescing of refresh clicks is enforced by
unique keys on ``run`` (see :class:`storage.models.Run`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    Run,
    RunState,
    State,
    TaskRun,
    TaskRunState,
    Tenant,
    Trigger,
    utcnow,
)

QUEUED = frozenset({State.SCHEDULED, State.PENDING})
RUNNING = frozenset({State.RUNNING, State.RETRYING})


class IllegalTransition(RuntimeError):
    pass


def scope_key(tenant_id: int, source_id: int | None) -> str:
    return f"{tenant_id}:{source_id if source_id is not None else '*'}"


def create_run(
    session: Session,
    tenant: Tenant,
    *,
    trigger: str = Trigger.REFRESH,
    source_id: int | None = None,
    full: bool = False,
    requested_by: str | None = None,
    parent_run_id: int | None = None,
) -> tuple[Run, bool]:
    """A new SCHEDULED run, or the run already waiting for the same scope (coalesced=True).

    Safe under races: the unique ``queued_key`` makes concurrent inserts collide, and the loser
    returns the winner's run. Retries of failed tasks are never coalesced away.
    """
    key = scope_key(tenant.id, source_id) if trigger != Trigger.RETRY else None
    priority = {Trigger.REFRESH: 0, Trigger.RETRY: 0, Trigger.SCHEDULE: 5, Trigger.ONBOARDING: 9}.get(
        Trigger(trigger), 5
    )
    for _ in range(5):
        if key is not None:
            existing = session.execute(select(Run).where(Run.queued_key == key)).scalar_one_or_none()
            if existing is not None:
                return existing, True
        run = Run(
            tenant_id=tenant.id,
            source_id=source_id,
            trigger=str(trigger),
            requested_by=requested_by,
            full=full,
            parent_run_id=parent_run_id,
            queued_key=key,
            priority=priority,
            state=State.SCHEDULED,
        )
        try:
            with session.begin_nested():
                session.add(run)
                session.flush()
        except IntegrityError:
            continue
        session.add(RunState(run_id=run.id, state=State.SCHEDULED))
        session.flush()
        return run, False
    raise RuntimeError("could not create or coalesce a run after 5 attempts")


def set_run_state(session: Session, run: Run, state: State, message: str | None = None) -> bool:
    """Move a run to ``state`` (appending history). Returns False if the run is already final.

    Entering RUNNING takes the scope's ``running_key``; if another run of the same scope is
    running, IllegalTransition is raised and the run stays queued.
    """
    if State(run.state) in TERMINAL_STATES:
        return False
    now = utcnow()
    if state in RUNNING and State(run.state) in QUEUED:
        key = scope_key(run.tenant_id, run.source_id)
        try:
            with session.begin_nested():
                session.execute(
                    update(Run)
                    .where(Run.id == run.id)
                    .values(queued_key=None, running_key=key if run.trigger != Trigger.RETRY else None)
                )
        except IntegrityError as exc:
            raise IllegalTransition(f"another run of scope {key} is running") from exc
        session.refresh(run)
        run.started_at = run.started_at or now
    if state in TERMINAL_STATES:
        run.queued_key = None
        run.running_key = None
        run.ended_at = now
    run.state = state
    run.heartbeat_at = now
    if message is not None:
        run.message = message
    session.add(RunState(run_id=run.id, state=state, at=now, message=message))
    session.flush()
    return True


def set_task_state(session: Session, task: TaskRun, state: State, message: str | None = None, **fields: Any) -> bool:
    """:func:`transition_task` for a loaded task: the row changes in SQL, then the object is refreshed."""
    session.flush()
    if not transition_task(session, task.id, state, message, **fields):
        return False
    session.refresh(task)
    return True


def transition_task(session: Session, task_id: int, state: State, message: str | None = None, **fields: Any) -> bool:
    """Move task ``task_id`` to ``state``, appending to its history, in two SQL statements and no
    ORM unit of work (the hot path of workers and the driver). Returns False when the task is
    already in a terminal state (terminal states are final)."""
    now = utcnow()
    values: dict[str, Any] = {"state": state, "heartbeat_at": now, **fields}
    if message is not None:
        values["message"] = message
    if state == State.RUNNING:
        values["attempts"] = TaskRun.attempts + 1
        values["started_at"] = func.coalesce(TaskRun.started_at, now)
    if state in TERMINAL_STATES:
        values["ended_at"] = now
    result = session.execute(
        update(TaskRun)
        .where(TaskRun.id == task_id, TaskRun.state.not_in([str(s) for s in TERMINAL_STATES]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    session.execute(insert(TaskRunState).values(task_run_id=task_id, state=state, at=now, message=message))
    return True


def active_runs(session: Session) -> list[Run]:
    return list(session.execute(select(Run).where(Run.state.in_([str(s) for s in ACTIVE_STATES]))).scalars())


def mark_stale_runs_crashed(session: Session, *, older_than: timedelta, driver_alive: Any = None) -> list[int]:
    """Runs RUNNING without a heartbeat for ``older_than`` (their driver died) become CRASHED,
    with their unfinished tasks. ``driver_alive(run) -> bool`` may veto (same-host pid check)."""
    cutoff = utcnow() - older_than
    crashed: list[int] = []
    for run in session.execute(select(Run).where(Run.state.in_([str(s) for s in RUNNING]))).scalars():
        beat = run.heartbeat_at or run.started_at or run.created_at
        if beat > cutoff and not (driver_alive is not None and not driver_alive(run)):
            continue
        if driver_alive is not None and driver_alive(run):
            continue
        crash_unfinished_tasks(session, run.id, "the run's driver stopped (process died or was killed)")
        set_run_state(session, run, State.CRASHED, "the run's driver stopped without finishing; retry it")
        crashed.append(run.id)
    return crashed


def crash_unfinished_tasks(session: Session, run_id: int, message: str) -> int:
    n = 0
    for task in session.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars():
        if State(task.state) not in TERMINAL_STATES:
            set_task_state(session, task, State.CRASHED, message, error_kind="CRASH")
            n += 1
    return n
