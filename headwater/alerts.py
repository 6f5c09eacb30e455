"""Alerts: JSON posts (Slack-compatible ``text``) to the tenant's and the global webhook.

What raises an alert:

* a run that ended FAILED or CRASHED (:func:`run_finished_hook`, the drivers' ``on_finished``,
  and :func:`alert_run` for runs recovery marked CRASHED);
* a run never started within the lease (``run_stuck``, :func:`alert_run` from the scheduler);
* a source whose credentials the provider rejected (once per episode: again only after the
  source succeeded or got new credentials since);
* a source that has not succeeded for ``HEADWATER_STALE_AFTER_HOURS``
  (:func:`check_stale_sources`, called by the scheduler; once per stale episode).

Delivery never blocks the pipeline: alerts are written to an outbox table and posted off the
pipeline's path with retries (tenacity); a receiver that is down leaves the alert undelivered
with its last error, to be re-sent by :func:`deliver_pending` (the scheduler calls it).
Delivery is at-least-once. Bodies carry ids, states and error messages, never secrets; the
webhook URLs (secret themselves, for Slack) are never logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from headwater.app import App
from headwater.logs import redact
from storage import Database
from storage.models import Alert, Run, Source, TaskRun, Tenant, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 200  # deliver_pending stops re-sending an alert after this many tries
TEXT_LIMIT = 3000  # Slack's section text limit


def _slug(session: Session, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.slug if tenant else str(tenant_id)


def _clean(value: str | None, limit: int = 1000) -> str | None:
    return redact(value)[:limit] if value else value


# -- what to say --------------------------------------------------------------------------
def run_alert(session: Session, run: Run, kind: str = "run_failed") -> dict[str, Any] | None:
    """The alert for a finished run, or None when it needs none (or was raised already)."""
    if run.state not in ("FAILED", "CRASHED") or _alerted_since(session, f"{kind}:{run.id}", None):
        return None
    failed = list(
        session.execute(
            select(TaskRun)
            .where(TaskRun.run_id == run.id, TaskRun.state.in_(["FAILED", "CRASHED"]))
            .order_by(TaskRun.id)
            .limit(20)
        ).scalars()
    )
    slug = _slug(session, run.tenant_id)
    text = f":red_circle: Headwater run {run.id} for tenant {slug} {run.state.lower()}: {run.message or ''}"
    if kind == "run_stuck":
        text = f":hourglass: Headwater run {run.id} for tenant {slug} was never started: {run.message or ''}"
    return {
        "kind": kind,
        "text": _clean(text, TEXT_LIMIT),
        "tenant": slug,
        "run_id": run.id,
        "state": run.state,
        "trigger": run.trigger,
        "message": _clean(run.message),
        "tasks_total": run.tasks_total,
        "tasks_failed": run.tasks_failed,
        "failed_tasks": [
            {
                "id": t.id,
                "source_id": t.source_id,
                "stream": t.stream,
                "partition": t.partition,
                "error_kind": t.error_kind,
                "message": _clean(t.message, 500),
            }
            for t in failed
        ],
    }


def credential_alerts(session: Session, run: Run) -> list[dict[str, Any]]:
    """Sources of the run's tenant whose credentials were rejected and not yet alerted about."""
    slug = _slug(session, run.tenant_id)
    out = []
    for src in session.execute(
        select(Source).where(Source.tenant_id == run.tenant_id, Source.credentials_status == "invalid")
    ).scalars():
        key = f"credentials_invalid:{src.id}"
        # A new episode starts with a success or with new credentials (`source update`).
        since = max((t for t in (src.last_success_at, src.credentials_updated_at) if t is not None), default=None)
        if _alerted_since(session, key, since):
            continue
        out.append(
            {
                "kind": "credentials_invalid",
                "dedupe_key": key,
                "text": f":warning: Headwater: the {src.kind} source {src.id} of tenant {slug} was refused by the "
                "provider (bad or revoked credentials, or missing permissions); reconnect it with a valid token",
                "tenant": slug,
                "source_id": src.id,
                "connector": src.kind,
                "run_id": run.id,
                "state": run.state,
            }
        )
    return out


def _alerted_since(session: Session, key: str, since: datetime | None) -> bool:
    q = select(func.count()).select_from(Alert).where(Alert.dedupe_key == key)
    if since is not None:
        q = q.where(Alert.created_at > since)
    return bool(session.execute(q).scalar_one())


