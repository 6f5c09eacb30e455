"""An App on a temporary database, tokens, and the API with a recording dispatcher."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from headwater.api.routes import api_router
from headwater.app import App
from headwater.settings import Settings
from storage import Database
from tenancy import Vault, add_tenant, create_token

ADMIN = "admin-secret-token"


@dataclass
class RecordingDispatcher:
    """Records hand-overs; executes nothing (runs stay SCHEDULED)."""

    calls: list[tuple[int, str, int]] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def dispatch(self, run_id: int, *, trigger: str, priority: int) -> str:
        if self.fail:
            raise ConnectionError("broker down")
        with self.lock:
            self.calls.append((run_id, trigger, priority))
        return "recorded"

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


def make_app(db: Database, home: Path, **settings: object) -> App:
    key = SecretStr(Fernet.generate_key().decode())
    s = Settings(home=home, database_url=db.url, admin_token=SecretStr(ADMIN), secret_key=key, **settings)  # type: ignore[arg-type]
    return App(settings=s, db=db, vault=Vault(key))


@pytest.fixture
def hw(sqlite_db: Database, tmp_path: Path) -> App:
    return make_app(sqlite_db, tmp_path)


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


def api_for(hw: App, dispatcher: object) -> FastAPI:
    api = FastAPI()
    api.include_router(api_router(hw, dispatcher), prefix="/api")  # type: ignore[arg-type]
    return api


@pytest.fixture
def client(hw: App, dispatcher: RecordingDispatcher) -> Iterator[TestClient]:
    with TestClient(api_for(hw, dispatcher)) as c:
        yield c


@dataclass
class Tenants:
    acme: str
    globex: str
    acme_token: str
    globex_token: str


@pytest.fixture
def tenants(hw: App) -> Tenants:
    with hw.db.session() as s:
        a, g = add_tenant(s, "acme", "Acme"), add_tenant(s, "globex", "Globex")
        return Tenants("acme", "globex", create_token(s, a), create_token(s, g))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
