"""Celery on Redis: a run's message carries run.priority, so a click overtakes schedules and a
schedule overtakes onboarding backfills already waiting (real Redis, a threads worker)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from headwater.app import App
from headwater.queue import QUEUES, enqueue_run, make_celery
from headwater.queue.celery_app import PRIORITY_STEPS
from storage import Database
from tests.api.conftest import make_app
from tests.conftest import require_service
from tests.queue.test_celery import Recorder

BROKER = "redis://127.0.0.1:6379/12"


@pytest.fixture
def queued_app(sqlite_db: Database, tmp_path: Path) -> Iterator[App]:
    require_service("redis")
    r = redis.Redis.from_url(BROKER)
    r.flushdb()
    yield make_app(sqlite_db, tmp_path, broker_url=BROKER)
    r.flushdb()


def test_message_priority_is_the_runs_priority(queued_app: App) -> None:
    conf = make_celery(queued_app.settings).conf
    assert conf.broker_transport_options["priority_steps"] == list(PRIORITY_STEPS) == list(range(10))
    assert conf.broker_transport_options["queue_order_strategy"] == "priority"


def test_a_click_then_a_schedule_start_before_backfills_already_waiting(queued_app: App) -> None:
    # No worker runs while six onboarding backfills (priority 9) are queued, then a schedule (5),
    # then a click (0). A threads worker of concurrency 1 then starts the click, the schedule,
    # and only then the backfills, in their arrival order.
    backfills = [101, 102, 103, 104, 105, 106]
    for run_id in backfills:
        enqueue_run(queued_app, run_id, trigger="onboarding", priority=9)
    enqueue_run(queued_app, 201, trigger="schedule", priority=5)
    enqueue_run(queued_app, 1, trigger="refresh", priority=0)
    celery_app = make_celery(queued_app.settings)
    recorder = Recorder()
    celery_app.bind_executor(recorder)
    with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False, queues=list(QUEUES)):
        deadline = time.monotonic() + 20
        while len(recorder.order) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert recorder.order == [1, 201, *backfills], recorder.order


def test_priority_is_read_from_the_run_when_not_given(queued_app: App) -> None:
    from storage.models import Run
    from tenancy import add_tenant

    with queued_app.db.session() as s:
        t = add_tenant(s, "acme")
        backfill = Run(tenant_id=t.id, trigger="onboarding", state="SCHEDULED", priority=9)
        schedule = Run(tenant_id=t.id, trigger="schedule", state="SCHEDULED", priority=5)
        s.add_all([backfill, schedule])
        s.flush()
        ids = backfill.id, schedule.id
    for run_id in ids:
        enqueue_run(queued_app, run_id)
    celery_app = make_celery(queued_app.settings)
    recorder = Recorder()
    celery_app.bind_executor(recorder)
    with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False, queues=list(QUEUES)):
        deadline = time.monotonic() + 20
        while len(recorder.order) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert recorder.order == [ids[1], ids[0]], recorder.order
