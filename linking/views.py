"""The people and links documents (CLI ``people``/``links``, API), and manual merge and split.

A manual decision is stored (``identity_decision``) and applied at once by resolving the
tenant's identities again; every later derived task applies it too, so it survives refreshes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linking.task import derive_in
from storage.models import Identity, IdentityAccount, IdentityDecision, Person, Source, WorkLink


class NotFound(LookupError):
    """The identity or person is not the tenant's (the API answers 404, like for other tenants)."""


def people_document(s: Session, tenant_id: int, identity_id: int | None = None) -> list[dict[str, Any]]:
    """``[{"id", "display_name", "accounts": [{"person_id", "kind", "source_id", "login", "email", …}]}]``."""
    q = (
        select(
            IdentityAccount.identity_id,
            IdentityAccount.how,
            IdentityAccount.confidence,
            IdentityAccount.decided_by_person,
            Person.id,
            Person.source_id,
            Person.external_id,
            Person.login,
            Person.email,
            Person.display_name,
            Source.kind,
        )
        .join(Person, Person.id == IdentityAccount.person_id)
        .join(Source, Source.id == Person.source_id)
        .where(IdentityAccount.tenant_id == tenant_id)
        .order_by(IdentityAccount.identity_id, Person.id)
    )
    if identity_id is not None:
        q = q.where(IdentityAccount.identity_id == identity_id)
    accounts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for iid, how, conf, decided, pid, sid, ext, login, email, name, kind in s.execute(q).tuples():
        accounts[iid].append(
            {
                "person_id": pid,
                "kind": kind,
                "source_id": sid,
                "external_id": ext,
                "login": login,
                "email": email,
                "display_name": name,
                "how": how,
                "confidence": conf,
                "decided_by_person": decided,
            }
        )
    ids = select(Identity.id, Identity.display_name).where(Identity.tenant_id == tenant_id).order_by(Identity.id)
    if identity_id is not None:
        ids = ids.where(Identity.id == identity_id)
    return [{"id": iid, "display_name": name, "accounts": accounts.get(iid, [])} for iid, name in s.execute(ids)]


def links_document(s: Session, tenant_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    """``[{"from": {"kind", "source_id", "external_id"}, "to": {"kind", "source_id", "external_id", "key"}, "how"}]``;
    ``kind`` keeps the links from or to rows of that kind."""
    q = select(WorkLink).where(WorkLink.tenant_id == tenant_id)
    if kind is not None:
        q = q.where((WorkLink.from_kind == kind) | (WorkLink.to_kind == kind))
    q = q.order_by(WorkLink.from_kind, WorkLink.from_source_id, WorkLink.from_external_id, WorkLink.to_external_id)
    return [
        {
            "from": {"kind": x.from_kind, "source_id": x.from_source_id, "external_id": x.from_external_id},
            "to": {"kind": x.to_kind, "source_id": x.to_source_id, "external_id": x.to_external_id, "key": x.to_key},
            "how": x.how,
        }
        for x in s.execute(q).scalars()
    ]


def counts(s: Session, tenant_id: int) -> dict[str, Any]:
    """Identities, linked accounts and links by how (the dashboard's tenant page)."""
    identities = s.execute(select(func.count()).where(Identity.tenant_id == tenant_id)).scalar_one()
    accounts = s.execute(select(func.count()).where(IdentityAccount.tenant_id == tenant_id)).scalar_one()
    by_how = dict(
        s.execute(select(WorkLink.how, func.count()).where(WorkLink.tenant_id == tenant_id).group_by(WorkLink.how))
        .tuples()
        .all()
    )
    return {"identities": identities, "accounts": accounts, "links": sum(by_how.values()), "links_by_how": by_how}


def _identity_people(s: Session, tenant_id: int, identity_id: int) -> list[int]:
    found = s.execute(
        select(IdentityAccount.person_id)
        .where(IdentityAccount.tenant_id == tenant_id, IdentityAccount.identity_id == identity_id)
        .order_by(IdentityAccount.person_id)
    ).scalars()
    people = list(found)
    if not people:
        raise NotFound(f"identity {identity_id} does not exist")
    return people


def _identity_of(s: Session, person_id: int) -> int | None:
    return s.execute(select(IdentityAccount.identity_id).where(IdentityAccount.person_id == person_id)).scalar()


def merge(s: Session, tenant_id: int, identity_id: int, other_id: int, decided_by: str) -> dict[str, Any]:
    """Merge identity ``other_id`` into ``identity_id`` (by hand); returns the merged identity."""
    if identity_id == other_id:
        raise ValueError(f"identity {identity_id} cannot be merged with itself")
    first = _identity_people(s, tenant_id, identity_id)[0]
    second = _identity_people(s, tenant_id, other_id)[0]
    s.add(IdentityDecision(tenant_id=tenant_id, kind="merge", person_id=first, other_person_id=second,
                           decided_by=decided_by))  # fmt: skip
    s.flush()
    derive_in(s, tenant_id)
    return _document_of(s, tenant_id, first)


def split(s: Session, tenant_id: int, person_id: int, decided_by: str) -> dict[str, Any]:
    """Take person ``person_id`` out of its identity (by hand); returns its identity of one."""
    owner = s.execute(select(Person.tenant_id).where(Person.id == person_id)).scalar()
    if owner != tenant_id:
        raise NotFound(f"person {person_id} does not exist")
    s.add(IdentityDecision(tenant_id=tenant_id, kind="split", person_id=person_id, decided_by=decided_by))
    s.flush()
    derive_in(s, tenant_id)
    return _document_of(s, tenant_id, person_id)


def _document_of(s: Session, tenant_id: int, person_id: int) -> dict[str, Any]:
    iid = _identity_of(s, person_id)
    if iid is None:
        raise NotFound(f"person {person_id} is in no identity (a bot, or deleted)")
    return people_document(s, tenant_id, iid)[0]
