"""Per-task log lines kept with the run: the last lines each task logged, written when it ends.

A :class:`TaskLogHandler` on the root logger (installed by the composition root's logging set-up,
with its redaction) keeps, per task id of the log context, the last ``per_task`` records at INFO
and above in memory; :func:`captured` writes one task's lines in a single INSERT when the task
ends (inside the task's own last transaction: ``TaskLogs.keep``), so logging inside the task
costs a deque append and no database round trip.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pipelines.logcontext import current_context
from storage import Database
from storage.models import TaskLog

log = logging.getLogger(__name__)

PER_TASK = 200
Line = tuple[datetime, str, str, str]  # at, level, logger, message


class TaskLogHandler(logging.Handler):
    def __init__(self, per_task: int = PER_TASK, redact: Callable[[str], str] | None = None) -> None:
        super().__init__(logging.INFO)
        self.per_task = per_task
        self.redact = redact or (lambda text: text)
        self._lines: dict[int, deque[Line]] = {}
        self._dropped: dict[int, int] = {}
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        task_id = current_context().get("task_id")
        if task_id is None:
            return
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            line = (datetime.fromtimestamp(record.created, UTC), record.levelname, record.name, self.redact(text))
        except Exception:  # a log call must never fail the task
            self.handleError(record)
            return
        with self._guard:
            lines = self._lines.setdefault(task_id, deque(maxlen=self.per_task))
            if len(lines) == self.per_task:
                self._dropped[task_id] = self._dropped.get(task_id, 0) + 1
            lines.append(line)

    def note(self, task_id: int, message: str, level: str = "INFO") -> None:
        """A line for the task's log only (not printed): where it started and how it ended."""
        with self._guard:
            lines = self._lines.setdefault(task_id, deque(maxlen=self.per_task))
            if len(lines) == self.per_task:
                self._dropped[task_id] = self._dropped.get(task_id, 0) + 1
            lines.append((datetime.now(UTC), level, "headwater.task", self.redact(message)))

    def drain(self, task_id: int) -> tuple[list[Line], int]:
        """This task's kept lines (oldest first) and how many older ones were dropped; forgets them."""
        with self._guard:
            return list(self._lines.pop(task_id, ())), self._dropped.pop(task_id, 0)


def installed() -> TaskLogHandler | None:
    for h in logging.getLogger().handlers:
        if isinstance(h, TaskLogHandler):
            return h
    return None


def install(per_task: int = PER_TASK, redact: Callable[[str], str] | None = None) -> TaskLogHandler:
    """Idempotent: the one handler on the root logger (replaced, so the settings take effect)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, TaskLogHandler):
            root.removeHandler(h)
    handler = TaskLogHandler(per_task, redact)
    root.addHandler(handler)
    return handler


def _rows(run_id: int, task_id: int, handler: TaskLogHandler) -> list[dict[str, Any]]:
    lines, dropped = handler.drain(task_id)
    rows: list[dict[str, Any]] = [
        {"run_id": run_id, "task_run_id": task_id, "at": at, "level": level, "logger": name, "message": text}
        for at, level, name, text in lines
    ]
    if dropped and rows:
        note = f"{dropped} earlier line(s) of this task were not kept (the last {handler.per_task} are)"
        rows.insert(0, {**rows[0], "level": "INFO", "logger": __name__, "message": note})
    return rows


def write(db: Database, run_id: int, task_id: int, handler: TaskLogHandler) -> int:
    rows = _rows(run_id, task_id, handler)
    if rows:
        with db.session() as s:
            s.execute(insert(TaskLog), rows)
    return len(rows)


class TaskLogs:
    """What :func:`captured` yields: ``logs(message)`` notes a line for the task's log only, and
    ``logs.keep(session)`` writes the lines so far in the caller's transaction (the task's last
    write: no transaction of their own). Lines after that, or all of them when nobody kept
    them, are written when ``captured`` ends."""

    def __init__(self, handler: TaskLogHandler | None, run_id: int | None, task_id: int) -> None:
        self.handler, self.run_id, self.task_id = handler, run_id, task_id
        self._kept: list[dict[str, Any]] | None = None

    def __call__(self, message: str) -> None:
        if self.handler is not None:
            self.handler.note(self.task_id, message)

    def keep(self, session: Session) -> None:
        """In a savepoint: if the lines cannot be written, the transaction's own writes still are.
        Run again (the transaction retried after an outage), it writes the same lines again."""
        if self.handler is None or self.run_id is None:
            return
        if self._kept is None:
            self._kept = _rows(self.run_id, self.task_id, self.handler)
        if not self._kept:
            return
        try:
            with session.begin_nested():
                session.execute(insert(TaskLog), self._kept)
        except Exception as exc:  # losing log lines must not change the task's outcome
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise  # the database went away: the whole transaction runs again
            log.warning("could not keep the log lines of task %s: %s", self.task_id, exc)


@contextlib.contextmanager
def captured(db: Database, run_id: int | None, task_id: int) -> Iterator[TaskLogs]:
    """Keep the lines logged inside (by this task) with the run, in one statement at the end (or
    in the task's own last transaction: ``TaskLogs.keep``)."""
    logs = TaskLogs(installed(), run_id, task_id)
    try:
        yield logs
    finally:
        if logs.handler is not None and run_id is not None:
            try:
                write(db, run_id, task_id, logs.handler)
            except Exception as exc:  # losing log lines must not change the task's outcome
                logs.handler.drain(task_id)
                log.warning("could not keep the log lines of task %s: %s", task_id, exc)


def read(db_session: Any, run_id: int, task_id: int | None = None) -> list[dict[str, Any]]:
    """``[{"at","level","task_id","logger","message"}]`` of a run (or one task), in order."""
    q = select(TaskLog).where(TaskLog.run_id == run_id)
    if task_id is not None:
        q = q.where(TaskLog.task_run_id == task_id)
    rows = db_session.execute(q.order_by(TaskLog.id)).scalars()
    return [
        {"at": r.at.isoformat(), "level": r.level, "task_id": r.task_run_id, "logger": r.logger, "message": r.message}
        for r in rows
    ]
