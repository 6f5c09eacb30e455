"""No broker: runs execute on a bounded thread pool inside the API server."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.sandbox import RunningServer
from headwater.app import App
from headwater.cli.sandboxes import source_settings, start
from headwater.dispatch import LocalDispatcher
from headwater.queue import InProcessQueue, RunExecutor
from pipelines import IllegalTransition, SerialRunner, set_run_state
from storage.models import Run, State
from tenancy import add_source, get_tenant
from tests.api.conftest import ADMIN, Tenants, api_for, bearer


# -- the queue itself -------------------------------------------------------------------
def test_ready_runs_are_taken_by_priority_then_arrival() -> None:
    gate, order = threading.Event(), []

    def execute(run_id: int) -> str:
        if run_id == 1:
            gate.wait(10)
        order.append(run_id)
        return "COMPLETED"

    q = InProcessQueue(execute, concurrency=1, reserved=0)  # no thread kept for clicks
    q.submit(1, priority=0)  # occupies the only thread
    for run_id, priority in [(2, 9), (3, 5), (4, 0), (5, 9), (6, 0)]:
        assert q.submit(run_id, priority)
    assert not q.submit(3, 5)  # already waiting: not queued twice
    gate.set()
    assert q.idle(10)
    q.close()
    assert order == [1, 4, 6, 3, 2, 5]


def test_busy_scope_is_put_back_not_waited_on() -> None:
    calls: list[int] = []

    def execute(run_id: int) -> str:
        calls.append(run_id)
        if run_id == 1 and calls.count(1) < 3:
            raise IllegalTransition("scope busy")
        return "COMPLETED"

    q = InProcessQueue(execute, concurrency=1, busy_retry_s=0.05)
    q.submit(1)
    q.submit(2)
    assert q.idle(10)
    q.close()
    # Run 2 did not wait behind the busy run 1, which was tried again until its scope was free.
    assert calls.index(2) < len(calls) - 1 and calls.count(1) == 3


def test_a_follow_up_starts_when_its_scope_is_free_not_after_the_delay() -> None:
    gate, calls, busy = threading.Event(), [], threading.Event()

    def execute(run_id: int) -> str:
        calls.append(run_id)
        if run_id == 1:  # the scope's running run, until the test ends it
            busy.set()
            gate.wait(10)
            busy.clear()
        elif busy.is_set():
            raise IllegalTransition("scope busy")
        return "COMPLETED"

    q = InProcessQueue(execute, concurrency=2, busy_retry_s=60, scope_of=lambda run_id: "acme:*")
    try:
        q.submit(1)
        assert busy.wait(10)
        q.submit(2)  # the follow-up click: its scope is busy, it is put back for 60 s
        for _ in range(200):
            if calls.count(2) == 1 and q.running == 1:
                break
            threading.Event().wait(0.05)
        assert calls == [1, 2] and q.waiting == 1
        gate.set()
        assert q.idle(10), "the follow-up waited for the re-check delay after its scope was free"
    finally:
        gate.set()
        q.close()
    assert calls == [1, 2, 2]


def test_runs_driven_elsewhere_are_checked_again_and_errors_reported() -> None:
    seen: list[tuple[int, str]] = []
    states = iter(["RUNNING", "COMPLETED"])

    def execute(run_id: int) -> str:
        if run_id == 2:
            raise RuntimeError("dask is down")
        return next(states)

    q = InProcessQueue(execute, concurrency=2, recheck_s=0.05, on_error=lambda r, e: seen.append((r, str(e))))
    q.submit(1)
    q.submit(2)
    assert q.idle(10)
    q.close()
    assert seen == [(2, "dask is down")]
    assert not q.submit(3)  # closed


# -- through the API, executing real runs against the GitHub sandbox ----------------------
@pytest.fixture
def github(hw: App, tenants: Tenants) -> Iterator[RunningServer]:
    sandbox, server = start("github", repos=2, seed=3)
    options, secrets = source_settings(sandbox, server.url)
    with hw.db.session() as s:
        add_source(s, hw.vault, get_tenant(s, "acme"), "github", options, secrets)
    yield server
    server.stop()


class GatedExecutor(RunExecutor):
    """A real executor (serial runner) that waits for the test to open the gate."""

    def __init__(self, hw: App) -> None:
        super().__init__(hw, runner_factory=SerialRunner, alerts=False)
        self.gate = threading.Event()

    def execute(self, run_id: int) -> str:
        self.gate.wait(30)
        return super().execute(run_id)


def test_refresh_returns_before_the_run_executes_then_it_completes(
    hw: App, tenants: Tenants, github: RunningServer
) -> None:
    executor = GatedExecutor(hw)
    local = LocalDispatcher(hw, executor, concurrency=2)
    with TestClient(api_for(hw, local)) as client:
        r = client.post("/api/tenants/acme/refresh", headers=bearer(tenants.acme_token))
        assert r.status_code == 202
        body = r.json()
        assert body["dispatched"] == "in-process" and body["state"] == "SCHEDULED"
        # Answered while the executor is still held: the request did not execute the run.
        assert client.get(f"/api/runs/{body['run_id']}", headers=bearer(ADMIN)).json()["state"] == "SCHEDULED"
        executor.gate.set()
        assert local.queue.idle(60)
        doc = client.get(f"/api/runs/{body['run_id']}", headers=bearer(ADMIN)).json()
    assert doc["state"] == "COMPLETED", doc["message"]
    assert doc["records_loaded"] > 0 and all(t["state"] == "COMPLETED" for t in doc["tasks"])


def test_click_while_running_gets_one_follow_up_executed_after(
    hw: App, tenants: Tenants, github: RunningServer
) -> None:
    # A run of the same scope is RUNNING, driven by another live process (our parent).
    with hw.db.session() as s:
        running, _ = _create(hw, s)
        set_run_state(s, running, State.PENDING)
        set_run_state(s, running, State.RUNNING)
        running.driver = f"{socket.gethostname()}:{os.getppid()}"
        running_id = running.id
    executor = RunExecutor(hw, runner_factory=SerialRunner, alerts=False)
    local = LocalDispatcher(hw, executor, concurrency=2, busy_retry_s=0.1, recheck_s=0.1)
    with TestClient(api_for(hw, local)) as client:
        ids = {client.post("/api/tenants/acme/refresh", headers=bearer(ADMIN)).json()["run_id"] for _ in range(5)}
        assert len(ids) == 1 and running_id not in ids
        (follow_up,) = ids
        assert not local.queue.idle(0.5)  # waiting for its scope, not failed
        assert client.get(f"/api/runs/{follow_up}", headers=bearer(ADMIN)).json()["state"] == "SCHEDULED"
        with hw.db.session() as s:
            row = s.get(Run, running_id)
            assert row is not None
            set_run_state(s, row, State.COMPLETED)
        assert local.queue.idle(60)
        assert client.get(f"/api/runs/{follow_up}", headers=bearer(ADMIN)).json()["state"] == "COMPLETED"


def test_server_start_picks_up_runs_a_previous_server_left(hw: App, tenants: Tenants, github: RunningServer) -> None:
    with hw.db.session() as s:
        left, _ = _create(hw, s)
        left_id = left.id
    local = LocalDispatcher(hw, RunExecutor(hw, runner_factory=SerialRunner, alerts=False), concurrency=1)
    with TestClient(api_for(hw, local)):  # lifespan start-up
        assert local.queue.idle(60)
    with hw.db.session() as s:
        row = s.get(Run, left_id)
        assert row is not None and row.state == "COMPLETED"


def _create(hw: App, s: Any) -> tuple[Run, bool]:
    from pipelines.state import create_run

    return create_run(s, get_tenant(s, "acme"), requested_by="test")
