"""The HTTP API under ``/api`` (ARCHITECTURE.md §5).

A refresh request only writes the run row (coalesced per tenant scope by the database) and
hands the run to the dispatcher; it answers 202 at once. Tenant tokens see only their tenant:
anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request, Response, Security
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session

from headwater.api.auth import Principal, require
from headwater.api.levers import levers_router
from headwater.api.lookup import MAX_ID, not_found, visible_tenant
from headwater.api.people import people_router
from headwater.api.schemas import (
    CancelRequest,
    Problem,
    RefreshRequest,
    RunAccepted,
    RunPage,
    SourceCreate,
    SourceCreated,
    SourceOut,
    TenantCreate,
    TenantOut,
)
from headwater.api.tokens import tokens_router
from headwater.api.validation import SafeRoute
from headwater.app import App
from headwater.cron import BadCron, check_cron, next_refreshes
from headwater.dispatch import Accepted, Dispatcher, DispatchError, RunService, make_dispatcher
from pipelines import list_runs, run_document
from pipelines.service import RunRefused
from pipelines.tasklogs import read as read_task_logs
from pipelines.views import BadFilter, RunFilter, next_cursor
from storage.models import Run, Tenant, Trigger
from tenancy import TenancyError, add_source, add_tenant, get_source, list_sources, list_tenants, source_view

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or invalid token."},
    404: {"model": Problem, "description": "No such resource visible to this token."},
    422: {"model": Problem, "description": "Malformed request."},
}
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="A run id.")]
# Statuses of single operations, documented where they can happen.
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"model": Problem, "description": "Needs the admin token."}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Refused in the current state (already exists, finished, or running)."}
}
QUEUE_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The run queue is unavailable; the run is FAILED saying so."}
}


def tenants_out(s: Session, tenants: list[Tenant]) -> list[TenantOut]:
    schedules = next_refreshes(s, tenants)
    return [
        TenantOut(
            id=t.id,
            slug=t.slug,
            name=t.name,
            refresh_interval_minutes=t.refresh_interval_minutes,
            **schedules[t.id],
            created_at=t.created_at.isoformat(),
        )
        for t in tenants
    ]


def requester(who: Principal) -> str:
    return "api:admin" if who.admin else f"api:tenant:{who.tenant_id}"


def api_router(hw: App, dispatcher: Dispatcher | None = None) -> APIRouter:
    runs = dispatcher or make_dispatcher(hw, in_process=True)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runs.start()
        try:
            yield
        finally:
            runs.close()

    router = APIRouter(
        route_class=SafeRoute,
        lifespan=lifespan,
        # Documents the bearer scheme in OpenAPI; `require` does the checking.
        dependencies=[Security(HTTPBearer(auto_error=False))],
        responses=ERRORS,
    )

    def principal(request: Request) -> Principal:
        return require(hw, request)

    service = RunService(hw, runs)

    def accepted(call: Callable[[], Accepted]) -> RunAccepted:
        """A refresh, retry or backfill handed over: 503 when the queue refused it (the run is
        FAILED with what is down, so the next click creates a fresh one)."""
        try:
            a = call()
        except DispatchError as exc:
            raise HTTPException(status_code=503, detail=f"the run queue is unavailable: {exc}") from exc
        except RunRefused as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return RunAccepted(**a.as_dict())

    def visible_run(run_id: int, who: Principal) -> None:
        with hw.db.read() as s:
            run = s.get(Run, run_id)
            if run is None or not who.can_see(run.tenant_id):
                raise not_found(f"run {run_id}")

    # -- tenants ------------------------------------------------------------------------
    @router.get("/tenants", response_model=list[TenantOut], tags=["tenants"])
    def get_tenants(who: Principal = Depends(principal)) -> list[TenantOut]:
        """All tenants (admin), or the token's own tenant."""
        with hw.db.read() as s:
            return tenants_out(s, [t for t in list_tenants(s) if who.can_see(t.id)])

    @router.post(
        "/tenants", status_code=201, response_model=TenantOut, tags=["tenants"], responses={**FORBIDDEN, **CONFLICT}
    )
    def post_tenant(body: TenantCreate, who: Principal = Depends(principal)) -> TenantOut:
        """Create a tenant (admin token only)."""
        if not who.admin:
            raise HTTPException(status_code=403, detail="creating tenants needs the admin token")
        with hw.db.session() as s:
            try:
                tenant = add_tenant(s, body.slug, body.name)
            except TenancyError as exc:
                status = 409 if "already exists" in str(exc) else 422
                raise HTTPException(status_code=status, detail=str(exc)) from None
            try:
                tenant.refresh_cron = check_cron(body.refresh_cron) if body.refresh_cron else None
            except BadCron as exc:
                raise HTTPException(status_code=422, detail=str(exc).replace("--cron", "refresh_cron", 1)) from None
            tenant.refresh_interval_minutes = body.refresh_interval_minutes
            s.flush()
            return tenants_out(s, [tenant])[0]

    # -- refresh and runs ---------------------------------------------------------------
    @router.post(
        "/tenants/{slug}/refresh",
        status_code=202,
        response_model=RunAccepted,
        tags=["runs"],
        responses={**CONFLICT, **QUEUE_DOWN},
    )
    def refresh(
        slug: str,
        body: RefreshRequest | None = Body(None),
        who: Principal = Depends(principal),
    ) -> RunAccepted:
        """Queue a refresh of the tenant (or one source), or join the one already waiting."""
        req = body or RefreshRequest()
        # One short transaction: find the tenant, then create or join the waiting run.
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)
            if req.source_id is not None:
                try:
                    get_source(s, tenant, req.source_id)
                except TenancyError:
                    raise not_found(f"source {req.source_id} of tenant '{slug}'") from None
        return accepted(
            lambda: service.request(tenant, source_id=req.source_id, full=req.full, requested_by=requester(who))
        )

    @router.get("/tenants/{slug}/runs", tags=["runs"])
    def get_runs(
        slug: str, limit: int = Query(50, ge=1, le=500), who: Principal = Depends(principal)
    ) -> list[dict[str, Any]]:
        """Recent runs of the tenant, newest first (the `headwater runs --json` rows)."""
        with hw.db.read() as s:
            return list_runs(s, visible_tenant(s, slug, who), limit)

    @router.get("/runs", tags=["runs"], response_model=RunPage)
    def get_all_runs(
        request: Request,
        response: Response,
        state: str | None = Query(None, description="Only runs in this state (comma-separated)."),
        trigger: str | None = Query(None, description="refresh, schedule, onboarding or retry."),
        since: str | None = Query(None, description="Created within (24h, 30m, 7d) or after an ISO date."),
        tenant: str | None = Query(None, description="Only this tenant's runs (slug)."),
        limit: int = Query(50, ge=1, le=500),
        cursor: str | None = Query(None, description="The next_cursor of the previous page."),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        """Runs newest first across the tenants this token sees (a tenant token: its own), filtered
        and paged by keyset: pass the answer's ``next_cursor`` (also in the ``Link`` header) back
        as ``cursor`` for the next page; it is null on the last page."""
        try:
            where = RunFilter.parse(
                tenant_ids=None if who.admin else (who.tenant_id or 0,),
                state=state,
                trigger=trigger,
                since=since,
                cursor=cursor,
            )
        except BadFilter as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        with hw.db.read() as s:
            scope = visible_tenant(s, tenant, who) if tenant else None
            rows = list_runs(s, scope, limit, where)
        after = next_cursor(rows, limit)
        if after is not None:
            response.headers["Link"] = f'<{request.url.include_query_params(cursor=after)}>; rel="next"'
        return {"runs": rows, "next_cursor": after}

    @router.get("/runs/{run_id}/logs", tags=["runs"])
    def get_run_logs(
        run_id: RunId,
        task: int | None = Query(None, ge=1, le=MAX_ID, description="Only this task's lines."),
        who: Principal = Depends(principal),
    ) -> list[dict[str, Any]]:
        """The log lines each task kept (the last 200 per task, INFO and above, redacted) =
        `headwater run logs --json`."""
        visible_run(run_id, who)
        with hw.db.read() as s:
            return read_task_logs(s, run_id, task)

    @router.get("/runs/{run_id}", tags=["runs"])
    def get_run(run_id: RunId, who: Principal = Depends(principal)) -> dict[str, Any]:
        """The run with its tasks and their state histories (= `headwater run show --json`)."""
        with hw.db.read() as s:
            run = s.get(Run, run_id)
            if run is None or not who.can_see(run.tenant_id):
                raise not_found(f"run {run_id}")
            doc = run_document(s, run_id)
        assert doc is not None
        return doc

    @router.post(
        "/runs/{run_id}/retry",
        status_code=202,
        response_model=RunAccepted,
        tags=["runs"],
        responses={**CONFLICT, **QUEUE_DOWN},
    )
    def retry(run_id: RunId, who: Principal = Depends(principal)) -> RunAccepted:
        """Re-run only the failed tasks of a failed, crashed or cancelled run (and their dependents)."""
        visible_run(run_id, who)
        return accepted(lambda: service.retry(run_id, requested_by=requester(who)))

    @router.post("/runs/{run_id}/cancel", tags=["runs"], responses=CONFLICT)
    def cancel(
        run_id: RunId, body: CancelRequest | None = Body(None), who: Principal = Depends(principal)
    ) -> dict[str, Any]:
        """Cancel a waiting or running run: waiting tasks end CANCELLED at once, running ones at
        their next request; committed batches stay. 409 when the run has already finished."""
        visible_run(run_id, who)
        try:
            service.cancel(run_id, by=requester(who), reason=(body or CancelRequest()).reason)
        except RunRefused as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        with hw.db.read() as s:
            doc = run_document(s, run_id)
        assert doc is not None
        return doc

    # -- sources ------------------------------------------------------------------------
    @router.get("/tenants/{slug}/sources", response_model=list[SourceOut], tags=["sources"])
    def get_sources(slug: str, who: Principal = Depends(principal)) -> list[dict[str, Any]]:
        """The tenant's sources; secrets are never shown."""
        with hw.db.read() as s:
            return [source_view(src) for src in list_sources(s, visible_tenant(s, slug, who))]

    @router.post(
        "/tenants/{slug}/sources",
        status_code=201,
        response_model=SourceCreated,
        tags=["sources"],
        responses={**CONFLICT, **QUEUE_DOWN},
    )
    def post_source(slug: str, body: SourceCreate, who: Principal = Depends(principal)) -> SourceCreated:
        """Connect a source and queue its onboarding backfill."""
        with hw.db.session() as s:
            tenant = visible_tenant(s, slug, who)
            try:
                src = add_source(s, hw.vault, tenant, body.kind, body.options, body.secrets, name=body.name)
            except TenancyError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
            view = SourceOut(**source_view(src))
        backfill = None
        if body.backfill:
            backfill = accepted(
                lambda: service.request(
                    tenant, trigger=Trigger.ONBOARDING, source_id=view.id, requested_by=requester(who)
                )
            )
        return SourceCreated(source=view, run=backfill)

    router.include_router(levers_router(hw, principal))  # PATCH/DELETE sources, reset, renormalize, connectors
    router.include_router(tokens_router(hw, principal))  # a tenant's API tokens
    router.include_router(people_router(hw, principal))  # identities and work links (linking)
    return router
