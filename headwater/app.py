"""The composition root: settings -> database, vault and the parts built from them.

One :class:`App` per process entry point (CLI command, API server, Celery worker); parts are
passed on from here, never reached through globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from connectors.http.client import RetryPolicy
from headwater.settings import Settings
from pipelines.worker import WorkerConfig
from storage import Database, is_current, upgrade
from tenancy import Vault, load_or_create_key


@dataclass
class App:
    settings: Settings
    db: Database
    vault: Vault

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = True) -> App:
        settings = settings or Settings()
        db = Database(settings.resolved_database_url)
        # The embedded SQLite database is created and upgraded on first use; a server database
        # is upgraded explicitly with `headwater db upgrade`.
        if migrate and settings.is_embedded_db and not is_current(db):
            upgrade(db)
        return cls(settings=settings, db=db, vault=Vault(secret_key(settings)))

    def close(self) -> None:
        self.db.dispose()


def secret_key(settings: Settings) -> SecretStr:
    if settings.secret_key is not None:
        return settings.secret_key
    return load_or_create_key(settings.home)


def worker_config(app: App, *, max_in_flight: int | None = None) -> WorkerConfig:
    return WorkerConfig(
        database_url=app.settings.resolved_database_url,
        secret_key=secret_key(app.settings),
        redis_url=app.settings.resolved_redis_url,
        max_in_flight=max_in_flight,
        process_setup="headwater.logs:ensure_logging",
        retry=RetryPolicy(attempts=app.settings.http_retry_attempts, backoff_max_s=app.settings.http_backoff_max_s),
    )
