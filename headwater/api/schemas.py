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


class TokenCreate(StrictBody):
    expires: str | None = Field(
        None,
        max_length=32,
        description="Lifetime such as 30d, 12h, 90m or 2w (at most 3650d); none: no expiry. A token made "
        "with a tenant token never outlives the token that made it.",
    )


class TokenOut(BaseModel):
    """What may be shown of a token: never the token, nor its hash."""

    id: int
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None = Field(description="Last use, recorded at most once a minute.")
    revoked_at: str | None


class TokenIssued(BaseModel):
    id: int
    token: str = Field(description="The token itself: shown in this answer only, stored hashed.")
    tenant: str
    prefix: str
    expires_at: str | None


class StreamScope(StrictBody):
    stream: str | None = Field(
        None, min_length=1, max_length=200, description="Only this stream (see GET /api/connectors/{kind})."
    )


class ResetDone(BaseModel):
    source_id: int
    stream: str | None
    cursors_cleared: int
    etags_cleared: int = Field(description="ETag/Last-Modified validators forgotten: no request answers 304.")


class RenormalizeDone(BaseModel):
    source_id: int
    stream: str | None
    pages: int = Field(description="Landed raw pages replayed.")
    rows: dict[str, int] = Field(description="Rows written per entity kind.")
    quarantined: int
    skipped: dict[str, str] = Field(description="Streams not replayed, with why.")
    unmatched_pages: int = Field(description="Child pages whose parent row is gone.")


class SourceRemoved(BaseModel):
    removed: int = Field(description="The id of the source deleted.")
    source_id: int
    rows: dict[str, int] = Field(description="Rows deleted per entity kind (tombstoned ones too).")
    rows_total: int
    tasks: int = Field(description="Tasks of run history deleted.")
    raw_pages: int
    quarantined: int
    cursors: int
    etags: int
