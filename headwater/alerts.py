"""Alerts: JSON posts (Slack-compatible ``text``) to the tenant's and the global webhook.

Delivery never blocks the pipeline: alerts are written to an outbox table and posted by a
background thread with retries (tenacity); a receiver that is down leaves the alert
undelivered with its last error, to be re-sent by :func:`deliver_pending`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from headwater.app import App
from storage import Database
from storage.models import Alert, Run, Source, TaskRun, Tenant, utcnow

log = logging.getLogger(__name__)


def run_alert(session: Any, run: Run) -> dict[str, Any] | None:
    """The alert for a finished run, or None when it needs none."""
    if run.state not in ("FAILED", "CRASHED"):
        return None
    tenant = session.get(Tenant, run.tenant_id)
    failed = list(
        session.execute(
            select(TaskRun).where(TaskRun.run_id == run.id, TaskRun.state.in_(["FAILED", "CRASHED"]))
        ).scalars()
    )
    slug = tenant.slug if tenant else str(run.tenant_id)
    text = f":red_circle: Headwater run {run.id} for tenant {slug} {run.state.lower()}: {run.message or ''}"
    return {
        "kind": "run_failed",
        "text": text[:3000],
        "tenant": slug,
        "run_id": run.id,
        "state": run.state,
        "trigger": run.trigger,
        "message": run.message,
        "failed_tasks": [
            {"id": t.id, "stream": t.stream, "partition": t.partition, "error_kind": t.error_kind, "message": t.message}
            for t in failed[:20]
        ],
    }


def credential_alerts(session: Any, run: Run) -> list[dict[str, Any]]:
    tenant = session.get(Tenant, run.tenant_id)
    slug = tenant.slug if tenant else str(run.tenant_id)
    out = []
    for src in session.execute(
        select(Source).where(Source.tenant_id == run.tenant_id, Source.credentials_status == "invalid")
    ).scalars():
        out.append(
            {
                "kind": "credentials_invalid",
                "text": f":warning: {src.kind} source {src.id} of tenant {slug}: credentials were rejected; reconnect it",
                "tenant": slug,
                "source_id": src.id,
                "run_id": run.id,
                "state": run.state,
            }
        )
    return out


def targets(app: App, tenant_id: int | None) -> list[str]:
    urls = []
    if app.settings.alert_webhook_url:
        urls.append(app.settings.alert_webhook_url)
    if tenant_id is not None:
        with app.db.session() as s:
            t = s.get(Tenant, tenant_id)
            if t is not None and t.alert_webhook_url:
                urls.append(t.alert_webhook_url)
    return urls


def post(url: str, payload: dict[str, Any], *, attempts: int = 4, timeout: float = 5.0) -> None:
    for attempt in Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception_type(httpx.HTTPError),
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


def deliver(app: App, alert_id: int) -> bool:
    with app.db.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None or alert.delivered_at is not None:
            return True
        payload, tenant_id = dict(alert.payload), alert.tenant_id
    error = None
    for url in targets(app, tenant_id):
        try:
            post(url, payload)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__} posting to the webhook"
            log.warning("alert %s not delivered: %s", alert_id, error)
    with app.db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        alert.attempts += 1
        if error is None:
            alert.delivered_at = utcnow()
        alert.last_error = error
    return error is None


def deliver_pending(app: App) -> int:
    with app.db.session() as s:
        ids = list(s.execute(select(Alert.id).where(Alert.delivered_at.is_(None)).order_by(Alert.id)).scalars())
    return sum(deliver(app, i) for i in ids)


def alerts_for_run(app: App, run_id: int) -> list[int]:
    with app.db.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            return []
        payloads = [p for p in [run_alert(s, run), *credential_alerts(s, run)] if p]
        tenant_id = run.tenant_id
    return [enqueue(app.db, tenant_id, p, f"{p['kind']}:{run_id}") for p in payloads]


def run_finished_hook(app: App, *, background: bool = True) -> Callable[[int], None]:
    """The ``on_finished`` hook of drivers: enqueue alerts, deliver them off the pipeline's path."""

    def hook(run_id: int) -> None:
        ids = alerts_for_run(app, run_id)
        if not ids or not (app.settings.alert_webhook_url or _any_tenant_hook(app, run_id)):
            return

        def send() -> None:
            for i in ids:
                deliver(app, i)

        if background:
            threading.Thread(target=send, name=f"alerts-run-{run_id}", daemon=False).start()
        else:
            send()

    return hook


def _any_tenant_hook(app: App, run_id: int) -> bool:
    with app.db.session() as s:
        run = s.get(Run, run_id)
        t = s.get(Tenant, run.tenant_id) if run else None
        return bool(t and t.alert_webhook_url)
