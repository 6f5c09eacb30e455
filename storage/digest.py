"""A digest of normalized data, to compare two loads (benchmarks, idempotence tests)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from storage.engine import Database
from storage.models import ENTITY_MODELS

IGNORED = {"id", "tenant_id", "source_id", "ingested_at", "deleted_at"}


def data_digest(db: Database, *, include_deleted: bool = False) -> tuple[str, dict[str, int]]:
    """(sha256 over every live row's provider data, row count per entity kind)."""
    h = hashlib.sha256()
    counts: dict[str, int] = {}
    with db.read() as s:
        for name in sorted(ENTITY_MODELS):
            table = ENTITY_MODELS[name].__table__  # type: ignore[attr-defined]
            q = select(table).order_by(table.c.external_id)
            if not include_deleted:
                q = q.where(table.c.deleted_at.is_(None))
            rows = [{k: v for k, v in dict(r._mapping).items() if k not in IGNORED} for r in s.execute(q)]
            counts[name] = len(rows)
            h.update(json.dumps([name, rows], sort_keys=True, default=str).encode())
    return h.hexdigest(), counts
