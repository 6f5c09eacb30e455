"""Derived, per tenant: identities across sources, work links, manual decisions, watermarks.

Built by the tenant's derived task (``linking``) from the normalized rows; rebuilt at will, so
rows here are replaced, not tombstoned. Manual decisions (``identity_decision``) are the one
input a person makes: they are never rebuilt, and every rebuild applies them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Identity(Base):
    """One human across the tenant's sources."""

    __tablename__ = "identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityAccount(Base):
    """A person row (one account in one source) linked to its identity, with how and how sure.

    ``how``: ``email`` (a verified address), ``mapping``, ``rule:<name>`` (reviewable),
    ``manual`` (a person decided), ``single`` (an account matched to no other)."""

    __tablename__ = "identity_account"
    __table_args__ = (UniqueConstraint("person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    how: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(default=1.0)
    decided_by_person: Mapped[bool] = mapped_column(Boolean, default=False)


class IdentityDecision(Base):
    """A manual decision, applied on every rebuild in id order: ``merge`` (``person_id`` and
    ``other_person_id`` belong to one identity) or ``split`` (``person_id`` stands alone)."""

    __tablename__ = "identity_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    other_person_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=True
    )
    decided_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityMapping(Base):
    """An explicit mapping, tenant configuration (it may name accounts no source has landed yet):
    the account of kind ``kind`` whose login, address or external id is ``account`` (lower case)
    is the person with address ``to_email``, or is one with person ``to_person_id``. Applied by
    every rebuild after verified addresses, before the rules."""

    __tablename__ = "identity_mapping"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(512))
    to_email: Mapped[str | None] = mapped_column(String(512), nullable=True)
    to_person_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("person.id", ondelete="CASCADE"), nullable=True
    )
    decided_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkLink(Base):
    """A row of one source that refers to a work item of another (a PR naming a Jira issue …).

    ``how``: ``key_in_title``, ``key_in_branch``, ``key_in_message``, ``aha_integration``, ``mention``."""

    __tablename__ = "work_link"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "from_kind", "from_source_id", "from_external_id", "to_kind", "to_source_id",
            "to_external_id", "how", name="uq_work_link_key",
        ),
        Index("ix_work_link_tenant_id_from", "tenant_id", "from_kind", "from_source_id", "from_external_id"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    from_kind: Mapped[str] = mapped_column(String(32))
    from_source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    from_external_id: Mapped[str] = mapped_column(String(512))
    to_kind: Mapped[str] = mapped_column(String(32))
    to_source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    to_external_id: Mapped[str] = mapped_column(String(512))
    to_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    how: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DerivedWatermark(Base):
    """How far a derived task has read (per tenant and derivation): ``value`` is its own JSON."""

    __tablename__ = "derived_watermark"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
