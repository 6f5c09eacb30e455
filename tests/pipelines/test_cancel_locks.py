"""A cancel never deadlocks with a task ending at the same moment (PostgreSQL).

A task's last transaction updates its row, then inserts its log lines, whose foreign key
takes a KEY SHARE lock on the run's row. A cancel locks the run's row, then updates its
unfinished tasks. If the cancel's lock on the run conflicts with KEY SHARE (``FOR UPDATE``),
the two wait on each other and PostgreSQL kills one: the cancel answered 500 through the API
(CI, tests/integration/test_refresh_service.py), or the task lost its log lines.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, text

from pipelines.service import cancel
from pipelines.state import transition_task
from storage import Database
from storage.models import Run, State, TaskLog, TaskRun
from tests.conftest import tenant_and_source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _running_run(db: Database) -> tuple[int, list[int]]:
    tenant_id, source_id = tenant_and_source(db)
    with db.session() as s:
        run = Run(tenant_id=tenant_id, source_id=source_id, trigger="manual", state=State.RUNNING)
        s.add(run)
        s.flush()
        tasks = [
            TaskRun(run_id=run.id, source_id=source_id, key=f"t{i}", stream="commits", state=State.RUNNING)
            for i in range(2)
        ]
        s.add_all(tasks)
        s.flush()
        return run.id, sorted(t.id for t in tasks)


def _lock_waiters(db: Database) -> int:
    with db.read() as s:
        return int(
            s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            or 0
        )


def test_a_cancel_and_a_task_ending_under_it_both_commit(pg_db: Database) -> None:
    run_id, (first, _second) = _running_run(pg_db)
    task_row_locked = threading.Event()
    cancel_waits = threading.Event()
    errors: list[BaseException] = []

    def task_ends() -> None:
        """The worker's record_success: the task's row, then its log lines (TaskLogs.keep)."""
        try:
            with pg_db.session() as s:
                assert transition_task(s, first, State.COMPLETED, records_loaded=3)
                task_row_locked.set()
                assert cancel_waits.wait(10), "the cancel never waited for the task's row"
                line = {"run_id": run_id, "task_run_id": first, "at": T0, "level": "INFO", "message": "ended"}
                s.execute(insert(TaskLog), [line])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    def cancels() -> None:
        try:
            cancel(pg_db, run_id, by="operator")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=task_ends)
    worker.start()
    assert task_row_locked.wait(10)
    canceller = threading.Thread(target=cancels)
    canceller.start()
    deadline = time.monotonic() + 10
    while _lock_waiters(pg_db) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    cancel_waits.set()
    worker.join(30)
    canceller.join(30)

    assert errors == []
    with pg_db.read() as s:
        states = dict(s.execute(select(TaskRun.id, TaskRun.state).where(TaskRun.run_id == run_id)).tuples().all())
        assert s.get(Run, run_id).state == State.CANCELLED  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(TaskLog)) == 1
    assert states[first] == State.COMPLETED
    assert set(states.values()) == {State.COMPLETED, State.CANCELLED}
