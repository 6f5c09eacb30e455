"""The driver's view of one run's task graph, and the rows that make it.

``TaskGraph`` is what the driver knows of each task (its row id, dependencies, last state,
whether it was handed on); the functions here write the task rows it is built from: one task,
a resumed run's existing tasks, or every per-partition task of a source in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from connectors.runtime import SourceRuntime, partitions_of, plan_tasks
from pipelines.state import set_task_state
from storage import Database
from storage.models import TERMINAL_STATES, State, TaskRun, TaskRunState, utcnow


@dataclass
class TaskGraph:
    tasks: dict[str, int] = field(default_factory=dict)  # key -> task_run id
    deps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    submitted: set[str] = field(default_factory=set)
    key_of: dict[int, str] = field(default_factory=dict)
    discovery: dict[str, SourceRuntime] = field(default_factory=dict)  # discovery key -> runtime

    def record(self, key: str, task_id: int, deps: tuple[str, ...], state: str = State.SCHEDULED) -> None:
        self.tasks[key] = task_id
        self.key_of[task_id] = key
        self.deps[key] = deps
        self.state[key] = state


def adopt(db: Database, graph: TaskGraph, run_id: int) -> None:
    """A resumed run keeps the tasks its previous driver created: finished ones stay
    finished, unfinished ones are submitted again."""
    with db.session() as s:
        tasks = list(s.execute(select(TaskRun).where(TaskRun.run_id == run_id).order_by(TaskRun.id)).scalars())
    for t in tasks:
        finished = State(t.state) in TERMINAL_STATES
        graph.record(t.key, t.id, tuple(t.depends_on or ()), t.state if finished else State.SCHEDULED)
        if finished:
            graph.submitted.add(t.key)


def add_task(
    db: Database,
    graph: TaskGraph,
    run_id: int,
    source_id: int,
    key: str,
    stream: str,
    partition: str | None,
    deps: tuple[str, ...],
    values: dict[str, Any] | None = None,
) -> None:
    if key in graph.tasks:  # adopted from the previous driver of a resumed run
        return
    with db.session() as s:
        task = TaskRun(
            run_id=run_id,
            source_id=source_id,
            key=key,
            stream=stream,
            partition=partition,
            partition_values=values,
            depends_on=list(deps),
            state=State.SCHEDULED,
        )
        s.add(task)
        s.flush()
        set_task_state(s, task, State.SCHEDULED)
        tid = task.id
    graph.record(key, tid, deps)


def expand_once(db: Database, graph: TaskGraph, run_id: int, rt: SourceRuntime) -> None:
    """Create the source's per-partition tasks in one transaction (a few statements for any fan-out)."""
    partitions = partitions_of(rt, db)
    plans = [p for p in plan_tasks(rt, partitions) if p.key not in graph.tasks]
    if not plans:
        return
    known = set(graph.tasks) | {p.key for p in plans}
    rows: list[dict[str, Any]] = [
        {
            "run_id": run_id,
            "source_id": rt.source_id,
            "key": p.key,
            "stream": p.stream,
            "partition": p.partition.key if p.partition else None,
            # what the worker formats paths with: it builds the task's partition from its row
            "partition_values": dict(p.partition.values) if p.partition else None,
            "depends_on": [d for d in p.depends_on if d in known],
            "state": State.SCHEDULED,
        }
        for p in plans
    ]
    now = utcnow()
    with db.session() as s:
        s.execute(insert(TaskRun), rows)
        ids = dict(
            s.execute(
                select(TaskRun.key, TaskRun.id).where(
                    TaskRun.run_id == run_id, TaskRun.key.in_([r["key"] for r in rows])
                )
            )
            .tuples()
            .all()
        )
        s.execute(
            insert(TaskRunState),
            [{"task_run_id": ids[r["key"]], "state": State.SCHEDULED, "at": now} for r in rows],
        )
    for r in rows:
        graph.record(r["key"], ids[r["key"]], tuple(r["depends_on"]))
