"""Two tasks committing batches that share rows never deadlock on PostgreSQL.

Two batches hold the same person and the same commit, in opposite order (a commit listing
yields the commit first and its author after; a member listing the person first). Each
transaction pauses after its first statement until the other has run its own first one:
if the batches lock the shared rows in arrival order, PostgreSQL kills one of them as a
deadlock (and the store rolls the transaction back and runs it whole again).
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select

from connectors.store import Batch, TaskStore
from connectors.streams import Row
from storage import Database
from storage.models import Commit, Person
from tests.conftest import tenant_and_source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_batches_sharing_rows_lock_them_in_one_order(pg_db: Database) -> None:
    ids = tenant_and_source(pg_db)
    person = Row("person", {"external_id": "u1", "login": "ada", "updated_at": T0})
    commit = Row("commit", {"external_id": "r1:abc", "repository_external_id": "r1", "sha": "abc", "authored_at": T0})
    batches = {"commits": Batch(rows=[commit, person]), "members": Batch(rows=[person, commit])}

    both_started = threading.Barrier(2, timeout=3)
    first_done: set[int] = set()
    inserts: list[str] = []

    @event.listens_for(pg_db.engine, "after_cursor_execute")
    def pause_after_first_upsert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        me = threading.get_ident()
        if not statement.lstrip().upper().startswith("INSERT"):
            return
        inserts.append(statement)
        if me not in first_done:
            first_done.add(me)
            # Times out (no deadlock) when the other transaction waits on our lock.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_started.wait()

    rollbacks: list[int] = []
    event.listen(pg_db.engine, "rollback", lambda conn: rollbacks.append(threading.get_ident()))
    errors: list[BaseException] = []

    def commit_batch(stream: str) -> None:
        store = TaskStore(pg_db, tenant_id=ids[0], source_id=ids[1], stream=stream, partition=None, land_raw=False)
        try:
            store.commit(batches[stream])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=commit_batch, args=(name,)) for name in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    event.remove(pg_db.engine, "after_cursor_execute", pause_after_first_upsert)

    assert errors == []
    assert rollbacks == [], "a transaction ran again: the two batches deadlocked"
    # The second transaction finds the first's rows committed: what it would write again is skipped.
    assert 3 <= len(inserts) <= 4
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1
        assert s.scalar(select(func.count()).select_from(Commit)) == 1
