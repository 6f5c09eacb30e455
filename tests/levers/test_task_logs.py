"""Per-task log lines: bounded, redacted, written in one statement when the task ends; shown by
`headwater run logs` and GET /api/runs/{id}/logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from connectors.sandbox import RunningServer, Sandbox
from headwater.app import App
from headwater.cli.sandboxes import start
from headwater.logs import redact
from pipelines.logcontext import log_context
from pipelines.tasklogs import TaskLogHandler, captured, install, read
from storage.models import Run, Source, TaskRun, Tenant
from tests.api.conftest import ADMIN, Tenants, bearer
from tests.cli.conftest import Invoke, as_json
from tests.cli.test_refresh_contract import add_github

log = logging.getLogger("tests.levers.tasklogs")


@pytest.fixture
def handler() -> Iterator[TaskLogHandler]:
    h = install(per_task=5, redact=redact)
    old = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    yield h
    logging.getLogger().removeHandler(h)
    logging.getLogger().setLevel(old)


def make_task(hw: App, slug: str = "acme") -> tuple[int, int]:
    with hw.db.session() as s:
        tenant = s.query(Tenant).filter(Tenant.slug == slug).one()
        src = Source(tenant_id=tenant.id, kind="github", name="gh")
        s.add(src)
        s.flush()
        run = Run(tenant_id=tenant.id, trigger="refresh", state="RUNNING")
        s.add(run)
        s.flush()
        task = TaskRun(run_id=run.id, source_id=src.id, key="pulls:x", stream="pulls")
        s.add(task)
        s.flush()
        return run.id, task.id


def test_lines_are_bounded_redacted_and_written_in_one_statement(
    hw: App, tenants: Tenants, handler: TaskLogHandler
) -> None:
    run_id, task_id = make_task(hw)
    statements: list[str] = []
    event.listen(hw.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with log_context(run_id=run_id, task_id=task_id), captured(hw.db, run_id, task_id) as note:
        note("started")
        for i in range(8):
            log.warning("page %s token=ghp_abcdefghijklmnopqrstuvwxyz0123", i)
        log.debug("not kept")
        assert statements == []  # nothing written while the task runs
    log.warning("outside the task: not kept")
    inserts = [x for x in statements if x.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    with hw.db.read() as s:
        lines = read(s, run_id)
    assert lines[0]["message"] == "4 earlier line(s) of this task were not kept (the last 5 are)"
    assert [x["message"] for x in lines][1:] == [f"page {i} token=***" for i in range(3, 8)]
    assert all(x["task_id"] == task_id and x["level"] == "WARNING" for x in lines[1:])
    assert "ghp_" not in str(lines)


def test_other_tasks_lines_stay_apart(hw: App, tenants: Tenants, handler: TaskLogHandler) -> None:
    run_id, a = make_task(hw)
    _, b = make_task(hw)
    with log_context(task_id=a), captured(hw.db, run_id, a):
        log.info("from a")
        with log_context(task_id=b):
            log.info("from b")
    with hw.db.read() as s:
        assert [x["message"] for x in read(s, run_id, a)] == ["from a"]
    assert handler.drain(b)[0][0][3] == "from b"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[tuple[Sandbox, RunningServer]]:
    monkeypatch.setenv("HEADWATER_HTTP_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("HEADWATER_HTTP_BACKOFF_MAX_S", "0.1")
    sandbox, server = start("github", seed=3, repos=2)
    yield sandbox, server
    server.stop()


def test_run_logs_after_a_failing_refresh(cli: Invoke, github: tuple[Sandbox, RunningServer]) -> None:
    sandbox, server = github
    add_github(cli, sandbox, server)
    sandbox.faults.fail_paths = ["/pulls"]
    doc = as_json(cli("refresh", "acme", "--wait", "--json", ok=False))
    failed = [t for t in doc["tasks"] if t["state"] == "FAILED"]
    assert failed
    lines = as_json(cli("run", "logs", str(doc["run_id"]), "--json"))
    assert lines and set(lines[0]) >= {"at", "level", "task_id", "message"}
    ran = {t["id"] for t in doc["tasks"] if t["started_at"]}
    assert ran and {x["task_id"] for x in lines} == ran  # every task that ran kept its lines
    mine = as_json(cli("run", "logs", str(doc["run_id"]), "--task", str(failed[0]["id"]), "--json"))
    assert {x["task_id"] for x in mine} == {failed[0]["id"]}
    assert any(x["level"] == "WARNING" and "failed" in x["message"] for x in mine)
    assert mine[-1]["message"].startswith(f"task {failed[0]['id']} ended FAILED")
    human = cli("run", "logs", str(doc["run_id"]), "--task", str(failed[0]["id"])).stdout
    assert "WARNING" in human and "." not in human.split()[1]  # to the second: HH:MM:SS, no fraction
    # bad input: one line, exit 1
    for args, says in (
        (("run", "logs", "999"), "run 999 does not exist"),
        (("run", "logs", str(doc["run_id"]), "--task", "999"), "task 999 is not a task of run"),
    ):
        r = cli(*args, ok=False)
        assert r.exit_code == 1 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_logs_route_checks_the_token(client: TestClient, hw: App, tenants: Tenants, handler: TaskLogHandler) -> None:
    run_id, task_id = make_task(hw, "acme")
    with log_context(task_id=task_id), captured(hw.db, run_id, task_id):
        log.warning("hello")
    r = client.get(f"/api/runs/{run_id}/logs", headers=bearer(ADMIN))
    assert r.status_code == 200 and [x["message"] for x in r.json()] == ["hello"]
    assert client.get(f"/api/runs/{run_id}/logs", headers=bearer(tenants.acme_token)).status_code == 200
    assert client.get(f"/api/runs/{run_id}/logs", headers=bearer(tenants.globex_token)).status_code == 404
    assert client.get(f"/api/runs/{run_id}/logs", params={"task": task_id + 1}, headers=bearer(ADMIN)).json() == []
