"""Explicit identity mappings: tenant configuration an operator scripts, before or after data arrives.

``KIND:LOGIN_OR_EMAIL`` names an account (a login, address or external id, any case, of a source
of that kind); it is mapped either to an address (``--email``: it is the person holding that
address, and one with every account mapped to the same address) or to an identity (``--to``: it
joins that identity; stored as the identity's first account, since identity ids are derived).
Mapping one account again replaces its mapping. Every change is applied at once, and every later
derived task applies them all (``linking.identities``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from linking.identities import NAME_PREFERENCE, Mapping
from storage.models import IdentityAccount, IdentityMapping, Person

KINDS = tuple(sorted(NAME_PREFERENCE))
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_LEN = 512


class MappingError(ValueError):
    """The mapping asked for is malformed (CONFIG: whoever wrote it must fix it)."""


class MappingNotFound(LookupError):
    """The identity or mapping is not the tenant's."""


def parse_account(text: str) -> tuple[str, str]:
    """``KIND:LOGIN_OR_EMAIL`` -> (kind, lower-case value), or MappingError saying what is wrong."""
    kind, sep, value = text.partition(":")
    kind, value = kind.strip().lower(), value.strip().lower()
    if not sep or not value or kind not in KINDS:
        raise MappingError(f"account must be KIND:LOGIN_OR_EMAIL with KIND one of {', '.join(KINDS)} (got {text!r})")
    if len(value) > MAX_LEN:
        raise MappingError(f"account is longer than {MAX_LEN} characters")
    return kind, value


def parse_email(text: str) -> str:
    address = text.strip().lower()
    if not ADDRESS.match(address) or len(address) > MAX_LEN:
        raise MappingError(f"email must be an address like name@example.com (got {text!r})")
    return address


def load_mappings(s: Session, tenant_id: int) -> list[Mapping]:
    rows = s.execute(
        select(IdentityMapping.kind, IdentityMapping.account, IdentityMapping.to_email, IdentityMapping.to_person_id)
        .where(IdentityMapping.tenant_id == tenant_id)
        .order_by(IdentityMapping.id)
    ).tuples()
    return [Mapping(k, a, e, p) for k, a, e, p in rows]


def mappings_mark(s: Session, tenant_id: int) -> list[list[Any]]:
    """What the derived task's watermark keeps of the mappings (any change resolves identities again)."""
    return [[m.kind, m.account, m.to_email, m.to_person_id] for m in load_mappings(s, tenant_id)]


def _document(m: IdentityMapping) -> dict[str, Any]:
    return {
        "id": m.id,
        "account": f"{m.kind}:{m.account}",
        "to_email": m.to_email,
        "to_person_id": m.to_person_id,
        "decided_by": m.decided_by,
        "created_at": m.created_at.isoformat(),
    }


def mappings_document(s: Session, tenant_id: int) -> list[dict[str, Any]]:
    """``[{"id", "account": "kind:value", "to_email", "to_person_id", "decided_by", "created_at"}]``."""
    q = select(IdentityMapping).where(IdentityMapping.tenant_id == tenant_id).order_by(IdentityMapping.id)
    return [_document(m) for m in s.execute(q).scalars()]


def add_mapping(
    s: Session, tenant_id: int, account: str, *, email: str | None, identity_id: int | None, decided_by: str
) -> dict[str, Any]:
    """Store (or replace) the mapping of ``account``; exactly one of ``email`` and ``identity_id``."""
    from linking.task import derive_in

    kind, value = parse_account(account)
    if (email is None) == (identity_id is None):
        raise MappingError("give exactly one target: an email address or an identity id")
    to_email = parse_email(email) if email is not None else None
    to_person = None
    if identity_id is not None:
        to_person = s.execute(
            select(IdentityAccount.person_id)
            .join(Person, Person.id == IdentityAccount.person_id)
            .where(IdentityAccount.tenant_id == tenant_id, IdentityAccount.identity_id == identity_id)
            .order_by(IdentityAccount.person_id)
        ).scalar()
        if to_person is None:
            raise MappingNotFound(f"identity {identity_id} does not exist")
    s.execute(
        delete(IdentityMapping).where(
            IdentityMapping.tenant_id == tenant_id, IdentityMapping.kind == kind, IdentityMapping.account == value
        )
    )
    row = IdentityMapping(
        tenant_id=tenant_id, kind=kind, account=value, to_email=to_email, to_person_id=to_person, decided_by=decided_by
    )
    s.add(row)
    s.flush()
    derive_in(s, tenant_id)
    return _document(row)


def remove_mapping(s: Session, tenant_id: int, mapping_id: int) -> dict[str, Any]:
    """Delete the tenant's mapping ``mapping_id`` (identities are resolved again at once); returns it."""
    from linking.task import derive_in

    row = s.execute(
        select(IdentityMapping).where(IdentityMapping.tenant_id == tenant_id, IdentityMapping.id == mapping_id)
    ).scalar_one_or_none()
    if row is None:
        raise MappingNotFound(f"mapping {mapping_id} does not exist")
    doc = _document(row)
    s.delete(row)
    s.flush()
    derive_in(s, tenant_id)
    return doc
