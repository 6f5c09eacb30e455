"""`headwater scheduler`: scheduled refreshes, crashed-run recovery and alert re-sends.

Each tick:
  * every tenant whose schedule (``refresh_interval_minutes`` and/or ``refresh_cron``) fired since
    its last run gets a run (trigger ``schedule``). Coalescing makes two
    schedulers, or a schedule racing a click, harmless: they join the waiting run;
  * runs whose driver died: with a broker they are put back on the queue at once and resumed
    by the next worker (no waiting for the broker's visibility timeout); without one, or after
    MAX_RESUMES resumes, they are marked CRASHED (retryable) and alerted about. A run whose
    planned tasks had all completed is closed COMPLETED instead;
  * with a broker, startable SCHEDULED runs whose message is not on the queue (never sent, or
    taken by a worker that died before starting them) are queued again after 20 s;
  * runs waiting past ``HEADWATER_RUN_LEASE_S`` with nothing keeping them waiting are FAILED
    (a ``run_stuck`` alert), so no tenant is blocked behind a run nobody will execute;
  * undelivered alerts are re-sent (:func:`headwater.alerts.deliver_pending`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select

from headwater.alerts import alert_run, check_stale_sources, deliver_pending
from headwater.app import App
from headwater.cron import is_due
from headwater.dispatch import DispatchError, RunService
from headwater.queue.tasks import queued_message_ids
from pipelines import recover_crashed_runs
from pipelines.liveness import REQUEUED, STALE_AFTER, driver_alive
from pipelines.state import (
    close_if_all_completed,
    driverless_runs,
    expire_queued_runs,
    scope_key,
    settle_driverless_run,
    waiting_since,
)
from storage.models import Run, RunState, State, Tenant, Trigger, utcnow

log = logging.getLogger(__name__)

REDISPATCH_AFTER = timedelta(seconds=20)  # a startable SCHEDULED run whose message is gone is queued again


@dataclass
class Tick:
    scheduled: list[int] = field(default_factory=list)
    coalesced: list[int] = field(default_factory=list)
    crashed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)  # with a broker: orphaned runs put back on the queue
    alerts_delivered: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def due_tenants(app: App, now: datetime | None = None) -> list[Tenant]:
    """Tenants with a schedule (an interval and/or a cron expression) that fired since their last
    run (any trigger or scope), or since they were created when they never ran."""
    now = now or utcnow()
    with app.db.session() as s:
        last = dict(s.execute(select(Run.tenant_id, func.max(Run.created_at)).group_by(Run.tenant_id)).tuples().all())
        tenants = s.execute(
            select(Tenant).where(
                or_(
                    and_(Tenant.refresh_interval_minutes.is_not(None), Tenant.refresh_interval_minutes > 0),
                    Tenant.refresh_cron.is_not(None),
                )
            )
        ).scalars()
        return [
            t
            for t in tenants
            if is_due(
                now,
                interval_minutes=t.refresh_interval_minutes,
                cron=t.refresh_cron,
                last_run_at=last.get(t.id),
                created_at=t.created_at,
            )
        ]


def schedule_due(app: App, tick: Tick, service: RunService, now: datetime | None = None) -> None:
    for tenant in due_tenants(app, now):
        try:
            accepted = service.request(tenant, trigger=Trigger.SCHEDULE, requested_by="scheduler")
        except DispatchError as exc:
            log.warning("scheduled refresh of %s: %s", tenant.slug, exc)
            continue
        (tick.coalesced if accepted.coalesced else tick.scheduled).append(accepted.run_id)


def requeue_unqueued(app: App, tick: Tick, service: RunService) -> None:
    """With a broker: SCHEDULED runs whose message is not on the queue are queued again once
    they have been startable (nothing of their scope running) for REDISPATCH_AFTER. Their message
    was never sent (the process that created them died first), or a worker took it and died
    before starting it: Redis would only give it back after the visibility timeout (15 min)."""
    if not app.settings.broker_url:
        return
    on_queue = queued_message_ids(app.settings.broker_url)
    if on_queue is None:  # the broker is away: queueing now would only fail the runs
        return
    now = utcnow()
    with app.db.session() as s:
        running = set(s.execute(select(Run.running_key).where(Run.running_key.is_not(None))).scalars())
        rows = [
            (run.id, run.trigger, run.priority)
            for run in s.execute(select(Run).where(Run.state == State.SCHEDULED).order_by(Run.id)).scalars()
            if scope_key(run.tenant_id, run.source_id) not in running
            and run.celery_task_id not in on_queue
            and now - waiting_since(s, run) >= REDISPATCH_AFTER
        ]
    for run_id, trigger, priority in rows:
        with contextlib.suppress(DispatchError):  # the run is FAILED with the reason
            service.dispatch(run_id, trigger, priority)
            tick.requeued.append(run_id)


def expire_leases(app: App, tick: Tick) -> None:
    """Runs waiting past the lease with nothing keeping them waiting are FAILED (their tenant is
    no longer blocked behind them) and raise a ``run_stuck`` alert."""
    with app.db.session() as s:
        tick.expired.extend(expire_queued_runs(s, lease=timedelta(seconds=app.settings.run_lease_s)))
    for run_id in tick.expired:
        alert_run(app, run_id, kind="run_stuck")


def recover(app: App, tick: Tick, service: RunService | None = None) -> None:
    """Runs whose driver is gone. Without a broker they become CRASHED (and alert). With one they
    are put on the queue again, to be resumed by the next worker within seconds rather than
    after the broker's visibility timeout; CRASHED only after MAX_RESUMES resumes, or when no
    worker took the re-queued run within the lease. A run whose planned tasks had all completed
    is closed COMPLETED instead."""
    if not app.settings.broker_url:
        crashed = recover_crashed_runs(app.db)
    else:
        crashed = requeue_orphans(app, tick, service or RunService(app))
    tick.crashed.extend(crashed)
    for run_id in crashed:
        alert_run(app, run_id)


MAX_RESUMES = 3


def requeue_orphans(app: App, tick: Tick, service: RunService) -> list[int]:
    lease = timedelta(seconds=app.settings.run_lease_s)
    requeue: list[tuple[int, str, int]] = []
    with app.db.session() as s:
        crashed = []
        for run in driverless_runs(s, driver_alive):
            resumes = s.execute(
                select(func.count())
                .select_from(RunState)
                .where(RunState.run_id == run.id, RunState.state == State.RETRYING)
            ).scalar_one()
            never_taken = run.driver == REQUEUED  # re-queued a lease ago and no worker resumed it
            if resumes >= MAX_RESUMES or never_taken:
                why = (
                    f"its driver stopped {resumes} times" if not never_taken else f"no worker resumed it within {lease}"
                )
                if settle_driverless_run(s, run, f"the run's driver stopped and {why}; retry it"):
                    crashed.append(run.id)
                continue
            if close_if_all_completed(s, run):
                continue
            # Re-queued: whoever takes it resumes it (Driver: a RUNNING run whose driver is gone).
            run.driver = REQUEUED
            run.heartbeat_at = utcnow() - STALE_AFTER + lease
            requeue.append((run.id, run.trigger, run.priority))
    for run_id, trigger, priority in requeue:
        with contextlib.suppress(DispatchError):
            service.dispatch(run_id, trigger, priority)
            tick.resumed.append(run_id)
    return crashed


def tick_once(app: App, now: datetime | None = None) -> Tick:
    tick = Tick()
    service = RunService(app)
    steps: list[tuple[str, Any]] = [
        ("schedule", lambda: schedule_due(app, tick, service, now)),
        ("recover", lambda: recover(app, tick, service)),
        ("requeue", lambda: requeue_unqueued(app, tick, service)),
        ("lease", lambda: expire_leases(app, tick)),
        ("stale", lambda: check_stale_sources(app)),
        ("alerts", lambda: setattr(tick, "alerts_delivered", deliver_pending(app))),
    ]
    for name, step in steps:
        try:
            step()
        except Exception:  # one failing step (say the broker is down) must not stop the others
            log.exception("scheduler step %s failed", name)
    return tick


def heartbeat_path(app: App) -> Path:
    """Touched after every tick; the container health check reads its age."""
    return app.settings.home / "scheduler.heartbeat"


def run_scheduler(app: App, interval: float = 30.0, once: bool = False, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    beat = heartbeat_path(app)
    beat.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tick = tick_once(app)
        beat.write_text(json.dumps({"at": utcnow().isoformat(), **tick.as_dict()}))
        if tick.scheduled or tick.crashed or tick.requeued or tick.alerts_delivered:
            log.info("scheduler: %s", tick.as_dict())
        if once or stop.wait(interval):
            return
