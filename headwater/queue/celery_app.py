"""The Celery application, built from :class:`~headwater.settings.Settings` in a function.

Queues: ``refresh`` (refresh clicks, retries) and ``backfill`` (schedules, onboarding). A
worker consumes both with Redis' ``queue_order_strategy="priority"``, so it always pops
``refresh`` first. Each message also carries its run's ``run.priority`` (0 clicks, 5 schedules,
9 onboarding backfills; one Redis list per level, ``backfill:5``…), so within ``backfill`` a
schedule overtakes onboarding backfills already waiting. A worker prefetches one message per thread, so a click never waits behind
backfills already taken off the queue. Messages are acknowledged after the run ends
(``acks_late``): a worker that dies leaves its message to be re-delivered after
``HEADWATER_BROKER_VISIBILITY_TIMEOUT`` seconds, and the driver resumes the run.

The module-level ``celery`` object serves ``celery -A headwater.queue.celery_app inspect …``;
it reads the settings only when first used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu import Queue

from headwater.settings import Settings
from storage.models import Trigger

TASK_NAME = "headwater.execute_run"
QUEUE_REFRESH = "refresh"
QUEUE_BACKFILL = "backfill"
QUEUES = (QUEUE_REFRESH, QUEUE_BACKFILL)  # the order a worker drains them in

INTERACTIVE = frozenset({Trigger.REFRESH, Trigger.RETRY})
# One Redis list per run.priority (0 = clicks first .. 9 = onboarding backfills), popped lowest first.
PRIORITY_STEPS = tuple(range(10))


def queue_for(trigger: str) -> str:
    """Someone is waiting for refresh clicks and retries; schedules and backfills can wait."""
    return QUEUE_REFRESH if trigger in INTERACTIVE else QUEUE_BACKFILL


def celery_config(broker_url: str | None, visibility_timeout: int) -> dict[str, Any]:
    return {
        "broker_url": broker_url or "memory://",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "queue_order_strategy": "priority",
            "priority_steps": list(PRIORITY_STEPS),
            "sep": ":",
            "visibility_timeout": visibility_timeout,
            # Sweep for messages of dead workers often enough to honour a short timeout.
            "unacked_restore_interval": max(1, min(10, visibility_timeout // 2)),
            "unacked_restore_throttle": 1,
        },
        "task_queues": [Queue(q, routing_key=q) for q in QUEUES],
        "task_default_queue": QUEUE_REFRESH,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_enable_remote_control": True,
    }


class HeadwaterCelery(Celery):
    """A Celery app that carries the parts its tasks need (an executor for this process).

    :func:`~headwater.queue.worker.run_worker` binds them; a worker started with
    ``celery -A`` builds them from the environment on the first task.
    """

    executor_factory: Callable[[], Any] | None = None
    _executor: Any = None
    _lock = threading.Lock()

    def bind_executor(self, executor: Any) -> None:
        self._executor = executor

    def executor(self) -> Any:
        with self._lock:
            if self._executor is None:
                if self.executor_factory is not None:
                    self._executor = self.executor_factory()
                else:
                    from headwater.app import App
                    from headwater.queue.executor import RunExecutor

                    self._executor = RunExecutor(App.create(Settings()))
            return self._executor


def make_celery(settings: Settings | None = None) -> HeadwaterCelery:
    """A new Celery app for ``settings`` (or, lazily, for the environment's settings)."""
    app = HeadwaterCelery("headwater", set_as_current=False)
    if settings is None:
        app.add_defaults(lambda: _env_config())
    else:
        app.conf.update(celery_config(settings.broker_url, settings.broker_visibility_timeout))
    from headwater.queue.tasks import register_tasks

    register_tasks(app)
    return app


def _env_config() -> dict[str, Any]:
    s = Settings()
    return celery_config(s.broker_url, s.broker_visibility_timeout)


celery = make_celery()
