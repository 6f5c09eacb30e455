"""Tenants, their sources (connector instances) and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Tenant(Base):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    refresh_interval_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    refresh_cron: Mapped[str | None] = mapped_column(String(128), nullable=True)  # beside (or instead of) the interval
    alert_webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Tenant(id={self.id!r}, slug={self.slug!r})"


class Source(Base):
    """A connector instance of one tenant. Secrets are a Fernet token, never clear text."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    include: Mapped[list[Any]] = mapped_column(default=list)
    exclude: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    credentials_status: Mapped[str] = mapped_column(String(32), default="unknown")
    last_success_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When options or secrets last changed (`source update`): a rejection after it alerts anew.
    credentials_updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # never shows secrets
        return f"Source(id={self.id!r}, tenant_id={self.tenant_id!r}, kind={self.kind!r})"


class ApiToken(Base):
    """A per-tenant API token, stored as a SHA-256 hash; the clear token is shown once."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)  # None: never expires
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)  # updated at most once a minute
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)

    def __repr__(self) -> str:
        return f"ApiToken(id={self.id!r}, tenant_id={self.tenant_id!r}, prefix={self.prefix!r})"
