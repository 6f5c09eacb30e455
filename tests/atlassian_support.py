"""Helpers for the Jira and Bitbucket connector tests: sandboxes in a thread, isolated task runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from connectors.errors import ErrorKind, error_kind
from connectors.http.client import HttpClient, RetryPolicy
from connectors.http.ratelimit import InMemoryRateBudget, RateBudget
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, discovery_plan, open_http, partitions_of, plan_tasks, run_task
from connectors.sandbox import RunningServer, Sandbox, serve_in_thread
from storage import Database
from storage.models import Quarantine
from tests.ingest_support import ServedSandbox, live_counts

FAST_RETRY = RetryPolicy(
    attempts=5, max_elapsed_s=10, backoff_initial_s=0.01, backoff_max_s=0.05, max_retry_after_s=0.2
)


class Served(ServedSandbox):
    """A running Jira or Bitbucket sandbox; ``mutate`` takes a list of operations."""

    def mutate(self, *ops: dict[str, Any]) -> dict[str, Any]:
        return self.post_mutate(list(ops))


def serving(factory: Callable[..., Sandbox]) -> Iterator[Callable[..., Served]]:
    running: list[RunningServer] = []

    def start(**kw: Any) -> Served:
        sandbox = factory(**kw)
        server = serve_in_thread(sandbox)
        running.append(server)
        return Served(sandbox, server)

    yield start
    for server in running:
        server.stop()


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the retry layer's attempts, shrink its waits."""
    monkeypatch.setattr("connectors.runtime.HttpClient", lambda *a, **kw: HttpClient(*a, **{**kw, "retry": FAST_RETRY}))


@dataclass
class Outcome:
    """Every task of one run, isolated like the pipeline does: results and error kinds by task key."""

    results: dict[str, StreamResult] = field(default_factory=dict)
    errors: dict[str, tuple[ErrorKind, str]] = field(default_factory=dict)
    requests: int = 0

    def kinds(self) -> set[ErrorKind]:
        return {k for k, _ in self.errors.values()}


def run_isolated(rt: SourceRuntime, db: Database, *, full: bool = False, budget: RateBudget | None = None) -> Outcome:
    """Discovery, then every planned task; a failing task fails alone (its dependents still run
    here, which is harmless for these tests)."""

    async def go() -> Outcome:
        out = Outcome()
        async with open_http(rt, budget=budget or InMemoryRateBudget()) as http:
            disc = discovery_plan(rt)
            plans = [disc] if disc else []
            try:
                if disc:
                    out.results[disc.key] = await run_task(rt, db, http, disc.stream, None, full=full)
                plans = plan_tasks(rt, partitions_of(rt, db))
            except Exception as exc:
                out.errors[disc.key if disc else "discovery"] = (error_kind(exc), str(exc))
                plans = []
            for plan in plans:
                try:
                    out.results[plan.key] = await run_task(rt, db, http, plan.stream, plan.partition, full=full)
                except Exception as exc:
                    out.errors[plan.key] = (error_kind(exc), str(exc))
            out.requests = http.stats.requests
        return out

    return asyncio.run(go())


def run(rt: SourceRuntime, db: Database) -> Outcome:
    out = run_isolated(rt, db)
    assert not out.errors, out.errors
    return out


all_counts = live_counts  # the Atlassian tests' name for it


def quarantined(db: Database, source_id: int) -> list[str]:
    with db.session() as s:
        return [q.reason for q in s.execute(select(Quarantine).where(Quarantine.source_id == source_id)).scalars()]
