"""Run-level operations shared by the CLI, the HTTP API and the Celery worker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from pipelines.cluster import close, connect
from pipelines.driver import Driver
from pipelines.runners import DaskRunner, SerialRunner, TaskRunner
from pipelines.state import QUEUED, RETRYABLE, RUN_LOCK, IllegalTransition, cancel_run, create_run
from pipelines.worker import WorkerConfig
from storage import Database
from storage.models import TERMINAL_STATES, Run, State, TaskRun, Tenant, Trigger
from tenancy import Vault, get_source


@contextlib.contextmanager
def dask_runner(
    cfg: WorkerConfig,
    address: str | None,
    *,
    workers: int = 2,
    threads: int = 16,
    no_workers_timeout_s: float = 60.0,
    processes: bool = True,
) -> Iterator[TaskRunner]:
    client = connect(address, workers=workers, threads=threads, processes=processes)
    try:
        yield DaskRunner(client, cfg, no_workers_timeout_s=no_workers_timeout_s)
    finally:
        close(client)


class RunRefused(RuntimeError):
    """A run operation that cannot be done as asked (cancel a finished run, retry nothing); the
    message says why and what to do instead."""


def request_run(
    db: Database,
    tenant: Tenant,
    *,
    trigger: str = Trigger.REFRESH,
    source_id: int | None = None,
    full: bool = False,
    requested_by: str | None = None,
) -> tuple[Run, bool]:
    """A new SCHEDULED run, or the run already waiting for the same scope (``coalesced``).

    The one way every entry point (CLI, API, scheduler, onboarding) asks for a run: a full
    refresh joining a waiting incremental run makes it full."""
    with db.session() as s:
        if source_id is not None:
            get_source(s, tenant, source_id)
        run, coalesced = create_run(
            s, tenant, trigger=trigger, source_id=source_id, full=full, requested_by=requested_by
        )
        if coalesced and full and not run.full and State(run.state) in QUEUED:
            run.full = True
            s.flush()
        return run, coalesced


def request_retry(db: Database, run_id: int, requested_by: str | None = None) -> Run:
    """A new run (trigger ``retry``, linked to ``run_id``) for just its failed tasks and dependents."""
    with db.session() as s:
        old = s.get(Run, run_id)
        if old is None:
            raise LookupError(f"run {run_id} does not exist")
        if State(old.state) not in RETRYABLE:
            raise RunRefused(f"run {run_id} is {old.state}: only a failed, crashed or cancelled run can be retried")
        redo = s.execute(
            select(func.count())
            .select_from(TaskRun)
            .where(TaskRun.run_id == run_id, TaskRun.state.in_([str(x) for x in RETRYABLE]))
        ).scalar_one()
        if not redo:
            raise RunRefused(
                f"run {run_id} has no failed, crashed or cancelled task to retry; start a new refresh instead"
            )
        tenant = s.get(Tenant, old.tenant_id)
        assert tenant is not None
        run, _ = create_run(
            s,
            tenant,
            trigger=Trigger.RETRY,
            source_id=old.source_id,
            full=old.full,
            requested_by=requested_by,
            parent_run_id=old.id,
        )
        return run


def cancel(db: Database, run_id: int, *, by: str, reason: str | None = None) -> Run:
    """Cancel a waiting or running run (:func:`pipelines.state.cancel_run`); refused when finished."""
    with db.session() as s:
        run = s.get(Run, run_id, with_for_update=RUN_LOCK)
        if run is None:
            raise LookupError(f"run {run_id} does not exist")
        if not cancel_run(s, run, by=by, reason=reason):
            raise RunRefused(f"run {run_id} is already {run.state}: only a waiting or running run can be cancelled")
        s.expunge(run)
        return run


@dataclass(frozen=True)
class Attempt:
    """What came of one attempt to execute a run: its terminal ``state``, or ``retry_in`` seconds
    (its scope is busy, or another live driver drives it). Every queue (Celery, the API's
    in-process pool, the CLI inline) decides "try again later" by this one rule."""

    state: str | None = None
    retry_in: float | None = None
    why: str = ""
    elsewhere: bool = False  # another live driver drives it (rather than: its scope is busy)


BUSY_RETRY_S = 2.0  # the scope's previous run is still running
ELSEWHERE_RETRY_S = 30.0  # another live driver drives this run: look again later


def attempt(execute: Callable[[int], str], run_id: int) -> Attempt:
    try:
        state = execute(run_id)
    except IllegalTransition as exc:
        return Attempt(retry_in=BUSY_RETRY_S, why=str(exc))
    except LookupError as exc:
        return Attempt(state="MISSING", why=str(exc))
    if State(state) not in TERMINAL_STATES:
        return Attempt(retry_in=ELSEWHERE_RETRY_S, why="another live driver is driving it", elsewhere=True)
    return Attempt(state=state)


def execute_run(
    db: Database,
    vault: Vault,
    cfg: WorkerConfig,
    run_id: int,
    *,
    runner: TaskRunner | None = None,
    dask_address: str | None = None,
    serial: bool = False,
    workers: int = 2,
    threads: int = 16,
    no_workers_timeout_s: float = 60.0,
    processes: bool = True,
    recover_on_start: bool = True,
    on_finished: Callable[[int], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Execute a run to its end on the given runner, a new Dask client, or serially."""

    def drive(on: TaskRunner) -> str:
        return Driver(
            db, vault, on, on_finished=on_finished, on_progress=on_progress, recover_on_start=recover_on_start
        ).execute(run_id)

    if runner is not None:
        return drive(runner)
    if serial:
        return drive(SerialRunner(cfg))
    with dask_runner(
        cfg,
        dask_address,
        workers=workers,
        threads=threads,
        no_workers_timeout_s=no_workers_timeout_s,
        processes=processes,
    ) as r:
        return drive(r)


def latest_run(db: Database, tenant_id: int) -> Run | None:
    with db.session() as s:
        return s.execute(select(Run).where(Run.tenant_id == tenant_id).order_by(Run.id.desc()).limit(1)).scalar()
