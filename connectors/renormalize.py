"""Rebuild normalized rows from landed raw pages, without calling the provider.

After a normalizer fix, `headwater renormalize TENANT SOURCE_ID [--stream S]` replays every raw
page of the source (oldest first, so the newest version of a record is written last) through the
stream's ``normalize`` and the usual upsert. Only what a StreamSpec declares is read: its
``normalize`` hook, its parent (to find the parent row a child page was read for, by its path),
and ``prepare`` (a stream that needs one before normalizing cannot be replayed offline).
Tombstones stay as they are: a stale payload never revives a row (``storage.upsert``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from connectors.runner import normalize_records
from connectors.runtime import SourceRuntime, partitions_of
from connectors.store import TaskStore
from connectors.streams import Partition, StreamContext, StreamSpec
from storage import Database
from storage.models import RawPage
from storage.upsert import upsert_rows


@dataclass
class Renormalized:
    pages: int = 0
    rows: Counter[str] = field(default_factory=Counter)  # rows written per entity
    quarantined: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # stream -> why it was not replayed
    unmatched_pages: int = 0  # child pages whose parent row is gone

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "rows": dict(self.rows),
            "quarantined": self.quarantined,
            "skipped": self.skipped,
            "unmatched_pages": self.unmatched_pages,
        }


def _path(url: str | None) -> str:
    return urlsplit(url or "").path.rstrip("/")


def _parents(rt: SourceRuntime, db: Database, spec: StreamSpec, ctx: StreamContext) -> dict[str, dict[str, Any]]:
    """The parent row of each child path (``spec.path`` formatted with the parent's columns)."""
    assert spec.parent is not None
    store = TaskStore(db, tenant_id=rt.tenant_id, source_id=rt.source_id, stream=spec.name, partition=None)
    out: dict[str, dict[str, Any]] = {}
    for row in store.parent_rows(spec.parent, ctx.partition, None):
        ctx.parent = row
        try:
            out["/" + ctx.fmt(spec.path).strip("/")] = row
        except (KeyError, IndexError):
            continue
    ctx.parent = None
    return out


def renormalize(rt: SourceRuntime, db: Database, stream: str | None = None) -> Renormalized:
    specs = [rt.connector.stream(stream)] if stream else list(rt.connector.streams)
    partitions = {p.key: p for p in partitions_of(rt, db)}
    done = Renormalized()
    for spec in specs:
        if spec.prepare is not None:
            done.skipped[spec.name] = "its normalizer needs a prepare step that calls the provider"
            continue
        with db.read() as s:
            pages = list(
                s.execute(
                    select(RawPage.partition, RawPage.url, RawPage.records)
                    .where(RawPage.source_id == rt.source_id, RawPage.stream == spec.name)
                    .order_by(RawPage.id)
                ).tuples()
            )
        parents: dict[str | None, dict[str, dict[str, Any]]] = {}
        for key, url, records in pages:
            partition = partitions.get(key) if key else None
            if key and partition is None:
                partition = Partition(key=key)
            ctx = StreamContext(tenant_id=rt.tenant_id, source_id=rt.source_id, options=rt.options, partition=partition)
            if spec.parent is not None:
                if key not in parents:
                    parents[key] = _parents(rt, db, spec, ctx)
                parent = next((row for p, row in parents[key].items() if _path(url).endswith(p)), None)
                if parent is None:
                    done.unmatched_pages += 1
                    continue
                ctx.parent = parent
            rows, bad = normalize_records(spec, list(records or []), ctx)
            done.quarantined += len(bad)
            by_entity: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_entity.setdefault(row.entity, []).append(
                    {**row.data, "tenant_id": rt.tenant_id, "source_id": rt.source_id}
                )
            with db.session() as s:
                for entity, batch in by_entity.items():
                    done.rows[entity] += upsert_rows(s, entity, batch)
            done.pages += 1
    return done
