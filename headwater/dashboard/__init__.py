"""The run dashboard: server-rendered pages over the same data as the CLI and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from headwater.app import App


def dashboard_router(hw: App) -> APIRouter:
    """The dashboard's routes (imported on use: the pages import the API's auth, and
    ``headwater.api`` imports this package)."""
    from headwater.dashboard.router import dashboard_router as build

    return build(hw)


__all__ = ["dashboard_router"]
