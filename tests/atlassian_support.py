"""Helpers for the Jira and Bitbucket connector tests: sandboxes in a thread, isolated task runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from connectors.errors import ErrorKind, error_kind
from connectors.http.client import RetryPolicy
from connectors.http.ratelimit import InMemoryRateBudget, RateBudget
from connectors.runner import StreamResult
from connectors.runtime import SourceRuntime, discovery_plan, open_http, partitions_of, plan_tasks, run_task
from connectors.sandbox import Sandbox
from storage import Database
from storage.models import Quarantine
from tests.ingest_support import ServedSandbox, live_counts, replay_server, serve_sandboxes

FAST_RETRY = RetryPolicy(
    attempts=5, max_elapsed_s=10, backoff_initial_s=0.01, backoff_max_s=0.05, max_retry_after_s=0.2
)


class Served(ServedSandbox):
    """A running Jira or Bitbucket sandbox; ``mutate`` takes a list of operations."""

    def mutate(self, *ops: dict[str, Any]) -> dict[str, Any]:
        return self.post_mutate(list(ops))


def serving(factory: Callable[..., Sandbox]) -> Iterator[Callable[..., Served]]:
    """A ``serve(**size)`` fixture body for a Jira or Bitbucket sandbox."""
    yield from serve_sandboxes(factory, Served)


@dataclass
class Outcome:
    """Every task of one run, isolated like the pipeline does: results and error kinds by task key."""

    results: dict[str, StreamResult] = field(default_factory=dict)
    errors: dict[str, tuple[ErrorKind, str]] = field(default_factory=dict)
    requests: int = 0

    def kinds(self) -> set[ErrorKind]:
        return {k for k, _ in self.errors.values()}


def run_isolated(
    rt: SourceRuntime,
    db: Database,
    *,
    full: bool = False,
    budget: RateBudget | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> Outcome:
    """Discovery, then every planned task; a failing task fails alone (its dependents still run
    here, which is harmless for these tests). The retry layer keeps its attempts, not its waits."""

    async def go() -> Outcome:
        out = Outcome()
        async with open_http(rt, budget=budget or InMemoryRateBudget(), retry=retry) as http:
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


@dataclass(frozen=True)
class Replayed:
    """A source run against the replay server of real recorded responses."""

    rt: SourceRuntime
    out: Outcome
    served: dict[str, Any]  # template -> what the server handed out (GET /__served)


def replayed(provider: str, folder: Path, db: Database, source: Callable[[str], SourceRuntime]) -> Replayed:
    """Run ``source(replay URL)`` against the recordings in ``folder``: no task may fail, no record
    be quarantined, and every request must match a recording."""
    with replay_server(provider, folder) as url:
        rt = source(url)
        out = run_isolated(rt, db)
        served = httpx.get(f"{url}/__served").json()["templates"]
        unmatched = httpx.get(f"{url}/__unmatched").json()
    assert out.errors == {}, out.errors
    assert quarantined(db, rt.source_id) == []
    assert unmatched == []
    return Replayed(rt, out, served)
