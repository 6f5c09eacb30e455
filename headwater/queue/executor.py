"""Executing runs in this process: a driver per run, its tasks on one shared Dask client.

Used by the Celery worker (one executor per worker process, runs on its threads) and by the
API server's in-process queue when no broker is configured.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from headwater.alerts import run_finished_hook
from headwater.app import App, worker_config
from pipelines import DaskRunner, TaskRunner, WorkerConfig, execute_run, set_run_state
from pipelines.cluster import close, connect
from pipelines.state import QUEUED, scope_key
from storage.models import Run, State

log = logging.getLogger(__name__)

RunnerFactory = Callable[[WorkerConfig], TaskRunner]


class RunExecutor:
    """``execute(run_id)`` drives one run to its end (or raises IllegalTransition when its scope
    is busy). Thread-safe: several runs may be driven at once, sharing the Dask client."""

    def __init__(self, hw: App, *, runner_factory: RunnerFactory | None = None, alerts: bool = True) -> None:
        self.hw = hw
        self.cfg = worker_config(hw)
        self._runner_factory = runner_factory
        self._on_finished = run_finished_hook(hw) if alerts else None
        self._client: Any = None
        self._lock = threading.Lock()

    def _runner(self, run_id: int) -> TaskRunner:
        if self._runner_factory is not None:
            return self._runner_factory(self.cfg)
        return DaskRunner(
            self._dask(),
            self.cfg,
            no_workers_timeout_s=self.hw.settings.dask_no_workers_timeout_s,
            run_priority=self._priority(run_id),
        )

    def _priority(self, run_id: int) -> int:
        """The run's class on the shared cluster (run.priority: clicks 0 .. backfills 9)."""
        with self.hw.db.read() as s:
            priority = s.execute(select(Run.priority).where(Run.id == run_id)).scalar()
        return int(priority or 0)

    def scope(self, run_id: int) -> str | None:
        """The run's tenant scope (one run of it runs at a time), or None if there is no such run."""
        with self.hw.db.read() as s:
            row = s.execute(select(Run.tenant_id, Run.source_id).where(Run.id == run_id)).first()
        return scope_key(row.tenant_id, row.source_id) if row else None

    def _dask(self) -> Any:
        s = self.hw.settings
        with self._lock:
            if self._client is not None and self._client.status in ("closed", "closing"):
                close(self._client)
                self._client = None
            if self._client is None:
                self._client = connect(
                    s.dask_address,
                    workers=s.local_dask_workers,
                    threads=s.dask_threads,
                    processes=s.local_dask_processes(long_lived=True),
                )
            return self._client

    def execute(self, run_id: int) -> str:
        return execute_run(
            self.hw.db,
            self.hw.vault,
            self.cfg,
            run_id,
            runner=self._runner(run_id),
            on_finished=self._on_finished,
            recover_on_start=not self.hw.settings.broker_url,
        )

    def give_up(self, run_id: int, reason: str) -> bool:
        """Fail a run that could not even be started (it stays visible, and can be retried)."""
        with self.hw.db.session() as s:
            run = s.get(Run, run_id)
            if run is None or State(run.state) not in QUEUED:
                return False
            return set_run_state(s, run, State.FAILED, f"could not be started: {reason}"[:4000])

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    close(self._client)
                except Exception:  # shutting down: a cluster already gone is fine
                    log.debug("closing the Dask client failed", exc_info=True)
                self._client = None
