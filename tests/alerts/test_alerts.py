"""Alerts against a real HTTP receiver on 127.0.0.1: what is sent, to whom, retries, the outbox."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from headwater.alerts import check_stale_sources, deliver, deliver_pending, run_finished_hook
from storage.models import Alert, Source, Tenant, utcnow
from tests.alerts.receiver import Receiver, closed_port_url
from tests.dashboard.fakes import TOKEN, Forge, refresh


def set_tenant_hook(forge: Forge, url: str | None) -> None:
    with forge.app.db.session() as s:
        t = s.execute(select(Tenant).where(Tenant.slug == forge.tenant)).scalar_one()
        t.alert_webhook_url = url


def alerts(forge: Forge) -> list[Alert]:
    with forge.app.db.session() as s:
        rows = list(s.execute(select(Alert).order_by(Alert.id)).scalars())
        s.expunge_all()
        return rows


def test_failed_run_alerts_global_and_tenant_webhooks(forge: Forge, receiver: Receiver) -> None:
    set_tenant_hook(forge, receiver.url + "/tenant")
    forge.fail("/repos/acme/repo1/commits")
    run_id, state = refresh(forge.app, on_finished=run_finished_hook(forge.app, background=False))
    assert state == "FAILED"
    assert receiver.kinds("/global") == ["run_failed"]
    assert receiver.kinds("/tenant") == ["run_failed"]
    body = receiver.bodies[0][1]
    assert body["tenant"] == "acme" and body["run_id"] == run_id and body["state"] == "FAILED"
    assert f"run {run_id}" in body["text"] and "acme" in body["text"]
    assert [(t["stream"], t["partition"], t["error_kind"]) for t in body["failed_tasks"]] == [
        ("commits", "acme/repo1", "TRANSIENT")
    ]
    assert TOKEN not in json.dumps(receiver.bodies)
    (alert,) = alerts(forge)
    assert alert.delivered_at is not None and alert.last_error is None and alert.attempts == 1


def test_completed_run_sends_nothing(forge: Forge, receiver: Receiver) -> None:
    _, state = refresh(forge.app, on_finished=run_finished_hook(forge.app, background=False))
    assert state == "COMPLETED"
    assert receiver.requests == 0 and alerts(forge) == []


def test_transient_receiver_errors_are_retried(forge: Forge, receiver: Receiver) -> None:
    receiver.fail_next = 2
    forge.fail("/repos/acme/repo0/branches")
    refresh(forge.app, on_finished=run_finished_hook(forge.app, background=False))
    assert receiver.requests == 3
    assert receiver.kinds() == ["run_failed"]
    assert alerts(forge)[0].delivered_at is not None


def test_receiver_down_keeps_alert_pending_until_deliver_pending(forge: Forge, receiver: Receiver) -> None:
    down = closed_port_url()
    forge.app.settings.alert_webhook_url = down
    forge.fail("/repos/acme/repo1/commits")
    run_id, _ = refresh(forge.app, on_finished=run_finished_hook(forge.app, background=False))
    (alert,) = alerts(forge)
    assert alert.delivered_at is None and alert.attempts == 1
    assert alert.last_error is not None and "ConnectError" in alert.last_error
    assert down not in alert.last_error  # webhook URLs are secrets: never in errors or logs
    assert deliver_pending(forge.app) == 0  # still down
    assert alerts(forge)[0].attempts == 2

    forge.app.settings.alert_webhook_url = receiver.url + "/global"  # the receiver is back
    assert deliver_pending(forge.app) == 1
    (alert,) = alerts(forge)
    assert alert.delivered_at is not None and alert.last_error is None
    assert receiver.kinds() == ["run_failed"] and receiver.bodies[0][1]["run_id"] == run_id
    assert deliver_pending(forge.app) == 0  # nothing left, nothing sent twice
    assert receiver.requests == 1


def test_delivery_never_blocks_the_pipeline(forge: Forge, receiver: Receiver) -> None:
    receiver.hold.clear()  # the receiver accepts the connection and then hangs
    forge.fail("/repos/acme/repo2/commits")
    run_id, state = refresh(forge.app, on_finished=run_finished_hook(forge.app))
    assert state == "FAILED"  # the run finished although the webhook has not answered
    assert receiver.arrived.wait(10)
    assert alerts(forge)[0].delivered_at is None
    receiver.hold.set()
    sender = next(t for t in threading.enumerate() if t.name == f"alerts-run-{run_id}")
    sender.join(10)
    assert alerts(forge)[0].delivered_at is not None


def test_invalid_credentials_alert_once_per_episode(forge: Forge, receiver: Receiver) -> None:
    hook = run_finished_hook(forge.app, background=False)
    forge.sandbox.faults.revoked = True
    refresh(forge.app, on_finished=hook)
    assert sorted(receiver.kinds()) == ["credentials_invalid", "run_failed"]
    cred = next(b for _, b in receiver.bodies if b["kind"] == "credentials_invalid")
    assert cred["source_id"] == forge.source_id and cred["tenant"] == "acme"
    assert "reconnect" in cred["text"] and TOKEN not in json.dumps(cred)

    refresh(forge.app, on_finished=hook)  # still revoked: the run fails again, no second credentials alert
    assert sorted(receiver.kinds()) == ["credentials_invalid", "run_failed", "run_failed"]

    forge.sandbox.faults.revoked = False
    refresh(forge.app, on_finished=hook)  # reconnected: succeeds
    forge.sandbox.faults.revoked = True
    refresh(forge.app, on_finished=hook)  # a new episode: alerted again
    assert receiver.kinds().count("credentials_invalid") == 2


def test_stale_sources_alert_once_per_episode(forge: Forge, receiver: Receiver) -> None:
    refresh(forge.app)
    assert check_stale_sources(forge.app) == []  # just succeeded
    later = utcnow() + timedelta(hours=forge.app.settings.stale_after_hours + 1)
    (alert_id,) = check_stale_sources(forge.app, now=later)
    body = receiver.bodies[-1][1]
    assert body["kind"] == "source_stale" and body["source_id"] == forge.source_id
    assert body["tenant"] == "acme" and body["run_id"] is not None and body["state"] == "COMPLETED"
    assert "has not succeeded for 25 h" in body["text"]
    assert check_stale_sources(forge.app, now=later) == []  # same episode
    refresh(forge.app)  # succeeds again: a later staleness is a new episode
    assert len(check_stale_sources(forge.app, now=later + timedelta(hours=48))) == 1
    assert receiver.kinds().count("source_stale") == 2
    assert deliver(forge.app, alert_id)


def test_disabled_and_never_run_sources(forge: Forge, receiver: Receiver) -> None:
    later = utcnow() + timedelta(hours=forge.app.settings.stale_after_hours + 2)
    assert len(check_stale_sources(forge.app, now=later, deliver_now=False)) == 1
    assert receiver.requests == 0
    assert deliver_pending(forge.app) == 1
    assert "has never succeeded" in receiver.bodies[0][1]["text"]
    with forge.app.db.session() as s:
        s.get(Source, forge.source_id).enabled = False  # type: ignore[union-attr]
    assert check_stale_sources(forge.app, now=later + timedelta(days=3)) == []


def test_no_webhook_logs_and_records_the_alert(
    forge: Forge, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    forge.app.settings.alert_webhook_url = None
    forge.fail("/repos/acme/repo1/commits")
    run_id, _ = refresh(forge.app, on_finished=run_finished_hook(forge.app, background=False))
    assert any(r.name == "headwater.alerts" and f"run {run_id}" in r.getMessage() for r in caplog.records)
    (alert,) = alerts(forge)
    assert alert.delivered_at is not None and "no webhook configured" in (alert.last_error or "")
    assert receiver.requests == 0


def test_scheduler_tick_raises_stale_source_alerts(
    forge: Forge, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headwater.schedule import tick_once

    monkeypatch.setattr(forge.app.settings, "stale_after_hours", 0.0)  # never succeeded: stale at once
    tick_once(forge.app)
    assert "source_stale" in receiver.kinds()
