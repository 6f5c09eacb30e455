"""The tenant's derived task: identities and work links from what its streams loaded.

It runs in every run after the run's stream tasks (``pipelines.driver`` adds it once the graph
is whole) and reads only what changed since its own watermark (``derived_watermark``, name
``links``): identities are resolved again when a person, a commit, a manual decision or an
explicit mapping changed
(the resolution is global, the writes are only what differs); links are recomputed for the
rows ingested since the watermark, or for every row when the tenant's Jira issues changed (a
new issue can make an old title a link). It writes only differences, so a re-run changes
nothing. One transaction: the watermark moves with what it covers.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linking import STREAM
from linking.identities import resolve
from linking.mappings import load_mappings, mappings_mark
from linking.store import (
    changed_rows,
    high_water,
    load_accounts,
    load_catalog,
    load_decisions,
    read_watermark,
    write_identities,
    write_links,
    write_watermark,
)
from linking.worklinks import Catalog, Link, aha_links, text_links
from storage import Database
from storage.models import Commit, IdentityDecision, Person

log = logging.getLogger(__name__)
WATERMARK = "links"
# Rows committed just after the watermark was read may carry a slightly older ingested_at: read
# back this far (re-reading is harmless, only differences are written).
OVERLAP = timedelta(minutes=2)


@dataclass(frozen=True)
class Derived:
    identities_changed: int
    links_changed: int
    links_scope: str  # "all" | "changed" | "none"
    identities_rebuilt: bool

    @property
    def changed(self) -> int:
        return self.identities_changed + self.links_changed

    def note(self) -> str:
        people = "identities resolved" if self.identities_rebuilt else "no person changed"
        return (
            f"{people} ({self.identities_changed} rows changed); links from {self.links_scope} rows "
            f"({self.links_changed} rows changed)"
        )


def _catalog_digest(catalog: Catalog) -> str:
    text = "|".join(sorted(f"{i.source_id}:{i.external_id}:{i.key}" for i in catalog.by_key.values()))
    text += "#" + ",".join(sorted(catalog.projects))
    return hashlib.sha256(text.encode()).hexdigest()


def _decisions_mark(s: Session, tenant_id: int) -> list[int]:
    row = s.execute(
        select(func.count(), func.max(IdentityDecision.id)).where(IdentityDecision.tenant_id == tenant_id)
    ).one()
    return [int(row[0] or 0), int(row[1] or 0)]


def _newest(s: Session, tenant_id: int) -> datetime | None:
    found = [
        s.execute(select(func.max(column)).where(m.tenant_id == tenant_id)).scalar()
        for m in (Person, Commit)
        for column in (m.ingested_at, m.deleted_at)
    ]
    return max((x for x in found if x is not None), default=None)


def derive_in(s: Session, tenant_id: int) -> Derived:
    mark = read_watermark(s, tenant_id, WATERMARK)
    since = datetime.fromisoformat(mark["since"]) - OVERLAP if mark.get("since") else None
    top = high_water(s, tenant_id)
    decisions = _decisions_mark(s, tenant_id)
    mappings = mappings_mark(s, tenant_id)
    people_at = _newest(s, tenant_id)
    rebuild_people = (
        since is None
        or decisions != mark.get("decisions")
        or mappings != mark.get("mappings", [])
        or (people_at is not None and people_at > since)
    )
    identities_changed = 0
    if rebuild_people:
        clusters = resolve(load_accounts(s, tenant_id), load_decisions(s, tenant_id), load_mappings(s, tenant_id))
        identities_changed = write_identities(s, tenant_id, clusters)
    catalog = load_catalog(s, tenant_id)
    digest = _catalog_digest(catalog)
    full = since is None or digest != mark.get("catalog")
    wanted: set[Link] = set()
    scope: set[tuple[str, int, str]] = set()
    for kind, source_id, ext, live, row in changed_rows(s, tenant_id, None if full else since):
        scope.add((kind, source_id, ext))
        if not live:
            continue
        if kind == "work_item":
            wanted.update(aha_links(source_id, ext, row.get("integration_fields"), catalog))
        else:
            wanted.update(text_links(kind, source_id, ext, row, catalog))
    links_changed = write_links(s, tenant_id, wanted, None if full else scope)
    value: dict[str, Any] = {
        "since": top.isoformat() if top is not None else mark.get("since"),
        "catalog": digest,
        "decisions": decisions,
        "mappings": mappings,
    }
    write_watermark(s, tenant_id, WATERMARK, value)
    return Derived(identities_changed, links_changed, "all" if full else "changed" if scope else "none", rebuild_people)


def derive(db: Database, tenant_id: int) -> Derived:
    """Bring the tenant's identities and links up to date (one transaction, retried whole through an outage)."""

    def once() -> Derived:
        with db.session() as s:
            return derive_in(s, tenant_id)

    return db.retrying(once, what=f"tenant {tenant_id} derived task")


def run_derived_task(db: Database, task_run_id: int, tenant_id: int) -> dict[str, Any]:
    """Execute the derived task row ``task_run_id`` (already RUNNING) and record its outcome."""
    from pipelines.state import transition_task
    from storage.models import State

    started = time.perf_counter()
    try:
        result = derive(db, tenant_id)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc()

        def failed() -> None:
            with db.session() as s:
                transition_task(
                    s, task_run_id, State.FAILED, message[:4000], error_kind="BUG", traceback=trace,
                    duration_s=time.perf_counter() - started,
                )  # fmt: skip

        db.retrying(failed, what=f"task {task_run_id} end")
        log.warning("derived task %s failed: %s", task_run_id, message)
        return {"task_id": task_run_id, "state": "FAILED", "error_kind": "BUG"}

    def completed() -> None:
        with db.session() as s:
            transition_task(
                s, task_run_id, State.COMPLETED, records_fetched=0, records_loaded=result.changed,
                loaded_by_entity={"identity": result.identities_changed, "work_link": result.links_changed},
                note=result.note(), duration_s=time.perf_counter() - started,
            )  # fmt: skip

    db.retrying(completed, what=f"task {task_run_id} end")
    return {"task_id": task_run_id, "state": "COMPLETED", "records_loaded": result.changed}


__all__ = ["STREAM", "Derived", "derive", "derive_in", "run_derived_task"]
