"""`headwater tenant …`, `headwater source …` and `headwater records`."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import typer
from sqlalchemy import select

from connectors.runtime import open_http
from headwater.cli.connectors import SourceAddCommand
from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, short_time, show
from headwater.cli.schedules import CRON_HELP, cron_value
from headwater.cron import next_refreshes
from storage import model_for
from tenancy import (
    TenancyError,
    add_source,
    add_tenant,
    get_source,
    get_tenant,
    list_sources,
    list_tenants,
    runtime_for,
    source_view,
)

tenant_app = typer.Typer(help="Tenants (customers).", no_args_is_help=True)
source_app = typer.Typer(help="Sources: connector instances of a tenant.", no_args_is_help=True)


def tenant_view(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "refresh_interval_minutes": t.refresh_interval_minutes,
        "alert_webhook": bool(t.alert_webhook_url),  # the URL itself is a secret (Slack)
        "created_at": t.created_at.isoformat(),
    }


def webhook_url(value: str) -> str | None:
    """An http(s) URL, or None for "" (no tenant webhook)."""
    value = value.strip()
    if not value:
        return None
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise TenancyError("--alert-webhook must be an http(s) URL such as https://hooks.slack.com/services/…")
    return value


WebhookOpt = typer.Option(
    None,
    "--alert-webhook",
    help="Webhook URL for this tenant's alerts (JSON with a Slack-style 'text'); '' removes it.",
)


@tenant_app.command("add")
def tenant_add(
    slug: str,
    name: str = typer.Option(None, "--name", help="Display name (default: the slug)."),
    refresh_every: int = typer.Option(None, "--refresh-every", help="Scheduled refresh interval, minutes."),
    cron: str = typer.Option(None, "--cron", help=CRON_HELP),
    alert_webhook: str = WebhookOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create a tenant."""
    with app_context() as app, app.db.session() as s:
        hook = webhook_url(alert_webhook) if alert_webhook is not None else None
        positive(refresh_every, "--refresh-every")
        expr = cron_value(cron) if cron is not None else None
        t = add_tenant(s, slug, name)
        t.refresh_interval_minutes = refresh_every
        t.refresh_cron = expr
        t.alert_webhook_url = hook
        s.flush()
        show({"id": t.id, "slug": t.slug, "name": t.name}, as_json)


