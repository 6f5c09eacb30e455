"""Run-level operations shared by the CLI, the HTTP API and the Celery worker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from pipelines.cluster import close, connect
from pipelines.driver import Driver
from pipelines.runners import DaskRunner, SerialRunner, TaskRunner
from pipelines.state import create_run
from pipelines.worker import WorkerConfig
from storage import Database
from storage.models import Run, Tenant, Trigger
from tenancy import TenancyError, Vault, get_source


@contextlib.contextmanager
def dask_runner(cfg: WorkerConfig, address: str | None, *, workers: int = 2, threads: int = 16) -> Iterator[TaskRunner]:
    client = connect(address, workers=workers, threads=threads)
    try:
        yield DaskRunner(client, cfg)
    finally:
        close(client)


def request_run(
    db: Database,
    tenant: Tenant,
    *,
    trigger: str = Trigger.REFRESH,
    source_id: int | None = None,
    full: bool = False,
    requested_by: str | None = None,
) -> tuple[Run, bool]:
    with db.session() as s:
        if source_id is not None:
            get_source(s, tenant, source_id)
        return create_run(s, tenant, trigger=trigger, source_id=source_id, full=full, requested_by=requested_by)


def request_retry(db: Database, run_id: int, requested_by: str | None = None) -> Run:
    """A new run (trigger ``retry``, linked to ``run_id``) for just its failed tasks and dependents."""
    with db.session() as s:
        old = s.get(Run, run_id)
        if old is None:
            raise TenancyError(f"run {run_id} does not exist")
        if old.state not in ("FAILED", "CRASHED", "CANCELLED"):
            raise TenancyError(f"run {run_id} is {old.state}: only a failed or crashed run can be retried")
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
    on_finished: Callable[[int], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Execute a run to its end on the given runner, a new Dask client, or serially."""
    if runner is not None:
        return Driver(db, vault, runner, on_finished=on_finished, on_progress=on_progress).execute(run_id)
    if serial:
        return Driver(db, vault, SerialRunner(cfg), on_finished=on_finished, on_progress=on_progress).execute(run_id)
    with dask_runner(cfg, dask_address, workers=workers, threads=threads) as r:
        return Driver(db, vault, r, on_finished=on_finished, on_progress=on_progress).execute(run_id)


def latest_run(db: Database, tenant_id: int) -> Run | None:
    with db.session() as s:
        return s.execute(select(Run).where(Run.tenant_id == tenant_id).order_by(Run.id.desc()).limit(1)).scalar()
