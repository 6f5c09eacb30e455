"""The one Celery task, ``headwater.execute_run(run_id)``, and :func:`enqueue_run`.

Re-delivery never duplicates a run: the driver returns at once for a finished run, resumes a
run whose driver died, and reports a run another live driver is driving (the task then checks
again later). A run whose scope is busy (another run of the same tenant scope is running) is
retried after a short delay instead of holding a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

from headwater.app import App
from headwater.queue.celery_app import PRIORITY_STEPS, QUEUES, TASK_NAME, HeadwaterCelery, celery_config, queue_for
from pipelines.service import attempt
from storage.models import Run

log = logging.getLogger(__name__)

INFRA_RETRY_MAX_S = 60.0  # database or Dask unreachable: back off up to this


def register_tasks(app: HeadwaterCelery) -> None:
    @app.task(  # type: ignore[untyped-decorator,misc]
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,
        ignore_result=True,
        shared=False,  # registered on this app only: each make_celery() builds its own
    )
    def execute_run_task(self: Any, run_id: int) -> str:
        return run_task(self, run_id)


def run_task(task: Any, run_id: int) -> str:
    executor = task.app.executor()
    try:
        outcome = attempt(executor.execute, run_id)
    except Exception as exc:  # the database or Dask is unreachable: wait for it
        delay = min(INFRA_RETRY_MAX_S, 2.0 ** min(task.request.retries, 6))
        log.warning("run %s could not be started (%s: %s); retrying in %.0fs", run_id, type(exc).__name__, exc, delay)
        raise task.retry(countdown=delay) from exc
    if outcome.retry_in is not None:
        raise task.retry(countdown=outcome.retry_in)
    if outcome.state == "MISSING":
        log.warning("run %s: %s: message dropped", run_id, outcome.why)
    return str(outcome.state)


@functools.lru_cache(maxsize=4)
def _producer(broker_url: str, visibility_timeout: int) -> HeadwaterCelery:
    """One publishing app per broker (its connection pool is reused by every request)."""
    app = HeadwaterCelery("headwater-producer", set_as_current=False)
    app.conf.update(celery_config(broker_url, visibility_timeout))
    return app


def enqueue_run(app: App, run_id: int, *, trigger: str | None = None, priority: int | None = None) -> str:
    """Put ``run_id`` on its queue at its priority (``run.priority``: 0 clicks .. 9 backfills,
    read from the run when not given); returns the Celery task id (also stored on the run)."""
    s = app.settings
    if not s.broker_url:
        raise RuntimeError("HEADWATER_BROKER_URL is not set: there is no queue to put runs on")
    if trigger is None or priority is None:
        with app.db.session() as session:
            run = session.get(Run, run_id)
            if run is None and trigger is None:
                raise LookupError(f"run {run_id} does not exist")
            if run is not None:
                trigger = run.trigger if trigger is None else trigger
                priority = run.priority if priority is None else priority
    assert trigger is not None
    queue = queue_for(trigger)
    level = min(max(int(priority or 0), PRIORITY_STEPS[0]), PRIORITY_STEPS[-1])
    result = _producer(s.broker_url, s.broker_visibility_timeout).send_task(
        TASK_NAME, args=[run_id], queue=queue, routing_key=queue, priority=level
    )
    with app.db.session() as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.celery_task_id = result.id
    return str(result.id)


def queued_message_ids(broker_url: str) -> set[str] | None:
    """Ids of the messages waiting on the Redis queues (every priority level of ``refresh`` and
    ``backfill``: ``refresh``, ``refresh:5``, …), or None when the broker cannot be asked. Messages a worker has taken are not
    here: a live worker starts what it takes at once, so a SCHEDULED run whose message is
    neither here nor started was taken by a worker that died."""
    import json

    import redis

    ids: set[str] = set()
    try:
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=5)
        for queue in QUEUES:
            for name in client.scan_iter(match=f"{queue}*", count=100):
                if client.type(name) != b"list":
                    continue
                for raw in client.lrange(name, 0, -1):
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        ids.add(str(json.loads(raw)["headers"]["id"]))
    except redis.RedisError:
        return None
    return ids
