"""A task whose process died keeps its HTTP counts: the worker writes its running counts
(requests, retries, responses by status) while the task runs, so the task the recovery marks
CRASHED still says how much HTTP it did, in ``run show --json`` and in /metrics.

The process driving the run (serial runner: it executes the tasks itself) is killed with
``os._exit`` (no cleanup, no final write) from a watcher thread once a task has made requests,
then the run is recovered as a dead driver's run is: its unfinished tasks end CRASHED."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox import Sandbox
from headwater.cli.sandboxes import source_settings, start
from headwater.metrics import registry_for
from pipelines import Driver, SerialRunner, WorkerConfig, recover_crashed_runs, run_document
from pipelines.state import cancel_run, create_run
from storage import Database
from storage.models import Run, State, TaskRun
from tenancy import Vault, add_source, add_tenant, get_tenant

KILLED = 9  # the child died where the test wanted: a task had made requests and was RUNNING
NEVER_SAW_COUNTS = 7  # the child gave up: no RUNNING task ever showed its HTTP counts
WAIT_S = 30.0


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")  # type: ignore[no-any-return]


World = tuple[Database, SecretStr, int, Sandbox]


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    key = SecretStr(Fernet.generate_key().decode())
    # Slow answers and small pages: every task makes several requests over a few seconds.
    sandbox, server = start("github", seed=5, repos=3, latency_ms=250)
    options, secrets = source_settings(sandbox, server.url)
    with db.session() as s:
        add_source(s, Vault(key), add_tenant(s, "acme"), "github", options, secrets)
        run, _ = create_run(s, get_tenant(s, "acme"))
        run_id = run.id
    yield db, key, run_id, sandbox
    server.stop()


def _child_main(url: str, key: str, run_id: int) -> None:  # in a spawned process
    import connectors.github.streams as gh

    gh.PER_PAGE = 5
    db = Database(url)

    def watch() -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            with db.read() as s:
                seen = s.execute(
                    select(TaskRun.id).where(
                        TaskRun.run_id == run_id, TaskRun.state == State.RUNNING, TaskRun.requests > 0
                    )
                ).first()
            if seen is not None:
                os._exit(KILLED)
            time.sleep(0.05)
        os._exit(NEVER_SAW_COUNTS)

    threading.Thread(target=watch, daemon=True).start()
    cfg = WorkerConfig(database_url=db.url, secret_key=SecretStr(key))
    Driver(db, Vault(SecretStr(key)), SerialRunner(cfg)).execute(run_id)


def _samples(db: Database) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry_for(db)).decode()
    return {
        (smp.name, frozenset(smp.labels.items())): smp.value
        for family in text_string_to_metric_families(text)
        for smp in family.samples
    }


def test_a_crashed_task_keeps_its_last_http_counts(world: World) -> None:
    db, key, run_id, _ = world
    child = multiprocessing.get_context("spawn").Process(
        target=_child_main, args=(db.url, key.get_secret_value(), run_id)
    )
    child.start()
    child.join(WAIT_S + 60)
    assert child.exitcode == KILLED, f"no running task showed HTTP counts before the kill (exit {child.exitcode})"

    assert recover_crashed_runs(db) == [run_id]  # its driver is gone: the run and its open tasks CRASH
    with db.read() as s:
        doc = run_document(s, run_id)
    assert doc is not None and doc["state"] == "CRASHED"
    crashed = [t for t in doc["tasks"] if t["state"] == "CRASHED"]
    counted = [t for t in crashed if t["requests"] > 0]
    assert counted, [(t["stream"], t["state"], t["requests"]) for t in doc["tasks"]]
    for t in counted:
        statuses = t["http_statuses"]
        assert statuses and all(code.isdigit() for code in statuses), statuses
        assert 0 < sum(statuses.values()) <= t["requests"]  # network errors have no status
        assert statuses.get("200", 0) > 0

    # /metrics counts the crashed tasks' responses too.
    m = _samples(db)
    total = {
        code: n
        for (name, labels), n in m.items()
        if name == "headwater_http_responses_total" and dict(labels)["tenant"] == "acme"
        for code in [dict(labels)["status"]]
    }
    expected: dict[str, int] = {}
    for t in doc["tasks"]:
        if t["state"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            for code, n in t["http_statuses"].items():
                expected[code] = expected.get(code, 0) + n
    assert total == expected and total.get("200", 0) > 0
    assert m[("headwater_http_requests_total", frozenset({("connector", "github")}))] == sum(
        t["requests"] for t in doc["tasks"] if t["state"] != "RUNNING"
    )


def test_a_cancelled_task_keeps_what_it_did_until_it_stopped(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    db, key, run_id, sandbox = world
    monkeypatch.setattr("connectors.github.streams.PER_PAGE", 5)
    cfg = WorkerConfig(database_url=db.url, secret_key=key)
    ended: list[str] = []
    driving = threading.Thread(
        target=lambda: ended.append(Driver(db, Vault(key), SerialRunner(cfg)).execute(run_id)), daemon=True
    )
    driving.start()

    def running_with_counts() -> tuple[int, int] | None:
        with db.read() as s:
            row = s.execute(
                select(TaskRun.id, TaskRun.requests).where(
                    TaskRun.run_id == run_id, TaskRun.state == State.RUNNING, TaskRun.requests > 0
                )
            ).first()
        return (row[0], row[1]) if row else None

    deadline = time.monotonic() + WAIT_S
    seen = running_with_counts()
    while seen is None and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = running_with_counts()
    assert seen is not None, "no running task showed its HTTP counts"
    task_id, requests_then = seen
    with db.session() as s:
        run = s.get(Run, run_id)
        assert run is not None and cancel_run(s, run, by="test")
    driving.join(60)
    assert ended == ["CANCELLED"]

    with db.read() as s:
        doc = run_document(s, run_id)
    assert doc is not None
    task = next(t for t in doc["tasks"] if t["id"] == task_id)
    assert task["state"] == "CANCELLED"
    # Counted to the end: at least what it had when cancelled, every response with its status.
    assert task["requests"] >= requests_then > 0
    assert sum(task["http_statuses"].values()) == task["requests"]
    # One task at a time (serial runner): every request the provider saw is on one of the tasks,
    # the cancelled one's last requests (after its last running write) included; only the one in
    # flight when it stopped has no answer to count.
    missing = len(sandbox.api_requests()) - sum(t["requests"] for t in doc["tasks"])
    assert 0 <= missing <= 1, missing
