"""What runs on a Dask worker: one task run, start to end, loading its own batches.

``execute_task`` never raises for a task failure: it records the outcome (state, counts,
error kind, message, traceback) in the database and returns a small summary. A worker
process that dies mid-task leaves the task RUNNING; Dask reschedules it elsewhere (the task
then records RETRYING -> RUNNING and finishes) or the driver marks it CRASHED.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import SecretStr
from sqlalchemy import select, update

from connectors.errors import ConfigError, ConnectorError, error_kind
from connectors.http.client import HttpStats, RetryPolicy
from connectors.http.pools import ClientPools, thread_loop
from connectors.http.ratelimit import InMemoryRateBudget, RateBudget, RedisRateBudget
from connectors.runtime import SourceRuntime, open_http, partitions_of, run_task
from connectors.store import TaskStore
from connectors.streams import Partition
from pipelines.budgets import ResilientBudget
from pipelines.httpcounts import (
    EARLIER_COUNTS,
    ENDED_UNDER_IT,
    RUNNING,
    checkpoint,
    counts_from,
    counts_of,
    store_counts,
)
from pipelines.logcontext import log_context
from pipelines.state import transition_task
from pipelines.tasklogs import TaskLogs, captured
from pipelines.worker_settings import secret_key, with_own_password, without_password
from storage import Database
from storage.models import TERMINAL_STATES, Source, State, TaskRun, Tenant
from tenancy import Vault, runtime_for

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to reach the database. It travels in every Dask task, so it carries
    no key material: ``secret_key`` and the password of ``database_url`` stay in the process that
    built it (in-process runners use them) and are left out when it is pickled; a worker process
    that unpickles it reads its own from ``settings_source`` (``pipelines.worker_settings``)."""

    database_url: str
    secret_key: SecretStr | None = None  # this process only: never pickled
    redis_url: str | None = None
    max_in_flight: int | None = None  # per task; 1 forces one request at a time (serial baseline)
    # "module:function" called once per worker process (the composition root's logging set-up):
    # Dask worker processes run tasks without going through a CLI entry point.
    process_setup: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # "module:function" returning this process's own WorkerSettings (key, database URL): how a
    # worker finds what the task message does not carry. Named by the composition root.
    settings_source: str | None = None
    password_left_out: bool = False  # set when pickled: database_url lost its password

    def __getstate__(self) -> dict[str, Any]:
        url, left_out = without_password(self.database_url)
        return {
            **self.__dict__,
            "secret_key": None,
            "database_url": url,
            "password_left_out": self.password_left_out or left_out,
        }

    def __copy__(self) -> WorkerConfig:  # immutable: a copy keeps the in-process key
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> WorkerConfig:
        return self


@dataclass
class WorkerResources:
    db: Database
    budget: RateBudget | None
    redis_url: str | None
    key: Callable[[], SecretStr] = field(repr=False)
    _vault: Vault | None = field(default=None, init=False, repr=False)

    @property
    def vault(self) -> Vault:
        """Built when a task first needs it, so a worker without a key fails that task (CONFIG,
        with what to set) instead of crashing it; tried again by the next task until it works."""
        if self._vault is None:
            self._vault = Vault(self.key(), reload=self.key)  # follows a rotation of the key file
        return self._vault


@functools.lru_cache(maxsize=8)
def resources(cfg: WorkerConfig) -> WorkerResources:
    """Per-process resources for one configuration (connection pool, vault, rate budget). The key
    and a database password left out of the task come from this process's own settings."""
    if cfg.process_setup:
        module, _, func = cfg.process_setup.partition(":")
        getattr(importlib.import_module(module), func)()
    budget: RateBudget | None = None if cfg.redis_url else InMemoryRateBudget()
    url = with_own_password(cfg.database_url, cfg.settings_source) if cfg.password_left_out else cfg.database_url
    key = functools.partial(secret_key, cfg.secret_key, cfg.settings_source)
    return WorkerResources(Database(url), budget, cfg.redis_url, key)


def _budget(res: WorkerResources) -> tuple[RateBudget, Any]:
    if res.budget is not None:
        return res.budget, None
    import redis.asyncio as aioredis

    client = aioredis.from_url(res.redis_url or "", socket_connect_timeout=2, socket_timeout=5)
    return ResilientBudget(RedisRateBudget(client)), client


def load_partition(key: str | None, values: dict[str, Any] | None, rt: SourceRuntime, db: Database) -> Partition | None:
    """The task's partition from its row (key and the values the driver stored with it). Rows
    from before ``task_run.partition_values`` have no values: those look the key up among the
    source's partitions (one listing of them)."""
    if key is None:
        return None
    if values is not None:
        return Partition(key=key, values=values)
    for p in partitions_of(rt, db):
        if p.key == key:
            return p
    # Filtered out or gone since planning: still run with what the key says.
    return Partition(key=key)


