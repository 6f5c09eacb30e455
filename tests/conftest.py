"""Shared fixtures: databases (SQLite and the real PostgreSQL), vault, tenants and sources."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from connectors.runtime import SourceRuntime
from storage import Database, upgrade
from tenancy import Vault, add_source, add_tenant, runtime_for

PG_ADMIN_URL = os.environ.get("HEADWATER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HEADWATER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("HEADWATER_REQUIRE_SERVICES") == "1"
# The recorded provider responses, read in place (HEADWATER_RECORDED: another checkout of them).
RECORDED = Path(os.environ.get("HEADWATER_RECORDED") or Path(__file__).resolve().parents[2] / "shared" / "recorded")
REPLAY = Path(__file__).resolve().parents[2] / "shared" / "tools" / "replay.py"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def require_service(name: str) -> None:
    """Skip when a service is absent on a laptop; fail in CI (HEADWATER_REQUIRE_SERVICES=1)."""
    port = {"postgres": 5432, "redis": 6379}[name]
    if not _port_open("127.0.0.1", port):
        msg = f"{name} is not running on 127.0.0.1:{port}"
        if REQUIRE_SERVICES:
            pytest.fail(msg + " (HEADWATER_REQUIRE_SERVICES=1)")
        pytest.skip(msg)


def require_recordings(provider: str) -> Path:
    """The folder of ``provider``'s recorded responses (read in place, never copied). Absent:
    skip saying so on a laptop; fail in CI (HEADWATER_REQUIRE_SERVICES=1)."""
    folder = RECORDED / provider
    if not (folder / "index.json").is_file():
        msg = f"needs the recorded {provider} responses, and {folder / 'index.json'} is absent"
        if REQUIRE_SERVICES:
            pytest.fail(msg + " (HEADWATER_REQUIRE_SERVICES=1)")
        pytest.skip(msg)
    return folder


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/headwater.db")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    require_service("postgres")
    name = f"hw_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    admin.dispose()  # its pooled connection may not have survived a PostgreSQL restart (chaos tests)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    upgrade(db)
    yield db
    # Leave a clean database for the next test.
    from storage.migrate import downgrade

    downgrade(db, "base")
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test against embedded SQLite and the real PostgreSQL."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    db: Database = request.getfixturevalue(name)
    return db


@pytest.fixture
def vault() -> Vault:
    return Vault(SecretStr(Fernet.generate_key().decode()))


MakeRuntime = Callable[..., SourceRuntime]


@pytest.fixture
def make_runtime(sqlite_db: Database, vault: Vault) -> MakeRuntime:
    """``make_runtime(kind, options, secrets, tenant="acme", db=None)`` -> SourceRuntime."""

    def make(
        kind: str,
        options: dict[str, Any],
        secrets: dict[str, Any],
        *,
        tenant: str = "acme",
        db: Database | None = None,
    ) -> SourceRuntime:
        target = db or sqlite_db
        with target.session() as s:
            from sqlalchemy import select

            from storage.models import Tenant

            t = s.execute(select(Tenant).where(Tenant.slug == tenant)).scalar_one_or_none() or add_tenant(s, tenant)
            source = add_source(s, vault, t, kind, options, secrets)
            return runtime_for(source, vault)

    return make


def tenant_and_source(db: Database, kind: str = "github") -> tuple[int, int]:
    """The ids of a new tenant "acme" and one source of ``kind`` (no secrets): rows to hang
    entities, runs and tasks on."""
    from storage.models import Source, Tenant

    with db.session() as s:
        tenant = Tenant(slug="acme", name="Acme")
        s.add(tenant)
        s.flush()
        source = Source(tenant_id=tenant.id, kind=kind, options={})
        s.add(source)
        s.flush()
        return tenant.id, source.id
