"""`headwater source update|disable|enable|remove`: reconnect a source or take it out of runs.

``update`` keeps the source's id, cursors, rows and history; it checks the new settings with the
connector's own check first and stores nothing when the check fails (unless ``--force``).
``remove`` deletes data, so it asks for ``--yes`` and says what would go.
"""

from __future__ import annotations

import typer

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, emit_json, fail, show
from headwater.cli.tenants import parse_pairs
from tenancy import get_source, get_tenant, source_view
from tenancy.busy import check_idle
from tenancy.sources import (
    apply_update,
    check_view,
    describe_removal,
    prepare_update,
    removal_summary,
    run_check,
    set_enabled,
)


def register(source_app: typer.Typer) -> None:
    source_app.command("update")(source_update)
    source_app.command("disable")(source_disable)
    source_app.command("enable")(source_enable)
    source_app.command("remove")(source_remove)


def source_update(
    tenant: str,
    source_id: int,
    option: list[str] = typer.Option([], "--option", "-o", help="KEY=VALUE (repeatable); merged over the stored ones."),
    secret: list[str] = typer.Option(
        [], "--secret", "-s", help="KEY=VALUE, KEY=@env:VAR or KEY=@file:PATH (repeatable): the new credentials."
    ),
    force: bool = typer.Option(False, "--force", help="Store the change even when the check fails."),
    as_json: bool = JsonOpt,
) -> None:
    """Reconnect a source: new options or credentials, same id, cursors and history (checked first)."""
    with app_context() as app:
        options, secrets = parse_pairs(option, "option"), parse_pairs(secret, "secret", env=True)
        if not options and not secrets:
            fail("nothing to update: give --option KEY=VALUE and/or --secret KEY=VALUE")
        with app.db.read() as s:
            change = prepare_update(get_source(s, get_tenant(s, tenant), source_id), app.vault, options, secrets)
        result = run_check(change.runtime)
        verdict = check_view(result)
        if not result.ok and not force:
            problems = "; ".join(result.problems) or "the check failed"
            if as_json:
                emit_json({"updated": False, "check": verdict})
            fail(f"source {source_id} not updated, its check failed: {problems} (fix it, or store anyway with --force)")
        with app.db.session() as s:
            src = get_source(s, get_tenant(s, tenant), source_id)
            apply_update(src, app.vault, change, verdict=result.ok)
            s.flush()
            view = source_view(src)
        doc = {**view, "updated": True, "check": verdict}
        if as_json:
            show(doc, True)
            return
        typer.echo(f"check: {'ok' if result.ok else 'FAILED (stored anyway: --force)'}")
        for problem in result.problems:
            typer.echo(f"  problem: {problem}")
        typer.echo(
            f"source {source_id} updated: credentials {view['credentials_status']}, same id, cursors and history"
        )


def _set_enabled(tenant: str, source_id: int, enabled: bool, as_json: bool) -> None:
    with app_context() as app, app.db.session() as s:
        src = get_source(s, get_tenant(s, tenant), source_id)
        set_enabled(src, enabled)
        s.flush()
        show(source_view(src), as_json)


def source_disable(tenant: str, source_id: int, as_json: bool = JsonOpt) -> None:
    """Leave a source out of runs (scheduled and manual); its data and history stay."""
    _set_enabled(tenant, source_id, False, as_json)


def source_enable(tenant: str, source_id: int, as_json: bool = JsonOpt) -> None:
    """Include a disabled source in runs again."""
    _set_enabled(tenant, source_id, True, as_json)


def source_remove(
    tenant: str,
    source_id: int,
    yes: bool = typer.Option(False, "--yes", help="Confirm: delete the source, its rows and its task history."),
    as_json: bool = JsonOpt,
) -> None:
    """Remove a source with its rows, raw pages and task history (asks for --yes)."""
    with app_context() as app, app.db.session() as s:
        src = get_source(s, get_tenant(s, tenant), source_id)
        check_idle(s, src, "remove")
        summary = removal_summary(s, src)
        if not yes:
            fail(
                f"removing source {source_id} deletes {describe_removal(summary)}; "
                f"add --yes to confirm (or `headwater source disable {tenant} {source_id}` to keep them)"
            )
        s.delete(src)
        show({"removed": source_id, **summary}, as_json)
