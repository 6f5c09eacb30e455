"""States tell the truth: recovery, leases, cancellation and their alerts, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from headwater import schedule
from headwater.app import App
from headwater.dispatch import RunService
from pipelines import set_run_state
from pipelines.liveness import REQUEUED, STALE_AFTER
from pipelines.service import RunRefused, request_retry
from pipelines.state import DRIVER_STOPPED, cancel_run, create_run, transition_task
from pipelines.worker import TaskCancelled, until_cancelled
from storage import Database
from storage.models import Alert, Run, RunState, State, TaskRun, Tenant, utcnow
from tenancy import add_source, add_tenant
from tests.api.conftest import make_app


@pytest.fixture(params=["sqlite", "postgres"])
def hw(request: pytest.FixtureRequest, tmp_path: Path) -> App:
    db: Database = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    return make_app(db, tmp_path, run_lease_s=60)


def tenant(hw: App, slug: str = "acme") -> Tenant:
    with hw.db.session() as s:
        return add_tenant(s, slug)


def running_run(hw: App, t: Tenant, task_states: list[State], *, planned: bool) -> int:
    """A RUNNING run whose driver died (another host, no heartbeat), with tasks in these states."""
    with hw.db.session() as s:
        src = add_source(s, hw.vault, t, "github", {"org": "acme"}, {"token": "ghp_" + "x" * 36})
        run, _ = create_run(s, t)
        set_run_state(s, run, State.PENDING)
        set_run_state(s, run, State.RUNNING)
        run.driver = "gone-host:1"
        run.heartbeat_at = utcnow() - STALE_AFTER - timedelta(seconds=5)
        for i, st in enumerate(task_states):
            task = TaskRun(run_id=run.id, source_id=src.id, key=f"k{i}", stream="pull_requests", depends_on=[])
            s.add(task)
            s.flush()
            transition_task(s, task.id, State.RUNNING)
            if st != State.RUNNING:
                transition_task(s, task.id, st, records_loaded=3)
        run.tasks_total = len(task_states) if planned else 0
        return run.id


def alerts(hw: App) -> list[Alert]:
    with hw.db.session() as s:
        rows = list(s.execute(select(Alert).order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows


def test_a_run_whose_planned_tasks_all_completed_ends_completed_when_its_driver_died(hw: App) -> None:
    run_id = running_run(hw, tenant(hw), [State.COMPLETED] * 3, planned=True)
    tick = schedule.tick_once(hw)
    assert tick.crashed == []
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state == State.COMPLETED and run.records_loaded == 9
    assert alerts(hw) == []


def test_an_unplanned_run_is_crashed_even_when_its_few_tasks_completed(hw: App) -> None:
    """Discovery completed but its partitions were never planned: the run did not do its work."""
    run_id = running_run(hw, tenant(hw), [State.COMPLETED], planned=False)
    assert schedule.tick_once(hw).crashed == [run_id]


def test_a_crashed_run_raises_one_alert_and_its_retry_redoes_only_what_crashed(hw: App) -> None:
    run_id = running_run(hw, tenant(hw), [State.COMPLETED, State.RUNNING], planned=True)
    assert schedule.tick_once(hw).crashed == [run_id]
    schedule.tick_once(hw)  # a second tick raises nothing new
    (alert,) = alerts(hw)
    assert alert.kind == "run_failed" and alert.payload["state"] == "CRASHED" and alert.payload["run_id"] == run_id
    with hw.db.session() as s:
        states = sorted(s.execute(select(TaskRun.state).where(TaskRun.run_id == run_id)).scalars())
    assert states == ["COMPLETED", "CRASHED"]
    retry = request_retry(hw.db, run_id)
    assert retry.trigger == "retry" and retry.parent_run_id == run_id


def orphan(hw: App, task_states: list[State], *, planned: bool, requeued: bool) -> int:
    """:func:`running_run`; ``requeued``: the scheduler put it back on the queue a lease ago and
    no worker resumed it (with a broker, it is then settled rather than re-queued again)."""
    run_id = running_run(hw, tenant(hw), task_states, planned=planned)
    if requeued:
        with hw.db.session() as s:
            run = s.get(Run, run_id)
            assert run is not None
            run.driver = REQUEUED
    return run_id


def settle(hw: App, broker: bool) -> list[int]:
    """The scheduler's recovery of dead runs: without a broker they crash at once; with one, a
    run re-queued that no worker took is settled."""
    if broker:
        return schedule.requeue_orphans(hw, schedule.Tick(), RunService(hw))
    return schedule.tick_once(hw).crashed


@pytest.mark.parametrize("broker", [False, True], ids=["no-broker", "requeued-never-taken"])
def test_a_dead_runs_tasks_are_settled_alike_with_or_without_a_broker(hw: App, broker: bool) -> None:
    run_id = orphan(hw, [State.COMPLETED, State.RUNNING, State.FAILED], planned=True, requeued=broker)
    assert settle(hw, broker) == [run_id]
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state == State.CRASHED
        assert run.message is not None and run.message.startswith("the run's driver stopped")
        tasks = {
            t.key: (t.state, t.error_kind, t.message)
            for t in s.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars()
        }
    assert tasks["k0"][0] == "COMPLETED" and tasks["k2"][0] == "FAILED"  # finished tasks stay as they were
    assert tasks["k1"] == ("CRASHED", "CRASH", DRIVER_STOPPED)


@pytest.mark.parametrize("broker", [False, True], ids=["no-broker", "requeued-never-taken"])
def test_a_dead_run_whose_planned_tasks_all_completed_is_completed_either_way(hw: App, broker: bool) -> None:
    run_id = orphan(hw, [State.COMPLETED] * 2, planned=True, requeued=broker)
    assert settle(hw, broker) == []
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state == State.COMPLETED and run.records_loaded == 6


def test_a_crashed_run_with_no_task_cannot_be_retried(hw: App) -> None:
    run_id = running_run(hw, tenant(hw), [], planned=False)
    schedule.tick_once(hw)
    with pytest.raises(RunRefused, match="no failed, crashed or cancelled task to retry"):
        request_retry(hw.db, run_id)


def test_a_run_nobody_starts_is_failed_after_the_lease_and_blocks_nothing(hw: App) -> None:
    t = tenant(hw)
    with hw.db.session() as s:
        run, _ = create_run(s, t)
        run.created_at = utcnow() - timedelta(seconds=61)
        stuck = run.id
    tick = schedule.tick_once(hw)
    assert tick.expired == [stuck]
    with hw.db.session() as s:
        run = s.get(Run, stuck)
        assert run is not None and run.state == State.FAILED and run.queued_key is None
        assert "not started within 60 s" in (run.message or "")
        fresh, coalesced = create_run(s, t)
        assert not coalesced and fresh.id != stuck
    (alert,) = alerts(hw)
    assert alert.kind == "run_stuck" and alert.payload["run_id"] == stuck
    schedule.tick_once(hw)
    assert len(alerts(hw)) == 1  # once


def test_a_follow_up_waiting_behind_a_running_run_is_not_expired(hw: App) -> None:
    t = tenant(hw)
    with hw.db.session() as s:
        long, _ = create_run(s, t)
        set_run_state(s, long, State.PENDING)
        set_run_state(s, long, State.RUNNING)
        follow, _ = create_run(s, t)
        follow.created_at = utcnow() - timedelta(seconds=600)
        long_id, follow_id = long.id, follow.id
    tick = schedule.Tick()
    schedule.expire_leases(hw, tick)
    assert tick.expired == []
    # The long run ends: the follow-up now gets a whole lease from that moment on.
    with hw.db.session() as s:
        long_run = s.get(Run, long_id)
        assert long_run is not None
        set_run_state(s, long_run, State.COMPLETED)
    schedule.expire_leases(hw, tick)
    assert tick.expired == []
    with hw.db.session() as s:
        assert s.get(Run, follow_id).state == State.SCHEDULED  # type: ignore[union-attr]


def test_cancel_ends_unfinished_tasks_and_says_who_asked(hw: App) -> None:
    run_id = running_run(hw, tenant(hw), [State.COMPLETED, State.RUNNING], planned=True)
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert cancel_run(s, run, by="api:admin", reason="wrong org")
        assert not cancel_run(s, run, by="api:admin")  # once
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.state == State.CANCELLED
        assert run.message == "cancelled by api:admin: wrong org" and run.queued_key is run.running_key is None
        states = sorted(s.execute(select(TaskRun.state).where(TaskRun.run_id == run_id)).scalars())
        assert states == ["CANCELLED", "COMPLETED"]
        history = [h.state for h in s.execute(select(RunState).where(RunState.run_id == run_id)).scalars()]
        assert history[-1] == "CANCELLED"


def test_a_cancel_after_the_last_task_completed_leaves_the_run_completed(hw: App) -> None:
    run_id = running_run(hw, tenant(hw), [State.COMPLETED, State.COMPLETED], planned=True)
    with hw.db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert not cancel_run(s, run, by="cli (Ctrl-C)")
        assert run.state == State.COMPLETED


def test_a_running_task_stops_at_its_next_await_once_cancelled() -> None:
    steps: list[int] = []
    flag = {"cancelled": False}

    async def pages() -> str:
        for i in range(100):
            steps.append(i)
            if i == 3:
                flag["cancelled"] = True
            await asyncio.sleep(0.01)
        return "all read"

    with pytest.raises(TaskCancelled):
        asyncio.run(until_cancelled(pages(), lambda: flag["cancelled"], every=0.02))
    assert 3 < len(steps) < 20
    assert asyncio.run(until_cancelled(asyncio.sleep(0, "done"), lambda: False)) == "done"