def execute_task(cfg: WorkerConfig, task_run_id: int, full: bool = False) -> dict[str, Any]:
    """Execute one task run; every log line inside carries its tenant, run and task ids. Its
    bookkeeping is two write transactions: the start (which also reads all the task needs) and
    the end (which also keeps its log lines), besides the batches it loads."""
    res = resources(cfg)
    db = res.db
    where = f"{socket.gethostname()}:{os.getpid()}"
    # Every database step runs whole again through a short outage (db.retrying): a restart of
    # the database fails no task.
    started = db.retrying(lambda: _start(db, task_run_id, where), what=f"task {task_run_id} start")
    if isinstance(started, dict):  # nothing to do: missing, or finished already
        return started
    # Its log lines (the last ones, INFO and up) are kept with the run, written with its end.
    with log_context(task_id=task_run_id, **started.ids), captured(db, started.task.run_id, task_run_id) as logs:
        what = " ".join(str(x) for x in (started.task.stream, started.task.partition) if x)
        logs(f"task {task_run_id} started: {what or '?'}{' (full)' if full else ''}")
        return _execute_task(res, cfg, task_run_id, full, started, logs)


@dataclass(frozen=True)
class Started:
    """What :func:`_start` read for the task it moved to RUNNING."""

    task: Any  # the task_run columns _start selects
    source: Source
    ids: dict[str, Any]  # for its log lines: tenant, run_id, source_id, stream, partition
    stats: HttpStats  # the HTTP counts earlier attempts left, to count on from


def _ended(logs: TaskLogs, task_run_id: int, state: str, records_loaded: int | None = None) -> None:
    loaded = f", {records_loaded} records loaded" if records_loaded is not None else ""
    logs(f"task {task_run_id} ended {state}{loaded}")


def _execute_task(
    res: WorkerResources, cfg: WorkerConfig, task_run_id: int, full: bool, started_task: Started, logs: TaskLogs
) -> dict[str, Any]:
    db = res.db
    task, source = started_task.task, started_task.source
    if task.stream == "derive:links":  # the tenant's derived task (linking.STREAM): no HTTP, no partition
        from linking.task import run_derived_task

        summary = run_derived_task(db, task_run_id, source.tenant_id)
        _ended(logs, task_run_id, str(summary.get("state")), summary.get("records_loaded"))
        return summary
    # Outlives a failure (failed and cancelled tasks record their HTTP counts too) and counts on
    # from what earlier attempts of the task left; written while the task runs (CRASHED keeps them).
    stats = started_task.stats
    started = time.perf_counter()
    try:
        rt = runtime_for(source, res.vault)
        partition = db.retrying(
            lambda: load_partition(task.partition, task.partition_values, rt, db), what=f"task {task_run_id} start"
        )
        # This thread's loop, kept between its tasks with the sources' connection pools.
        runner = thread_loop()
        http_stats, stream_result = runner.run(
            until_cancelled(
                _run(rt, db, res, cfg, task.stream, partition, full, task.run_id, task_run_id, stats, runner.pools),
                lambda: _cancelled(db, task_run_id),
                checkpoint=checkpoint(db, task_run_id, stats),
            )
        )
    except TaskCancelled:
        log.debug("task %s stopped: its run was cancelled", task_run_id)
        _ended(logs, task_run_id, State.CANCELLED)
        db.retrying(lambda: _record_counts(db, task_run_id, stats, logs), what=f"task {task_run_id} end")
        return {"task_id": task_run_id, "state": "CANCELLED"}
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        kind = error_kind(exc)
        message = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc()
        refused = isinstance(exc, ConfigError) and exc.status in (401, 403) and task.partition is None
        log.warning("task %s failed (%s): %s", task_run_id, kind, message)
        _ended(logs, task_run_id, State.FAILED)

        def record_failure() -> None:
            with db.session() as s:
                ended = transition_task(
                    s,
                    task_run_id,
                    State.FAILED,
                    message[:4000],
                    error_kind=str(kind),
                    traceback=trace,
                    duration_s=time.perf_counter() - started,
                    **counts_of(stats),
                )
                if not ended:  # cancelled (or crashed) meanwhile: what it did still counts
                    store_counts(s, task_run_id, counts_of(stats), ENDED_UNDER_IT)
                if refused:
                    s.execute(update(Source).where(Source.id == task.source_id).values(credentials_status="invalid"))
                logs.keep(s)

        db.retrying(record_failure, what=f"task {task_run_id} end")
        return {"task_id": task_run_id, "state": "FAILED", "error_kind": str(kind)}

    _ended(logs, task_run_id, State.COMPLETED, stream_result.records_loaded)

    def record_success() -> None:
        with db.session() as s:
            ended = transition_task(
                s,
                task_run_id,
                State.COMPLETED,
                records_fetched=stream_result.records_fetched,
                records_loaded=stream_result.records_loaded,
                loaded_by_entity=stream_result.loaded_by_entity,
                **counts_of(http_stats),
                note=stream_result.note,
                duration_s=time.perf_counter() - started,
            )
            if not ended:  # cancelled (or crashed) meanwhile: what it did still counts
                store_counts(s, task_run_id, counts_of(http_stats), ENDED_UNDER_IT)
            if task.partition is None and source.credentials_status != "valid":
                s.execute(update(Source).where(Source.id == task.source_id).values(credentials_status="valid"))
            logs.keep(s)

    db.retrying(record_success, what=f"task {task_run_id} end")
    return {"task_id": task_run_id, "state": "COMPLETED", "records_loaded": stream_result.records_loaded}