def stale_alerts(session: Session, stale_after_hours: float, now: datetime | None = None) -> list[dict[str, Any]]:
    """Enabled sources without a success for ``stale_after_hours`` (counted from their creation
    when they never succeeded), each once per stale episode."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=stale_after_hours)
    out = []
    rows = session.execute(
        select(Source, Tenant.slug)
        .join(Tenant, Tenant.id == Source.tenant_id)
        .where(
            Source.enabled.is_(True),
            func.coalesce(Source.last_success_at, Source.created_at) < cutoff,
        )
        .order_by(Source.id)
    ).tuples()
    for src, slug in rows:
        since = src.last_success_at
        key = f"source_stale:{src.id}:{since.isoformat() if since else 'never'}"
        if _alerted_since(session, key, None):
            continue
        last = session.execute(
            select(Run.id, Run.state).where(Run.tenant_id == src.tenant_id).order_by(Run.id.desc()).limit(1)
        ).first()
        hours = (now - (since or src.created_at)).total_seconds() / 3600
        what = (
            f"has not succeeded for {hours:.0f} h"
            if since
            else f"has never succeeded ({hours:.0f} h since it was added)"
        )
        out.append(
            {
                "kind": "source_stale",
                "dedupe_key": key,
                "tenant_id": src.tenant_id,
                "text": f":hourglass: Headwater: the {src.kind} source {src.id} of tenant {slug} {what}",
                "tenant": slug,
                "source_id": src.id,
                "connector": src.kind,
                "last_success_at": since.isoformat() if since else None,
                "run_id": last[0] if last else None,
                "state": last[1] if last else None,
            }
        )
    return out


# -- where and how to send it ---------------------------------------------------------------
def targets(app: App, tenant_id: int | None) -> list[str]:
    urls = []
    if app.settings.alert_webhook_url:
        urls.append(app.settings.alert_webhook_url)
    if tenant_id is not None:
        with app.db.session() as s:
            t = s.get(Tenant, tenant_id)
            if t is not None and t.alert_webhook_url and t.alert_webhook_url not in urls:
                urls.append(t.alert_webhook_url)
    return urls


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code in (408, 429)
    return isinstance(exc, httpx.TransportError)


def post(url: str, payload: dict[str, Any], *, attempts: int = 4, timeout: float = 5.0) -> None:
    """POST the JSON body; transport errors, 5xx and 429 are retried with backoff."""
    for attempt in Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception(_retryable),
        reraise=True,
    ):
        with attempt:
            r = httpx.post(url, json=payload, timeout=timeout)
            r.raise_for_status()


def enqueue(db: Database, tenant_id: int | None, payload: dict[str, Any], dedupe_key: str | None = None) -> int:
    with db.session() as s:
        alert = Alert(tenant_id=tenant_id, kind=payload["kind"], payload=payload, dedupe_key=dedupe_key)
        s.add(alert)
        s.flush()
        return alert.id


def _why(exc: httpx.HTTPError) -> str:
    # Never str(exc): it carries the URL, and webhook URLs are secrets.
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the webhook answered HTTP {exc.response.status_code}"
    return f"{type(exc).__name__} posting to the webhook"


def deliver(app: App, alert_id: int) -> bool:
    """Post one alert to its targets; True when every target accepted it (or there is none:
    the alert was logged, and stays in the outbox as a record with ``last_error`` saying so)."""
    with app.db.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None or alert.delivered_at is not None:
            return True
        payload, tenant_id = dict(alert.payload), alert.tenant_id
    error = None
    urls = targets(app, tenant_id)
    for url in urls:
        try:
            post(url, payload)
        except httpx.HTTPError as exc:
            error = _why(exc)
            log.warning("alert %s (%s) not delivered: %s; it will be re-sent", alert_id, payload.get("kind"), error)
    with app.db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        alert.attempts += 1
        if error is None:
            alert.delivered_at = utcnow()
        alert.last_error = error if urls else "no webhook configured (HEADWATER_ALERT_WEBHOOK_URL or the tenant's)"
    return error is None


def deliver_pending(app: App) -> int:
    """Re-send undelivered alerts, oldest first; returns how many were delivered."""
    with app.db.session() as s:
        ids = list(
            s.execute(
                select(Alert.id).where(Alert.delivered_at.is_(None), Alert.attempts < MAX_ATTEMPTS).order_by(Alert.id)
            ).scalars()
        )
    return sum(deliver(app, i) for i in ids)


def _record(app: App, tenant_id: int | None, payloads: list[dict[str, Any]]) -> list[int]:
    """Log every alert and put it in the outbox (also the record that it was raised)."""
    for p in payloads:
        log.warning("alert %s: %s", p["kind"], p["text"])
    return [enqueue(app.db, tenant_id, p, p.pop("dedupe_key", None) or f"{p['kind']}:{p['run_id']}") for p in payloads]


def alerts_for_run(app: App, run_id: int, kind: str = "run_failed") -> list[int]:
    """Outbox ids of the alerts a finished run raises (each run alert once)."""
    with app.db.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            return []
        payloads = [p for p in [run_alert(s, run, kind), *credential_alerts(s, run)] if p]
        tenant_id = run.tenant_id
    return _record(app, tenant_id, payloads)


def alert_run(app: App, run_id: int, *, kind: str = "run_failed") -> list[int]:
    """Raise and deliver the alerts of a run that ended without its driver's hook: CRASHED by
    recovery, or FAILED past its lease (``kind="run_stuck"``)."""
    ids = alerts_for_run(app, run_id, kind)
    for i in ids:
        deliver(app, i)
    return ids


def check_stale_sources(app: App, *, now: datetime | None = None, deliver_now: bool = True) -> list[int]:
    """Alert about sources that have not succeeded for ``settings.stale_after_hours``; for the
    scheduler's tick. Returns the outbox ids (delivered at once unless ``deliver_now=False``)."""
    with app.db.session() as s:
        found = stale_alerts(s, app.settings.stale_after_hours, now)
    ids: list[int] = []
    for p in found:
        ids.extend(_record(app, p.pop("tenant_id"), [p]))
    if deliver_now:
        for i in ids:
            deliver(app, i)
    return ids


def run_finished_hook(app: App, *, background: bool = True) -> Callable[[int], None]:
    """The ``on_finished`` hook of drivers: enqueue alerts, deliver them off the pipeline's path."""

    def hook(run_id: int) -> None:
        ids = alerts_for_run(app, run_id)
        if not ids:
            return

        def send() -> None:
            for i in ids:
                try:
                    deliver(app, i)
                except Exception:  # the outbox keeps it; deliver_pending re-sends
                    log.exception("alert %s: delivery crashed", i)

        if background:
            threading.Thread(target=send, name=f"alerts-run-{run_id}", daemon=False).start()
        else:
            send()

    return hook
