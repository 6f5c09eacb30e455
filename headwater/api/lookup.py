"""Finding what a request names, as this token may see it: another tenant's tenant, source or
token answers the same 404 as one that does not exist (its existence is not revealed)."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from headwater.api.auth import Principal
from storage.models import Source, Tenant
from tenancy import TenancyError, get_source

# Ids are database integers: a larger one cannot exist and is refused (422) before any query.
MAX_ID = 2**31 - 1


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def visible_tenant(s: Session, slug: str, who: Principal) -> Tenant:
    tenant = s.query(Tenant).filter(Tenant.slug == slug).one_or_none()
    if tenant is None or not who.can_see(tenant.id):
        raise not_found(f"tenant '{slug}'")
    return tenant


def visible_source(s: Session, slug: str, source_id: int, who: Principal) -> Source:
    tenant = visible_tenant(s, slug, who)
    try:
        return get_source(s, tenant, source_id)
    except TenancyError:
        raise not_found(f"source {source_id} of tenant '{slug}'") from None
