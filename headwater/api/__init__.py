"""HTTP API (FastAPI): refresh, runs, sources, tenants; dashboard and metrics are mounted too."""

from headwater.api.app import create_api

__all__ = ["create_api"]
