"""Crash-safe loading, proven: the process executing a task is killed (os._exit: no cleanup, no
rollback handlers) between two pages of a listing, and between a task's last batch commit and
its COMPLETED transition, on SQLite and PostgreSQL. The re-run (the run resumed by the next
driver) neither loses nor duplicates a row, and no cursor claims a record that was not loaded:
the data and cursors end exactly as a clean full run leaves them."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select

from headwater.cli.sandboxes import source_settings, start
from pipelines import Driver, SerialRunner, WorkerConfig, run_document
from pipelines.state import create_run
from storage import Database
from storage.digest import data_digest
from storage.models import Cursor, RawPage, State, TaskRun
from tenancy import Vault, add_source, add_tenant, get_tenant
from tests.ingest_support import ServedSandbox

STREAM = "commits"  # newest-first: its cursor may advance only when the listing is complete
PER_PAGE = 5  # several pages per repository


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")  # type: ignore[no-any-return]


@pytest.fixture
def world(db: Database) -> Iterator[tuple[Database, SecretStr, ServedSandbox, int]]:
    key = SecretStr(Fernet.generate_key().decode())
    sandbox, server = start("github", seed=5, repos=3)
    options, secrets = source_settings(sandbox, server.url)
    with db.session() as s:
        source_id = add_source(s, Vault(key), add_tenant(s, "acme"), "github", options, secrets).id
    yield db, key, ServedSandbox(sandbox, server), source_id
    server.stop()


def new_run(db: Database, *, full: bool = False) -> int:
    with db.session() as s:
        run, _ = create_run(s, get_tenant(s, "acme"), full=full)
        return run.id


def drive(db: Database, key: SecretStr, run_id: int) -> str:
    cfg = WorkerConfig(database_url=db.url, secret_key=key)
    return Driver(db, Vault(key), SerialRunner(cfg)).execute(run_id)


def crash_child(url: str, key: str, run_id: int, point: str) -> None:  # in a spawned process
    """Drive the run, dying at ``point`` inside the first multi-page ``commits`` task."""
    from connectors import store
    from pipelines import worker

    if point == "between_pages":
        real_commit = store.TaskStore.commit

        def commit(self: Any, batch: Any) -> int:
            written = real_commit(self, batch)
            full_page = len(batch.raw or []) == PER_PAGE  # the repository has more pages
            if self.stream == STREAM and full_page and _pages_of(self.db, self.task_run_id) == 1:
                os._exit(9)  # page 1 committed, page 2 never read
            return written

        store.TaskStore.commit = commit  # type: ignore[method-assign]
    else:
        real_transition = worker.transition_task  # type: ignore[attr-defined]

        def transition(session: Any, task_id: int, state: Any, *args: Any, **kw: Any) -> bool:
            if state == State.COMPLETED and _stream_of(session, task_id) == STREAM:
                os._exit(9)  # every batch and the cursor committed; the task still RUNNING
            return real_transition(session, task_id, state, *args, **kw)

        worker.transition_task = transition  # type: ignore[attr-defined]
    db = Database(url)
    drive(db, SecretStr(key), run_id)


def _pages_of(db: Database, task_run_id: int | None) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).where(RawPage.task_run_id == task_run_id)).scalar_one())


def _stream_of(session: Any, task_id: int) -> str | None:
    return session.execute(select(TaskRun.stream).where(TaskRun.id == task_id)).scalar()  # type: ignore[no-any-return]


def cursors(db: Database) -> dict[tuple[str, str], Any]:
    with db.read() as s:
        return {(c.stream, c.partition): c.value for c in s.execute(select(Cursor)).scalars()}


@pytest.mark.parametrize("point", ["between_pages", "after_commit_before_transition"])
def test_a_worker_killed_mid_task_loses_and_duplicates_nothing(
    world: tuple[Database, SecretStr, ServedSandbox, int], point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, key, served, source_id = world
    monkeypatch.setattr("connectors.github.streams.PER_PAGE", PER_PAGE)  # several pages per repository
    run_id = new_run(db)
    child = multiprocessing.get_context("spawn").Process(
        target=_child_main, args=(db.url, key.get_secret_value(), run_id, point)
    )
    child.start()
    child.join(120)
    assert child.exitcode == 9, f"the child did not die at {point} (exit {child.exitcode})"

    with db.session() as s:
        crashed = run_document(s, run_id)
    assert crashed is not None and crashed["state"] == "RUNNING"
    stuck = [t for t in crashed["tasks"] if t["state"] == "RUNNING"]
    assert [t["stream"] for t in stuck] == [STREAM]
    at_crash = cursors(db)
    if point == "between_pages":  # the listing was not complete: its cursor did not move
        assert (STREAM, stuck[0]["partition"]) not in at_crash

    # The next driver resumes the run: the killed task is executed again from its cursor.
    assert drive(db, key, run_id) == "COMPLETED"
    with db.session() as s:
        resumed = run_document(s, run_id)
    assert resumed is not None
    again = next(t for t in resumed["tasks"] if t["id"] == stuck[0]["id"])
    history = [h["state"] for h in again["history"]]
    assert history[-5:] == ["RUNNING", "RETRYING", "PENDING", "RUNNING", "COMPLETED"], history
    assert served.loaded_exactly(db, source_id)
    digest, counts = data_digest(db)
    after_resume = cursors(db)

    # A clean full run over the same data changes nothing: same rows, same cursors.
    assert drive(db, key, new_run(db, full=True)) == "COMPLETED"
    assert data_digest(db) == (digest, counts)
    assert cursors(db) == after_resume


def _child_main(url: str, key: str, run_id: int, point: str) -> None:
    import connectors.github.streams as gh

    gh.PER_PAGE = PER_PAGE
    crash_child(url, key, run_id, point)
