"""Issue 17, done when: the privacy options leave no redacted value anywhere in the database
(tables and raw pages, SQLite and PostgreSQL), for each of the five providers; the hashes are
stable, equal across one tenant's sources and different across tenants; and with the options off
the same scan finds the values (so it can fail)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import Database
from storage.models import RawPage
from tenancy import Vault
from tests.ingest_support import rows
from tests.privacy.conftest import Planted
from tests.privacy.support import ON, PROVIDERS, Served, leaks, refresh, source

KINDS = sorted(PROVIDERS)


@pytest.mark.parametrize("kind", KINDS)
def test_with_the_options_off_the_scan_finds_the_planted_values(kind: str, planted_values: Planted) -> None:
    values = planted_values(kind)
    assert len(values) >= 10, values  # names, e-mails, bodies and branches or paths, not a token few


@pytest.mark.parametrize("served", KINDS, indirect=True)
def test_all_options_on_leave_no_planted_value_anywhere(
    served: Served, planted_values: Planted, any_db: Database, vault: Vault
) -> None:
    values = planted_values(served.provider.kind)
    rt = source(any_db, vault, served, "acme", **ON)
    refresh(rt, any_db)
    with any_db.read() as s:
        assert s.execute(select(RawPage.id).where(RawPage.source_id == rt.source_id)).first() is not None
    assert leaks(any_db, values) == {}


def _person_hashes(db: Database, source_id: int) -> set[str]:
    return {str(p[c]) for p in rows(db, source_id, "person") for c in ("login", "email") if p[c]}


@pytest.mark.parametrize("served", KINDS, indirect=True)
def test_hashes_are_stable_shared_within_a_tenant_and_not_across_tenants(
    served: Served, sqlite_db: Database, vault: Vault
) -> None:
    first = source(sqlite_db, vault, served, "acme", **ON)
    refresh(first, sqlite_db)
    hashes = _person_hashes(sqlite_db, first.source_id)
    assert hashes and all(h.startswith("anon-") or h.endswith("@redacted.invalid") for h in hashes)
    refresh(first, sqlite_db, full=True)
    assert _person_hashes(sqlite_db, first.source_id) == hashes  # stable across runs
    second = source(sqlite_db, vault, served, "acme", **ON)  # the same accounts, another source
    refresh(second, sqlite_db)
    assert _person_hashes(sqlite_db, second.source_id) == hashes
    other = source(sqlite_db, vault, served, "globex", **ON)  # the same accounts, another tenant
    refresh(other, sqlite_db)
    assert _person_hashes(sqlite_db, other.source_id).isdisjoint(hashes)


def _emails(db: Database, source_id: int) -> set[str]:
    return {str(p["email"]).strip().casefold() for p in rows(db, source_id, "person") if p["email"]}


def test_identity_matching_by_email_survives_the_hashes(sqlite_db: Database, vault: Vault) -> None:
    """The shared sandbox world gives people one address in several tools: with the options on,
    exactly as many e-mails match between two sources of a tenant as without them."""
    kinds = ("aha", "jira", "slack")
    served = {k: Served(PROVIDERS[k]) for k in kinds}
    try:
        plain, hashed = {}, {}
        for k in kinds:
            off = source(sqlite_db, vault, served[k], "plain")
            on = source(sqlite_db, vault, served[k], "acme", **ON)
            for rt in (off, on):
                refresh(rt, sqlite_db)
            plain[k], hashed[k] = _emails(sqlite_db, off.source_id), _emails(sqlite_db, on.source_id)
        other = source(sqlite_db, vault, served["jira"], "globex", **ON)
        refresh(other, sqlite_db)
    finally:
        for s in served.values():
            s.stop()
    for a, b in (("aha", "jira"), ("aha", "slack"), ("jira", "slack")):
        shared = plain[a] & plain[b]
        assert shared, (a, b)  # the world plants shared addresses
        assert len(hashed[a] & hashed[b]) == len(shared), (a, b)
        assert not (hashed[a] & plain[b])
    assert hashed["jira"] and _emails(sqlite_db, other.source_id).isdisjoint(hashed["jira"] | hashed["aha"])
