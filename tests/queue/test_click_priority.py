"""Clicks first under load: a refresh click submitted after backfills is dispatched first, in the
in-process run queue and on the shared Dask cluster. Ordering only, nothing timed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from headwater.queue import InProcessQueue
from pipelines import DaskRunner, WorkerConfig
from pipelines import runners as runners_module
from pipelines.cluster import close, connect
from pipelines.runners import dask_priority
from pipelines.slots import worker_resources

CLICK, SCHEDULE, BACKFILL = 0, 5, 9  # run.priority by trigger (pipelines.state)


def test_a_click_starts_while_backfills_hold_every_thread() -> None:
    gate = threading.Event()
    started: list[int] = []
    lock = threading.Lock()

    def execute(run_id: int) -> str:
        with lock:
            started.append(run_id)
        if run_id < 100:  # backfills run until the test lets them end
            gate.wait(10)
        return "COMPLETED"

    q = InProcessQueue(execute, concurrency=2)
    try:
        for run_id in range(1, 7):  # 2 take both threads, 4 wait
            q.submit(run_id, BACKFILL)
        q.submit(100, CLICK)
        deadline = threading.Event()
        for _ in range(100):
            if 100 in started:
                break
            deadline.wait(0.05)
        with lock:
            seen = list(started)
        assert 100 in seen, f"the click waited behind the backfills: started {seen}"
        assert sorted(seen) == [1, 2, 100]  # no waiting backfill took the click's thread
        gate.set()
        assert q.idle(10)
    finally:
        gate.set()
        q.close()
    assert sorted(started) == [1, 2, 3, 4, 5, 6, 100]


def test_reserved_threads_take_only_clicks() -> None:
    gate = threading.Event()
    started: list[int] = []

    def execute(run_id: int) -> str:
        started.append(run_id)
        gate.wait(10)
        return "COMPLETED"

    q = InProcessQueue(execute, concurrency=1, reserved=2)
    try:
        for run_id in (1, 2, 3):
            q.submit(run_id, BACKFILL)
        assert not q.idle(0.3)
        assert started == [1]  # the other two threads are kept for clicks
    finally:
        gate.set()
        q.close()


def test_dask_priority_orders_classes_then_turns_then_the_drivers_order() -> None:
    # Any task of a click run goes before any task of a schedule, before any of a backfill.
    assert dask_priority(CLICK, 99_999, 0) > dask_priority(SCHEDULE, 0, 10) > dask_priority(BACKFILL, 0, 10)
    # Runs of one class take turns: a backfill that just started goes before one 50 tasks in.
    assert dask_priority(BACKFILL, 0, 9) > dask_priority(BACKFILL, 50, 9)
    # Within one turn, the driver's order (discovery 10, deeper tasks lower) decides.
    assert dask_priority(BACKFILL, 3, 10) > dask_priority(BACKFILL, 3, 9)


@pytest.fixture
def one_thread_cluster() -> Iterator[Any]:
    client = connect(None, workers=1, threads=1, processes=False)  # in-process: the monkeypatched task runs
    yield client
    close(client)


# Module level: Dask pickles the task graph (by reference to this module) even in-process.
GATE = threading.Event()
ORDER: list[int] = []


def fake_execute_task(cfg: WorkerConfig, task_id: int, full: bool) -> dict[str, Any]:
    if task_id == 1:
        GATE.wait(10)  # the first backfill task holds the only thread
    ORDER.append(task_id)
    return {"task_id": task_id, "state": "COMPLETED"}


def scheduled_tasks(dask_scheduler: Any) -> int:
    return len(dask_scheduler.tasks)


def test_on_dask_a_click_after_n_backfill_tasks_runs_next(
    one_thread_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    GATE.clear()
    ORDER.clear()
    gate, order = GATE, ORDER
    monkeypatch.setattr(runners_module, "execute_task", fake_execute_task)
    cfg = WorkerConfig(database_url="sqlite://")
    backfill_a = DaskRunner(one_thread_cluster, cfg, run_priority=BACKFILL)
    backfill_b = DaskRunner(one_thread_cluster, cfg, run_priority=BACKFILL)
    click = DaskRunner(one_thread_cluster, cfg, run_priority=CLICK)
    backfill_a.submit(1, full=True, priority=10)
    for _ in range(50):  # the worker holds task 1 before the rest arrives
        if any(one_thread_cluster.processing().values()):
            break
        threading.Event().wait(0.05)
    for task_id in range(2, 12):  # backfill A: 10 more tasks, submitted first
        backfill_a.submit(task_id, full=True, priority=9)
    for task_id in range(20, 23):  # backfill B, a second tenant's: 3 tasks
        backfill_b.submit(task_id, full=True, priority=9)
    click.submit(100, full=False, priority=9)  # the click, submitted last, as deep as the rest
    for _ in range(200):  # the scheduler knows every task before the first one ends
        if one_thread_cluster.run_on_scheduler(scheduled_tasks) >= 15:
            break
        threading.Event().wait(0.05)
    gate.set()
    done: list[int] = []
    for runner in (backfill_a, backfill_b, click):
        while runner.busy:
            done += [task_id for task_id, _ in runner.wait(10)]
    assert sorted(done) == sorted(order)
    # The click overtakes every backfill task still waiting; at most one already handed to the
    # worker before the click arrived (Dask sends a task straight on while its group is small).
    assert order[0] == 1 and order.index(100) <= 2, order
    assert all(order.index(100) < order.index(t) for t in range(3, 12)), order
    # Backfill B took turns with A instead of waiting for all of A's tasks.
    assert order.index(22) < order.index(11), order


def gated_queue(**kwargs: Any) -> tuple[InProcessQueue, threading.Event, list[int]]:
    """A queue whose runs all wait for the test's gate, recording which ones started."""
    gate, started, lock = threading.Event(), [], threading.Lock()

    def execute(run_id: int) -> str:
        with lock:
            started.append(run_id)
        gate.wait(10)
        return "COMPLETED"

    return InProcessQueue(execute, **kwargs), gate, started


