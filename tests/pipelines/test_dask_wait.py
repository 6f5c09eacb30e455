"""DaskRunner.wait leaves nothing behind on the client's event loop: one waiter per outstanding
future for its life, not one per future on every call (``distributed.wait(FIRST_COMPLETED)``
did: the driver of a 100-repository refresh held 10,000 of them at once, bench/rss.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import pipelines.runners as runners
from pipelines.cluster import close, connect
from pipelines.runners import DaskRunner

RELEASE = threading.Event()


def held_task(cfg: Any, task_id: int, full: bool) -> dict[str, Any]:
    RELEASE.wait(30)
    return {"state": "COMPLETED", "task": task_id}


@pytest.fixture
def client() -> Iterator[Any]:
    c = connect(None, workers=1, threads=4, processes=False)
    yield c
    RELEASE.set()
    close(c)


async def _pending_tasks() -> int:
    return len(asyncio.all_tasks())


def test_waiting_again_and_again_keeps_one_waiter_per_future(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runners, "execute_task", held_task)
    RELEASE.clear()
    runner = DaskRunner(client, None)  # type: ignore[arg-type]  # the held task ignores its config
    ids = list(range(40))
    for task_id in ids:
        runner.submit(task_id, full=False, priority=0)
    before = client.sync(_pending_tasks)
    for _ in range(20):
        assert runner.wait(0.02) == []  # none finished: each call times out
    grown = client.sync(_pending_tasks) - before
    assert grown < len(ids)  # was about 20 x 40 = 800
    RELEASE.set()
    out: dict[int, dict[str, Any]] = {}
    while runner.busy:
        out.update(runner.wait(5))
    assert sorted(out) == ids and all(s == {"state": "COMPLETED", "task": i} for i, s in out.items())
