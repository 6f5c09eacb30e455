"""Tenancy: tenants, sources (connector instances), encrypted credentials and API tokens."""

from tenancy.service import (
    TenancyError,
    add_source,
    add_tenant,
    get_source,
    get_tenant,
    list_sources,
    list_tenants,
    remove_source,
    runtime_for,
    source_view,
)
from tenancy.tokens import create_token, tenant_for_token
from tenancy.vault import Vault, VaultError, load_key, load_or_create_key

__all__ = [
    "TenancyError",
    "Vault",
    "VaultError",
    "add_source",
    "add_tenant",
    "create_token",
    "get_source",
    "get_tenant",
    "list_sources",
    "list_tenants",
    "load_key",
    "load_or_create_key",
    "remove_source",
    "runtime_for",
    "source_view",
    "tenant_for_token",
]
