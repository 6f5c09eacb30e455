"""The run and task state machine, with append-only history (ARCHITECTURE.md §7).

The current state lives on the row; every transition is also appended to ``run_state`` /
``task_run_state``. Terminal states are final. Coalescing of refresh clicks is enforced by
unique keys on ``run`` (see :class:`storage.models.Run`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
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
RETRYABLE = frozenset({State.FAILED, State.CRASHED, State.CANCELLED})

# How a run's row is locked (``session.get(Run, id, with_for_update=RUN_LOCK)``): FOR NO KEY
# UPDATE on PostgreSQL. FOR UPDATE would also block the KEY SHARE lock that every insert of a
# row pointing at the run takes (a task's log lines, the run's history): a task ending while
# its run is cancelled then deadlocks with the cancel (tests/pipelines/test_cancel_locks.py).
RUN_LOCK: dict[str, Any] = {"key_share": True}


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
    update_row, history = _transition_statements(State(state), tuple(sorted(fields)), message is not None)
    params = {f"p_{k}": v for k, v in fields.items()}
    params |= {"p_id": task_id, "p_state": str(state), "p_now": now, "p_message": message}
    result = session.execute(update_row, params)
    if not getattr(result, "rowcount", 0):
        return False
    session.execute(history, [{"task_run_id": task_id, "state": str(state), "at": now, "message": message}])
    return True


@functools.lru_cache(maxsize=256)
def _transition_statements(state: State, fields: tuple[str, ...], with_message: bool) -> tuple[Any, Any]:
    """The UPDATE of a task's row and the INSERT of its history for one kind of transition, built
    once (Core statements on the tables: building them cost more than running them)."""
    table: Table = TaskRun.__table__  # type: ignore[assignment]
    col = table.c
    values: dict[str, Any] = {
        "state": bindparam("p_state"),
        "heartbeat_at": bindparam("p_now", type_=col.heartbeat_at.type),
    }
    values |= {f: bindparam(f"p_{f}", type_=col[f].type) for f in fields}
    if with_message:
        values["message"] = bindparam("p_message")
    if state == State.RUNNING:
        values["attempts"] = col.attempts + 1
        values["started_at"] = func.coalesce(col.started_at, bindparam("p_now", type_=col.started_at.type))
    if state in TERMINAL_STATES:
        values["ended_at"] = bindparam("p_now", type_=col.ended_at.type)
    update_row = (
        update(table)
        .where(col.id == bindparam("p_id"), col.state.not_in([str(s) for s in TERMINAL_STATES]))
        .values(values)
    )
    history: Table = TaskRunState.__table__  # type: ignore[assignment]
    return update_row, insert(history)


def active_runs(session: Session) -> list[Run]:
    return list(session.execute(select(Run).where(Run.state.in_([str(s) for s in ACTIVE_STATES]))).scalars())


def driverless_runs(session: Session, driver_alive: Callable[[Run], bool]) -> list[Run]:
    """The RUNNING and RETRYING runs nobody drives any more (``driver_alive(run)`` is False)."""
    runs = session.execute(select(Run).where(Run.state.in_([str(s) for s in RUNNING]))).scalars()
    return [run for run in runs if not driver_alive(run)]


# What each unfinished task of a run whose driver died says (its error_kind is CRASH).
DRIVER_STOPPED = "the run's driver stopped (process died or was killed)"


def settle_driverless_run(session: Session, run: Run, why: str) -> bool:
    """End a run whose driver is gone, with its tasks. States tell the truth: a run whose whole
    graph was planned and whose tasks all completed ends COMPLETED, whatever happened to its
    driver afterwards (it died before closing the run). Otherwise its unfinished tasks end
    CRASHED (:data:`DRIVER_STOPPED`) and so does the run, saying ``why``. True when it CRASHED
    (a run to alert about)."""
    if close_if_all_completed(session, run):
        return False
    crash_unfinished_tasks(session, run.id, DRIVER_STOPPED)
    set_run_state(session, run, State.CRASHED, why)
    return True


def mark_stale_runs_crashed(session: Session, *, older_than: timedelta, driver_alive: Any = None) -> list[int]:
    """Runs RUNNING without a heartbeat for ``older_than`` (their driver died) are settled
    (:func:`settle_driverless_run`). ``driver_alive(run) -> bool`` may veto (same-host pid check).
    Returns the ids of the runs marked CRASHED (the ones to alert about)."""
    cutoff = utcnow() - older_than

    def alive(run: Run) -> bool:
        if driver_alive is not None:
            return bool(driver_alive(run))
        return _aware(run.heartbeat_at or run.started_at or run.created_at) > cutoff

    why = "the run's driver stopped without finishing; retry it"
    return [run.id for run in driverless_runs(session, alive) if settle_driverless_run(session, run, why)]


def close_if_all_completed(session: Session, run: Run) -> bool:
    """A run whose planned graph (``tasks_total``, written by the driver once every discovery
    expanded) completed entirely is COMPLETED. False when anything is unfinished or unplanned."""
    states = list(session.execute(select(TaskRun.state).where(TaskRun.run_id == run.id)).scalars())
    if not run.tasks_total or len(states) != run.tasks_total or any(s != State.COMPLETED for s in states):
        return False
    run.tasks_failed = 0
    run.records_loaded = session.execute(
        select(func.coalesce(func.sum(TaskRun.records_loaded), 0)).where(TaskRun.run_id == run.id)
    ).scalar_one()
    return set_run_state(
        session, run, State.COMPLETED, f"{len(states)} tasks completed (closed after its driver stopped)"
    )


def crash_unfinished_tasks(session: Session, run_id: int, message: str) -> int:
    return finish_unfinished_tasks(session, run_id, State.CRASHED, message, error_kind="CRASH")


def finish_unfinished_tasks(session: Session, run_id: int, state: State, message: str, **fields: Any) -> int:
    """Every task of the run not yet terminal moves to ``state`` (a terminal one)."""
    ids = session.execute(
        select(TaskRun.id)
        .where(TaskRun.run_id == run_id, TaskRun.state.not_in([str(s) for s in TERMINAL_STATES]))
        .order_by(TaskRun.id)  # rows locked in id order, as the driver's transitions lock them
    ).scalars()
    return sum(transition_task(session, tid, state, message, **fields) for tid in list(ids))


def cancel_run(session: Session, run: Run, *, by: str, reason: str | None = None) -> bool:
    """Cancel a waiting or running run: its unfinished tasks end CANCELLED at once, then the run.

    Cooperative: a driver notices at its next heartbeat and cancels its Dask futures; a task
    already running on a worker stops at its next request or page. Committed batches and
    cursors stay, so the next refresh resumes where this one stopped. False when the run was
    already finished."""
    if State(run.state) in TERMINAL_STATES or close_if_all_completed(session, run):
        return False  # finished (a cancel arriving after the last task completed changes nothing)
    why = f"cancelled by {by}" + (f": {reason}" if reason else "")
    finish_unfinished_tasks(session, run.id, State.CANCELLED, why)
    return set_run_state(session, run, State.CANCELLED, why[:4000])


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def waiting_since(session: Session, run: Run) -> datetime:
    """Since when a queued run could have started: its creation, or the end of the last run of
    its scope that kept it waiting (a follow-up click waits for the running run legitimately)."""
    ended = session.execute(
        select(func.max(Run.ended_at)).where(
            Run.tenant_id == run.tenant_id,
            Run.source_id.is_(None) if run.source_id is None else Run.source_id == run.source_id,
            Run.id < run.id,
        )
    ).scalar()
    since = _aware(run.created_at)
    return max(since, _aware(ended)) if ended is not None else since


def expire_queued_runs(session: Session, *, lease: timedelta, run_id: int | None = None) -> list[int]:
    """Runs SCHEDULED/PENDING for longer than ``lease`` although nothing kept them waiting (their
    scope is not running) are FAILED with the reason, which releases their coalescing key: no
    tenant stays blocked behind a run nobody will execute. Returns their ids."""
    now = utcnow()
    q = select(Run).where(Run.state.in_([str(s) for s in QUEUED]))
    if run_id is not None:
        q = q.where(Run.id == run_id)
    running = set(session.execute(select(Run.running_key).where(Run.running_key.is_not(None))).scalars())
    expired: list[int] = []
    for run in list(session.execute(q).scalars()):
        if scope_key(run.tenant_id, run.source_id) in running:
            continue
        waited = now - waiting_since(session, run)
        if waited <= lease:
            continue
        set_run_state(
            session,
            run,
            State.FAILED,
            f"not started within {lease.total_seconds():.0f} s of being queued: no worker took it "
            "(is `headwater worker` running and the broker reachable? is the API server up?); refresh again",
        )
        expired.append(run.id)
    return expired
