"""How the API hands over a run it just created: to Celery (HEADWATER_BROKER_URL) or to a
bounded thread pool inside the server process (no broker)."""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import select

from headwater.app import App
from headwater.queue import InProcessQueue, RunExecutor, enqueue_run
from storage.models import ACTIVE_STATES, Run

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        """Hand the run over; returns how ("queued", "in-process"). Raises when it cannot."""
        ...

    def start(self) -> None:
        """Server start-up (optional work such as picking up runs a previous server left)."""
        ...

    def close(self) -> None: ...


class BrokerDispatcher:
    def __init__(self, hw: App) -> None:
        self.hw = hw

    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        enqueue_run(self.hw, run_id, trigger=trigger)
        return "queued"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalDispatcher:
    """Runs executed by ``HEADWATER_INPROCESS_RUNS`` threads of the API server."""

    def __init__(
        self,
        hw: App,
        executor: RunExecutor | None = None,
        *,
        concurrency: int | None = None,
        busy_retry_s: float = 1.0,
        recheck_s: float = 30.0,
    ) -> None:
        self.hw = hw
        self.executor = executor or RunExecutor(hw)
        self.queue = InProcessQueue(
            self.executor.execute,
            concurrency=concurrency or hw.settings.inprocess_runs,
            on_error=lambda run_id, exc: self.executor.give_up(run_id, f"{type(exc).__name__}: {exc}"),
            busy_retry_s=busy_retry_s,
            recheck_s=recheck_s,
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


def make_dispatcher(hw: App) -> Dispatcher:
    return BrokerDispatcher(hw) if hw.settings.broker_url else LocalDispatcher(hw)
