"""Re-delivery never duplicates a run: finished runs return at once, a run whose driver died
is resumed (its finished tasks kept), and a run another live driver drives is left alone."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.sandbox import Sandbox
from headwater.cli.sandboxes import source_settings, start
from headwater.queue import tasks
from pipelines import Driver, IllegalTransition, SerialRunner, WorkerConfig, run_document, service, set_run_state
from pipelines.liveness import STALE_AFTER, driver_alive, recover_crashed_runs
from pipelines.state import create_run
from storage import Database, model_for
from storage.models import Run, RunState, State, TaskRun, utcnow
from tenancy import Vault, add_source, add_tenant


# -- the Celery task body ---------------------------------------------------------------
class Retry(Exception):
    def __init__(self, countdown: float) -> None:
        self.countdown = countdown


def fake_task(outcome: Any, retries: int = 0) -> Any:
    def execute(run_id: int) -> str:
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)

    executor = SimpleNamespace(execute=execute)
    return SimpleNamespace(
        app=SimpleNamespace(executor=lambda: executor),
        request=SimpleNamespace(retries=retries),
        retry=lambda countdown: Retry(countdown),
    )


def test_finished_runs_are_acknowledged() -> None:
    assert tasks.run_task(fake_task("COMPLETED"), 1) == "COMPLETED"
    assert tasks.run_task(fake_task("CRASHED"), 1) == "CRASHED"
    assert tasks.run_task(fake_task(LookupError("gone")), 1) == "MISSING"


@pytest.mark.parametrize(
    ("outcome", "countdown"),
    [
        (IllegalTransition("scope busy"), service.BUSY_RETRY_S),
        ("RUNNING", service.ELSEWHERE_RETRY_S),  # another live driver has it: look again later
        (ConnectionError("database unreachable"), 1.0),
    ],
)
def test_unfinished_runs_are_retried_later(outcome: Any, countdown: float) -> None:
    with pytest.raises(Retry) as caught:
        tasks.run_task(fake_task(outcome), 1)
    assert caught.value.countdown == countdown


def test_infrastructure_errors_back_off() -> None:
    with pytest.raises(Retry) as caught:
        tasks.run_task(fake_task(OSError("dask down"), retries=10), 1)
    assert caught.value.countdown == tasks.INFRA_RETRY_MAX_S


# -- who is driving ---------------------------------------------------------------------
def _run(**fields: Any) -> Run:
    now = utcnow()
    base: dict[str, Any] = {"id": 7, "created_at": now, "started_at": now, "heartbeat_at": now}
    return Run(**{**base, **fields})


def test_driver_alive() -> None:
    here = socket.gethostname()
    dead = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    dead.start()
    dead.join()
    stale = utcnow() - STALE_AFTER - timedelta(seconds=1)
    assert driver_alive(_run(driver=f"other-host:{os.getpid()}"))  # trust a fresh heartbeat
    assert not driver_alive(_run(driver="other-host:1", heartbeat_at=stale))  # no heartbeat: gone
    assert driver_alive(_run(driver=f"{here}:{os.getppid()}"))  # a live process on this host
    assert not driver_alive(_run(driver=f"{here}:{dead.pid}"))  # its process is gone
    assert not driver_alive(_run(driver=f"{here}:{os.getpid()}"))  # this process, not driving it
    assert not driver_alive(_run(driver=None))


# -- a real run, its driver killed ------------------------------------------------------
@pytest.fixture
def world(sqlite_db: Database) -> Iterator[tuple[Database, Vault, SecretStr, Sandbox, int]]:
    key = SecretStr(Fernet.generate_key().decode())
    vault = Vault(key)
    sandbox, server = start("github", repos=2, seed=5, latency_ms=40)
    options, secrets = source_settings(sandbox, server.url)
    with sqlite_db.session() as s:
        t = add_tenant(s, "acme")
        source_id = add_source(s, vault, t, "github", options, secrets).id
    yield sqlite_db, vault, key, sandbox, source_id
    server.stop()


def drive(url: str, key: str, run_id: int) -> None:  # in a child process
    db = Database(url)
    cfg = WorkerConfig(database_url=url, secret_key=SecretStr(key))
    Driver(db, Vault(SecretStr(key)), SerialRunner(cfg)).execute(run_id)


def new_run(db: Database) -> int:
    with db.session() as s:
        from tenancy import get_tenant

        run, _ = create_run(s, get_tenant(s, "acme"), full=True)
        return run.id


def completed_tasks(db: Database, run_id: int) -> int:
    with db.session() as s:
        return int(
            s.execute(
                select(func.count()).where(TaskRun.run_id == run_id, TaskRun.state == State.COMPLETED)
            ).scalar_one()
        )


def test_a_run_whose_driver_was_killed_is_resumed_not_repeated(
    world: tuple[Database, Vault, SecretStr, Sandbox, int],
) -> None:
    db, vault, key, sandbox, source_id = world
    run_id = new_run(db)
    child = multiprocessing.get_context("spawn").Process(target=drive, args=(db.url, key.get_secret_value(), run_id))
    child.start()
    deadline = time.monotonic() + 60
    while completed_tasks(db, run_id) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join()
    with db.session() as s:
        before = run_document(s, run_id)
    assert before is not None and before["state"] == "RUNNING"
    finished_before = {t["key"] for t in before["tasks"] if t["state"] == "COMPLETED"}
    assert finished_before and len(finished_before) < len(before["tasks"])

    # The message is delivered again, to another worker.
    cfg = WorkerConfig(database_url=db.url, secret_key=key)
    assert Driver(db, vault, SerialRunner(cfg)).execute(run_id) == "COMPLETED"
    with db.session() as s:
        after = run_document(s, run_id)
    assert after is not None
    assert [h["state"] for h in after["history"]][-3:] == ["RETRYING", "RUNNING", "COMPLETED"]
    keys = [t["key"] for t in after["tasks"]]
    assert len(keys) == len(set(keys))  # no task created twice
    for t in after["tasks"]:
        if t["key"] in finished_before:  # kept, not executed again
            assert t["attempts"] == 1 and [h["state"] for h in t["history"]].count("RUNNING") == 1
    truth = sandbox.truth()["counts"]
    with db.session() as s:
        loaded = {
            k: s.execute(select(func.count()).where(model_for(k).source_id == source_id)).scalar_one() for k in truth
        }
    assert loaded == truth
    # A late duplicate of the message finds the run finished and does nothing.
    states_before = _history_len(db, run_id)
    assert Driver(db, vault, SerialRunner(cfg)).execute(run_id) == "COMPLETED"
    assert _history_len(db, run_id) == states_before


def _history_len(db: Database, run_id: int) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count()).where(RunState.run_id == run_id)).scalar_one())


def test_a_run_driven_by_a_live_driver_is_left_alone(world: tuple[Database, Vault, SecretStr, Sandbox, int]) -> None:
    db, vault, key, _, _ = world
    run_id = new_run(db)
    with db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None
        set_run_state(s, run, State.PENDING)
        set_run_state(s, run, State.RUNNING)
        run.driver = f"{socket.gethostname()}:{os.getppid()}"  # alive, on this host
    n = _history_len(db, run_id)
    cfg = WorkerConfig(database_url=db.url, secret_key=key)
    assert Driver(db, vault, SerialRunner(cfg)).execute(run_id) == "RUNNING"
    assert _history_len(db, run_id) == n
    assert recover_crashed_runs(db) == []  # nor is it declared crashed


class BlockingRunner(SerialRunner):
    def __init__(self, cfg: WorkerConfig, gate: threading.Event, entered: threading.Event) -> None:
        super().__init__(cfg)
        self.gate, self.entered = gate, entered

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any]]]:
        self.entered.set()
        self.gate.wait(30)
        return super().wait(timeout)


def test_a_second_delivery_to_the_same_process_does_not_start_a_second_driver(
    world: tuple[Database, Vault, SecretStr, Sandbox, int], tmp_path: Path
) -> None:
    db, vault, key, _, _ = world
    run_id = new_run(db)
    cfg = WorkerConfig(database_url=db.url, secret_key=key)
    gate, entered = threading.Event(), threading.Event()
    result: list[str] = []
    first = threading.Thread(
        target=lambda: result.append(Driver(db, vault, BlockingRunner(cfg, gate, entered)).execute(run_id))
    )
    first.start()
    assert entered.wait(30)
    assert Driver(db, vault, SerialRunner(cfg)).execute(run_id) == "RUNNING"  # the duplicate
    gate.set()
    first.join(60)
    assert result == ["COMPLETED"]
