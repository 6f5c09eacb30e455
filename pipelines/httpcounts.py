"""A task's HTTP counts (requests, retries, responses by status, rate-limit wait), on its row.

They are the task's, not one attempt's: an attempt re-executing a task whose worker died starts
from the counts the previous attempt left (:data:`EARLIER_COUNTS`, read with the task at its
start: :func:`counts_from`), so every request made for the task is counted once. While the task
runs, its worker writes the running counts every poll (:func:`checkpoint`): a task whose worker
dies and is later marked CRASHED keeps the last ones.

The writes never lower what a row says (which keeps the counters of ``/metrics`` from going
down): they touch a task still running, or one ended under its worker (cancelled, or crashed by
a recovery) with what the worker did until it stopped, never replacing counts by smaller ones.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from connectors.http.client import HttpStats
from storage import Database
from storage.models import State, TaskRun, utcnow

log = logging.getLogger(__name__)

RUNNING = (State.RUNNING, State.RETRYING)
# Ended by someone else while the worker still worked (a cancel; a recovery that took the worker
# for dead): the worker's end is refused, its counts are still written.
ENDED_UNDER_IT = (State.CANCELLED, State.CRASHED)


def statuses(stats: HttpStats) -> dict[str, int]:
    """Responses by status code, as stored: ``{"200": 12, "429": 1}`` (string keys, JSON)."""
    return {str(code): n for code, n in sorted(stats.by_status.items()) if n}


def counts_of(stats: HttpStats) -> dict[str, Any]:
    """The task_run columns for ``stats`` (pass them to ``transition_task``)."""
    return {
        "requests": stats.requests,
        "http_retries": stats.retries,
        "http_statuses": statuses(stats),
        "rate_wait_s": stats.rate_wait_s,
    }


# The task_run columns a new attempt counts on from (selected with the task at its start).
EARLIER_COUNTS = (TaskRun.requests, TaskRun.http_retries, TaskRun.http_statuses, TaskRun.rate_wait_s)


def counts_from(row: Any) -> HttpStats:
    """HttpStats from a row holding the :data:`EARLIER_COUNTS` columns."""
    return HttpStats(
        requests=row.requests or 0,
        retries=row.http_retries or 0,
        rate_wait_s=row.rate_wait_s or 0.0,
        by_status=Counter(_codes(row.http_statuses)),
    )


def _codes(stored: Mapping[str, Any] | None) -> dict[int, int]:
    return {int(code): int(n) for code, n in (stored or {}).items() if str(code).isdigit()}


def write_counts(
    db: Database, task_run_id: int, counts: Mapping[str, Any], states: Collection[State] = RUNNING
) -> bool:
    """:func:`store_counts` in a transaction of its own."""
    with db.session() as s:
        return store_counts(s, task_run_id, counts, states)


def store_counts(
    session: Session, task_run_id: int, counts: Mapping[str, Any], states: Collection[State] = RUNNING
) -> bool:
    """Write ``counts`` (:func:`counts_of`) on the task if it is in one of ``states`` and its row
    says no more requests than they do; True when written. Running tasks get a heartbeat too."""
    values: dict[str, Any] = dict(counts)
    if set(states) <= set(RUNNING):
        values["heartbeat_at"] = utcnow()
    result = session.execute(
        update(TaskRun)
        .where(
            TaskRun.id == task_run_id,
            TaskRun.state.in_([str(x) for x in states]),
            TaskRun.requests <= counts["requests"],
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def checkpoint(db: Database, task_run_id: int, stats: HttpStats) -> Callable[[], Callable[[], None] | None]:
    """For :func:`pipelines.worker.until_cancelled`: called on the event loop at each poll, it
    takes a copy of the running counts (the loop is the only writer of ``stats``) and returns the
    blocking write to run in a thread, or None when nothing changed since the last write."""
    last: dict[str, Any] = {}

    def snapshot() -> Callable[[], None] | None:
        counts = counts_of(stats)
        if counts == last or not counts["requests"]:
            return None

        def write() -> None:
            try:
                write_counts(db, task_run_id, counts)
            except Exception as exc:  # the database away for a moment: the next poll writes them
                if not db.is_unreachable(exc):
                    raise
                log.debug("task %s: HTTP counts not written (%s)", task_run_id, type(exc).__name__)
                return
            last.clear()
            last.update(counts)

        return write

    return snapshot
