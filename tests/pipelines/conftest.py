"""A real LocalCluster (worker processes) shared by the pipeline tests, and app helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sandbox import RunningServer, Sandbox
from headwater.app import App, worker_config
from headwater.cli.sandboxes import source_settings, start
from headwater.settings import Settings
from pipelines import DaskRunner, Driver, request_retry, request_run, run_document
from pipelines.cluster import close, connect
from storage.models import Tenant
from tenancy import add_source, add_tenant

KEY = SecretStr(Fernet.generate_key().decode())


@pytest.fixture(scope="package")
def dask_client() -> Iterator[Any]:
    # Tasks carry no key: worker processes read theirs from the environment they inherit, also
    # when the nanny restarts one (so it stays set while the cluster lives).
    before = os.environ.get("HEADWATER_SECRET_KEY")
    os.environ["HEADWATER_SECRET_KEY"] = KEY.get_secret_value()
    try:
        client = connect(None, workers=2, threads=4)
        yield client
        close(client)
    finally:
        if before is None:
            del os.environ["HEADWATER_SECRET_KEY"]
        else:
            os.environ["HEADWATER_SECRET_KEY"] = before


def make_app(home: Path, **overrides: Any) -> App:
    settings = Settings(
        home=home,
        secret_key=KEY,
        database_url=None,
        broker_url=None,
        dask_address=None,
        http_retry_attempts=2,
        http_backoff_max_s=0.2,
        **overrides,
    )
    return App.create(settings)


@pytest.fixture
def github() -> Iterator[tuple[Sandbox, RunningServer]]:
    sandbox, server = start("github", seed=11, repos=3)
    yield sandbox, server
    server.stop()


def onboard(app: App, sandbox: Sandbox, server: RunningServer, slug: str = "acme") -> Tenant:
    options, secrets = source_settings(sandbox, server.url)
    with app.db.session() as s:
        tenant = s.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none() or add_tenant(s, slug)
        add_source(s, app.vault, tenant, "github", options, secrets)
        return tenant


def refresh(app: App, client: Any, tenant: Tenant, **kw: Any) -> dict[str, Any]:
    run, _ = request_run(app.db, tenant, **kw)
    return execute(app, client, run.id)


def retry(app: App, client: Any, run_id: int) -> dict[str, Any]:
    run = request_retry(app.db, run_id)
    return execute(app, client, run.id)


def execute(app: App, client: Any, run_id: int) -> dict[str, Any]:
    Driver(app.db, app.vault, DaskRunner(client, worker_config(app))).execute(run_id)
    with app.db.read() as s:
        doc = run_document(s, run_id)
    assert doc is not None
    return doc
