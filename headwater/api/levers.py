"""Levers in the HTTP API: reconnect, disable or enable a source (``PATCH``), and the connector
catalogue (``GET /api/connectors``), the same rules as `headwater source update` and
`headwater connectors`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from connectors.describe import describe, list_connectors
from connectors.registry import UnknownConnector
from headwater.api.auth import Principal
from headwater.api.schemas import Problem, SourceOut, SourceUpdate, SourceUpdated
from headwater.api.validation import SafeRoute
from headwater.app import App
from storage.models import Tenant
from tenancy import TenancyError, get_source, source_view
from tenancy.sources import apply_update, check_view, prepare_update, run_check, set_enabled


def levers_router(hw: App, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(route_class=SafeRoute)

    def visible(s: Any, slug: str, source_id: int, who: Principal) -> Any:
        tenant = s.query(Tenant).filter(Tenant.slug == slug).one_or_none()
        if tenant is None or not who.can_see(tenant.id):
            raise HTTPException(status_code=404, detail=f"tenant '{slug}' not found")
        try:
            return get_source(s, tenant, source_id)
        except TenancyError:
            raise HTTPException(status_code=404, detail=f"source {source_id} of tenant '{slug}' not found") from None

    @router.patch(
        "/tenants/{slug}/sources/{source_id}",
        response_model=SourceUpdated,
        tags=["sources"],
        responses={409: {"model": Problem, "description": "The check failed: nothing stored (send force: true)."}},
    )
    def patch_source(
        slug: str, source_id: int, body: SourceUpdate, who: Principal = Depends(principal)
    ) -> SourceUpdated:
        """Reconnect (new options or secrets: checked first, nothing stored when the check fails
        unless ``force``; same id, cursors and history) and/or enable or disable the source."""
        change = None
        verdict: dict[str, Any] | None = None
        ok = False
        if body.options or body.secrets:
            with hw.db.read() as s:
                try:
                    change = prepare_update(visible(s, slug, source_id, who), hw.vault, body.options, body.secrets)
                except TenancyError as exc:
                    raise HTTPException(status_code=422, detail=str(exc)) from None
            result = run_check(change.runtime)
            verdict, ok = check_view(result), result.ok
            if not ok and not body.force:
                problems = "; ".join(result.problems) or "the check failed"
                raise HTTPException(
                    status_code=409,
                    detail=f"source {source_id} not updated, its check failed: {problems} (fix it, or send force: true)",
                )
        with hw.db.session() as s:
            src = visible(s, slug, source_id, who)
            if change is not None:
                apply_update(src, hw.vault, change, verdict=ok)
            if body.enabled is not None:
                set_enabled(src, body.enabled)
            s.flush()
            return SourceUpdated(source=SourceOut(**source_view(src)), check=verdict)

    @router.get("/connectors", tags=["connectors"])
    def get_connectors(_who: Principal = Depends(principal)) -> list[dict[str, Any]]:
        """Every connector kind: option and secret names, streams, the entities it loads."""
        return list_connectors()

    @router.get("/connectors/{kind}", tags=["connectors"])
    def get_connector(kind: str, _who: Principal = Depends(principal)) -> dict[str, Any]:
        """One connector: options and secrets as JSON Schema (types, defaults, help), its streams
        and the entities each loads."""
        try:
            return describe(kind)
        except UnknownConnector as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None

    return router
