"""The queue used when no broker is configured: threads of this process execute runs.

Bounded: ``concurrency`` threads for any run, and at most one entry per run (coalescing already
keeps one waiting run per tenant scope). Ready runs are taken by priority (refresh clicks 0,
schedules 5, onboarding backfills 9), then in arrival order. A run whose scope is busy is put
back with a short delay instead of holding a thread (one clock thread makes delayed runs ready),
or, when the queue knows runs' scopes (``scope_of``), as soon as a run of its scope ends here: a
follow-up click then starts when the run it waited for ends, not up to the delay later.

Clicks first under load: interactive runs (priority 0: refresh clicks, retries) also have a lane
of their own. When one is ready and no thread is free to take it, a click thread is started for
it (at most ``reserved``, default :data:`CLICK_THREADS`); a click thread takes only interactive
runs and ends when none is ready. So a click never waits for a thread while backfills hold the
``concurrency`` ones, nor while other clicks hold the lane: measured with bench/load_refresh.py
(20 tenants, 40 scopes clicked within 3 s, 6 backfills), a fixed lane of 32 threads made the
33rd click wait for a click run to end (idle-scope queue wait p95 9 s; on demand: 1.3 s). The
lane's size is bounded by coalescing: at most one running interactive run per tenant scope. A
driver thread mostly waits for Dask, so threads are cheap; the work itself is bounded by the
cluster, where a click's tasks go first and a new run's first tasks before older runs' later
ones (``pipelines.runners.dask_priority``). Tenants take turns by construction: coalescing
leaves at most one waiting run per tenant scope, and runs of one priority are taken in arrival
order.
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
CLICK_THREADS = 256  # at most this many interactive runs driven at once by the click lane


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
        scope_of: Callable[[int], str | None] | None = None,
        name: str = "headwater-run",
    ) -> None:
        self._execute = execute
        self._concurrency = max(1, concurrency)
        self._reserved = CLICK_THREADS if reserved is None else max(0, reserved)
        self._busy_retry_s = busy_retry_s
        self._recheck_s = recheck_s
        self._on_error = on_error
        self._scope_of = scope_of
        self._name = name
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._ready: list[tuple[int, int, int]] = []  # (priority, seq, run id)
        self._later: list[tuple[float, int, int, int]] = []  # (due, priority, seq, run id)
        self._waiting: set[int] = set()
        self._running: set[int] = set()
        self._delayed: dict[int, tuple[int, int]] = {}  # run id -> (seq, priority) of its entry in _later
        self._parked: dict[str, set[int]] = {}  # scope -> delayed runs waiting for it to be free
        self._parked_on: dict[int, str] = {}  # run id -> the scope it is parked on
        self._threads: set[threading.Thread] = set()  # live ones
        self._any_threads = 0
        self._idle_any = 0  # threads for any run, waiting for one
        self._click_threads = 0  # live click-lane threads
        self._click_free = 0  # of those, not executing a run
        self._clock: threading.Thread | None = None
        self._names = itertools.count()
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
                self._delayed[run_id] = (seq, priority)
            else:
                heapq.heappush(self._ready, (priority, seq, run_id))
            self._start_threads()
            self._cond.notify_all()  # the clock may have a new first due time
            return True

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def click_threads(self) -> int:
        """Live threads of the click lane (tests, diagnostics)."""
        with self._cond:
            return self._click_threads

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

    # -- worker side (every method below runs with self._cond held, except the loops) ------
    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=f"{self._name}-{name}", daemon=True)
        self._threads.add(t)
        t.start()

    def _start_threads(self) -> None:
        """The ``concurrency`` threads and the clock once; then a click thread for each ready
        interactive run that no free thread will take."""
        if self._clock is None:
            self._clock = threading.Thread(target=self._tick, name=f"{self._name}-clock", daemon=True)
            self._threads.add(self._clock)
            self._clock.start()
        while self._any_threads < self._concurrency:
            self._any_threads += 1
            self._idle_any += 1  # counted idle from the start: it takes the next ready run
            self._spawn(self._work, str(self._any_threads - 1))
        clicks = sum(1 for priority, _, _ in self._ready if priority <= INTERACTIVE)
        need = clicks - self._idle_any - self._click_free
        while need > 0 and self._click_threads < self._reserved:
            self._click_threads += 1
            self._click_free += 1
            self._spawn(self._work_clicks, f"click-{next(self._names)}")
            need -= 1

    def _tick(self) -> None:
        """The clock: delayed runs (busy scope, driven elsewhere) become ready when due."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                moved = False
                while self._later and self._later[0][0] <= now:
                    _, priority, seq, run_id = heapq.heappop(self._later)
                    if self._delayed.get(run_id, (None, 0))[0] == seq:  # else woken early (_wake)
                        del self._delayed[run_id]
                        self._unpark(run_id)
                        heapq.heappush(self._ready, (priority, seq, run_id))
                        moved = True
                if moved:
                    self._start_threads()
                    self._cond.notify_all()
                self._cond.wait(self._later[0][0] - now if self._later else None)
            self._threads.discard(threading.current_thread())

    def _pop(self) -> tuple[int, int]:
        priority, _, run_id = heapq.heappop(self._ready)
        self._waiting.discard(run_id)
        self._running.add(run_id)
        return run_id, priority

    def _work(self) -> None:
        """A thread for any run: the first ready one by priority, then arrival."""
        while True:
            with self._cond:
                while not self._closed and not self._ready:
                    self._cond.wait()
                if self._closed:
                    self._threads.discard(threading.current_thread())
                    return
                self._idle_any -= 1
                item = self._pop()
            self._run_and_release(*item)
            with self._cond:
                self._idle_any += 1

    def _work_clicks(self) -> None:
        """A click-lane thread: interactive runs only, while one is ready; then it ends."""
        while True:
            with self._cond:
                if self._closed or not self._ready or self._ready[0][0] > INTERACTIVE:
                    self._click_threads -= 1
                    self._click_free -= 1
                    self._threads.discard(threading.current_thread())
                    return
                self._click_free -= 1
                item = self._pop()
            self._run_and_release(*item)
            with self._cond:
                self._click_free += 1

    def _run_and_release(self, run_id: int, priority: int) -> None:
        ended = False
        try:
            ended = self._run(run_id, priority)
        finally:
            with self._cond:
                self._running.discard(run_id)
                self._cond.notify_all()
        if ended and self._parked:
            self._wake(run_id)

    def _run(self, run_id: int, priority: int) -> bool:
        """Attempt the run; True if it ran to its end here (its scope is free again)."""
        try:
            outcome = attempt(self._execute, run_id)
        except Exception as exc:
            log.exception("run %s could not be executed", run_id)
            if self._on_error is not None:
                self._on_error(run_id, exc)
            return False
        if outcome.state == "MISSING":
            log.warning("run %s: %s", run_id, outcome.why)
        elif outcome.retry_in is not None:
            delay = self._recheck_s if outcome.elsewhere else self._busy_retry_s
            scope = None if outcome.elsewhere else self._scope(run_id)
            if self.submit(run_id, priority, delay=outcome.retry_in if delay is None else delay) and scope:
                with self._cond:
                    if run_id in self._delayed:
                        self._parked.setdefault(scope, set()).add(run_id)
                        self._parked_on[run_id] = scope
            return False
        return outcome.state is not None

    def _scope(self, run_id: int) -> str | None:
        if self._scope_of is None:
            return None
        try:
            return self._scope_of(run_id)
        except Exception:  # only an earlier start is lost: the delay still applies
            log.debug("the scope of run %s could not be read", run_id, exc_info=True)
            return None

    def _wake(self, ended: int) -> None:
        """Runs parked on the scope of run ``ended`` (which just ended here) are ready now."""
        scope = self._scope(ended)
        with self._cond:
            for run_id in self._parked.pop(scope, set()) if scope else ():
                del self._parked_on[run_id]
                seq, priority = self._delayed.pop(run_id)
                heapq.heappush(self._ready, (priority, seq, run_id))
            self._start_threads()
            self._cond.notify_all()

    def _unpark(self, run_id: int) -> None:
        scope = self._parked_on.pop(run_id, None)
        if scope is not None:
            self._parked[scope].discard(run_id)
            if not self._parked[scope]:
                del self._parked[scope]
