"""Bulk, idempotent upserts of normalized rows on SQLite and PostgreSQL.

Rules, enforced in SQL so that concurrent writers cannot race them:

* the key is (tenant_id, source_id, external_id): a re-run never duplicates;
* an older payload never overwrites a newer one: the update applies only when the
  incoming provider ``updated_at`` is not older than the stored one;
* a tombstoned row is not resurrected by accident: ``deleted_at`` is kept unless the
  incoming payload was updated after the tombstone (the record really came back);
* a row equal to the live one stored is not written again (its ``ingested_at`` says when it
  last changed): on PostgreSQL an ``ON CONFLICT DO UPDATE`` locks the row even when it
  changes nothing, and every task of a run writes the same people and commits, so each
  task's batch waited for the others' transactions to commit (bench/parallel_vs_serial.py
  with ``--pg-admin-url``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import ENTITY_MODELS, EntityMixin, utcnow

KEY_COLUMNS = ("tenant_id", "source_id", "external_id")
BATCH_ROWS = 1_000


def model_for(entity: str) -> type[EntityMixin]:
    try:
        return ENTITY_MODELS[entity]
    except KeyError:
        raise ValueError(f"unknown entity kind {entity!r}; known: {', '.join(sorted(ENTITY_MODELS))}") from None


def upsert_rows(session: Session, entity: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update ``rows`` of one entity kind; returns the number of rows written."""
    if not rows:
        return 0
    model_for(entity)  # an unknown kind fails here, before any row is looked at
    now = utcnow()
    # De-duplicate inside the batch (last one wins, unless older): ON CONFLICT cannot touch
    # the same row twice in one statement.
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[c] for c in KEY_COLUMNS)
        prev = by_key.get(key)
        if prev is not None and _older(row.get("updated_at"), prev.get("updated_at")):
            continue
        by_key[key] = {**row, "ingested_at": now}
    unchanged = _unchanged(session, entity, by_key)
    # Rows are written per column set: a row that lacks a column (a person known only by login
    # from a PR) never erases what a richer row (the member listing) stored there.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for key, v in by_key.items():
        if key not in unchanged:
            groups.setdefault(tuple(sorted(v)), []).append(v)
    dialect = session.get_bind().dialect.name
    # One global order (column set, then key): concurrent batches that share rows (the same
    # people in two tasks) lock them in the same order, so PostgreSQL never deadlocks them.
    for columns in sorted(groups):
        values = sorted(groups[columns], key=lambda v: tuple(str(v[c]) for c in KEY_COLUMNS))
        _upsert_group(session, entity, columns, values, dialect)
    return len(by_key)


def _unchanged(session: Session, entity: str, by_key: dict[tuple[Any, ...], dict[str, Any]]) -> set[tuple[Any, ...]]:
    """The keys whose live stored row already holds every incoming value (read without a lock:
    a row changed meanwhile by another writer is one that writer ordered after this batch)."""
    compared = tuple(sorted({c for v in by_key.values() for c in v} - {*KEY_COLUMNS, "ingested_at"}))
    stmt = _stored_statement(entity, compared)
    scopes: dict[tuple[Any, Any], list[str]] = {}
    for tenant_id, source_id, external_id in by_key:
        scopes.setdefault((tenant_id, source_id), []).append(external_id)
    same: set[tuple[Any, ...]] = set()
    for (tenant_id, source_id), ids in scopes.items():
        for start in range(0, len(ids), BATCH_ROWS):
            params = {"p_tenant": tenant_id, "p_source": source_id, "p_ids": ids[start : start + BATCH_ROWS]}
            for row in session.execute(stmt, params):
                key = (tenant_id, source_id, row[0])
                incoming = by_key[key]
                if all(incoming[c] == row[i] for i, c in enumerate(compared, 1) if c in incoming):
                    same.add(key)
    return same


@functools.lru_cache(maxsize=1024)
def _stored_statement(entity: str, compared: tuple[str, ...]) -> Any:
    """The SELECT of the live stored rows that :func:`_unchanged` compares, built once (a batch
    of every task runs it)."""
    table = model_for(entity).__table__  # type: ignore[attr-defined]
    _known_columns(entity, table, compared)
    return select(table.c.external_id, *(table.c[c] for c in compared)).where(
        table.c.tenant_id == bindparam("p_tenant"),
        table.c.source_id == bindparam("p_source"),
        table.c.deleted_at.is_(None),
        table.c.external_id.in_(bindparam("p_ids", expanding=True)),
    )


