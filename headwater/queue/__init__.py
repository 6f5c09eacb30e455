"""The run queue: Celery + Redis when a broker is configured, else a thread pool in this process.

Either way a run is executed by :class:`RunExecutor` (one driver per run, tasks on a shared
Dask client). Interactive runs (refresh clicks, retries) go to the ``refresh`` queue, background
runs (schedules, onboarding backfills) to ``backfill``; workers always drain ``refresh`` first.
"""

from headwater.queue.celery_app import QUEUE_BACKFILL, QUEUE_REFRESH, QUEUES, TASK_NAME, make_celery, queue_for
from headwater.queue.executor import RunExecutor
from headwater.queue.inprocess import InProcessQueue
from headwater.queue.tasks import enqueue_run
from headwater.queue.worker import run_worker

__all__ = [
    "QUEUES",
    "QUEUE_BACKFILL",
    "QUEUE_REFRESH",
    "TASK_NAME",
    "InProcessQueue",
    "RunExecutor",
    "enqueue_run",
    "make_celery",
    "queue_for",
    "run_worker",
]
