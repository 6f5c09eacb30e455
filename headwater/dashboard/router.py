"""The dashboard's pages: tenants, a tenant's runs, runs across tenants (filters, paging), one
run with its timeline and log lines; sign-in.

Same tokens as the API: ``Authorization: Bearer …`` or the HttpOnly cookie set by the sign-in
form. A browser without a valid token is sent to ``/login``; a tenant token sees only its
tenant (other tenants' pages answer 404, as in the API). Buttons call the JSON API
(``POST /api/runs/{id}/retry``, ``POST /api/tenants/{slug}/refresh``) from the page's script.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from headwater.api.auth import COOKIE, Principal, principal_for, token_from
from headwater.app import App
from headwater.dashboard import data
from headwater.dashboard.render import render
from headwater.dashboard.timeline import layout
from linking.views import counts as signal_counts
from storage.models import Tenant

ASSETS = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
VERSION = "1"
COOKIE_MAX_AGE = 12 * 3600
SECURITY_HEADERS = {
    # Scripts only from this origin; inline style attributes position the timeline bars.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def safe_next(value: str | None) -> str:
    """Only local paths: never redirect a signed-in user to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = render(name, version=VERSION, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def dashboard_router(hw: App) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def viewer(request: Request) -> Principal | Response:
        """The caller, or where to send them: the sign-in form (browsers) or a 401 (API clients)."""
        who = principal_for(hw, token_from(request))
        if who is not None:
            return who
        if request.headers.get("authorization"):
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(path, safe='/')}", status_code=303)

    def identity(s: Any, who: Principal) -> str:
        if who.admin:
            return "admin"
        t = s.get(Tenant, who.tenant_id)
        return f"tenant {t.slug}" if t else "tenant"

    @router.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        if principal_for(hw, token_from(request)) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return page("login.html", next=safe_next(next), error=None)

    @router.post("/login")
    def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
        token = token.strip()
        if principal_for(hw, token) is None:
            return page("login.html", status=401, next=safe_next(next), error="That token is not valid.")
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/")
    def index(request: Request) -> Response:
        who = viewer(request)
        if isinstance(who, Response):
            return who
        with hw.db.session() as s:
            tenants = data.overview(s, who, hw.settings.stale_after_hours)
            me = identity(s, who)
        active = any(t.active_runs for t in tenants)
        return page("index.html", tenants=tenants, who=me, admin=who.admin, active=active)

    @router.get("/tenants/{slug}")
    def tenant(request: Request, slug: str) -> Response:
        who = viewer(request)
        if isinstance(who, Response):
            return who
        with hw.db.session() as s:
            t = data.tenant_for(s, who, slug)
            if t is None:
                return page("missing.html", status=404, who=identity(s, who), what=f"tenant {slug}")
            ctx = data.tenant_page(s, t, hw.settings.stale_after_hours)
            ctx["signals"] = signal_counts(s, t.id)  # identities and work links (linking)
            me = identity(s, who)
        return page("tenant.html", who=me, admin=who.admin, **ctx)

    @router.get("/runs")
    def runs(request: Request) -> Response:
        who = viewer(request)
        if isinstance(who, Response):
            return who
        with hw.db.session() as s:
            ctx = data.runs_page(s, who, dict(request.query_params))
            me = identity(s, who)
        return page("runs.html", status=422 if ctx["error"] else 200, who=me, admin=who.admin, **ctx)

    @router.get("/runs/{run_id}")
    def run(request: Request, run_id: int) -> Response:
        who = viewer(request)
        if isinstance(who, Response):
            return who
        with hw.db.session() as s:
            # An id past the database's INTEGER cannot exist (and would overflow the driver).
            exists = 0 < run_id < 2**31
            ctx = data.run_page(s, who, run_id, hw.settings.stale_after_hours) if exists else None
            me = identity(s, who)
        if ctx is None:
            return page("missing.html", status=404, who=me, what=f"run {run_id}")
        timeline = layout(ctx["run"], ctx["sources"])
        return page("run.html", who=me, admin=who.admin, timeline=timeline, **ctx)

    @router.get("/static/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404)
        body = files("headwater.dashboard").joinpath("static", name).read_bytes()
        return Response(
            body,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    return router
