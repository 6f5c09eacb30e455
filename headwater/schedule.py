"""`headwater scheduler`: scheduled refreshes, crashed-run recovery and alert re-sends.

Each tick:
  * every tenant whose schedule (``refresh_interval_minutes`` and/or ``refresh_cron``) fired since
    its last run gets a run (trigger ``schedule``). Coalescing makes two
    schedulers, or a schedule racing a click, harmless: they join the waiting run;
  * runs whose driver died and that nobody resumed are marked CRASHED (retryable) and alerted
    about. With a broker the grace period covers the re-delivery of the dead worker's message
    first; a run whose planned tasks had all completed is closed COMPLETED instead;
  * with a broker, runs left SCHEDULED but never put on the queue are queued;
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
from pipelines import recover_crashed_runs
from pipelines.driver import STALE_AFTER
from pipelines.state import expire_queued_runs, mark_stale_runs_crashed
from storage.models import Run, State, Tenant, Trigger, utcnow

log = logging.getLogger(__name__)

UNQUEUED_AFTER = timedelta(minutes=2)  # a SCHEDULED run with no queue message after this is queued


@dataclass
class Tick:
    scheduled: list[int] = field(default_factory=list)
    coalesced: list[int] = field(default_factory=list)
    crashed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
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
    """With a broker: SCHEDULED runs that never got a queue message (created by a process that
    died before queueing) are queued now."""
    if not app.settings.broker_url:
        return
    cutoff = utcnow() - UNQUEUED_AFTER
    with app.db.session() as s:
        rows = s.execute(
            select(Run.id, Run.trigger, Run.priority).where(
                Run.state == State.SCHEDULED, Run.celery_task_id.is_(None), Run.created_at < cutoff
            )
        ).all()
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


def recover(app: App, tick: Tick) -> None:
    """Runs whose driver is gone become CRASHED (and raise an alert). With a broker, only after
    the dead worker's message had its chance to be re-delivered and resumed (visibility timeout +
    staleness)."""
    if not app.settings.broker_url:
        crashed = recover_crashed_runs(app.db)
    else:
        grace = STALE_AFTER + timedelta(seconds=app.settings.broker_visibility_timeout)
        with app.db.session() as s:
            crashed = mark_stale_runs_crashed(s, older_than=grace)
    tick.crashed.extend(crashed)
    for run_id in crashed:
        alert_run(app, run_id)


def tick_once(app: App, now: datetime | None = None) -> Tick:
    tick = Tick()
    service = RunService(app)
    steps: list[tuple[str, Any]] = [
        ("schedule", lambda: schedule_due(app, tick, service, now)),
        ("recover", lambda: recover(app, tick)),
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
