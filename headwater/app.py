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
from pipelines.worker_settings import WorkerSettings
from storage import Database, is_current, upgrade
from tenancy import Vault, load_key, load_or_create_key

NO_WORKER_KEY = (
    "the worker has no secret key: set HEADWATER_SECRET_KEY (or HEADWATER_HOME with the key file) on the Dask workers"
)
NO_WORKER_DB_PASSWORD = (
    "the worker has no password for the database: set HEADWATER_DATABASE_URL (with the password) on the Dask workers"
)


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
        # A key from the key file is re-read when it changes (`headwater secrets rotate-key`), so a
        # long-running API process follows a rotation; HEADWATER_SECRET_KEY is fixed per process.
        home = settings.home
        reload = None if settings.secret_key is not None else (lambda: load_key(home))
        from headwater.metrics import keep_counters_of_removed_sources

        keep_counters_of_removed_sources()  # /metrics counters never go down when a source is removed
        return cls(settings=settings, db=db, vault=Vault(secret_key(settings), reload=reload))

    def close(self) -> None:
        self.db.dispose()


def secret_key(settings: Settings) -> SecretStr:
    if settings.secret_key is not None:
        return settings.secret_key
    return load_or_create_key(settings.home)


def worker_config(app: App, *, max_in_flight: int | None = None) -> WorkerConfig:
    """The config every task carries. The key (and the database password) serve runners in this
    process only; a Dask worker process reads its own through :func:`worker_settings`."""
    return WorkerConfig(
        database_url=app.settings.resolved_database_url,
        secret_key=secret_key(app.settings),
        redis_url=app.settings.resolved_redis_url,
        max_in_flight=max_in_flight,
        process_setup="headwater.logs:ensure_logging",
        retry=RetryPolicy(
            attempts=app.settings.http_retry_attempts,
            backoff_max_s=app.settings.http_backoff_max_s,
            max_retry_after_s=app.settings.http_max_retry_after_s,
            timeout_s=app.settings.http_timeout_s,
        ),
        settings_source="headwater.app:worker_settings",
    )


def worker_settings() -> WorkerSettings:
    """In a Dask worker process: the key and database URL of *its* settings, HEADWATER_SECRET_KEY
    or the key file in HEADWATER_HOME (a local cluster's workers inherit the environment and the
    working directory, so they find the same ones). Never creates a key: a new one could decrypt
    none of the stored secrets."""
    settings = Settings()
    key = settings.secret_key if settings.secret_key is not None else load_key(settings.home)
    return WorkerSettings(
        secret_key=key,
        database_url=settings.database_url,
        missing_key=NO_WORKER_KEY,
        missing_password=NO_WORKER_DB_PASSWORD,
    )
