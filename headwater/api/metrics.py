"""GET /metrics: the Prometheus text of every tenant's counters (headwater.metrics collects them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from headwater.app import App
from headwater.metrics import registry_for


def metrics_router(hw: App) -> APIRouter:
    router = APIRouter()
    registry = registry_for(hw.db)

    @router.get("/metrics", tags=["ops"], response_class=Response)
    def metrics() -> Response:
        """Prometheus text format; no token (expose it only where scrapers can reach it)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
