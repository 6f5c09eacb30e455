"""Where task runs execute: on Dask (parallel) or inline one at a time (the serial baseline)."""

from __future__ import annotations

import contextlib
import logging
import queue
import time
import uuid
from collections import deque
from typing import Any, Protocol

from pipelines.slots import cluster_has_slots, task_resources
from pipelines.worker import WorkerConfig, execute_task

log = logging.getLogger(__name__)

GATHER_TIMEOUT_S = 10.0


class TaskRunner(Protocol):
    def submit(self, task_id: int, *, full: bool, priority: int) -> None: ...

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        """Block until at least one task finishes (or ``timeout``); return (task id, summary)."""
        ...

    @property
    def busy(self) -> bool: ...

    def cancel(self) -> None:
        """Drop every submitted task not yet finished (the run was cancelled)."""
        ...


class SerialRunner:
    """One task at a time, in this process: what a classic queue-per-pipeline setup does."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self._queue: deque[tuple[int, bool]] = deque()

    def submit(self, task_id: int, *, full: bool, priority: int) -> None:
        self._queue.append((task_id, full))

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        if not self._queue:
            return []
        task_id, full = self._queue.popleft()
        return [(task_id, execute_task(self.cfg, task_id, full))]

    @property
    def busy(self) -> bool:
        return bool(self._queue)

    def cancel(self) -> None:
        self._queue.clear()


RUN_CLASSES = 10  # run.priority is 0 (clicks) .. 9 (onboarding backfills)
TASK_SLOTS = 100  # the driver's own priorities are 0 .. 10
TURNS = 100_000  # tasks of one run told apart by their order of submission


def dask_priority(run_priority: int, submitted: int, task_priority: int) -> int:
    """Dask's ``priority=`` (higher first) of a run's ``submitted``-th task: its run's class,
    then fewest tasks submitted by its run so far (turns across runs), then the driver's order."""
    run_class = RUN_CLASSES - 1 - min(max(run_priority, 0), RUN_CLASSES - 1)
    turn = min(submitted, TURNS - 1)
    return run_class * TURNS * TASK_SLOTS - turn * TASK_SLOTS + min(max(task_priority, 0), TASK_SLOTS - 1)


