"""How a run ends: its unfinished tasks closed, its totals counted and its final state and message set."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from pipelines.state import finish_unfinished_tasks, set_run_state
from storage import Database
from storage.models import Run, Source, State, TaskRun, utcnow


def close_run(db: Database, run_id: int, error: str | None) -> State:
    """End ``run_id``: CANCELLED if it was cancelled, COMPLETED if every task completed and the
    driver had no ``error``, else FAILED with how many tasks did not complete and why."""
    with db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        cancelled = run.state == State.CANCELLED
        if cancelled:
            finish_unfinished_tasks(s, run_id, State.CANCELLED, run.message or "the run was cancelled")
        else:
            finish_unfinished_tasks(
                s, run_id, State.CRASHED, "the run ended before this task finished", error_kind="CRASH"
            )
        tasks = list(s.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars())
        failed = [t for t in tasks if t.state != State.COMPLETED]
        run.tasks_total = len(tasks)
        run.tasks_failed = len(failed)
        run.records_loaded = sum(t.records_loaded for t in tasks)
        ok_sources = {t.source_id for t in tasks} - {t.source_id for t in failed}
        for sid in ok_sources:
            src = s.get(Source, sid)
            if src is not None:
                src.last_success_at = utcnow()
        if cancelled:
            state = State.CANCELLED
        elif error is None and not failed:
            set_run_state(s, run, State.COMPLETED, f"{len(tasks)} tasks completed")
            state = State(run.state)
        else:
            kinds = Counter(t.error_kind or t.state for t in failed)
            first = next((t for t in failed if t.state == State.FAILED), failed[0] if failed else None)
            why = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
            message = f"{len(failed)} of {len(tasks)} tasks did not complete ({why})"
            if first is not None:
                message += f"; first: {first.stream} {first.partition or ''}: {first.message or first.state}"
            if error:
                message = f"{error}; {message}"
            set_run_state(s, run, State.FAILED, message[:4000])
            state = State(run.state)
    return state
