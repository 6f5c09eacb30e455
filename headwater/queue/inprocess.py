"""The queue used when no broker is configured: a few threads of this process execute runs.

Bounded: ``concurrency`` threads, and at most one entry per run (coalescing already keeps one
waiting run per tenant scope). Ready runs are taken by priority (refresh clicks 0, schedules 5,
onboarding backfills 9), then in arrival order. A run whose scope is busy is put back with a
short delay instead of holding a thread.

Clicks first under load: besides its ``concurrency`` threads for any run, the queue keeps
``reserved`` threads (default: eight times as many) that take only interactive runs (priority
0: refresh clicks, retries), so a click starts at once even while backfills hold every other
thread. A driver thread mostly waits for Dask, so threads are cheap; the work itself is bounded
by the cluster, where a click's tasks go first (``pipelines.runners.dask_priority``).
Tenants take turns by construction: coalescing leaves at most one waiting run per tenant scope,
and runs of one priority are taken in arrival order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from pipelines.service import attempt

log = logging.getLogger(__name__)

INTERACTIVE = 0  # run.priority of refresh clicks and retries


class InProcessQueue:
    def __init__(
        self,
        execute: Callable[[int], str],
        *,
        concurrency: int = 4,
        reserved: int | None = None,
        busy_retry_s: float | None = None,
        recheck_s: float | None = None,
        on_error: Callable[[int, BaseException], object] | None = None,
        name: str = "headwater-run",
    ) -> None:
        self._execute = execute
        self._concurrency = max(1, concurrency)
        self._reserved = 8 * self._concurrency if reserved is None else max(0, reserved)
        self._busy_retry_s = busy_retry_s
        self._recheck_s = recheck_s
        self._on_error = on_error
        self._name = name
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._ready: list[tuple[int, int, int]] = []  # (priority, seq, run id)
        self._later: list[tuple[float, int, int, int]] = []  # (due, priority, seq, run id)
        self._waiting: set[int] = set()
        self._running: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -- producer side -------------------------------------------------------------------
    def submit(self, run_id: int, priority: int = 0, delay: float = 0.0) -> bool:
        """Queue a run; False if it is already waiting here (or the queue is closed)."""
        with self._cond:
            if self._closed or run_id in self._waiting:
                return False
            self._waiting.add(run_id)
            seq = next(self._seq)
            if delay > 0:
                heapq.heappush(self._later, (time.monotonic() + delay, priority, seq, run_id))
            else:
                heapq.heappush(self._ready, (priority, seq, run_id))
            self._start_threads()
            self._cond.notify_all()  # a reserved thread may not take it: let every idle one look
            return True

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is waiting or running; False on timeout (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._waiting or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking runs. Runs still executing are left to finish (or, if the process
        exits first, to be resumed by the next driver: their driver is then gone)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # -- worker side ---------------------------------------------------------------------
    def _start_threads(self) -> None:
        while len(self._threads) < self._concurrency + self._reserved:
            n = len(self._threads)
            interactive_only = n >= self._concurrency
            name = f"{self._name}-{'click-' if interactive_only else ''}{n}"
            t = threading.Thread(target=self._work, args=(interactive_only,), name=name, daemon=True)
            self._threads.append(t)
            t.start()

    def _take(self, interactive_only: bool = False) -> tuple[int, int] | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                while self._later and self._later[0][0] <= now:
                    _, priority, seq, run_id = heapq.heappop(self._later)
                    heapq.heappush(self._ready, (priority, seq, run_id))
                if self._ready and (not interactive_only or self._ready[0][0] <= INTERACTIVE):
                    priority, _, run_id = heapq.heappop(self._ready)
                    self._waiting.discard(run_id)
                    self._running.add(run_id)
                    return run_id, priority
                timeout = self._later[0][0] - now if self._later else None
                self._cond.wait(timeout)

    def _work(self, interactive_only: bool = False) -> None:
        while (item := self._take(interactive_only)) is not None:
            run_id, priority = item
            try:
                self._run(run_id, priority)
            finally:
                with self._cond:
                    self._running.discard(run_id)
                    self._cond.notify_all()

    def _run(self, run_id: int, priority: int) -> None:
        try:
            outcome = attempt(self._execute, run_id)
        except Exception as exc:
            log.exception("run %s could not be executed", run_id)
            if self._on_error is not None:
                self._on_error(run_id, exc)
            return
        if outcome.state == "MISSING":
            log.warning("run %s: %s", run_id, outcome.why)
        elif outcome.retry_in is not None:
            delay = self._recheck_s if outcome.elsewhere else self._busy_retry_s
            self.submit(run_id, priority, delay=outcome.retry_in if delay is None else delay)
