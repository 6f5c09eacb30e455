"""Request and response bodies of the HTTP API.

Request bodies are strict: unknown fields and wrong JSON types are refused with 422 (no
silent coercion of ``"5"`` into 5 or ``"yes"`` into true).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RefreshRequest(StrictBody):
    source_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Refresh only this source of the tenant.")
    full: bool = Field(False, description="Ignore cursors and re-read everything.")


class CancelRequest(StrictBody):
    reason: str | None = Field(None, max_length=500, description="Why (kept in the run's history).")


class TenantCreate(StrictBody):
    slug: str = Field(description="Lower-case letters, digits and '-', at most 63.")
    name: str | None = None
    refresh_interval_minutes: int | None = Field(None, ge=1, description="Scheduled refresh interval.")
    refresh_cron: str | None = Field(None, description="Cron schedule, five fields in UTC ('0 * * * *': hourly).")


class SourceCreate(StrictBody):
    kind: str = Field(description="github, bitbucket, jira, aha or slack.")
    options: dict[str, str | int | bool | list[str]] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="Stored encrypted; never shown again.")
    name: str | None = None
    backfill: bool = Field(True, description="Queue the onboarding backfill run.")


class SourceUpdate(StrictBody):
    options: dict[str, str | int | bool | list[str]] = Field(
        default_factory=dict, description="Merged over the stored options."
    )
    secrets: dict[str, str] = Field(
        default_factory=dict, description="New credentials (a complete set replaces, a partial one merges)."
    )
    enabled: bool | None = Field(None, description="False: left out of runs; true: included again.")
    force: bool = Field(False, description="Store new options or secrets even when their check fails.")


class RunAccepted(BaseModel):
    run_id: int
    state: str
    coalesced: bool = Field(description="True when the request joined a run already waiting for the same scope.")
    trigger: str
    dispatched: str | None = Field(
        None, description="How the run was handed over: queued, in-process (None when coalesced)."
    )


class RunPage(BaseModel):
    runs: list[dict[str, Any]] = Field(description="Run summaries, newest first (the `headwater runs --json` rows).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TenantOut(BaseModel):
    id: int
    slug: str
    name: str
    refresh_interval_minutes: int | None
    refresh_cron: str | None = None
    next_refresh_at: str | None = Field(None, description="When the schedule fires next (None: no schedule).")
    created_at: str


class SourceOut(BaseModel):
    id: int
    tenant_id: int
    kind: str
    name: str
    options: dict[str, Any]
    include: list[Any]
    exclude: list[Any]
    enabled: bool
    credentials_status: str
    last_success_at: str | None


class SourceCreated(BaseModel):
    source: SourceOut
    run: RunAccepted | None = Field(None, description="The onboarding backfill run.")


class SourceUpdated(BaseModel):
    source: SourceOut
    check: dict[str, Any] | None = Field(None, description="The check's verdict (when options or secrets changed).")


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]
