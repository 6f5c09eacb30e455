"""The tenant's privacy salt: the secret behind the stable hashes the privacy options write.

One random salt per tenant, kept encrypted beside each of its sources' credentials (so a key
rotation re-encrypts it with them and the hashes never change). A new source of the tenant gets
the salt its other sources have, so one e-mail hashes the same in all of them; another tenant has
its own salt, so the same e-mail hashes differently there. Removing every source of a tenant
removes its salt with the data hashed by it.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Source
from tenancy.vault import Vault

SALT_KEY = "_privacy_salt"  # inside a source's encrypted secrets; never a connector secret


def split_salt(stored: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A source's decrypted secrets -> (the connector's secrets, the tenant's privacy salt)."""
    rest = dict(stored)
    salt = rest.pop(SALT_KEY, None)
    return rest, str(salt) if salt else None


def tenant_salt(session: Session, vault: Vault, tenant_id: int) -> str:
    """The salt the tenant's sources already keep, or a new one when none has it yet."""
    query = select(Source.secrets_encrypted).where(Source.tenant_id == tenant_id).order_by(Source.id)
    for token in session.execute(query).scalars():
        _, salt = split_salt(vault.decrypt(token)) if token else ({}, None)
        if salt:
            return salt
    return secrets.token_urlsafe(32)


def with_salt(connector_secrets: dict[str, Any], salt: str) -> dict[str, Any]:
    return {**connector_secrets, SALT_KEY: salt}
