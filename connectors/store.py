"""The database side of one stream task: cursors, validators, parents, and the batch commit.

Everything a task writes for one page — normalized rows, the raw page, quarantined records,
the advanced cursor and new ETags — goes in ONE transaction (:meth:`TaskStore.commit`), so a
crash never loses a committed batch and never advances a cursor past unloaded data.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connectors.streams import ParentSpec, Partition, Row
from storage import Database, model_for, tombstone, upsert_rows
from storage.models import Cursor, HttpValidator, Quarantine, RawPage, utcnow
from storage.upsert import merge_statement, revive


@dataclass
class Quarantined:
    payload: Any
    reason: str


@dataclass
class Batch:
    rows: list[Row] = field(default_factory=list)
    raw: list[Any] = field(default_factory=list)
    url: str | None = None
    quarantined: list[Quarantined] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    tombstones: list[tuple[str, dict[str, Any], set[str]]] = field(default_factory=list)  # entity, where, keep


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


P = ParamSpec("P")
R = TypeVar("R")


def through_outages(method: Callable[Concatenate[TaskStore, P], R]) -> Callable[Concatenate[TaskStore, P], R]:
    """Run the store method again, whole, while a server database is away for a moment
    (``Database.retrying``): a database restart fails no task."""

    def wrapper(store: TaskStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return store.db.retrying(lambda: method(store, *args, **kwargs), what=f"{method.__name__} of {store.stream}")

    functools.update_wrapper(wrapper, method)
    return wrapper


class TaskStore:
    def __init__(
        self,
        db: Database,
        *,
        tenant_id: int,
        source_id: int,
        stream: str,
        partition: str | None,
        run_id: int | None = None,
        task_run_id: int | None = None,
        land_raw: bool = True,
    ) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.source_id = source_id
        self.stream = stream
        self.partition = partition
        self.run_id = run_id
        self.task_run_id = task_run_id
        self.land_raw = land_raw
        self.loaded_by_entity: Counter[str] = Counter()

    # -- reads -------------------------------------------------------------------------
    @through_outages
    def read_cursor(self) -> dict[str, Any] | None:
        with self.db.read() as s:
            row = s.execute(
                select(Cursor.value).where(
                    Cursor.source_id == self.source_id,
                    Cursor.stream == self.stream,
                    Cursor.partition == (self.partition or ""),
                )
            ).scalar_one_or_none()
        return dict(row) if row is not None else None

    @through_outages
    def validator(self, url: str) -> tuple[str | None, str | None] | None:
        with self.db.read() as s:
            hit = s.execute(
                select(HttpValidator.etag, HttpValidator.last_modified).where(
                    HttpValidator.source_id == self.source_id, HttpValidator.url_hash == url_hash(url)
                )
            ).first()
        return (hit[0], hit[1]) if hit else None

    @through_outages
    def parent_rows(self, parent: ParentSpec, partition: Partition | None, since: Any) -> list[dict[str, Any]]:
        model = model_for(parent.entity)
        table = model.__table__  # type: ignore[attr-defined]
        cols = [table.c[c] for c in dict.fromkeys(("external_id", parent.watermark, *parent.fields))]
        cond = [
            table.c.tenant_id == self.tenant_id,
            table.c.source_id == self.source_id,
            table.c.deleted_at.is_(None),
        ]
        if parent.partition_column and partition is not None:
            value = partition.values[parent.partition_value] if parent.partition_value else partition.key
            cond.append(table.c[parent.partition_column] == value)
        for col, val in parent.where.items():
            cond.append(val(table) if callable(val) else table.c[col] == val)
        if since is not None:
            cond.append(table.c[parent.watermark] >= since)
        with self.db.read() as s:
            result = s.execute(select(*cols).where(*cond).order_by(table.c[parent.watermark], table.c.id))
            return [dict(r._mapping) for r in result]

    @through_outages
    def live_rows(self, entity: str, where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        model = model_for(entity)
        table = model.__table__  # type: ignore[attr-defined]
        cond = [
            table.c.tenant_id == self.tenant_id,
            table.c.source_id == self.source_id,
            table.c.deleted_at.is_(None),
        ]
        for col, val in (where or {}).items():
            cond.append(val(table) if callable(val) else table.c[col] == val)
        with self.db.read() as s:
            return [dict(r._mapping) for r in s.execute(select(table).where(*cond).order_by(table.c.id))]

    # -- the one write ---------------------------------------------------------------------
    def commit(self, batch: Batch) -> int:
        """Write one batch atomically; returns the number of normalized rows written. A database
        outage shorter than ``db.outage_s`` only delays it: the whole transaction runs again."""
        counts = self._commit(batch)
        for entity, n in counts.items():
            self.loaded_by_entity[entity] += n
        return sum(counts.values())

    @through_outages
    def _commit(self, batch: Batch) -> dict[str, int]:
        by_entity: dict[str, list[dict[str, Any]]] = {}
        for row in batch.rows:
            data = {**row.data, "tenant_id": self.tenant_id, "source_id": self.source_id}
            by_entity.setdefault(row.entity, []).append(data)
        counts: dict[str, int] = {}
        with self.db.session() as s:
            # Entity kinds in one global order (then rows by key, in upsert_rows): two batches that
            # share rows (the same people and commits in two tasks) lock them in the same order,
            # so PostgreSQL never deadlocks them.
            for entity in sorted(by_entity):
                counts[entity] = upsert_rows(s, entity, by_entity[entity])
            for entity, where, keep in batch.tombstones:
                # A complete listing is the truth: what it lacks is gone, what it shows is alive.
                tombstone(s, entity, tenant_id=self.tenant_id, source_id=self.source_id, keep=keep, where=where)
                revive(s, entity, tenant_id=self.tenant_id, source_id=self.source_id, external_ids=keep)
            common = {
                "tenant_id": self.tenant_id,
                "source_id": self.source_id,
                "run_id": self.run_id,
                "task_run_id": self.task_run_id,
                "stream": self.stream,
                "partition": self.partition,
            }
            if self.land_raw and batch.raw:
                s.execute(insert(RawPage), [{**common, "url": batch.url, "records": batch.raw, "fetched_at": utcnow()}])
            if batch.quarantined:
                now = utcnow()
                s.execute(
                    insert(Quarantine),
                    [
                        {**common, "payload": json.dumps(q.payload, default=str), "reason": q.reason, "created_at": now}
                        for q in batch.quarantined
                    ],
                )
            if batch.cursor is not None:
                self._save_cursor(s, batch.cursor)
            if batch.validators:
                self._save_validators(s, batch.validators)
        return counts

    @through_outages
    def tombstone_now(self, entity: str, external_ids: Sequence[str]) -> int:
        with self.db.session() as s:
            return tombstone(s, entity, tenant_id=self.tenant_id, source_id=self.source_id, external_ids=external_ids)

    # Plain INSERT … ON CONFLICT statements, built once: no ORM unit of work inside the write lock.
    def _save_cursor(self, s: Session, value: dict[str, Any]) -> None:
        stmt = merge_statement(Cursor, _dialect(s), ("source_id", "stream", "partition"), ("value", "updated_at"))
        row = {"tenant_id": self.tenant_id, "source_id": self.source_id, "stream": self.stream}
        s.execute(stmt, [{**row, "partition": self.partition or "", "value": value, "updated_at": utcnow()}])

    def _save_validators(self, s: Session, validators: dict[str, tuple[str | None, str | None]]) -> None:
        now = utcnow()
        stmt = merge_statement(
            HttpValidator, _dialect(s), ("source_id", "url_hash"), ("etag", "last_modified", "updated_at")
        )
        s.execute(
            stmt,
            [
                {
                    "source_id": self.source_id,
                    "url_hash": url_hash(url),
                    "url": url,
                    "etag": etag,
                    "last_modified": last_modified,
                    "updated_at": now,
                }
                for url, (etag, last_modified) in sorted(validators.items())
            ],
        )


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


def distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