def _start(db: Database, task_run_id: int, where: str) -> dict[str, Any] | Started:
    """RUNNING (RETRYING first if a previous attempt's worker died) with all the task needs to
    run, read in the same transaction; or the summary of a task with nothing to do (missing,
    already finished)."""
    with db.session() as s:
        row = s.execute(
            select(
                TaskRun.state,
                TaskRun.run_id,
                TaskRun.stream,
                TaskRun.partition,
                TaskRun.partition_values,
                TaskRun.source_id,
                TaskRun.records_loaded,
                *EARLIER_COUNTS,
                Tenant.slug,
            )
            .join(Source, Source.id == TaskRun.source_id)
            .join(Tenant, Tenant.id == Source.tenant_id)
            .where(TaskRun.id == task_run_id)
        ).first()
        if row is None:
            return {"task_id": task_run_id, "state": "MISSING"}
        if State(row.state) in TERMINAL_STATES:
            return {"task_id": task_run_id, "state": row.state, "records_loaded": row.records_loaded}
        if row.state == State.RUNNING:  # a previous attempt's worker died
            transition_task(s, task_run_id, State.RETRYING, "re-executing after the previous worker stopped")
        transition_task(s, task_run_id, State.RUNNING, worker=where)
        source = s.get(Source, row.source_id)
        assert source is not None
        ids = {"tenant": row.slug, "run_id": row.run_id, "source_id": row.source_id}
        ids |= {"stream": row.stream, "partition": row.partition}
        return Started(task=row, source=source, ids=ids, stats=counts_from(row))


def _record_counts(db: Database, task_run_id: int, stats: HttpStats, logs: TaskLogs) -> None:
    """A task stopped by its run's cancel: its HTTP counts until then, on its CANCELLED row."""
    with db.session() as s:
        store_counts(s, task_run_id, counts_of(stats), (*RUNNING, *ENDED_UNDER_IT))
        logs.keep(s)


class TaskCancelled(Exception):
    """The task was cancelled (with its run) while it ran."""


CANCEL_POLL_S = 1.0


def _cancelled(db: Database, task_run_id: int) -> bool:
    try:
        with db.read() as s:
            return s.execute(select(TaskRun.state).where(TaskRun.id == task_run_id)).scalar() == State.CANCELLED
    except Exception as exc:  # the database is away for a moment: ask again at the next poll
        if db.is_unreachable(exc):
            return False
        raise


async def until_cancelled(
    coro: Awaitable[T],
    cancelled: Callable[[], bool],
    every: float = CANCEL_POLL_S,
    checkpoint: Callable[[], Callable[[], None] | None] | None = None,
) -> T:
    """Await ``coro`` while checking ``cancelled()`` (in a thread) every ``every`` seconds; once
    it says so, the coroutine is cancelled at its next await (its next request or page: a batch
    being committed is committed whole, with its cursor) and TaskCancelled is raised.
    ``checkpoint()``, called on the loop at each poll, returns a write to run in a thread first
    (the task's running HTTP counts), or None."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            write = checkpoint() if checkpoint is not None else None
            if write is not None:
                await asyncio.to_thread(write)
            if await asyncio.to_thread(cancelled):
                raise TaskCancelled()
    finally:
        if not task.done():  # cancelled, or a poll failed: the coroutine stops with it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _run(
    rt: SourceRuntime,
    db: Database,
    res: WorkerResources,
    cfg: WorkerConfig,
    stream: str,
    partition: Partition | None,
    full: bool,
    run_id: int,
    task_run_id: int,
    stats: HttpStats | None = None,
    pools: ClientPools | None = None,
) -> tuple[HttpStats, Any]:
    budget, closer = _budget(res)
    store = TaskStore(db, tenant_id=rt.tenant_id, source_id=rt.source_id, stream=stream, partition=None)
    try:
        async with open_http(
            rt,
            budget=budget,
            validator_lookup=store.validator,
            max_in_flight=cfg.max_in_flight,
            retry=cfg.retry,
            pools=pools,
        ) as http:
            if stats is not None:
                http.stats = stats
            result = await run_task(rt, db, http, stream, partition, full=full, run_id=run_id, task_run_id=task_run_id)
            return http.stats, result
    finally:
        if closer is not None:
            await closer.aclose()


def task_rows(db: Database, run_id: int) -> list[TaskRun]:
    with db.session() as s:
        return list(s.execute(select(TaskRun).where(TaskRun.run_id == run_id)).scalars())
