"""A task's own bookkeeping is two write transactions: its start and its end.

Besides the batches it loads, a task writes once to become RUNNING (reading all it needs to run
in the same transaction) and once to end (its outcome, HTTP counts and log lines together): on
SQLite every write transaction queues for the one writer, so each one a task adds is paid by
every task of every run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connectors.store import TaskStore
from headwater.app import worker_config
from pipelines import execute_task
from pipelines.tasklogs import install, read
from pipelines.worker import resources
from tests.dashboard.fakes import Forge, running_forge


@pytest.fixture
def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forge]:
    with running_forge(tmp_path, monkeypatch) as f:
        yield f


def test_a_task_writes_its_start_and_its_end_and_its_batches(forge: Forge, monkeypatch: pytest.MonkeyPatch) -> None:
    install()
    run_id, task_id = forge.scheduled_task()
    cfg = worker_config(forge.app)
    writes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            writes.append(threading.current_thread().name)

    event.listen(resources(cfg).db.engine, "before_cursor_execute", seen)
    batches: list[int] = []
    commit = TaskStore.commit
    monkeypatch.setattr(TaskStore, "commit", lambda self, batch: batches.append(1) or commit(self, batch))
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(execute_task(cfg, task_id)))
    worker.start()
    worker.join(60)
    assert result["state"] == "COMPLETED" and batches
    assert len(writes) == 2 + len(batches)
    with forge.app.db.read() as s:
        lines = [x["message"] for x in read(s, run_id, task_id)]
    assert lines[0].startswith(f"task {task_id} started: repositories")
    assert lines[-1].startswith(f"task {task_id} ended COMPLETED")
