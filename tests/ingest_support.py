"""Helpers for connector tests (Aha!, Slack): a fast clock for rate budgets, row counts, a replay server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from connectors.http.ratelimit import InMemoryRateBudget
from connectors.sandbox import RunningServer, serve_in_thread
from storage import Database, model_for

ROOT = Path(__file__).resolve().parents[1]


class FastClock:
    """A clock for rate budgets that jumps over waits: a 60 s pace costs 60 ms at scale 0.001."""

    def __init__(self, scale: float = 0.001) -> None:
        self.now = time.time()
        self.scale = scale
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Concurrent sleepers wake at their own times: the clock moves to the latest wake-up,
        # it does not add their waits up.
        wake = self.now + seconds
        self.slept += seconds
        await asyncio.sleep(seconds * self.scale)
        self.now = max(self.now, wake)

    def budget(self) -> InMemoryRateBudget:
        return InMemoryRateBudget(clock=self.clock, sleep=self.sleep)


def live_counts(db: Database, source_id: int, entities: list[str], *, live: bool = True) -> dict[str, int]:
    """Distinct rows per entity kind of one source (tombstoned ones too when ``live=False``)."""
    out = {}
    with db.read() as s:
        for entity in entities:
            t = model_for(entity).__table__  # type: ignore[attr-defined]
            q = select(func.count(func.distinct(t.c.external_id))).where(t.c.source_id == source_id)
            if live:
                q = q.where(t.c.deleted_at.is_(None))
            out[entity] = int(s.execute(q).scalar_one())
    return out


def rows(db: Database, source_id: int, entity: str) -> list[dict[str, object]]:
    t = model_for(entity).__table__  # type: ignore[attr-defined]
    with db.session() as s:
        return [dict(r._mapping) for r in s.execute(select(t).where(t.c.source_id == source_id).order_by(t.c.id))]


@contextmanager
def replay_server(provider: str, folder: Path) -> Iterator[str]:
    """``replay.py PROVIDER FOLDER --port 0`` from the repo root; yields its base URL."""
    script = ROOT.parent / "shared" / "tools" / "replay.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), provider, str(folder), "--port", "0", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), first
        yield url.rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class ServedSandbox:
    """A running sandbox and its control endpoints; providers add ``mutate`` in their own shape."""

    def __init__(self, sandbox: Any, server: Any) -> None:
        self.sandbox = sandbox
        self.server = server
        self.url: str = server.url

    def truth(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/__truth").json()  # type: ignore[no-any-return]

    def loaded_exactly(self, db: Database, source_id: int) -> bool:
        """Whether ``db`` holds exactly the rows a full refresh of this sandbox must load."""
        truth: dict[str, int] = self.truth()["counts"]
        return live_counts(db, source_id, list(truth)) == truth

    def post_mutate(self, body: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/__mutate", json=body)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def faults(self, **faults: Any) -> None:
        httpx.post(f"{self.url}/__faults", json=faults).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/__requests").json()  # type: ignore[no-any-return]

    def reset_log(self) -> None:
        httpx.post(f"{self.url}/__reset").raise_for_status()


S = TypeVar("S", bound=ServedSandbox)


def serve_sandboxes(factory: Callable[..., Any], wrap: type[S]) -> Iterator[Callable[..., S]]:
    """A fixture body: ``serve(**size)`` starts a sandbox of ``factory`` in a thread, wrapped in
    ``wrap``; every one started is stopped at teardown."""
    running: list[RunningServer] = []

    def start(**kw: Any) -> S:
        sandbox = factory(**kw)
        server = serve_in_thread(sandbox)
        running.append(server)
        return wrap(sandbox, server)

    yield start
    for server in running:
        server.stop()