def started_once(started: list[int], n: int) -> list[int]:
    """``started`` once ``n`` runs started (or after 10 s: the assertion then says which)."""
    for _ in range(200):
        if len(started) >= n:
            break
        threading.Event().wait(0.05)
    return sorted(started)


def test_every_click_starts_while_backfills_and_other_clicks_hold_the_threads() -> None:
    # 40 clicks at once (40 tenant scopes): a fixed click lane made the 33rd wait for a click
    # run to end (bench/load_refresh.py). The lane starts a thread for each.
    q, gate, started = gated_queue(concurrency=2)
    try:
        for run_id in (1, 2, 3):
            q.submit(run_id, BACKFILL)
        assert started_once(started, 2) == [1, 2]  # the backfills hold both threads
        clicks = list(range(100, 140))
        for run_id in clicks:
            q.submit(run_id, CLICK)
        assert started_once(started, 42) == [1, 2, *clicks]  # backfill 3 waits for a thread
        gate.set()
        assert q.idle(10)
    finally:
        gate.set()
        q.close()
    assert sorted(started) == [1, 2, 3, *clicks]


def test_the_click_lane_is_bounded_and_takes_only_clicks() -> None:
    q, gate, started = gated_queue(concurrency=1, reserved=3)
    try:
        q.submit(1, BACKFILL)
        q.submit(2, BACKFILL)
        assert started_once(started, 1) == [1]
        for run_id in range(100, 105):
            q.submit(run_id, CLICK)
        assert started_once(started, 4) == [1, 100, 101, 102]
        assert q.click_threads == 3
        assert not q.idle(0.3) and sorted(started) == [1, 100, 101, 102]  # none took backfill 2
        gate.set()
        assert q.idle(10)
    finally:
        gate.set()
        q.close()
    assert sorted(started) == [1, 2, *range(100, 105)]


# -- threads kept for clicks on Dask (pipelines.slots) -------------------------------------
HELD = threading.Event()
FINISHED: list[int] = []


def held_execute_task(cfg: WorkerConfig, task_id: int, full: bool) -> dict[str, Any]:
    if task_id < 100:  # background tasks hold their thread until the test lets them go
        HELD.wait(10)
    FINISHED.append(task_id)
    return {"task_id": task_id, "state": "COMPLETED"}


def test_a_worker_keeps_a_quarter_of_its_threads_from_background_tasks() -> None:
    assert worker_resources(32) == {"slot": 32.0, "bulk": 24.0}
    assert worker_resources(4) == {"slot": 4.0, "bulk": 3.0}
    assert worker_resources(2) == {"slot": 2.0, "bulk": 1.0}
    assert worker_resources(1) == {"slot": 1.0, "bulk": 1.0}  # nothing to keep


@pytest.fixture
def four_thread_cluster() -> Iterator[Any]:
    client = connect(None, workers=1, threads=4, processes=False)
    yield client
    close(client)


def test_a_click_task_starts_while_background_tasks_hold_every_bulk_thread(
    four_thread_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Priorities cannot preempt: background tasks that hold every thread (a rate limit's wait)
    # would keep a click's task waiting however high its priority. Here they can hold 3 of 4.
    HELD.clear()
    FINISHED.clear()
    monkeypatch.setattr(runners_module, "execute_task", held_execute_task)
    cfg = WorkerConfig(database_url="sqlite://")
    backfill = DaskRunner(four_thread_cluster, cfg, run_priority=BACKFILL)
    schedule = DaskRunner(four_thread_cluster, cfg, run_priority=SCHEDULE)
    click = DaskRunner(four_thread_cluster, cfg, run_priority=CLICK)
    try:
        for task_id in range(1, 21):
            backfill.submit(task_id, full=True, priority=9)
        for task_id in range(50, 53):
            schedule.submit(task_id, full=False, priority=9)
        click.submit(100, full=False, priority=9)
        finished = [task_id for task_id, _ in click.wait(10)]
        assert finished == [100], f"the click's task waited behind held background tasks: {FINISHED}"
        assert FINISHED == [100]  # every background task is still held
    finally:
        HELD.set()
    done: list[int] = []
    for runner in (backfill, schedule):
        while runner.busy:
            done += [task_id for task_id, _ in runner.wait(10)]
    assert sorted(done) == [*range(1, 21), 50, 51, 52]
