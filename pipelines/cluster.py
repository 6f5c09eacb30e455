"""Dask: a LocalCluster started on demand, or the scheduler at HEADWATER_DASK_ADDRESS.

The work is I/O bound (HTTP waits and small database commits), so a local cluster uses few
worker *processes* (one per core) with many *threads* each: every thread runs one task's
asyncio loop, and each task keeps several requests in flight. See docs/architecture.md for
the measurement behind the defaults.

Workers are processes unless ``processes=False``: threads of this process, with the in-process
transport. Those start in ~0.1 s and close in ~0.05 s instead of ~0.4 s from the fork server,
and on the embedded SQLite database they are the default (``Settings.local_dask_processes``:
measured faster at 10, 20 and 100 repositories; docs/architecture.md "Start-up").

Worker processes come from a *fork server* where the platform has one (Linux): a clean process
that imports what tasks need once (``pipelines.preload``), then forks each worker ready to run:
a spawned worker imports it all again (about 1 s of CPU per worker on every `refresh --wait`).
The CLI starts the fork server before its own imports (``prestart``), so both import at once
on the two cores. Not a plain fork of this process: a child forked while one of its threads is
inside a SQLite transaction inherits SQLite's in-process lock state, and its own connections
then wait for a lock nobody will release (tests/pipelines/test_fork_server.py).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


# Unrestricted tasks are sent to a worker only as many as it has threads (Dask's default keeps
# 10 % more queued on it), the rest waiting on the scheduler in priority order. Tasks on local
# workers all ask for resources (pipelines.slots), so they go to a worker at once and the worker
# runs its backlog in priority order (pipelines.runners.dask_priority): a click's task overtakes
# backfill tasks not yet started. The setting still governs workers without the resources.
#
# Dask's statistical profiler samples every worker thread every 10 ms and keeps an hour of
# history: real CPU on a 2-core box and memory growing with the run (measured: the largest
# allocation growth of a 40-repository refresh) for a diagnostic nobody reads here. Set in the
# config as well as the environment: the environment is read only when dask is first imported.
LOCAL_SCHEDULER = {"distributed.scheduler.worker-saturation": 1.0, "distributed.worker.profile.enabled": False}

# What a forked worker inherits from the fork server: the environment when it started (workers
# are given this process's HEADWATER_* and DASK_* values again; one it has since unset cannot be
# taken away, so a changed environment falls back to spawning).
_SERVER_ENV: dict[str, str] | None = None


def _worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("HEADWATER_", "DASK_"))}


def prestart() -> None:
    """Start the fork server now, importing ``pipelines.preload`` on the other core while this
    process goes on (a no-op where there is none, or once started)."""
    global _SERVER_ENV
    if _SERVER_ENV is not None or "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")  # as connect() sets it
    # What Dask's nanny sets just before spawning a worker (distributed.nanny.pre-spawn-environ):
    # the C allocator reads it at process start, so a forked worker has it only if its server
    # did (measured: a worker's peak at 100 repositories 186 -> 166 MB).
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
    # Ctrl-C is the command's to handle: the server and its workers inherit SIG_IGN.
    with _children_ignore_sigint():
        multiprocessing.get_context("forkserver").set_forkserver_preload(["pipelines.preload"])
        forkserver.ensure_running()
    _SERVER_ENV = _worker_env()


def _start_method() -> str:
    prestart()
    return "forkserver" if _SERVER_ENV is not None and _worker_env() == _SERVER_ENV else "spawn"


def connect(address: str | None, *, workers: int = 2, threads: int = 16, processes: bool = True) -> Any:
    """A ``distributed.Client``: to ``address`` if given, else to a new LocalCluster (worker
    processes unless ``processes=False``: threads of this process)."""
    import dask
    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if address:
        return Client(address, timeout=30)
    from pipelines.slots import worker_resources

    resources = worker_resources(threads)  # threads kept for clicks (pipelines.slots)
    # Spawned workers inherit this through the environment (LOCAL_SCHEDULER: why).
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")
    config: dict[str, Any] = dict(LOCAL_SCHEDULER)
    spawn: dict[str, Any] = {}  # what only worker processes take
    if processes:
        config["distributed.worker.multiprocessing-method"] = _start_method()
        spawn = {"host": "127.0.0.1", "env": _worker_env()}
    with _children_ignore_sigint(), warnings.catch_warnings(), dask.config.set(config):
        # Its scheduler's HTTP server moves off 8787 when another cluster holds it: not news.
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.WARNING,
            resources=resources,
            **spawn,
        )
    return Client(cluster)


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Worker processes started here ignore SIGINT (inherited SIG_IGN): a Ctrl-C in the terminal
    reaches the whole process group, and it is the command's to handle (cancel the run, one line),
    not every worker's to die of with a traceback. Workers still exit with their parent."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def close(client: Any) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