def _upsert_group(
    session: Session, entity: str, columns: tuple[str, ...], values: list[dict[str, Any]], dialect: str
) -> None:
    stmt = _upsert_statement(entity, columns, dialect)
    # executemany: the statement is compiled once (and cached by SQLAlchemy), rows are bound by
    # the driver; a multi-VALUES statement would be recompiled for every batch.
    for start in range(0, len(values), BATCH_ROWS):
        session.execute(stmt, values[start : start + BATCH_ROWS])


@functools.lru_cache(maxsize=1024)
def _upsert_statement(entity: str, columns: tuple[str, ...], dialect: str) -> Any:
    """The INSERT … ON CONFLICT of one entity kind and column set, built once: building it (its
    ``excluded`` namespace and a dozen clause elements) cost more than executing it for a page."""
    table = model_for(entity).__table__  # type: ignore[attr-defined]
    _known_columns(entity, table, columns)
    stmt = _dialect_insert(dialect)(table)
    excluded = stmt.excluded
    updates: dict[str, Any] = {c: excluded[c] for c in columns if c not in (*KEY_COLUMNS, "id", "deleted_at")}
    updates["deleted_at"] = case(
        (
            and_(
                table.c.deleted_at.is_not(None),
                excluded.updated_at.is_not(None),
                excluded.updated_at > table.c.deleted_at,
            ),
            None,
        ),
        else_=table.c.deleted_at,
    )
    not_older = or_(
        table.c.updated_at.is_(None),
        excluded.updated_at.is_(None),
        excluded.updated_at >= table.c.updated_at,
    )
    return stmt.on_conflict_do_update(index_elements=list(KEY_COLUMNS), set_=updates, where=not_older)


def _known_columns(entity: str, table: Any, columns: Iterable[str]) -> None:
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{entity}: unknown column(s) {unknown}")


def _dialect_insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.lru_cache(maxsize=64)
def merge_statement(model: Any, dialect: str, keys: tuple[str, ...], updates: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (``keys``) DO UPDATE SET ``updates`` of ``model``, built once; executed
    with the rows as parameters."""
    stmt = _dialect_insert(dialect)(model)
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in updates})


def tombstone(
    session: Session,
    entity: str,
    *,
    tenant_id: int,
    source_id: int,
    external_ids: Iterable[str] | None = None,
    keep: Iterable[str] | None = None,
    where: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Mark rows deleted (never hard delete).

    Either name the ``external_ids`` to tombstone, or give ``keep`` (the ids still present in a
    complete listing) and every other live row matching ``where`` is tombstoned. A ``where``
    value is an equality, or a callable ``(table) -> condition`` for windows such as
    ``ts >= oldest`` (Slack's re-read window).
    """
    model = model_for(entity)
    table = model.__table__  # type: ignore[attr-defined]
    cond = [table.c.tenant_id == tenant_id, table.c.source_id == source_id, table.c.deleted_at.is_(None)]
    for col, val in (where or {}).items():
        cond.append(val(table) if callable(val) else table.c[col] == val)
    if external_ids is not None:
        ids = list(external_ids)
        if not ids:
            return 0
        cond.append(table.c.external_id.in_(ids))
    elif keep is not None:
        kept = set(keep)
        live = session.execute(select(table.c.external_id).where(*cond)).scalars().all()
        gone = [x for x in live if x not in kept]
        if not gone:
            return 0
        cond.append(table.c.external_id.in_(gone))
    else:
        raise ValueError("tombstone() needs external_ids or keep")
    result = session.execute(update(table).where(*cond).values(deleted_at=at or utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def _older(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a < b


def revive(session: Session, entity: str, *, tenant_id: int, source_id: int, external_ids: Iterable[str]) -> int:
    """Clear the tombstone of rows a complete listing shows again (access restored, un-archived).

    This is the one deliberate way back from a tombstone; a stale payload never revives a row.
    """
    ids = list(external_ids)
    table = model_for(entity).__table__  # type: ignore[attr-defined]
    revived = 0
    for start in range(0, len(ids), 5000):
        result = session.execute(
            update(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.source_id == source_id,
                table.c.deleted_at.is_not(None),
                table.c.external_id.in_(ids[start : start + 5000]),
            )
            .values(deleted_at=None)
        )
        revived += int(getattr(result, "rowcount", 0) or 0)
    return revived
