"""The ASGI application of `headwater serve`."""

from __future__ import annotations

from fastapi import FastAPI

from headwater.api.routes import api_router
from headwater.app import App
from headwater.dashboard import dashboard_router
from headwater.metrics import metrics_router


def create_api(hw: App) -> FastAPI:
    api = FastAPI(title="Headwater", version="0.1.0", description="Per-customer ingestion platform API.")
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
