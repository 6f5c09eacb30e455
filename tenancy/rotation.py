"""Re-encrypting every stored secret with the first key of a (multi-key) vault."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Source
from tenancy.vault import Vault


def reencrypt_all(session: Session, vault: Vault) -> int:
    """Every source's secrets re-encrypted with the vault's first key, in the caller's
    transaction (all or nothing); the number of sources rewritten. A secret no key can read
    raises VaultError and nothing is changed."""
    count = 0
    for source in session.execute(select(Source).where(Source.secrets_encrypted != "")).scalars():
        source.secrets_encrypted = vault.rotate(source.secrets_encrypted)
        count += 1
    session.flush()
    return count
