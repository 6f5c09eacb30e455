"""The run service: the one way the CLI, the HTTP API, the scheduler and the queue request,
hand over, wait for and cancel runs.

* **request** a run (coalesced per tenant scope; ``full`` upgrades a waiting run) and hand it
  to a :class:`Dispatcher`: the Celery queue when ``HEADWATER_BROKER_URL`` is set, else the API
  server's own thread pool (:class:`LocalDispatcher`) or, for the CLI and the scheduler, a
  detached ``headwater run execute`` process. A hand-over that fails marks the run FAILED with
  what is down (its coalescing keys are released, so the next click starts afresh) and raises
  :class:`DispatchError`.
* **wait** for a run, never forever: a run left waiting past ``HEADWATER_RUN_LEASE_S`` with
  nothing keeping it waiting is failed with the reason, and a run whose driver stopped
  beating is reported.
* **cancel** a waiting or running run (cooperative: see :func:`pipelines.state.cancel_run`).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select

from headwater.app import App, worker_config
from headwater.errors import describe
from pipelines import execute_run, set_run_state
from pipelines.liveness import STALE_AFTER, driver_alive
from pipelines.service import Attempt, attempt, cancel, request_retry, request_run
from pipelines.state import QUEUED, expire_queued_runs
from storage.models import ACTIVE_STATES, TERMINAL_STATES, Run, State, Tenant, Trigger

log = logging.getLogger(__name__)


class DispatchError(RuntimeError):
    """The run could not be handed over; it was marked FAILED with this message."""


class Dispatcher(Protocol):
    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        """Hand the run over; returns how ("queued", "in-process", "detached"). Raises when it cannot."""
        ...

    def start(self) -> None:
        """Server start-up (optional work such as picking up runs a previous server left)."""
        ...

    def close(self) -> None: ...


class BrokerDispatcher:
    """The Celery queue (``refresh`` for clicks and retries, ``backfill`` for the rest)."""

    def __init__(self, hw: App) -> None:
        self.hw = hw

    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        from headwater.queue.tasks import enqueue_run

        enqueue_run(self.hw, run_id, trigger=trigger, priority=priority)
        return "queued"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class DetachedDispatcher:
    """No broker, no server: a detached ``headwater run execute RUN_ID`` process drives the run,
    so the command that asked can return at once."""

    def __init__(self, hw: App) -> None:
        self.hw = hw

    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        log_file = (self.hw.settings.home / "runs.log").open("ab")
        subprocess.Popen(
            [sys.executable, "-m", "headwater", "run", "execute", str(run_id)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
        )
        return "detached"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalDispatcher:
    """Runs executed by ``HEADWATER_INPROCESS_RUNS`` threads of the API server (no broker)."""

    def __init__(
        self,
        hw: App,
        executor: Any = None,
        *,
        concurrency: int | None = None,
        busy_retry_s: float | None = None,
        recheck_s: float | None = None,
    ) -> None:
        from headwater.queue import InProcessQueue, RunExecutor

        self.hw = hw
        self.executor = executor or RunExecutor(hw)
        self.queue = InProcessQueue(
            self.executor.execute,
            concurrency=concurrency or hw.settings.inprocess_runs,
            on_error=lambda run_id, exc: self.executor.give_up(run_id, describe(exc, hw.settings)),
            busy_retry_s=busy_retry_s,
            recheck_s=recheck_s,
            scope_of=getattr(self.executor, "scope", None),
        )

    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        self.queue.submit(run_id, priority)
        return "in-process"

    def start(self) -> None:
        """Pick up runs left waiting (or running, with their driver gone) by a previous server."""
        with self.hw.db.session() as s:
            rows = s.execute(
                select(Run.id, Run.priority).where(Run.state.in_([str(x) for x in ACTIVE_STATES])).order_by(Run.id)
            ).all()
        for run_id, priority in rows:
            self.queue.submit(run_id, priority)
        if rows:
            log.info("picked up %d unfinished runs", len(rows))

    def close(self) -> None:
        self.queue.close()
        if self.queue.running:
            # Closing Dask under running drivers would fail their tasks; left alone, the runs
            # are resumed by the next server (their driver is gone).
            log.warning("shutting down with %d runs executing; they resume on the next start", self.queue.running)
            return
        self.executor.close()


def make_dispatcher(hw: App, *, in_process: bool = False) -> Dispatcher:
    """The broker when configured; else the server's pool (``in_process``) or a detached process."""
    if hw.settings.broker_url:
        return BrokerDispatcher(hw)
    return LocalDispatcher(hw) if in_process else DetachedDispatcher(hw)