@tenant_app.command("set")
def tenant_set(
    slug: str,
    name: str = typer.Option(None, "--name", help="Display name."),
    refresh_every: int = typer.Option(None, "--refresh-every", help="Scheduled refresh interval, minutes (0: none)."),
    cron: str = typer.Option(None, "--cron", help=CRON_HELP),
    alert_webhook: str = WebhookOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Change a tenant's name, refresh schedule (interval and/or cron) or alert webhook."""
    with app_context() as app, app.db.session() as s:
        hook = webhook_url(alert_webhook) if alert_webhook is not None else None
        positive(refresh_every, "--refresh-every", zero=True)
        expr = cron_value(cron) if cron is not None else None
        t = get_tenant(s, slug)
        if cron is not None:
            t.refresh_cron = expr
        if name is not None:
            t.name = name
        if refresh_every is not None:
            t.refresh_interval_minutes = refresh_every or None
        if alert_webhook is not None:
            t.alert_webhook_url = hook
        s.flush()
        show({**tenant_view(t), **next_refreshes(s, [t])[t.id]}, as_json)


@tenant_app.command("list")
def tenant_list(as_json: bool = JsonOpt) -> None:
    """List tenants."""
    with app_context() as app, app.db.session() as s:
        tenants = list_tenants(s)
        nexts = next_refreshes(s, tenants)
        rows = [{**tenant_view(t), **nexts[t.id]} for t in tenants]
        if as_json:
            show(rows, as_json)
            return
        for r in rows:
            r["every"] = f"{r['refresh_interval_minutes']} min" if r["refresh_interval_minutes"] else ""
            r["next refresh"] = short_time(r["next_refresh_at"])
        show(rows, as_json, ["id", "slug", "name", "every", "refresh_cron", "next refresh"])


def parse_pairs(pairs: list[str], what: str, *, env: bool = False) -> dict[str, str]:
    """``KEY=VALUE`` pairs; with ``env`` (secrets) ``KEY=@env:VAR`` and ``KEY=@file:PATH`` read the
    value from the environment or a file (its trailing newline dropped), and empty values are refused."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise TenancyError(f"--{what} {pair.split('=')[0]!r} must look like KEY=VALUE")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise TenancyError(f"--{what} needs a key before '='")
        if env and value.startswith("@env:"):
            var = value[5:]
            if var not in os.environ:
                raise TenancyError(f"--{what} {key}: environment variable {var} is not set")
            value = os.environ[var]
        elif env and value.startswith("@file:"):
            value = read_secret_file(what, key, value[6:])
        if env and not value:
            raise TenancyError(f"--{what} {key}: the value is empty (give KEY=VALUE, KEY=@env:VAR or KEY=@file:PATH)")
        out[key] = value
    return out


def read_secret_file(what: str, key: str, path: str) -> str:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")
    except OSError as exc:
        raise TenancyError(f"--{what} {key}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TenancyError(f"--{what} {key}: {path} is not UTF-8 text") from None


def positive(value: int | None, flag: str, *, zero: bool = False) -> int | None:
    """Refuse negative (and, unless ``zero``, zero) numbers given to ``flag``."""
    if value is not None and (value < 0 or (value == 0 and not zero)):
        raise TenancyError(f"{flag} must be {'0 or more' if zero else 'a positive number'}, got {value}")
    return value


@source_app.command("add", cls=SourceAddCommand)
def source_add(
    tenant: str,
    kind: str,
    option: list[str] = typer.Option([], "--option", "-o", help="KEY=VALUE (repeatable)."),
    secret: list[str] = typer.Option(
        [], "--secret", "-s", help="KEY=VALUE, KEY=@env:VAR or KEY=@file:PATH (repeatable)."
    ),
    name: str = typer.Option(None, "--name"),
    backfill: bool = typer.Option(
        None, "--backfill/--no-backfill", help="Queue the onboarding backfill (default: when a queue is configured)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Add a source (connector instance) to a tenant."""
    from headwater.dispatch import DispatchError, RunService

    with app_context() as app:
        with app.db.session() as s:
            t = get_tenant(s, tenant)
            src = add_source(
                s, app.vault, t, kind, parse_pairs(option, "option"), parse_pairs(secret, "secret", env=True), name=name
            )
            view = source_view(src)
        want = backfill if backfill is not None else bool(app.settings.broker_url)
        if want:
            with app.db.session() as s:
                t = get_tenant(s, tenant)
            try:
                accepted = RunService(app).request(t, trigger="onboarding", source_id=view["id"], requested_by="cli")
            except DispatchError as exc:
                fail(f"source {view['id']} was added, but its backfill {exc}; run `headwater refresh {tenant}` later")
            view["backfill_run_id"] = accepted.run_id
        show(view, as_json)


@source_app.command("list")
def source_list(tenant: str, as_json: bool = JsonOpt) -> None:
    """List a tenant's sources (secrets are never shown)."""
    with app_context() as app, app.db.session() as s:
        rows = [source_view(x) for x in list_sources(s, get_tenant(s, tenant))]
        show(rows, as_json, ["id", "kind", "name", "enabled", "credentials_status", "options"])


@source_app.command("check")
def source_check(tenant: str, source_id: int, as_json: bool = JsonOpt) -> None:
    """Verify a source's credentials and permissions without ingesting anything."""
    with app_context() as app:
        with app.db.session() as s:
            src = get_source(s, get_tenant(s, tenant), source_id)
            rt = runtime_for(src, app.vault)
        if rt.connector.check is None:
            fail(f"the {rt.connector.kind} connector has no check")
        check = rt.connector.check

        async def go() -> Any:
            async with open_http(rt) as http:
                return await check(http, rt.options)

        try:
            result = asyncio.run(go())
        except Exception as exc:
            fail(f"check failed: {exc}")
        doc = {"ok": result.ok, "identity": result.identity, "problems": result.problems, **result.details}
        show(doc, as_json)
        if not result.ok:
            raise typer.Exit(1)


def records_command(
    tenant: str,
    kind: str,
    limit: int = typer.Option(None, "--limit", "-n", help="At most N rows."),
    include_deleted: bool = typer.Option(False, "--include-deleted", help="Also rows tombstoned as deleted."),
    as_json: bool = JsonOpt,
) -> None:
    """Normalized rows of one entity kind (every column)."""
    with app_context() as app, app.db.session() as s:
        positive(limit, "--limit")
        t = get_tenant(s, tenant)
        try:
            model = model_for(kind)
        except ValueError as exc:
            raise TenancyError(str(exc)) from None
        table = model.__table__  # type: ignore[attr-defined]
        q = select(table).where(table.c.tenant_id == t.id)
        if not include_deleted:
            q = q.where(table.c.deleted_at.is_(None))
        q = q.order_by(table.c.id)
        if limit is not None:
            q = q.limit(limit)
        rows = [dict(r._mapping) for r in s.execute(q)]
        show(
            rows,
            as_json,
            [
                c
                for c in (
                    "id",
                    "source_id",
                    "external_id",
                    "key",
                    "name",
                    "title",
                    "login",
                    "full_name",
                    "state",
                    "updated_at",
                )
                if c in table.c
            ],
        )
