"""Who is calling: the admin token (HEADWATER_ADMIN_TOKEN) or a tenant's API token.

Tokens come from ``Authorization: Bearer …`` or, for browsers, the HttpOnly cookie set by the
dashboard's sign-in form. Revoked and expired tenant tokens are refused like unknown ones
(401); each use is recorded in ``last_used_at`` (at most once a minute). A tenant token sees
only its tenant: other tenants' resources answer 404 (not 403), so their existence is not revealed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, Request

from headwater.app import App
from tenancy.tokens import needs_touch, token_row, touch_token

COOKIE = "headwater_token"


@dataclass(frozen=True)
class Principal:
    admin: bool
    tenant_id: int | None = None
    token_id: int | None = None  # a tenant token's row
    expires_at: datetime | None = None  # when that token expires (None: never)

    def can_see(self, tenant_id: int) -> bool:
        return self.admin or self.tenant_id == tenant_id


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def principal_for(hw: App, token: str | None) -> Principal | None:
    if not token:
        return None
    admin = hw.settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return Principal(admin=True)
    with hw.db.read() as s:
        row = token_row(s, token)  # unknown, revoked and expired tokens alike: None (401)
        if row is None:
            return None
        who = Principal(admin=False, tenant_id=row.tenant_id, token_id=row.id, expires_at=row.expires_at)
        token_id, touch = row.id, needs_touch(row)
    if touch:  # last_used_at: one small write at most once a minute per token
        with hw.db.session() as s:
            touch_token(s, token_id)
    return who


def require(hw: App, request: Request) -> Principal:
    principal = principal_for(hw, token_from(request))
    if principal is None:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid token: send Authorization: Bearer <admin or tenant token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal
