"""The Celery app: settings, routing by trigger, and refresh clicks before backfills (real Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from headwater.app import App
from headwater.queue import QUEUES, TASK_NAME, enqueue_run, make_celery, queue_for
from headwater.queue.worker import worker_argv
from storage import Database
from storage.models import Run
from tenancy import add_tenant
from tests.api.conftest import make_app
from tests.conftest import require_service

BROKER = "redis://127.0.0.1:6379/11"


def test_task_is_acknowledged_late_and_requeued_when_its_worker_is_lost(sqlite_db: Database, tmp_path: Path) -> None:
    app = make_celery(make_app(sqlite_db, tmp_path, broker_url=BROKER, broker_visibility_timeout=120).settings)
    task = app.tasks[TASK_NAME]
    assert task.acks_late is True and task.reject_on_worker_lost is True
    assert task.max_retries is None
    conf = app.conf
    assert conf.broker_url == BROKER
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 120
    assert conf.broker_transport_options["queue_order_strategy"] == "priority"
    assert [q.name for q in conf.task_queues] == ["refresh", "backfill"]
    assert "--queues=refresh,backfill" in worker_argv(3) and "--pool=threads" in worker_argv(3)


def test_module_level_app_reads_the_environment_only_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_celery()  # built before the variable is set
    monkeypatch.setenv("HEADWATER_BROKER_URL", "redis://example.invalid:6379/3")
    assert app.conf.broker_url == "redis://example.invalid:6379/3"
    assert TASK_NAME in app.tasks


@pytest.mark.parametrize(
    ("trigger", "queue"),
    [("refresh", "refresh"), ("retry", "refresh"), ("schedule", "backfill"), ("onboarding", "backfill")],
)
def test_interactive_runs_go_to_the_refresh_queue(trigger: str, queue: str) -> None:
    assert queue_for(trigger) == queue


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    require_service("redis")
    r = redis.Redis.from_url(BROKER)
    r.flushdb()
    yield r
    r.flushdb()


@pytest.fixture
def queued_app(broker: redis.Redis, sqlite_db: Database, tmp_path: Path) -> App:
    return make_app(sqlite_db, tmp_path, broker_url=BROKER)


def test_enqueue_puts_the_run_on_its_queue_and_records_the_message(queued_app: App, broker: redis.Redis) -> None:
    with queued_app.db.session() as s:
        t = add_tenant(s, "acme")
        refresh = Run(tenant_id=t.id, trigger="refresh", state="SCHEDULED")
        backfill = Run(tenant_id=t.id, trigger="onboarding", state="SCHEDULED")
        s.add_all([refresh, backfill])
        s.flush()
        ids = refresh.id, backfill.id
    task_ids = [enqueue_run(queued_app, run_id) for run_id in ids]
    assert broker.llen("refresh") == 1 and broker.llen("backfill") == 1
    with queued_app.db.session() as s:
        assert [s.get(Run, i).celery_task_id for i in ids] == task_ids  # type: ignore[union-attr]


class Recorder:
    def __init__(self) -> None:
        self.order: list[int] = []
        self.lock = threading.Lock()

    def execute(self, run_id: int) -> str:
        with self.lock:
            self.order.append(run_id)
        return "COMPLETED"


def test_worker_drains_refresh_before_backfill(queued_app: App, broker: redis.Redis) -> None:
    # Five backfills are waiting when two clicks arrive; a free worker takes the clicks first.
    for run_id in (101, 102, 103, 104, 105):
        enqueue_run(queued_app, run_id, trigger="onboarding")
    for run_id in (1, 2):
        enqueue_run(queued_app, run_id, trigger="refresh")
    celery_app = make_celery(queued_app.settings)
    recorder = Recorder()
    celery_app.bind_executor(recorder)
    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, queues=list(QUEUES)):
        deadline = time.monotonic() + 20
        while len(recorder.order) < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert recorder.order[:2] == [1, 2], recorder.order
    assert sorted(recorder.order[2:]) == [101, 102, 103, 104, 105]
