"""Reconnecting a source (new credentials) ends its "credentials invalid" episode: a rejection of
the new credentials alerts again, with no success in between."""

from __future__ import annotations

from headwater.alerts import run_finished_hook
from storage.models import Source
from tenancy.sources import apply_update, prepare_update
from tests.alerts.receiver import Receiver
from tests.dashboard.fakes import Forge, refresh


def reconnect(forge: Forge, token: str) -> None:
    with forge.app.db.session() as s:
        src = s.get(Source, forge.source_id)
        assert src is not None
        apply_update(src, forge.app.vault, prepare_update(src, forge.app.vault, {}, {"token": token}))
        assert src.credentials_status == "unknown"


def test_a_rejection_after_a_reconnect_alerts_again(forge: Forge, receiver: Receiver) -> None:
    hook = run_finished_hook(forge.app, background=False)
    forge.sandbox.faults.revoked = True
    refresh(forge.app, on_finished=hook)
    assert receiver.kinds().count("credentials_invalid") == 1
    refresh(forge.app, on_finished=hook)  # same credentials, same episode: no second alert
    assert receiver.kinds().count("credentials_invalid") == 1
    reconnect(forge, "forge_new_token_but_also_refused")
    with forge.app.db.read() as s:
        assert s.get(Source, forge.source_id).credentials_status == "unknown"  # type: ignore[union-attr]
    refresh(forge.app, on_finished=hook)  # the new credentials are rejected too: a new episode
    assert receiver.kinds().count("credentials_invalid") == 2
