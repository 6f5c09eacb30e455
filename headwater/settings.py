"""Settings from HEADWATER_* environment variables, with the embedded defaults (ARCHITECTURE.md §3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Secrets are SecretStr: repr() and logs never show them."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    home: Path = Path(".headwater")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    dask_address: str | None = None
    dask_workers: int | None = None  # local cluster processes; None: 1 on SQLite, one per core otherwise
    dask_threads: int = 32
    # Local cluster workers as processes (true) or as threads of this process (false); None: the
    # choice of local_dask_processes (threads for a command's run on SQLite, else processes).
    dask_processes: bool | None = None
    broker_url: str | None = None
    # Seconds before Redis re-delivers a message whose worker died without acking it; keep it
    # above the usual run length (a longer run is re-delivered and recognized as driven).
    broker_visibility_timeout: int = 900
    # A run still SCHEDULED/PENDING this long after it could have started (nothing of its scope
    # running) is failed with the reason: nobody took it (no worker, broker or server down).
    run_lease_s: float = 300.0
    # A run's tasks are failed when the Dask scheduler has had no worker for this long.
    dask_no_workers_timeout_s: float = 60.0
    # Runs driven at once by the API server itself when no broker is configured.
    inprocess_runs: int = 4
    redis_url: str | None = None
    alert_webhook_url: str | None = None
    stale_after_hours: float = 24.0
    http_retry_attempts: int = 6
    http_backoff_max_s: float = 60.0
    # Seconds each HTTP attempt may wait for the provider (connect, read) before it is retried.
    http_timeout_s: float = 30.0
    # The longest Retry-After honored before retrying (longer waits are cut to this).
    http_max_retry_after_s: float = 900.0
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home.resolve() / 'headwater.db'}"

    @property
    def is_embedded_db(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def local_dask_workers(self) -> int:
        """Worker processes of a local cluster. Measured (bench/parallel_vs_serial.py, 20 repos,
        100 ms): on SQLite one process x 32 threads ran 5.9x faster than serial, two x 16 only
        3.5x: every extra process adds a writer that contends for SQLite's lock across processes
        (its busy handler sleeps), while threads of one process queue in Python. PostgreSQL has
        no such lock, so there each core gets a process."""
        if self.dask_workers is not None:
            return self.dask_workers
        return 1 if self.is_embedded_db else max(1, os.cpu_count() or 1)

    def local_dask_processes(self, *, long_lived: bool = False) -> bool:
        """Whether a local cluster's workers are processes. For a run executed by a command
        (`refresh --wait`, `run retry --wait`, `demo`) on SQLite: threads of that process
        (measured, bench/parallel_vs_serial.py: 20 repos at 100 ms 2.6 s against 3.8 s, 100 repos
        at 0 ms 12.1 s against 12.3 s; a 10-repo refresh --wait 2.45 s against 2.65 s): its single
        writer keeps one process's worth of tasks busy anyway, and threads need no worker start.
        A ``long_lived`` process (`serve`, `worker`) pays the start once and keeps its own loop
        for requests and drivers: processes; so does every cluster on a server database."""
        if self.dask_processes is not None:
            return self.dask_processes
        return long_lived or not self.is_embedded_db

    @property
    def resolved_redis_url(self) -> str | None:
        """Redis for shared rate budgets and locks: HEADWATER_REDIS_URL, else a redis:// broker."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None
