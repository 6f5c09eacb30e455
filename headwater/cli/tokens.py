"""`headwater tenant token|tokens|revoke-token`: a tenant's API tokens (shown once, never listed)."""

from __future__ import annotations

import typer

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, short_time, show
from tenancy import get_tenant
from tenancy.tokens import issue_token, list_tokens, parse_duration, revoke_token, token_view


def register(tenant_app: typer.Typer) -> None:
    tenant_app.command("token")(tenant_token)
    tenant_app.command("tokens")(tenant_tokens)
    tenant_app.command("revoke-token")(tenant_revoke_token)


def tenant_token(
    tenant: str,
    expires: str = typer.Option(None, "--expires", help="Lifetime such as 30d, 12h, 90m or 2w (default: none)."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an API token for a tenant; it is printed once and stored hashed."""
    with app_context() as app, app.db.session() as s:
        lifetime = parse_duration(expires) if expires is not None else None
        row, token = issue_token(s, get_tenant(s, tenant), lifetime)
        show({"id": row.id, "token": token, "tenant": tenant, "expires_at": token_view(row)["expires_at"]}, as_json)


def tenant_tokens(tenant: str, as_json: bool = JsonOpt) -> None:
    """A tenant's API tokens: id, created, expires, last used, revoked (never the token)."""
    with app_context() as app, app.db.read() as s:
        rows = [token_view(t) for t in list_tokens(s, get_tenant(s, tenant))]
    if as_json:
        show(rows, True)
        return
    times = ("created_at", "expires_at", "last_used_at", "revoked_at")
    human = [{**r, **{k: short_time(r[k]) for k in times}} for r in rows]
    show(human, False, ["id", "prefix", *times])


def tenant_revoke_token(tenant: str, token_id: int, as_json: bool = JsonOpt) -> None:
    """Revoke a tenant's API token: it answers 401 from now on (the API and the dashboard)."""
    with app_context() as app, app.db.session() as s:
        row = token_view(revoke_token(s, get_tenant(s, tenant), token_id))
    show(row, as_json)
