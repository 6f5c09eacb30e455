"""Where task runs execute: on Dask (parallel) or inline one at a time (the serial baseline)."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any, Protocol

from pipelines.worker import WorkerConfig, execute_task

log = logging.getLogger(__name__)


class TaskRunner(Protocol):
    def submit(self, task_id: int, *, full: bool, priority: int) -> None: ...

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        """Block until at least one task finishes (or ``timeout``); return (task id, summary)."""
        ...

    @property
    def busy(self) -> bool: ...


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


class DaskRunner:
    """Tasks as Dask futures; workers load their own batches, only small summaries come back."""

    def __init__(self, client: Any, cfg: WorkerConfig) -> None:
        self.client = client
        self.cfg = cfg
        self._futures: dict[Any, int] = {}

    def submit(self, task_id: int, *, full: bool, priority: int) -> None:
        fut = self.client.submit(
            execute_task,
            self.cfg,
            task_id,
            full,
            key=f"headwater-task-{task_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
            priority=priority,
        )
        self._futures[fut] = task_id

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        from distributed import wait

        if not self._futures:
            return []
        try:
            done, _ = wait(list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:  # nothing finished yet: the driver beats its heartbeat and waits again
            return []
        out: list[tuple[int, dict[str, Any]]] = []
        for fut in done:
            task_id = self._futures.pop(fut)
            if fut.status == "error":
                exc = fut.exception()
                log.warning("task %s lost on Dask: %r", task_id, exc)
                out.append((task_id, {"state": "CRASHED", "error": f"{type(exc).__name__}: {exc}"}))
            elif fut.status == "cancelled":
                out.append((task_id, {"state": "CRASHED", "error": "the Dask future was cancelled"}))
            else:
                out.append((task_id, fut.result()))
        return out

    @property
    def busy(self) -> bool:
        return bool(self._futures)
