"""The run lifecycle through the real command, under the faults an operator meets: a broker
down, a Dask scheduler without workers, Ctrl-C, a cancel from another terminal."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from pipelines.state import create_run
from storage.models import TERMINAL_STATES, State, Tenant
from tests.integration.services import start_dask_scheduler
from tests.lifecycle.conftest import Tenant as World
from tests.lifecycle.conftest import stderr_lines, terminal
from tests.lifecycle.conftest import wait_until as poll


def running_with_work_left(t: World) -> int | None:
    """The run id once some task is running and others are still to do."""
    run_id = t.latest_run_id()
    if run_id is None:
        return None
    states = [x.state for x in t.tasks(run_id)]
    busy = sum(s in ("RUNNING", "PENDING", "SCHEDULED") for s in states)
    return run_id if "RUNNING" in states and busy >= 2 else None


def test_broker_down_fails_the_run_in_one_line_and_blocks_no_later_refresh(acme: World) -> None:
    down = acme.cli("refresh", "acme", env={"HEADWATER_BROKER_URL": "redis://:s3cret@127.0.0.1:1/0"}, timeout=60)
    assert down.returncode != 0
    (line,) = stderr_lines(down.stderr)
    assert "127.0.0.1:1" in line and "HEADWATER_BROKER_URL" in line and "s3cret" not in line
    first = acme.latest_run_id()
    assert first is not None
    run = acme.run(first)
    assert run.state == State.FAILED and run.queued_key is None
    assert run.message is not None and "could not be queued" in run.message and "s3cret" not in run.message

    # The dead run holds nothing: the next refresh (broker setting removed) is a fresh run that completes.
    again = acme.cli("refresh", "acme", "--wait", "--json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["coalesced"] is False and doc["run_id"] != first and doc["state"] == "COMPLETED"
    assert acme.loaded_exactly()


def test_no_dask_workers_ends_the_wait_with_what_is_missing(acme: World, tmp_path: Path) -> None:
    address, scheduler = start_dask_scheduler(acme.env, tmp_path / "logs")
    try:
        started = time.monotonic()
        r = acme.cli(
            "refresh",
            "acme",
            "--wait",
            "--json",
            env={"HEADWATER_DASK_ADDRESS": address, "HEADWATER_DASK_NO_WORKERS_TIMEOUT_S": "3"},
            timeout=120,
        )
        took = time.monotonic() - started
    finally:
        scheduler.stop()
    assert r.returncode == 1
    assert took < 60, f"the wait took {took:.0f} s"
    last = stderr_lines(r.stderr)[-1]
    assert f"no Dask workers at {address}" in last, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "FAILED" and doc["tasks"]
    assert all(State(t["state"]) in TERMINAL_STATES for t in doc["tasks"])
    assert {t["error_kind"] for t in doc["tasks"] if t["state"] == "FAILED"} == {"INFRA"}


def test_ctrl_c_cancels_the_run_in_one_line_and_the_next_refresh_loads_the_truth(slow_acme: World) -> None:
    acme = slow_acme
    proc = acme.popen("refresh", "acme", "--wait", "--json")
    try:
        run_id = poll(lambda: running_with_work_left(acme), 90, "tasks running")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole group
        pressed = time.monotonic()
        poll(lambda: terminal(acme, run_id), 10, "the run to end after Ctrl-C")
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - pressed < 15
    assert proc.returncode == 130, err
    lines = stderr_lines(err)
    assert 1 <= len(lines) <= 2 and "Traceback" not in err, err
    assert f"run {run_id} is CANCELLED" in lines[-1] and f"headwater run show {run_id}" in lines[-1]
    assert out == ""
    run = acme.run(run_id)
    assert run.state == State.CANCELLED and "Ctrl-C" in (run.message or "")
    assert all(State(t.state) in TERMINAL_STATES for t in acme.tasks(run_id))

    follow = acme.cli("refresh", "acme", "--wait", "--json")
    assert follow.returncode == 0, follow.stderr
    assert json.loads(follow.stdout)["state"] == "COMPLETED"
    assert acme.loaded_exactly()


def test_run_cancel_stops_a_running_refresh_and_its_waiting_command(slow_acme: World) -> None:
    acme = slow_acme
    proc = acme.popen("refresh", "acme", "--wait", "--json")
    try:
        run_id = poll(lambda: running_with_work_left(acme), 90, "tasks running")
        cancel = acme.cli("run", "cancel", str(run_id), "--reason", "wrong org", "--json")
        asked = time.monotonic()
        assert cancel.returncode == 0, cancel.stderr
        doc = json.loads(cancel.stdout)
        assert doc["state"] == "CANCELLED" and "cancelled by cli: wrong org" in doc["message"]
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - asked < 10
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1 and json.loads(out)["state"] == "CANCELLED"
    assert stderr_lines(err)[-1].startswith(f"error: run {run_id} ended CANCELLED")
    # Nothing is left running: the worker threads stopped at their next request.
    time.sleep(1.5)
    tasks = acme.tasks(run_id)
    assert tasks and all(State(t.state) in TERMINAL_STATES for t in tasks)
    assert any(t.state == State.CANCELLED for t in tasks)

    # Cancelling a finished run is refused in one line.
    again = acme.cli("run", "cancel", str(run_id))
    assert again.returncode == 1 and stderr_lines(again.stderr) == [
        f"error: run {run_id} is already CANCELLED: only a waiting or running run can be cancelled"
    ]
    follow = acme.cli("refresh", "acme", "--wait", "--json")
    assert follow.returncode == 0, follow.stderr
    assert acme.loaded_exactly()


def test_a_full_refresh_joining_a_waiting_run_makes_it_full(acme: World) -> None:
    db = acme.db()
    try:
        with db.session() as s:
            tenant = s.query(Tenant).filter(Tenant.slug == "acme").one()
            waiting, _ = create_run(s, tenant)
            assert waiting.full is False
            waiting_id = waiting.id
        r = acme.cli("refresh", "acme", "--full", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"run_id": waiting_id, "state": "SCHEDULED", "coalesced": True}
        assert acme.run(waiting_id).full is True
    finally:
        db.dispose()


def test_a_retry_with_nothing_to_retry_is_refused(acme: World) -> None:
    done = acme.cli("refresh", "acme", "--wait", "--json")
    run_id = json.loads(done.stdout)["run_id"]
    r = acme.cli("run", "retry", str(run_id))
    assert r.returncode == 1
    assert stderr_lines(r.stderr) == [
        f"error: run {run_id} is COMPLETED: only a failed, crashed or cancelled run can be retried"
    ]
