"""`headwater scheduler`: due tenants get one scheduled run, crashed runs are recovered, runs
never queued are queued, undelivered alerts are re-sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.sandbox import RunningServer
from headwater import dispatch, schedule
from headwater.app import App
from headwater.queue.tasks import queued_message_ids
from pipelines import set_run_state
from pipelines.liveness import STALE_AFTER
from pipelines.state import create_run
from storage import Database
from storage.models import Alert, Run, State, Tenant, utcnow
from tenancy import add_tenant
from tests.api.conftest import make_app


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def record(_self: object, run_id: int, *, trigger: str, priority: int) -> str:
        calls.append(run_id)
        return "recorded"

    monkeypatch.setattr(dispatch.BrokerDispatcher, "dispatch", record)
    monkeypatch.setattr(dispatch.DetachedDispatcher, "dispatch", record)
    return calls


@pytest.fixture
def hw(sqlite_db: Database, tmp_path: Path) -> App:
    return make_app(sqlite_db, tmp_path)


def tenant(hw: App, slug: str, every: int | None) -> Tenant:
    with hw.db.session() as s:
        t = add_tenant(s, slug)
        t.refresh_interval_minutes = every
        return t


def finished_run(hw: App, t: Tenant, age: timedelta) -> int:
    with hw.db.session() as s:
        run, _ = create_run(s, t)
        set_run_state(s, run, State.PENDING)
        set_run_state(s, run, State.RUNNING)
        set_run_state(s, run, State.COMPLETED)
        run.created_at = utcnow() - age
        return run.id


def test_only_tenants_past_their_interval_are_due(hw: App) -> None:
    never = tenant(hw, "never-ran", 60)
    fresh = tenant(hw, "fresh", 60)
    old = tenant(hw, "old", 60)
    tenant(hw, "manual", None)
    finished_run(hw, fresh, timedelta(minutes=5))
    finished_run(hw, old, timedelta(minutes=61))
    assert sorted(t.slug for t in schedule.due_tenants(hw)) == sorted([never.slug, old.slug])


def test_a_tick_schedules_due_tenants_once(hw: App, dispatched: list[int]) -> None:
    t = tenant(hw, "acme", 30)
    tick = schedule.tick_once(hw)
    assert len(tick.scheduled) == 1 and dispatched == tick.scheduled
    with hw.db.session() as s:
        run = s.get(Run, tick.scheduled[0])
        assert run is not None and run.trigger == "schedule" and run.tenant_id == t.id
        assert run.priority > 0  # behind refresh clicks
    assert schedule.tick_once(hw).scheduled == []  # its last run is fresh now


def test_two_schedulers_at_once_make_one_run(hw: App, dispatched: list[int]) -> None:
    for i in range(5):
        tenant(hw, f"t{i}", 15)
    ticks: list[schedule.Tick] = []
    barrier = threading.Barrier(3)

    def scheduler() -> None:
        barrier.wait()
        ticks.append(schedule.tick_once(hw))

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    with hw.db.session() as s:
        runs = s.query(Run).all()
    assert len(runs) == 5 and len({r.tenant_id for r in runs}) == 5
    assert sorted(dispatched) == sorted(r.id for r in runs)  # each queued once
    scheduled = [i for tk in ticks for i in tk.scheduled]
    assert sorted(scheduled) == sorted(r.id for r in runs)


def orphaned_run(hw: App, t: Tenant) -> int:
    """A RUNNING run whose driver (on another host) stopped beating."""
    with hw.db.session() as s:
        run, _ = create_run(s, t)
        set_run_state(s, run, State.PENDING)
        set_run_state(s, run, State.RUNNING)
        run.driver = "gone-host:1"
        run.heartbeat_at = utcnow() - STALE_AFTER - timedelta(seconds=5)
        return run.id


def test_runs_whose_driver_died_become_crashed(hw: App, dispatched: list[int]) -> None:
    t = tenant(hw, "acme", None)
    run_id = orphaned_run(hw, t)
    assert schedule.tick_once(hw).crashed == [run_id]
    with hw.db.session() as s:
        assert s.get(Run, run_id).state == "CRASHED"  # type: ignore[union-attr]


def test_with_a_broker_an_orphaned_run_is_requeued_at_once_then_crashed_after_max_resumes(
    sqlite_db: Database, tmp_path: Path, dispatched: list[int]
) -> None:
    hw = make_app(sqlite_db, tmp_path, broker_url="redis://127.0.0.1:6379/11", broker_visibility_timeout=900)
    t = tenant(hw, "acme", None)
    run_id = orphaned_run(hw, t)
    tick = schedule.Tick()
    schedule.recover(hw, tick)
    # Put back on the queue now (not after the 900 s visibility timeout), not crashed.
    assert tick.resumed == [run_id] and tick.crashed == [] and dispatched == [run_id]
    schedule.recover(hw, tick)
    assert tick.resumed == [run_id]  # while it waits for a worker, not re-queued again
    for _ in range(schedule.MAX_RESUMES):  # a worker resumes it, and dies again, each time
        with hw.db.session() as s:
            row = s.get(Run, run_id)
            assert row is not None
            set_run_state(s, row, State.RETRYING, "resumed after its previous driver stopped")
            set_run_state(s, row, State.RUNNING)
            row.driver = "gone-host:2"
            row.heartbeat_at = utcnow() - STALE_AFTER - timedelta(seconds=5)
    tick = schedule.Tick()
    schedule.recover(hw, tick)
    assert tick.crashed == [run_id] and tick.resumed == []
    with hw.db.session() as s:
        assert s.get(Run, run_id).state == "CRASHED"  # type: ignore[union-attr]


def test_a_requeued_run_no_worker_takes_is_crashed_after_the_lease(
    sqlite_db: Database, tmp_path: Path, dispatched: list[int]
) -> None:
    hw = make_app(sqlite_db, tmp_path, broker_url="redis://127.0.0.1:6379/11", run_lease_s=60)
    t = tenant(hw, "acme", None)
    run_id = orphaned_run(hw, t)
    schedule.recover(hw, schedule.Tick())
    with hw.db.session() as s:
        row = s.get(Run, run_id)
        assert row is not None and row.driver == "queue:requeued"
        row.heartbeat_at = utcnow() - STALE_AFTER - timedelta(seconds=61)
    tick = schedule.Tick()
    schedule.recover(hw, tick)
    assert tick.crashed == [run_id]


def test_runs_never_put_on_the_queue_are_queued(sqlite_db: Database, tmp_path: Path, dispatched: list[int]) -> None:
    hw = make_app(sqlite_db, tmp_path, broker_url="redis://127.0.0.1:6379/11")
    a, b = tenant(hw, "a", None), tenant(hw, "b", None)
    with hw.db.session() as s:
        stranded, _ = create_run(s, a)
        stranded.created_at = utcnow() - timedelta(minutes=10)
        recent, _ = create_run(s, b)  # may still be on its way to the queue
        ids = stranded.id, recent.id
    tick = schedule.Tick()
    schedule.requeue_unqueued(hw, tick, dispatch.RunService(hw))
    assert tick.requeued == [ids[0]] and dispatched == [ids[0]]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    async def hook(request: Request) -> JSONResponse:
        got.append(await request.json())
        return JSONResponse({"ok": True})

    server = RunningServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()
    yield f"{server.url}/hook", got
    server.stop()


def test_undelivered_alerts_are_sent_again(
    sqlite_db: Database, tmp_path: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, got = receiver
    hw = make_app(sqlite_db, tmp_path, alert_webhook_url=url)
    with hw.db.session() as s:
        s.add(Alert(tenant_id=None, kind="run_failed", payload={"kind": "run_failed", "text": "run 1 failed"}))
    tick = schedule.tick_once(hw)
    assert tick.alerts_delivered == 1 and got == [{"kind": "run_failed", "text": "run 1 failed"}]
    with hw.db.session() as s:
        (alert,) = s.query(Alert).all()
        assert alert.delivered_at is not None
    assert schedule.tick_once(hw).alerts_delivered == 0  # not sent twice


def test_run_scheduler_ticks_until_stopped_and_leaves_a_heartbeat(hw: App, dispatched: list[int]) -> None:
    tenant(hw, "acme", 5)
    schedule.run_scheduler(hw, interval=0.01, once=True)
    beat = json.loads(schedule.heartbeat_path(hw).read_text())
    assert len(beat["scheduled"]) == 1 and dispatched == beat["scheduled"]
    stop = threading.Event()
    loop = threading.Thread(target=schedule.run_scheduler, args=(hw, 0.01), kwargs={"stop": stop})
    loop.start()
    stop.set()
    loop.join(10)
    assert not loop.is_alive()


def test_a_run_whose_message_a_dead_worker_took_is_queued_again(sqlite_db: Database, tmp_path: Path) -> None:
    """The message is off the queue (a worker reserved it) but the run never started: Redis would
    give the message back only after the visibility timeout; the scheduler re-queues it now."""
    import redis as redis_lib

    from tests.conftest import require_service

    require_service("redis")
    broker = "redis://127.0.0.1:6379/12"
    redis_lib.Redis.from_url(broker).flushdb()
    hw = make_app(sqlite_db, tmp_path, broker_url=broker)
    t = tenant(hw, "acme", None)
    with hw.db.session() as s:
        run, _ = create_run(s, t)
        run.created_at = utcnow() - timedelta(minutes=1)
        run_id = run.id
    service = dispatch.RunService(hw)
    service.dispatch(run_id, "refresh", 0)
    queued = queued_message_ids(broker)
    with hw.db.session() as s:
        first = s.get(Run, run_id).celery_task_id  # type: ignore[union-attr]
    assert queued == {first}
    tick = schedule.Tick()
    schedule.requeue_unqueued(hw, tick, service)
    assert tick.requeued == []  # still waiting on the queue: left alone
    redis_lib.Redis.from_url(broker).delete("refresh")  # a worker took it, then died
    schedule.requeue_unqueued(hw, tick, service)
    assert tick.requeued == [run_id]
    with hw.db.session() as s:
        again = s.get(Run, run_id).celery_task_id  # type: ignore[union-attr]
    assert again != first and queued_message_ids(broker) == {again}
    redis_lib.Redis.from_url(broker).flushdb()
    # The broker away: nothing is decided (queueing now would only fail the run).
    assert queued_message_ids("redis://127.0.0.1:1/0") is None
