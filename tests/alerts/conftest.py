"""Fixtures of the alert tests: ``receiver``, a webhook endpoint recording what it is sent, and
``forge``, a Headwater home whose global alert webhook points at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.receiver import Receiver
from tests.dashboard.fakes import Forge, running_forge


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Iterator[Forge]:
    with running_forge(tmp_path, monkeypatch, alert_webhook_url=receiver.url + "/global") as f:
        yield f
