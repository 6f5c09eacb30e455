"""Per-tenant API tokens: random, shown once, stored as SHA-256 hashes; they expire and can be revoked."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import ApiToken, Tenant
from storage.models.base import utcnow
from tenancy.service import TenancyError

PREFIX = "hwt_"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_LIFETIME = timedelta(days=3650)  # a longer lifetime is refused: use no expiry instead


class TokenError(TenancyError):
    """Bad input about a token; the message says what to fix."""


def parse_duration(value: str, what: str = "--expires") -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` -> a positive timedelta of at most ``MAX_LIFETIME``."""
    match = _DURATION.match(value or "") if isinstance(value, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise TokenError(f"{what} must be a positive duration such as 30d, 12h, 90m or 2w, got {value!r}")
    amount, unit = int(match.group(1)), match.group(2)
    # Compared in the unit given: a huge number would overflow timedelta (and then the date).
    if amount > MAX_LIFETIME / timedelta(**{_UNITS[unit]: 1}):
        raise TokenError(f"{what} must be at most {MAX_LIFETIME.days}d (10 years), got {value!r}")
    return timedelta(**{_UNITS[unit]: amount})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, tenant: Tenant, expires_in: timedelta | None = None, not_after: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token: (its row, the clear token, shown this once). ``not_after`` caps its expiry
    (a token made with a tenant token does not outlive the token that made it)."""
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + expires_in if expires_in is not None else None
    if not_after is not None and (expires_at is None or expires_at > not_after):
        expires_at = not_after
    row = ApiToken(
        tenant_id=tenant.id,
        token_hash=hash_token(token),
        prefix=token[:8],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def create_token(session: Session, tenant: Tenant, expires_in: timedelta | None = None) -> str:
    return issue_token(session, tenant, expires_in)[1]


def token_view(row: ApiToken) -> dict[str, Any]:
    """What may be shown of a token: never the token (nor its hash)."""

    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "prefix": row.prefix,
        "created_at": at(row.created_at),
        "expires_at": at(row.expires_at),
        "last_used_at": at(row.last_used_at),
        "revoked_at": at(row.revoked_at),
    }


def list_tokens(session: Session, tenant: Tenant) -> list[ApiToken]:
    return list(
        session.execute(select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.id)).scalars()
    )


def revoke_token(session: Session, tenant: Tenant, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.tenant_id != tenant.id:
        raise TokenError(
            f"tenant '{tenant.slug}' has no token {token_id} (see `headwater tenant tokens {tenant.slug}`)"
        )
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def token_row(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live (not revoked, not expired) token row of a clear token, or None."""
    if not token.startswith(PREFIX):
        return None
    now = now or utcnow()
    row = session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    return row


def tenant_for_token(session: Session, token: str) -> Tenant | None:
    """The tenant a token belongs to, or None for an unknown, revoked or expired token."""
    row = token_row(session, token)
    return session.get(Tenant, row.tenant_id) if row is not None else None


def needs_touch(row: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY


def touch_token(session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record a use; a no-op when the last recorded use is under a minute old (one UPDATE at most)."""
    now = now or utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
