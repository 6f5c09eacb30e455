"""pipelines.httpcounts on a real database: counts go on across attempts, running writes never
lower a row nor touch a finished one, and the poll's checkpoint writes only what changed."""

from __future__ import annotations

from collections import Counter

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from connectors.http.client import HttpStats
from pipelines.httpcounts import EARLIER_COUNTS, ENDED_UNDER_IT, checkpoint, counts_from, counts_of, write_counts
from pipelines.state import create_run, transition_task
from storage import Database
from storage.models import State, TaskRun
from tenancy import Vault, add_source, add_tenant


def a_task(db: Database) -> int:
    with db.session() as s:
        tenant = add_tenant(s, "acme")
        vault = Vault(SecretStr(Fernet.generate_key().decode()))
        source = add_source(s, vault, tenant, "github", {"org": "o", "base_url": "http://127.0.0.1:9"}, {"token": "t"})
        run, _ = create_run(s, tenant)
        task = TaskRun(run_id=run.id, source_id=source.id, key="k", stream="commits", state=State.PENDING)
        s.add(task)
        s.flush()
        transition_task(s, task.id, State.RUNNING)
        return task.id


def row(db: Database, task_id: int) -> tuple[int, int, dict[str, int]]:
    with db.read() as s:
        t = s.get(TaskRun, task_id)
        assert t is not None
        return t.requests, t.http_retries, dict(t.http_statuses)


def stats(requests: int, retries: int, **by_status: int) -> HttpStats:
    return HttpStats(
        requests=requests, retries=retries, by_status=Counter({int(k[1:]): v for k, v in by_status.items()})
    )


def test_an_attempt_counts_on_from_the_previous_one(any_db: Database) -> None:
    task_id = a_task(any_db)
    assert write_counts(any_db, task_id, counts_of(stats(3, 1, s200=2, s502=1)))
    with any_db.read() as s:  # the next attempt, after the worker died, reads them as its start does
        again = counts_from(s.execute(select(*EARLIER_COUNTS).where(TaskRun.id == task_id)).one())
    again.requests += 2
    again.by_status[200] += 2
    assert counts_of(again)["http_statuses"] == {"200": 4, "502": 1}
    assert write_counts(any_db, task_id, counts_of(again))
    assert row(any_db, task_id) == (5, 1, {"200": 4, "502": 1})


def test_running_writes_never_lower_a_row_nor_touch_a_finished_task(any_db: Database) -> None:
    task_id = a_task(any_db)
    assert write_counts(any_db, task_id, counts_of(stats(4, 0, s200=4)))
    assert not write_counts(any_db, task_id, counts_of(stats(2, 0, s200=2)))  # a stale writer
    assert row(any_db, task_id) == (4, 0, {"200": 4})
    with any_db.session() as s:
        transition_task(s, task_id, State.COMPLETED, **counts_of(stats(5, 0, s200=5)))
    assert not write_counts(any_db, task_id, counts_of(stats(9, 0, s200=9)))  # final is final
    assert not write_counts(any_db, task_id, counts_of(stats(9, 0, s200=9)), ENDED_UNDER_IT)
    assert row(any_db, task_id) == (5, 0, {"200": 5})


def test_a_task_ended_under_its_worker_gets_the_workers_last_counts(any_db: Database) -> None:
    task_id = a_task(any_db)
    with any_db.session() as s:
        transition_task(s, task_id, State.CANCELLED, "cancelled by test")
    assert not write_counts(any_db, task_id, counts_of(stats(3, 0, s200=3)))  # no longer running
    assert write_counts(any_db, task_id, counts_of(stats(3, 0, s200=3)), ENDED_UNDER_IT)
    assert row(any_db, task_id) == (3, 0, {"200": 3})


def test_the_checkpoint_writes_only_what_changed(any_db: Database) -> None:
    task_id = a_task(any_db)
    live = HttpStats()
    poll = checkpoint(any_db, task_id, live)
    assert poll() is None  # nothing done yet
    live.requests, live.by_status[200] = 1, 1
    write = poll()
    assert write is not None
    live.requests, live.by_status[200] = 2, 2  # the loop goes on while the write runs
    write()
    assert row(any_db, task_id) == (1, 0, {"200": 1})  # the copy taken at the poll
    write = poll()
    assert write is not None
    write()
    assert row(any_db, task_id) == (2, 0, {"200": 2})
    assert poll() is None  # unchanged since
