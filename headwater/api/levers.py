"""Levers in the HTTP API: reconnect, disable or enable a source (``PATCH``), reset its cursors,
renormalize it from its landed raw pages, remove it (``DELETE``, confirmed), and the connector
catalogue (``GET /api/connectors``): the same services and rules as `headwater source
update|disable|enable|reset|remove`, `headwater renormalize` and `headwater connectors`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request

from connectors.describe import describe, list_connectors
from connectors.registry import UnknownConnector
from headwater.api.auth import Principal
from headwater.api.lookup import MAX_ID, visible_source
from headwater.api.schemas import (
    Problem,
    RenormalizeDone,
    ResetDone,
    SourceOut,
    SourceRemoved,
    SourceUpdate,
    SourceUpdated,
    StreamScope,
)
from headwater.api.validation import SafeRoute
from headwater.app import App
from tenancy import TenancyError, runtime_for, source_view
from tenancy.busy import SourceBusy, check_idle
from tenancy.rebuild import NothingLanded, RebuildError, renormalize_source, reset_source
from tenancy.sources import (
    apply_update,
    check_view,
    describe_removal,
    prepare_update,
    removal_summary,
    run_check,
    set_enabled,
)

SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="A source id (from GET /api/tenants/{slug}/sources).")]
UNCONFIRMED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "description": "Not confirmed (the detail says what would be deleted), or a started run still reads "
        "the source: nothing deleted.",
    }
}
BUSY: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "A started run still reads the source: nothing cleared."}
}
NOTHING_LANDED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The source has no landed raw pages yet: refresh it first."}
}


def levers_router(hw: App, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(route_class=SafeRoute)
    visible = visible_source

    @router.patch(
        "/tenants/{slug}/sources/{source_id}",
        response_model=SourceUpdated,
        tags=["sources"],
        responses={409: {"model": Problem, "description": "The check failed: nothing stored (send force: true)."}},
    )
    def patch_source(
        slug: str, source_id: SourceId, body: SourceUpdate, who: Principal = Depends(principal)
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

    @router.post(
        "/tenants/{slug}/sources/{source_id}/reset", response_model=ResetDone, tags=["sources"], responses=BUSY
    )
    def reset(
        slug: str, source_id: SourceId, body: StreamScope | None = Body(None), who: Principal = Depends(principal)
    ) -> ResetDone:
        """Clear the source's cursors and ETags (one stream's with ``stream``): its next run reads
        everything again and no request answers 304. Rows stay (the re-read upserts over them)."""
        stream = (body or StreamScope()).stream
        with hw.db.session() as s:
            try:
                done = reset_source(s, visible(s, slug, source_id, who), stream, what="stream")
            except SourceBusy as exc:
                raise HTTPException(status_code=409, detail=str(exc)) from None
            except RebuildError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
            return ResetDone(**done.as_dict())

    @router.post(
        "/tenants/{slug}/sources/{source_id}/renormalize",
        response_model=RenormalizeDone,
        tags=["sources"],
        responses=NOTHING_LANDED,
    )
    def renormalize(
        slug: str, source_id: SourceId, body: StreamScope | None = Body(None), who: Principal = Depends(principal)
    ) -> RenormalizeDone:
        """Rebuild the source's normalized rows from its landed raw pages with the current
        normalizers; no request goes to the provider. Runs to its end before answering (about 17 s per
        thousand pages measured on SQLite)."""
        stream = (body or StreamScope()).stream
        with hw.db.read() as s:
            rt = runtime_for(visible(s, slug, source_id, who), hw.vault)
        try:
            done = renormalize_source(hw.db, rt, stream, what="stream")
        except NothingLanded as exc:
            raise HTTPException(status_code=409, detail=f"{exc} (POST /api/tenants/{slug}/refresh)") from None
        except RebuildError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return RenormalizeDone(source_id=source_id, stream=stream, **done.as_dict())

    @router.delete(
        "/tenants/{slug}/sources/{source_id}", response_model=SourceRemoved, tags=["sources"], responses=UNCONFIRMED
    )
    def delete_source(
        slug: str,
        source_id: SourceId,
        confirm: bool = Query(False, description="Must be true: the source's rows, raw pages and task history go."),
        who: Principal = Depends(principal),
    ) -> SourceRemoved:
        """Remove the source with its rows, raw pages, quarantined records, cursors and task
        history. Without ``confirm=true`` nothing is deleted and the answer (409) says what would
        be; ``PATCH {"enabled": false}`` keeps them instead."""
        with hw.db.session() as s:
            src = visible(s, slug, source_id, who)
            try:
                check_idle(s, src, "remove")
            except SourceBusy as exc:
                raise HTTPException(status_code=409, detail=str(exc)) from None
            summary = removal_summary(s, src)
            if not confirm:
                raise HTTPException(
                    status_code=409,
                    detail=f"removing source {source_id} deletes {describe_removal(summary)}; send confirm=true "
                    f'to delete them (or PATCH {{"enabled": false}} to keep them)',
                )
            s.delete(src)
        return SourceRemoved(removed=source_id, **summary)

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