class DaskRunner:
    """Tasks as Dask futures; workers load their own batches, only small summaries come back.

    A run that cannot make progress does not wait forever: when the scheduler has had no
    worker for ``no_workers_timeout_s`` while tasks wait (workers died, or none was started),
    every outstanding task comes back FAILED (error kind INFRA) saying so, and the run ends.

    Runs share the cluster, so a task's Dask priority (higher runs first) says whose it is
    (:func:`dask_priority`): the run's class first (refresh clicks and retries before schedules
    before onboarding backfills: ``run_priority`` is ``run.priority``, 0 first), then how many
    tasks its run already submitted (fewest first: runs of one class take turns, so a tenant's
    200-task backfill does not hold back another's), then the driver's own order. Where the
    workers declare the ``slot`` and ``bulk`` resources (local clusters do), tasks of background
    runs take ``bulk`` and so leave the threads kept for clicks free (:mod:`pipelines.slots`).

    A future reports its own end (``add_done_callback``: one waiter per future for its life).
    ``distributed.wait(..., return_when=FIRST_COMPLETED)`` over the outstanding futures, once
    per ``wait()``, left a waiter per future behind on every call (only the first to finish is
    awaited; the others stay pending until their futures end): the driver held calls x
    outstanding of them, 10,000 at once in a 100-repository refresh (bench/rss.py)."""

    def __init__(
        self, client: Any, cfg: WorkerConfig, *, no_workers_timeout_s: float = 60.0, run_priority: int = 0
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.no_workers_timeout_s = no_workers_timeout_s
        self.run_priority = run_priority
        self.resources = task_resources(run_priority) if cluster_has_slots(client) else None
        self._submitted = 0
        self._futures: dict[Any, int] = {}
        self._ended: queue.SimpleQueue[Any] = queue.SimpleQueue()  # futures that finished, as they did
        self._checked = 0.0
        self._no_workers_since: float | None = None

    def submit(self, task_id: int, *, full: bool, priority: int) -> None:
        fut = self.client.submit(
            execute_task,
            self.cfg,
            task_id,
            full,
            key=f"headwater-task-{task_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
            priority=dask_priority(self.run_priority, self._submitted, priority),
            resources=self.resources,
        )
        self._submitted += 1
        self._futures[fut] = task_id
        fut.add_done_callback(self._ended.put)

    def _finished_futures(self, timeout: float) -> list[Any]:
        """The outstanding futures that have finished, once one did (or ``timeout`` passed: none).
        The queue only wakes the driver: what finished is read from the futures themselves."""
        try:
            self._ended.get(timeout=timeout)
        except queue.Empty:  # nothing finished yet: the driver beats its heartbeat and waits again
            return []
        with contextlib.suppress(queue.Empty):
            while True:
                self._ended.get_nowait()
        return [fut for fut in self._futures if fut.status != "pending"]

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        if not self._futures:
            return []
        stalled = self._stalled()
        if stalled is not None:
            return self._abandon(stalled)
        done = self._finished_futures(timeout)
        out: list[tuple[int, dict[str, Any]]] = []
        finished: list[tuple[Any, int]] = []
        for fut in done:
            task_id = self._futures.pop(fut)
            if fut.status == "error":
                exc = fut.exception()
                log.warning("task %s lost on Dask: %r", task_id, exc)
                why = (
                    f"Dask could not run this task (its worker died or could not load it): {type(exc).__name__}: {exc}"
                )
                out.append((task_id, {"state": "CRASHED", "error": why, "error_kind": "CRASH"}))
            elif fut.status in ("cancelled", "lost"):
                why = f"the Dask future was {fut.status} (scheduler restarted or the task was released)"
                out.append((task_id, {"state": "CRASHED", "error": why, "error_kind": "CRASH"}))
            else:
                finished.append((fut, task_id))
        return out + self._results(finished)

    def _results(self, finished: list[tuple[Any, int]]) -> list[tuple[int, dict[str, Any]]]:
        """The summaries of every finished task in one round trip to the cluster (one
        ``gather``, not a ``result()`` each). If that fails or hangs (a worker holding one died:
        Dask would recompute it), each is asked on its own, so only the lost one is LOST."""
        if len(finished) <= 1:
            return [(task_id, self._result(fut)) for fut, task_id in finished]
        futures = [fut for fut, _ in finished]
        try:
            summaries = self.client.sync(
                self.client._gather, futures, errors="raise", callback_timeout=GATHER_TIMEOUT_S
            )
        except Exception as exc:
            log.info("gathering %d summaries at once failed (%r); asking each", len(futures), exc)
            return [(task_id, self._result(fut)) for fut, task_id in finished]
        return [(task_id, summary) for (_, task_id), summary in zip(finished, summaries, strict=True)]

    def _result(self, fut: Any) -> dict[str, Any]:
        """The task's small summary. Its worker may have died after finishing it but before the
        summary was gathered: then Dask would recompute it, and ``result()`` block meanwhile. The
        database holds the outcome anyway, so the driver reads it from there (state LOST)."""
        try:
            summary: dict[str, Any] = fut.result(timeout=GATHER_TIMEOUT_S)
            return summary
        except Exception as exc:
            log.warning("the summary of %s could not be gathered (%s); reading its outcome", fut.key, exc)
            with contextlib.suppress(Exception):
                fut.cancel()
            return {"state": "LOST", "error": f"its Dask worker was lost before reporting: {type(exc).__name__}"}

    def _address(self) -> str:
        try:
            return str(self.client.scheduler.address)
        except Exception:
            return "the Dask scheduler"

    def _stalled(self) -> str | None:
        """Why nothing can progress (no worker for too long), checked at most once a second."""
        now = time.monotonic()
        if now - self._checked < 1.0:
            return None
        self._checked = now
        try:
            workers = len(self.client.scheduler_info(n_workers=1).get("workers", {}))
        except Exception:  # scheduler unreachable: as good as no workers
            workers = 0
        if workers:
            self._no_workers_since = None
            return None
        if self._no_workers_since is None:
            self._no_workers_since = now
            log.warning(
                "no Dask workers at %s; waiting up to %.0f s for one", self._address(), self.no_workers_timeout_s
            )
        if now - self._no_workers_since < self.no_workers_timeout_s:
            return None
        return (
            f"no Dask workers at {self._address()} for {self.no_workers_timeout_s:.0f} s: start workers "
            f"(`dask worker {self._address()}`) or fix HEADWATER_DASK_ADDRESS, then retry the run"
        )

    def _abandon(self, why: str) -> list[tuple[int, dict[str, Any]]]:
        out = [(tid, {"state": "FAILED", "error": why, "error_kind": "INFRA"}) for tid in self._futures.values()]
        self.cancel()
        return out

    @property
    def busy(self) -> bool:
        return bool(self._futures)

    def cancel(self) -> None:
        futures = list(self._futures)
        self._futures.clear()
        try:
            self.client.cancel(futures)
        except Exception:  # the scheduler is gone: nothing left to cancel there
            log.debug("cancelling Dask futures failed", exc_info=True)
