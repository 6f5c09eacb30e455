"""Reading a tenant's rows for linking, and writing only what changed (one transaction each)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from linking.identities import Account, Cluster, Decision, signals_for
from linking.worklinks import Catalog, Issue, Link
from storage.models import (
    Branch,
    Commit,
    DerivedWatermark,
    Identity,
    IdentityAccount,
    IdentityDecision,
    Message,
    Person,
    Project,
    PullRequest,
    Source,
    WorkItem,
    WorkLink,
    utcnow,
)

TEXT_MODELS: dict[str, Any] = {"pull_request": PullRequest, "branch": Branch, "commit": Commit, "message": Message}


# -- identities ----------------------------------------------------------------------------------
def load_accounts(s: Session, tenant_id: int) -> list[Account]:
    """Every live human person row of the tenant, with its signals."""
    kinds = dict(s.execute(select(Source.id, Source.kind).where(Source.tenant_id == tenant_id)).tuples().all())
    commit_emails: dict[tuple[int, str], set[str]] = defaultdict(set)
    rows = s.execute(
        select(Commit.source_id, Commit.author_external_id, func.lower(Commit.author_email))
        .where(
            Commit.tenant_id == tenant_id,
            Commit.deleted_at.is_(None),
            Commit.author_external_id.is_not(None),
            Commit.author_email.is_not(None),
        )
        .distinct()
    ).tuples()
    for source_id, author, email in rows:
        commit_emails[(source_id, str(author))].add(str(email))
    people = s.execute(
        select(Person.id, Person.source_id, Person.external_id, Person.login, Person.display_name, Person.email)
        .where(Person.tenant_id == tenant_id, Person.deleted_at.is_(None), Person.is_bot.is_(False))
        .order_by(Person.id)
    ).tuples()
    out = []
    for pid, source_id, ext, login, name, email in people:
        kind = kinds.get(source_id, "")
        signals = signals_for(kind, login, email, commit_emails.get((source_id, ext), ()))
        out.append(Account(pid, kind, source_id, ext, login, name, signals, email))
    return out


def load_decisions(s: Session, tenant_id: int) -> list[Decision]:
    rows = s.execute(
        select(IdentityDecision.kind, IdentityDecision.person_id, IdentityDecision.other_person_id)
        .where(IdentityDecision.tenant_id == tenant_id)
        .order_by(IdentityDecision.id)
    ).tuples()
    return [Decision(k, p, o) for k, p, o in rows]


def write_identities(s: Session, tenant_id: int, clusters: Sequence[Cluster]) -> int:
    """Make the tenant's identities equal ``clusters``, keeping identity ids where their accounts
    stay (the identity holding most of a cluster's accounts keeps its id). Returns rows changed."""
    current = {
        pid: (iid, how, conf, decided)
        for pid, iid, how, conf, decided in s.execute(
            select(
                IdentityAccount.person_id,
                IdentityAccount.identity_id,
                IdentityAccount.how,
                IdentityAccount.confidence,
                IdentityAccount.decided_by_person,
            ).where(IdentityAccount.tenant_id == tenant_id)
        ).tuples()
    }
    names = dict(
        s.execute(select(Identity.id, Identity.display_name).where(Identity.tenant_id == tenant_id)).tuples().all()
    )
    taken: set[int] = set()
    changed = 0
    now = utcnow()
    wanted: dict[int, tuple[int, str, float, bool]] = {}
    for cluster in sorted(clusters, key=lambda c: (-len(c.links), min(c.person_ids))):
        votes: dict[int, int] = defaultdict(int)
        for link in cluster.links:
            if link.person_id in current:
                votes[current[link.person_id][0]] += 1
        free = sorted((iid for iid in votes if iid not in taken), key=lambda i: (-votes[i], i))
        if free:
            iid = free[0]
            if names.get(iid) != cluster.display_name:
                s.execute(
                    update(Identity).where(Identity.id == iid).values(display_name=cluster.display_name, updated_at=now)
                )
                changed += 1
        else:
            iid = s.execute(
                insert(Identity)
                .values(tenant_id=tenant_id, display_name=cluster.display_name, created_at=now, updated_at=now)
                .returning(Identity.id)
            ).scalar_one()
            changed += 1
        taken.add(iid)
        for link in cluster.links:
            wanted[link.person_id] = (iid, link.how, link.confidence, link.decided_by_person)
    gone = [pid for pid in current if pid not in wanted]
    if gone:
        s.execute(delete(IdentityAccount).where(IdentityAccount.person_id.in_(gone)))
        changed += len(gone)
    for pid, (iid, how, conf, decided) in wanted.items():
        if pid not in current:
            s.execute(
                insert(IdentityAccount).values(
                    tenant_id=tenant_id, identity_id=iid, person_id=pid, how=how, confidence=conf,
                    decided_by_person=decided,
                )
            )  # fmt: skip
            changed += 1
        elif current[pid] != (iid, how, conf, decided):
            s.execute(
                update(IdentityAccount)
                .where(IdentityAccount.person_id == pid)
                .values(identity_id=iid, how=how, confidence=conf, decided_by_person=decided)
            )
            changed += 1
    empty = [iid for iid in names if iid not in taken]
    if empty:
        s.execute(delete(Identity).where(Identity.id.in_(empty)))
        changed += len(empty)
    return changed


# -- work links ----------------------------------------------------------------------------------
def load_catalog(s: Session, tenant_id: int) -> Catalog:
    jira = select(Source.id).where(Source.tenant_id == tenant_id, Source.kind == "jira")
    issues = s.execute(
        select(WorkItem.source_id, WorkItem.external_id, WorkItem.key).where(
            WorkItem.source_id.in_(jira), WorkItem.deleted_at.is_(None), WorkItem.key.is_not(None)
        )
    ).tuples()
    projects = s.execute(
        select(Project.key).where(Project.source_id.in_(jira), Project.deleted_at.is_(None), Project.key.is_not(None))
    ).scalars()
    return Catalog.of((Issue(sid, ext, str(key)) for sid, ext, key in issues), (str(p) for p in projects))


def changed_rows(
    s: Session, tenant_id: int, since: datetime | None
) -> Iterable[tuple[str, int, str, bool, dict[str, Any]]]:
    """(kind, source id, external id, live, columns) of every row that may name work, ingested
    after ``since`` (all of them when None). Aha! records come with their integration fields."""
    for kind, model in TEXT_MODELS.items():
        columns = [model.source_id, model.external_id, model.deleted_at]
        from linking.worklinks import TEXTS

        names = [c for c, _ in TEXTS[kind]]
        q = select(*columns, *(getattr(model, c) for c in names)).where(model.tenant_id == tenant_id)
        if since is not None:  # ingested since, or tombstoned since (a tombstone keeps ingested_at)
            q = q.where((model.ingested_at > since) | (model.deleted_at > since))
        for row in s.execute(q).tuples():
            yield kind, row[0], row[1], row[2] is None, dict(zip(names, row[3:], strict=True))
    aha = select(Source.id).where(Source.tenant_id == tenant_id, Source.kind == "aha")
    q = select(WorkItem.source_id, WorkItem.external_id, WorkItem.deleted_at, WorkItem.extra).where(
        WorkItem.source_id.in_(aha)
    )
    if since is not None:
        q = q.where((WorkItem.ingested_at > since) | (WorkItem.deleted_at > since))
    for sid, ext, deleted, extra in s.execute(q).tuples():
        fields = (extra or {}).get("integration_fields") if isinstance(extra, dict) else None
        yield "work_item", sid, ext, deleted is None, {"integration_fields": fields}


def high_water(s: Session, tenant_id: int) -> datetime | None:
    """The newest ``ingested_at`` or ``deleted_at`` of the rows linking reads (texts, persons, work items, projects)."""
    best: datetime | None = None
    for model in (*TEXT_MODELS.values(), Person, WorkItem, Project):
        for column in (model.ingested_at, model.deleted_at):
            at = s.execute(select(func.max(column)).where(model.tenant_id == tenant_id)).scalar()
            if at is not None and (best is None or at > best):
                best = at
    return best


def existing_links(s: Session, tenant_id: int) -> set[Link]:
    rows = s.execute(
        select(
            WorkLink.from_kind,
            WorkLink.from_source_id,
            WorkLink.from_external_id,
            WorkLink.to_kind,
            WorkLink.to_source_id,
            WorkLink.to_external_id,
            WorkLink.to_key,
            WorkLink.how,
        ).where(WorkLink.tenant_id == tenant_id)
    ).tuples()
    return {Link(*r) for r in rows}


def write_links(s: Session, tenant_id: int, wanted: set[Link], scope: set[tuple[str, int, str]] | None) -> int:
    """Make the links *from* the rows in ``scope`` (every row when None) equal ``wanted``. Returns rows changed."""
    have = existing_links(s, tenant_id)
    if scope is not None:
        have = {x for x in have if (x.from_kind, x.from_source_id, x.from_external_id) in scope}
    drop = have - wanted
    add = wanted - have
    for x in drop:
        s.execute(
            delete(WorkLink).where(
                WorkLink.tenant_id == tenant_id,
                tuple_(
                    WorkLink.from_kind, WorkLink.from_source_id, WorkLink.from_external_id, WorkLink.to_kind,
                    WorkLink.to_source_id, WorkLink.to_external_id, WorkLink.how,
                ) == (x.from_kind, x.from_source_id, x.from_external_id, x.to_kind, x.to_source_id,
                      x.to_external_id, x.how),
            )
        )  # fmt: skip
    if add:
        now = utcnow()
        s.execute(
            insert(WorkLink),
            [{"tenant_id": tenant_id, "created_at": now, **x.__dict__} for x in sorted(add)],
        )
    return len(drop) + len(add)


# -- watermark -----------------------------------------------------------------------------------
def read_watermark(s: Session, tenant_id: int, name: str) -> dict[str, Any]:
    value = s.execute(
        select(DerivedWatermark.value).where(DerivedWatermark.tenant_id == tenant_id, DerivedWatermark.name == name)
    ).scalar()
    return dict(value) if isinstance(value, dict) else {}


def write_watermark(s: Session, tenant_id: int, name: str, value: dict[str, Any]) -> None:
    found = s.execute(
        select(DerivedWatermark).where(DerivedWatermark.tenant_id == tenant_id, DerivedWatermark.name == name)
    ).scalar_one_or_none()
    if found is None:
        s.add(DerivedWatermark(tenant_id=tenant_id, name=name, value=value, updated_at=utcnow()))
    elif found.value != value:
        found.value = value
        found.updated_at = utcnow()
