"""Per-tenant API tokens: random, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiToken, Tenant

PREFIX = "hwt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, tenant: Tenant) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(tenant_id=tenant.id, token_hash=hash_token(token), prefix=token[:8]))
    session.flush()
    return token


def tenant_for_token(session: Session, token: str) -> Tenant | None:
    """The tenant a token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(PREFIX):
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    return session.get(Tenant, row.tenant_id)