@dataclass
class Accepted:
    run_id: int
    state: str
    coalesced: bool
    trigger: str
    dispatched: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RunService:
    def __init__(self, app: App, dispatcher: Dispatcher | None = None) -> None:
        self.app = app
        self.dispatcher = dispatcher if dispatcher is not None else make_dispatcher(app)

    # -- request and hand over ---------------------------------------------------------
    def request(
        self,
        tenant: Tenant,
        *,
        trigger: str = Trigger.REFRESH,
        source_id: int | None = None,
        full: bool = False,
        requested_by: str | None = None,
        dispatch: bool = True,
    ) -> Accepted:
        """Create (or join) the run; a new one is handed over unless ``dispatch=False`` (the
        caller drives it itself). Raises DispatchError when the hand-over failed."""
        run, coalesced = request_run(
            self.app.db, tenant, trigger=trigger, source_id=source_id, full=full, requested_by=requested_by
        )
        accepted = Accepted(run.id, run.state, coalesced, run.trigger)
        if dispatch and not coalesced:
            accepted.dispatched = self.dispatch(run.id, run.trigger, run.priority)
        return accepted

    def retry(self, run_id: int, *, requested_by: str | None = None, dispatch: bool = True) -> Accepted:
        run = request_retry(self.app.db, run_id, requested_by=requested_by)
        accepted = Accepted(run.id, run.state, False, run.trigger)
        if dispatch:
            accepted.dispatched = self.dispatch(run.id, run.trigger, run.priority)
        return accepted

    def dispatch(self, run_id: int, trigger: str, priority: int) -> str:
        try:
            return self.dispatcher.dispatch(run_id, trigger=trigger, priority=priority)
        except Exception as exc:
            why = f"could not be queued: {describe(exc, self.app.settings)}"
            log.debug("run %s %s", run_id, why)
            with self.app.db.session() as s:
                row = s.get(Run, run_id)
                if row is not None and State(row.state) in QUEUED:
                    set_run_state(s, row, State.FAILED, why[:4000])
            raise DispatchError(f"run {run_id} {why}") from exc

    # -- cancel --------------------------------------------------------------------------
    def cancel(self, run_id: int, *, by: str, reason: str | None = None) -> Run:
        return cancel(self.app.db, run_id, by=by, reason=reason)

    # -- wait ----------------------------------------------------------------------------
    def wait(self, run_id: int, *, poll_s: float = 0.5, on_poll: Callable[[], None] | None = None) -> str:
        """The run's terminal state (or "MISSING"). Never waits forever: a run still waiting past
        the lease is failed (:func:`pipelines.state.expire_queued_runs`); a running run whose
        driver has not beaten for twice the staleness raises :class:`DispatchError`."""
        lease = timedelta(seconds=self.app.settings.run_lease_s)
        while True:
            with self.app.db.session() as s:
                run = s.get(Run, run_id)
                if run is None:
                    return "MISSING"
                if State(run.state) in QUEUED:
                    expire_queued_runs(s, lease=lease, run_id=run_id)
                state = State(run.state)
                if state in TERMINAL_STATES:
                    return str(state)
                if state not in QUEUED and not driver_alive(run, STALE_AFTER * 2):
                    raise DispatchError(
                        f"run {run_id}'s driver stopped sending heartbeats ({run.driver or 'unknown'}); "
                        f"it will be resumed or marked CRASHED: see `headwater run show {run_id}`"
                    )
            if on_poll:
                on_poll()
            time.sleep(poll_s)


def run_state(app: App, run_id: int) -> str:
    with app.db.session() as s:
        run = s.get(Run, run_id)
        return run.state if run else "MISSING"


def execute_inline(
    app: App,
    run_id: int,
    *,
    serial: bool = False,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    on_finished: Callable[[int], None] | None = None,
    runner: Any = None,
) -> str:
    """Execute a run in this process (its tasks on Dask), waiting its turn if its scope is busy."""
    s = app.settings

    def execute(rid: int) -> str:
        return execute_run(
            app.db,
            app.vault,
            worker_config(app, max_in_flight=1 if serial else None),
            rid,
            runner=runner,
            dask_address=s.dask_address,
            serial=serial,
            workers=s.local_dask_workers,
            threads=s.dask_threads,
            no_workers_timeout_s=s.dask_no_workers_timeout_s,
            processes=s.local_dask_processes(),
            on_progress=on_progress,
            on_finished=on_finished,
        )

    while True:
        outcome: Attempt = attempt(execute, run_id)
        if outcome.state is not None:
            return outcome.state
        if outcome.elsewhere:  # someone else drives it: follow it instead
            return RunService(app).wait(run_id)
        time.sleep(outcome.retry_in or 1.0)
