"""The ASGI application of `headwater serve`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from headwater.api.metrics import metrics_router
from headwater.api.routes import api_router
from headwater.app import App
from headwater.dashboard import dashboard_router

DOCS_ASSETS = "/docs-assets"


def create_api(hw: App) -> FastAPI:
    # /docs and /redoc load Swagger UI and ReDoc from this app (packaged by fastapi-offline), not a CDN.
    api = FastAPIOffline(
        title="Headwater",
        version="0.1.0",
        description="Per-customer ingestion platform API.",
        static_url=DOCS_ASSETS,
    )
    api.state.hw = hw

    @api.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        from sqlalchemy import text

        with hw.db.session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok"}

    api.include_router(api_router(hw), prefix="/api")
    api.include_router(metrics_router(hw))
    api.include_router(dashboard_router(hw))
    return api
