"""A tenant's API tokens over HTTP: create (shown once), list (never the token), revoke; the
same service as `headwater tenant token|tokens|revoke-token` (``tenancy.tokens``).

Who: the admin token, or a token of the tenant itself (a tenant rotates its own: create a new
one, then revoke the old). A token made with a tenant token expires no later than the token
that made it, so a leaked short-lived token cannot mint a lasting one. Another tenant's tokens
answer 404. A revoked or expired token answers 401 from its next request on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request

from headwater.api.auth import Principal
from headwater.api.lookup import MAX_ID, not_found, visible_tenant
from headwater.api.schemas import TokenCreate, TokenIssued, TokenOut
from headwater.api.validation import SafeRoute
from headwater.app import App
from tenancy.tokens import TokenError, issue_token, list_tokens, parse_duration, revoke_token, token_view

TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="A token id (from GET …/tokens).")]


def tokens_router(hw: App, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(route_class=SafeRoute, tags=["tokens"])

    @router.post("/tenants/{slug}/tokens", status_code=201, response_model=TokenIssued)
    def post_token(
        slug: str, body: TokenCreate | None = Body(None), who: Principal = Depends(principal)
    ) -> TokenIssued:
        """Create an API token for the tenant. The token is in this answer only (stored hashed)."""
        expires = (body or TokenCreate()).expires
        try:
            lifetime = parse_duration(expires, "expires") if expires is not None else None
        except TokenError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)
            row, token = issue_token(s, tenant, lifetime, not_after=None if who.admin else who.expires_at)
            view = token_view(row)
        return TokenIssued(
            id=view["id"], token=token, tenant=slug, prefix=view["prefix"], expires_at=view["expires_at"]
        )

    @router.get("/tenants/{slug}/tokens", response_model=list[TokenOut])
    def get_tokens(slug: str, who: Principal = Depends(principal)) -> list[dict[str, Any]]:
        """The tenant's tokens, revoked and expired ones too: id, created, expires, last used,
        revoked (never the token)."""
        with hw.db.read() as s:
            return [token_view(t) for t in list_tokens(s, visible_tenant(s, slug, who))]

    @router.delete("/tenants/{slug}/tokens/{token_id}", response_model=TokenOut)
    def delete_token(slug: str, token_id: TokenId, who: Principal = Depends(principal)) -> dict[str, Any]:
        """Revoke a token: it answers 401 from now on (the API and the dashboard). Revoking a
        revoked token changes nothing and answers the same."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)
            try:
                return token_view(revoke_token(s, tenant, token_id))
            except TokenError:
                raise not_found(f"token {token_id} of tenant '{slug}'") from None

    return router
