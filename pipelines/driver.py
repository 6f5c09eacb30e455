"""The driver of one run: builds the tenant's task graph as it goes and executes it.

Per source: a discovery task (repositories, projects, channels …) runs first; when it
completes, the source's partitions are read once and one task per (partition, stream) is
created, carrying the partition's values (its worker reads no partition listing), each
waiting for the tasks it depends on (child streams after their parents). A task whose
dependency did not complete is CANCELLED with the reason; everything else keeps going. The
run ends COMPLETED, or FAILED with how many tasks failed and why; a retry run re-executes only
the failed tasks and their dependents.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from connectors.runtime import SourceRuntime, discovery_plan
from linking import STREAM as DERIVED
from pipelines.closing import close_run
from pipelines.liveness import (
    _DRIVING,
    _DRIVING_LOCK,
    HEARTBEAT_S,
    REQUEUED,
    Heartbeat,
    driver_alive,
    driver_id,
    recover_crashed_runs,
)
from pipelines.logcontext import log_context
from pipelines.runners import TaskRunner
from pipelines.state import (
    RETRYABLE,
    RUN_LOCK,
    IllegalTransition,
    set_run_state,
    set_task_state,
    transition_task,
)
from pipelines.taskgraph import TaskGraph, add_task, adopt, expand_once
from storage import Database
from storage.models import TERMINAL_STATES, Run, Source, State, TaskRun, Tenant
from tenancy import Vault, runtime_for

log = logging.getLogger(__name__)


class Driver:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        runner: TaskRunner,
        *,
        on_finished: Callable[[int], None] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        recover_on_start: bool = True,
    ) -> None:
        self.db = db
        self.vault = vault
        self.runner = runner
        self.on_finished = on_finished
        self.on_progress = on_progress
        # Without a broker, the next driver to start closes runs whose driver died. With one,
        # the scheduler re-queues them to be resumed instead (headwater.schedule.recover).
        self.recover_on_start = recover_on_start

    # -- entry point ---------------------------------------------------------------------
    def execute(self, run_id: int) -> str:
        """Run ``run_id`` to a terminal state and return it. Raises IllegalTransition when
        another run of the same scope is running (the caller re-queues). Returns the current
        (non-terminal) state when another live driver is driving it (a duplicate delivery)."""
        with _DRIVING_LOCK:
            if run_id in _DRIVING:
                return State.RUNNING
            _DRIVING.add(run_id)
        try:
            with log_context(tenant=self._tenant_slug(run_id), run_id=run_id):
                return self._execute(run_id)
        finally:
            with _DRIVING_LOCK:
                _DRIVING.discard(run_id)

    def _tenant_slug(self, run_id: int) -> str | None:
        with self.db.session() as s:
            return s.execute(select(Tenant.slug).join(Run, Run.tenant_id == Tenant.id).where(Run.id == run_id)).scalar()

    def _execute(self, run_id: int) -> str:
        if self.recover_on_start:
            for crashed in recover_crashed_runs(self.db, exclude=run_id):
                self._finished(crashed)
        resumed = False
        with self.db.session() as s:
            # The row lock serializes two deliveries of the same run (PostgreSQL; SQLite
            # serializes writers anyway).
            run = s.get(Run, run_id, with_for_update=RUN_LOCK)
            if run is None:
                raise LookupError(f"run {run_id} does not exist")
            if State(run.state) in TERMINAL_STATES:
                return run.state
            if run.state in (State.RUNNING, State.RETRYING):
                # Re-delivered: resume only if its previous driver is gone.
                if run.driver not in (None, driver_id(), REQUEUED) and driver_alive(run):
                    return run.state
                set_run_state(s, run, State.RETRYING, "resumed after its previous driver stopped")
                for t in s.execute(select(TaskRun).where(TaskRun.run_id == run.id)).scalars():
                    if t.state in (State.RUNNING, State.RETRYING):
                        set_task_state(s, t, State.RETRYING, "its driver stopped; re-executing")
                resumed = True
            else:
                set_run_state(s, run, State.PENDING)
            run.driver = driver_id()
            set_run_state(s, run, State.RUNNING)
            full, trigger, parent = run.full, run.trigger, run.parent_run_id
            tenant_id, source_id = run.tenant_id, run.source_id
        graph = TaskGraph()
        beat = Heartbeat(self.db, run_id)
        beat.start()
        try:
            if resumed:
                self._adopt(graph, run_id)
            self._build(graph, run_id, tenant_id, source_id, trigger, parent)
            self._loop(graph, run_id, full, beat)
        except Exception as exc:
            log.exception("run %s: driver error", run_id)
            return self._finish(run_id, graph, error=f"driver error: {type(exc).__name__}: {exc}")
        finally:
            beat.stop()
        return self._finish(run_id, graph)

    def _adopt(self, graph: TaskGraph, run_id: int) -> None:
        adopt(self.db, graph, run_id)

    # -- graph ---------------------------------------------------------------------------
    def _sources(self, tenant_id: int, source_id: int | None) -> list[Source]:
        with self.db.session() as s:
            q = select(Source).where(Source.tenant_id == tenant_id, Source.enabled.is_(True))
            if source_id is not None:
                q = q.where(Source.id == source_id)
            return list(s.execute(q.order_by(Source.id)).scalars())

    def _build(
        self, graph: TaskGraph, run_id: int, tenant_id: int, source_id: int | None, trigger: str, parent: int | None
    ) -> None:
        sources = {s.id: s for s in self._sources(tenant_id, source_id)}
        if trigger == "retry" and parent is not None:
            self._build_retry(graph, run_id, parent, sources)
            return
        for src in sources.values():
            try:
                rt = runtime_for(src, self.vault)
            except Exception as exc:  # bad stored options/secrets: fail that source only
                key = f"{src.id}:setup:-"
                if key in graph.tasks:
                    continue
                add_task(self.db, graph, run_id, src.id, key, "setup", None, ())
                self._fail_now(graph, key, "CONFIG", f"source {src.id} ({src.kind}) cannot be read: {exc}")
                continue
            disc = discovery_plan(rt)
            if disc is None:
                self._expand(graph, run_id, rt)
                continue
            add_task(self.db, graph, run_id, src.id, disc.key, disc.stream, None, ())
            if graph.state.get(disc.key) == State.COMPLETED:  # resumed: discovered already
                self._expand(graph, run_id, rt)
            else:
                graph.discovery[disc.key] = rt

    def _build_retry(self, graph: TaskGraph, run_id: int, parent: int, sources: dict[int, Source]) -> None:
        with self.db.session() as s:
            old = list(s.execute(select(TaskRun).where(TaskRun.run_id == parent).order_by(TaskRun.id)).scalars())
        redo = {t.key for t in old if State(t.state) in RETRYABLE}
        # Dependents of what is redone are redone too (they read what it loads).
        changed = True
        while changed:
            changed = False
            for t in old:
                if t.key not in redo and any(d in redo for d in t.depends_on):
                    redo.add(t.key)
                    changed = True
        for t in old:
            if t.key not in redo or t.source_id not in sources:
                continue
            src = sources[t.source_id]
            deps = tuple(d for d in t.depends_on if d in redo)
            # The partition's values travel with the task: the retry reads no partition listing.
            add_task(self.db, graph, run_id, t.source_id, t.key, t.stream, t.partition, deps, values=t.partition_values)
            rt = runtime_for(src, self.vault)
            disc = discovery_plan(rt)
            if disc is not None and t.key == disc.key:
                graph.discovery[t.key] = rt

    def _expand(self, graph: TaskGraph, run_id: int, rt: SourceRuntime) -> None:
        """Create the source's per-partition tasks in one transaction (a few statements for any fan-out)."""
        self.db.retrying(lambda: self._expand_once(graph, run_id, rt), what=f"run {run_id} planning")

    def _expand_once(self, graph: TaskGraph, run_id: int, rt: SourceRuntime) -> None:
        expand_once(self.db, graph, run_id, rt)

    def _add_derived(self, graph: TaskGraph, run_id: int) -> None:
        """The tenant's derived task (identities, work links: ``linking.task``), after every stream
        task of the run; it runs on a worker like any task, attached to the run's first source."""
        if not graph.tasks or DERIVED in graph.tasks:
            return
        with self.db.session() as s:
            anchor = s.execute(select(func.min(TaskRun.source_id)).where(TaskRun.run_id == run_id)).scalar()
        if anchor is not None:
            add_task(self.db, graph, run_id, anchor, DERIVED, DERIVED, None, tuple(graph.tasks))

    def _fail_now(self, graph: TaskGraph, key: str, kind: str, message: str) -> None:
        with self.db.session() as s:
            task = s.get(TaskRun, graph.tasks[key])
            assert task is not None
            set_task_state(s, task, State.FAILED, message, error_kind=kind)
        graph.state[key] = State.FAILED
        graph.submitted.add(key)

    # -- execution -----------------------------------------------------------------------
    def _loop(self, graph: TaskGraph, run_id: int, full: bool, beat: Heartbeat) -> None:
        planned = False
        while True:
            self._submit_ready(graph, full)
            if not planned and all(State(graph.state[k]) in TERMINAL_STATES for k in graph.discovery):
                # Every discovery expanded: the graph is whole. Recovery trusts this number when
                # it finds the run without a driver (all of these completed: the run completed).
                planned = True
                self._add_derived(graph, run_id)
                self._set_run(run_id, tasks_total=len(graph.tasks))
            if not self.runner.busy and all(k in graph.submitted for k in graph.tasks):
                break
            for task_id, summary in self.runner.wait(timeout=HEARTBEAT_S):
                key = graph.key_of[task_id]
                state = str(summary.get("state"))
                if state == "LOST":  # finished or not: the task's row knows
                    state = self._settle_lost(task_id, summary)
                elif "error" in summary:  # lost on Dask (worker died, no workers): record why
                    self._record_lost(task_id, State(state), summary)
                graph.state[key] = state
                if key in graph.discovery and state == State.COMPLETED:
                    self._expand(graph, run_id, graph.discovery[key])
                if self.on_progress:
                    self.on_progress(self._progress(graph))
            if beat.cancelled.is_set():
                # Cancelled (CLI, API, dashboard, Ctrl-C): stop submitting, drop what is
                # queued on Dask; running tasks stop at their next request on their own.
                log.debug("run %s was cancelled; stopping its tasks", run_id)
                self.runner.cancel()
                return

    def _settle_lost(self, task_id: int, summary: dict[str, Any]) -> str:
        """A task whose summary never came back: its recorded outcome if it has one, else CRASHED."""

        def settle() -> str:
            with self.db.session() as s:
                current = State(s.execute(select(TaskRun.state).where(TaskRun.id == task_id)).scalar_one())
                if current in TERMINAL_STATES:
                    return str(current)
                transition_task(s, task_id, State.CRASHED, str(summary["error"])[:4000], error_kind="CRASH")
                return str(State.CRASHED)

        return self.db.retrying(settle, what=f"task {task_id}")

    def _record_lost(self, task_id: int, state: State, summary: dict[str, Any]) -> None:
        def write() -> None:
            with self.db.session() as s:
                transition_task(s, task_id, state, str(summary["error"])[:4000], error_kind=summary.get("error_kind"))

        self.db.retrying(write, what=f"task {task_id}")

    def _set_run(self, run_id: int, **values: Any) -> None:
        def write() -> None:
            with self.db.session() as s:
                s.execute(update(Run).where(Run.id == run_id).values(**values))

        self.db.retrying(write, what=f"run {run_id}")

    def _submit_ready(self, graph: TaskGraph, full: bool) -> None:
        """Cancel tasks whose upstream failed, submit those whose upstream completed (one transaction)."""
        cancel: list[tuple[str, str]] = []
        ready: list[str] = []
        for key in graph.tasks:
            if key in graph.submitted:
                continue
            deps = graph.deps[key]
            if key == DERIVED:  # derives from what its upstream loaded, whatever became of them
                if all(graph.state.get(d) in TERMINAL_STATES for d in deps):
                    ready.append(key)
                continue
            bad = [d for d in deps if graph.state.get(d) in (State.FAILED, State.CRASHED, State.CANCELLED)]
            if bad:
                cancel.append((key, bad[0]))
            elif all(graph.state.get(d) == State.COMPLETED for d in deps):
                ready.append(key)
        if not cancel and not ready:
            return

        # In id order, as a cancel of the run locks them (PostgreSQL never deadlocks the two).
        moves = sorted(
            [
                (graph.tasks[key], State.CANCELLED, f"skipped: upstream task {upstream} did not complete")
                for key, upstream in cancel
            ]
            + [(graph.tasks[key], State.PENDING, None) for key in ready],
            key=lambda move: move[0],
        )

        def write() -> None:
            with self.db.session() as s:
                for task_id, state, message in moves:
                    transition_task(s, task_id, state, message)

        self.db.retrying(write, what="task transitions")
        for key, _ in cancel:
            graph.state[key] = State.CANCELLED
            graph.submitted.add(key)
        for key in ready:
            graph.state[key] = State.PENDING
            graph.submitted.add(key)
            # Discovery first, then parents before children: deeper tasks get lower priority.
            self.runner.submit(graph.tasks[key], full=full, priority=10 - len(graph.deps[key]))

    def _progress(self, graph: TaskGraph) -> dict[str, Any]:
        states = Counter(graph.state.values())
        done = sum(n for st, n in states.items() if st in {s.value for s in TERMINAL_STATES})
        return {"total": len(graph.tasks), "done": done, "states": dict(states)}

    def _finish(self, run_id: int, graph: TaskGraph, error: str | None = None) -> str:
        state = self.db.retrying(lambda: self._close(run_id, error), what=f"run {run_id} end")
        self._finished(run_id)
        return state

    def _close(self, run_id: int, error: str | None) -> State:
        return close_run(self.db, run_id, error)

    def _finished(self, run_id: int) -> None:
        if self.on_finished:
            try:
                self.on_finished(run_id)
            except Exception:
                log.exception("run %s: on_finished hook failed", run_id)


__all__ = ["Driver", "IllegalTransition"]
