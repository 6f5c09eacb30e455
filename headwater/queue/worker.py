"""`headwater worker`: a Celery worker draining ``refresh`` before ``backfill``.

Threads pool: a run's driver mostly waits on Dask, and the worker's runs share one Dask
client (a local cluster, or HEADWATER_DASK_ADDRESS). ``concurrency`` = runs driven at once.
"""

from __future__ import annotations

from headwater.app import App
from headwater.queue.celery_app import QUEUES, make_celery
from headwater.queue.executor import RunExecutor


def worker_argv(concurrency: int, loglevel: str = "INFO") -> list[str]:
    return [
        "worker",
        "--pool=threads",
        f"--concurrency={max(1, concurrency)}",
        f"--queues={','.join(QUEUES)}",
        f"--loglevel={loglevel}",
        "--hostname=headwater@%h",
        "--without-gossip",
        "--without-mingle",
    ]


def run_worker(app: App, concurrency: int = 2) -> None:
    celery_app = make_celery(app.settings)
    executor = RunExecutor(app)
    celery_app.bind_executor(executor)
    try:
        celery_app.worker_main(worker_argv(concurrency, app.settings.log_level.upper()))
    finally:
        executor.close()
