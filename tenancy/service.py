"""Tenants and sources: create, list, remove, and turn a source into a runnable runtime.

Every function validates first and writes nothing when the input is bad; errors are
:class:`TenancyError` with one line that names the field to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.registry import UnknownConnector, get_connector
from connectors.runtime import SourceRuntime
from storage.models import Source, Tenant
from tenancy.privacy_salt import split_salt, tenant_salt, with_salt
from tenancy.vault import Vault

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PARTITION_FILTERS = ("include", "exclude")


class TenancyError(ValueError):
    """Bad input from the operator or customer; the message says what to fix."""


def describe_validation_error(exc: pydantic.ValidationError, what: str) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err["loc"]) or what
        if err["type"] == "missing":
            parts.append(f"{what} '{field}' is required")
        elif err["type"] == "extra_forbidden":
            parts.append(f"unknown {what} '{field}'")
        else:
            parts.append(f"{what} '{field}': {err['msg']}")
    return "; ".join(parts)


def check_secret_values(secrets: Mapping[str, Any]) -> None:
    """Refuse empty secrets and ones with control characters or surrounding spaces (they fail
    later as an illegal HTTP header); the message names the field, never the value."""
    for key, value in secrets.items():
        text = value.get_secret_value() if isinstance(value, pydantic.SecretStr) else value
        if not isinstance(text, str):
            raise TenancyError(f"secret '{key}' must be a string")
        if not text:
            raise TenancyError(f"secret '{key}' is empty: give its value (or KEY=@env:VAR, KEY=@file:PATH)")
        if text != text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise TenancyError(f"secret '{key}' has spaces around it or control characters (a stray newline?)")


def add_tenant(session: Session, slug: str, name: str | None = None) -> Tenant:
    if not SLUG_RE.match(slug):
        raise TenancyError(f"tenant slug {slug!r} is invalid: use lower-case letters, digits and '-' (max 63)")
    if session.execute(select(Tenant.id).where(Tenant.slug == slug)).first():
        raise TenancyError(f"tenant '{slug}' already exists")
    tenant = Tenant(slug=slug, name=name or slug)
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError as exc:
        raise TenancyError(f"tenant '{slug}' already exists") from exc
    return tenant


def get_tenant(session: Session, slug: str) -> Tenant:
    tenant = session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        raise TenancyError(f"unknown tenant '{slug}' (see `headwater tenant list`)")
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.execute(select(Tenant).order_by(Tenant.slug)).scalars())


def split_patterns(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).split(",") if p.strip()]


def add_source(
    session: Session,
    vault: Vault,
    tenant: Tenant,
    kind: str,
    options: Mapping[str, Any],
    secrets: Mapping[str, Any],
    *,
    name: str | None = None,
) -> Source:
    try:
        connector = get_connector(kind)
    except UnknownConnector as exc:
        raise TenancyError(str(exc)) from exc
    opts = dict(options)
    filters = {f: split_patterns(opts.pop(f)) for f in PARTITION_FILTERS if f in opts}
    try:
        parsed = connector.parse_options(opts)
    except pydantic.ValidationError as exc:
        raise TenancyError(f"{kind} source: {describe_validation_error(exc, 'option')}") from None
    check_secret_values(secrets)
    try:
        parsed_secrets = connector.parse_secrets(secrets)
    except pydantic.ValidationError as exc:
        # Never echo the values: only the field names and what is wrong with them.
        raise TenancyError(f"{kind} source: {describe_validation_error(exc, 'secret')}") from None
    source = Source(
        tenant_id=tenant.id,
        kind=kind,
        name=name or kind,
        options=parsed.model_dump(mode="json"),
        include=filters.get("include", []),
        exclude=filters.get("exclude", []),
        secrets_encrypted=vault.encrypt(with_salt(dict(parsed_secrets), tenant_salt(session, vault, tenant.id))),
    )
    session.add(source)
    session.flush()
    return source


def list_sources(session: Session, tenant: Tenant) -> list[Source]:
    return list(session.execute(select(Source).where(Source.tenant_id == tenant.id).order_by(Source.id)).scalars())


def get_source(session: Session, tenant: Tenant, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.tenant_id != tenant.id:
        raise TenancyError(
            f"tenant '{tenant.slug}' has no source {source_id} (see `headwater source list {tenant.slug}`)"
        )
    return source


def remove_source(session: Session, tenant: Tenant, source_id: int) -> None:
    session.delete(get_source(session, tenant, source_id))


def source_view(source: Source) -> dict[str, Any]:
    """What may be shown of a source: never its secrets, only their names."""
    return {
        "id": source.id,
        "tenant_id": source.tenant_id,
        "kind": source.kind,
        "name": source.name,
        "options": source.options,
        "include": source.include,
        "exclude": source.exclude,
        "enabled": source.enabled,
        "credentials_status": source.credentials_status,
        "last_success_at": source.last_success_at.isoformat() if source.last_success_at else None,
    }


def runtime_for(source: Source, vault: Vault) -> SourceRuntime:
    connector = get_connector(source.kind)
    stored, salt = split_salt(vault.decrypt(source.secrets_encrypted))
    return SourceRuntime(
        connector=connector,
        tenant_id=source.tenant_id,
        source_id=source.id,
        options=connector.parse_options(source.options),
        secrets=connector.parse_secrets(stored),
        include=list(source.include or []),
        exclude=list(source.exclude or []),
        privacy_salt=salt,
    )
