"""Fixtures of the privacy tests: a served sandbox, and what each sandbox plants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from storage import Database, upgrade
from tenancy import Vault
from tests.privacy.support import PROVIDERS, Served, leaks, planted, refresh, source

Planted = Callable[[str], set[str]]


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    s = Served(PROVIDERS[request.param])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def planted_values(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """What each provider's sandbox plants, from one refresh with the options off (SQLite)."""
    cache: dict[str, set[str]] = {}

    def get(kind: str) -> set[str]:
        if kind not in cache:
            folder: Path = tmp_path_factory.mktemp(f"off-{kind}")
            db = Database(f"sqlite:///{folder}/off.db")
            upgrade(db)
            s = Served(PROVIDERS[kind])
            try:
                vault = Vault(SecretStr(Fernet.generate_key().decode()))
                rt = source(db, vault, s, "acme")
                refresh(rt, db)
                scope = PROVIDERS[kind].scope
                org = [str(s.options()[scope])] if scope else []
                values = planted(db, rt.source_id, not_people=org)
                # The scan can fail: with the options off it finds every value, raw pages included.
                found = leaks(db, values)
                assert set(found) == values
                assert any("raw_page.records" in where for where in found.values())
                cache[kind] = values
            finally:
                s.stop()
                db.dispose()
        return cache[kind]

    return get
